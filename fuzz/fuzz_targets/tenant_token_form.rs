//! The local tenant's token endpoint: the first byte picks the content type, an optional first
//! line (when the second byte is `A`) is the `Authorization` header, the rest is the body.
#![no_main]

use tollgate_tenant::fuzzing::{BodyKind, token_request};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let kind = match kind % 3 {
        0 => BodyKind::Form,
        1 => BodyKind::Json,
        _ => BodyKind::Unlabelled,
    };
    let (authorization, body) = match rest.split_first() {
        Some((b'A', rest)) => match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (Some(rest), &[][..]),
        },
        _ => (None, rest),
    };
    token_request(authorization, kind, body);
});
