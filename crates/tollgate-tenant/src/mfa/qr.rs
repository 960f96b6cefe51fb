//! QR codes as inline, accessible SVG.

use qrcode::QrCode;
use qrcode::render::svg;

use crate::http::pages::escape;

/// `data` as an inline `<svg role="img" aria-label="…">` element, or `None` if it is too long
/// for a QR code.
pub(crate) fn svg(data: &str, label: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let start = image.find("<svg ")?;
    Some(format!(
        "<svg role=\"img\" aria-label=\"{}\" {}",
        escape(label),
        &image[start + "<svg ".len()..]
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_inline_svg() {
        let svg = super::svg(
            "otpauth://totp/t:a@b.c?secret=JBSWY3DPEHPK3PXP",
            "QR \"code\"",
        )
        .unwrap();
        assert!(svg.starts_with("<svg role=\"img\" aria-label=\"QR &quot;code&quot;\" xmlns="));
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
    }
}
