//! Compact JWE with `alg: dir` and `enc: A256GCM`: the sealing format of every Tollgate artifact.
//!
//! The layout is `BASE64URL(header) . "" . BASE64URL(iv) . BASE64URL(ciphertext) . BASE64URL(tag)`,
//! with the encoded protected header as additional authenticated data (RFC 7516 §5.1). The header is
//! fixed to `{"enc":"A256GCM","alg":"dir"}`, byte for byte what nextjs-auth0 v4 writes.

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::session::secret::Keyring;

/// `BASE64URL({"enc":"A256GCM","alg":"dir"})`.
const HEADER_B64: &str = "eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0";

/// Why a sealed value could not be opened. Deliberately coarse: callers treat every case as "no value".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Not five dot-separated base64url parts, or an unexpected header.
    Malformed,
    /// No configured key authenticates it (tampered, or sealed with another secret).
    Unauthentic,
}

/// Seals `plaintext` with the current key of `keys`.
pub(crate) fn seal(keys: &Keyring, plaintext: &[u8]) -> String {
    seal_with(keys.current_cipher(), plaintext)
}

fn seal_with(cipher: &Aes256Gcm, plaintext: &[u8]) -> String {
    let mut iv = [0u8; 12];
    crate::random::fill(&mut iv);
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(
            &Nonce::from(iv),
            HEADER_B64.as_bytes(),
            buf.as_mut_slice().into(),
        )
        .expect("invariant: AES-GCM accepts any plaintext shorter than 64 GiB");
    let mut out = String::with_capacity(HEADER_B64.len() + 4 + 16 + buf.len() * 4 / 3 + 26);
    out.push_str(HEADER_B64);
    out.push_str("..");
    B64.encode_string(iv, &mut out);
    out.push('.');
    out.push_str(&base64_simd::URL_SAFE_NO_PAD.encode_to_string(&buf));
    out.push('.');
    B64.encode_string(tag, &mut out);
    out
}

#[cfg(test)]
thread_local! {
    /// How many times this thread called [`open`]: the seam a test counts the re-seal's opens with.
    pub(crate) static OPENS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Opens a value sealed by [`seal`] (or by nextjs-auth0) with any key of `keys`.
pub(crate) fn open(keys: &Keyring, compact: &str) -> Result<Vec<u8>, OpenError> {
    let mut plain = Vec::new();
    open_into(keys, compact, &mut plain)?;
    Ok(plain)
}

/// A scratch buffer a thread reuses for [`open_with`]; wiped after each use.
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Opens `compact` like [`open`] and lends the plaintext to `read`, in a buffer the thread keeps:
/// a session read then allocates nothing for the ciphertext. The buffer is zeroed after `read`
/// returns, and dropped rather than kept when it grew past 64 KiB. A nested call (from `read`)
/// gets a buffer of its own.
pub(crate) fn open_with<R>(
    keys: &Keyring,
    compact: &str,
    read: impl FnOnce(&[u8]) -> R,
) -> Result<R, OpenError> {
    fn lend<R>(
        buf: &mut Vec<u8>,
        keys: &Keyring,
        compact: &str,
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, OpenError> {
        let out = open_into(keys, compact, buf).map(|()| read(buf));
        buf.fill(0);
        buf.clear();
        if buf.capacity() > SCRATCH_KEPT {
            *buf = Vec::new();
        }
        out
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => lend(&mut buf, keys, compact, read),
        Err(_) => lend(&mut Vec::new(), keys, compact, read),
    })
}

/// Decodes and decrypts `compact` into `plain` (cleared first).
fn open_into(keys: &Keyring, compact: &str, plain: &mut Vec<u8>) -> Result<(), OpenError> {
    #[cfg(test)]
    OPENS.with(|n| n.set(n.get() + 1));
    // The short parts are found from the front and the tag from the back, so the long ciphertext
    // is not scanned for dots: a stray dot in it fails its base64url decoding, as a sixth part
    // would have failed the split.
    let mut front = compact.splitn(4, '.');
    let (Some(header), Some(cek), Some(iv), Some(rest)) =
        (front.next(), front.next(), front.next(), front.next())
    else {
        return Err(OpenError::Malformed);
    };
    let Some((ct, tag)) = rest.rsplit_once('.') else {
        return Err(OpenError::Malformed);
    };
    if !cek.is_empty() || !header_is_dir_a256gcm(header) {
        return Err(OpenError::Malformed);
    }
    let iv: [u8; 12] = decode_exact(iv)?;
    let tag: [u8; 16] = decode_exact(tag)?;
    plain.clear();
    base64_simd::URL_SAFE_NO_PAD
        .decode_append(ct, plain)
        .map_err(|_| OpenError::Malformed)?;
    let all = keys.ciphers();
    // With several keys (rotation) the ciphertext is kept for the next key to try; with one, the
    // buffer is decrypted in place.
    let spare = (all.len() > 1).then(|| plain.clone());
    for cipher in all {
        if let Some(spare) = &spare {
            plain.clear();
            plain.extend_from_slice(spare);
        }
        if cipher
            .decrypt_inout_detached(
                &Nonce::from(iv),
                header.as_bytes(),
                plain.as_mut_slice().into(),
                &Tag::from(tag),
            )
            .is_ok()
        {
            return Ok(());
        }
    }
    plain.clear();
    Err(OpenError::Unauthentic)
}

fn decode_exact<const N: usize>(part: &str) -> Result<[u8; N], OpenError> {
    let mut out = [0u8; N];
    match B64.decode_slice(part, &mut out) {
        Ok(n) if n == N => Ok(out),
        _ => Err(OpenError::Malformed),
    }
}

/// Accepts the canonical header fast, and any other encoding of the same two members.
fn header_is_dir_a256gcm(header_b64: &str) -> bool {
    if header_b64 == HEADER_B64 {
        return true;
    }
    let Ok(raw) = B64.decode(header_b64) else {
        return false;
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(&raw)
    else {
        return false;
    };
    map.len() == 2
        && map.get("alg").and_then(|v| v.as_str()) == Some("dir")
        && map.get("enc").and_then(|v| v.as_str()) == Some("A256GCM")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::secret::{KeyPurpose, Secret};

    fn ring(secrets: &[&str], purpose: KeyPurpose) -> Keyring {
        let s: Vec<Secret> = secrets.iter().map(|s| Secret::new(*s)).collect();
        Keyring::derive(&s, purpose).unwrap()
    }

    #[test]
    fn round_trip_and_header() {
        let k = ring(&["0123456789abcdef0123456789abcdef"], KeyPurpose::Session);
        let sealed = seal(&k, b"{\"a\":1}");
        assert!(sealed.starts_with("eyJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiZGlyIn0.."));
        assert_eq!(open(&k, &sealed).unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn purposes_do_not_open_each_other() {
        let s = "0123456789abcdef0123456789abcdef";
        let session = ring(&[s], KeyPurpose::Session);
        let txn = ring(&[s], KeyPurpose::Transaction);
        let sealed = seal(&txn, b"x");
        assert_eq!(open(&session, &sealed), Err(OpenError::Unauthentic));
    }

    #[test]
    fn rotation_opens_with_old_secret() {
        let old = ring(&["old-secret-old-secret-old-secret-1"], KeyPurpose::Session);
        let both = ring(
            &[
                "new-secret-new-secret-new-secret-2",
                "old-secret-old-secret-old-secret-1",
            ],
            KeyPurpose::Session,
        );
        let sealed = seal(&old, b"v");
        assert_eq!(open(&both, &sealed).unwrap(), b"v");
        let resealed = seal(&both, b"v");
        assert_eq!(open(&old, &resealed), Err(OpenError::Unauthentic));
    }

    #[test]
    fn open_with_lends_the_plaintext_and_wipes_the_thread_buffer() {
        let k = ring(&["0123456789abcdef0123456789abcdef"], KeyPurpose::Session);
        let outer = seal(&k, b"outer payload");
        let inner = seal(&k, b"inner");
        // A nested call gets its own buffer; both see their own plaintext.
        let seen = open_with(&k, &outer, |plain| {
            let nested = open_with(&k, &inner, <[u8]>::to_vec).unwrap();
            (plain.to_vec(), nested)
        })
        .unwrap();
        assert_eq!(seen, (b"outer payload".to_vec(), b"inner".to_vec()));
        // Nothing of the plaintext stays in the buffer the thread keeps.
        SCRATCH.with(|cell| {
            let buf = cell.borrow();
            assert!(buf.is_empty());
            assert!(
                buf.capacity() >= b"outer payload".len(),
                "the buffer is kept for reuse"
            );
        });
        // A failed open lends nothing and leaves the buffer empty.
        assert_eq!(
            open_with(
                &k,
                &seal(
                    &ring(&["another-secret-another-secret-00"], KeyPurpose::Session),
                    b"x"
                ),
                |_| ()
            ),
            Err(OpenError::Unauthentic)
        );
        // A buffer grown past the limit is not kept.
        let big = seal(&k, &vec![b'a'; SCRATCH_KEPT + 1]);
        assert_eq!(open_with(&k, &big, <[u8]>::len).unwrap(), SCRATCH_KEPT + 1);
        SCRATCH.with(|cell| assert_eq!(cell.borrow().capacity(), 0));
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        let k = ring(&["0123456789abcdef0123456789abcdef"], KeyPurpose::Session);
        for bad in [
            "",
            "a.b.c.d.e",
            "....",
            "a..b.c.d.e.f",
            &format!("{HEADER_B64}..!!.a.b"),
            // A sixth part: the stray dot lands in the ciphertext, whose decoding refuses it.
            &format!("{HEADER_B64}..AAAAAAAAAAAAAAAA.YWJj.ZGVm.AAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            assert_eq!(open(&k, bad), Err(OpenError::Malformed), "{bad}");
        }
        // Flip one character of the ciphertext: authentication fails.
        let sealed = seal(&k, b"a payload long enough");
        let ct_start = sealed.match_indices('.').nth(2).unwrap().0 + 1;
        let mut bytes = sealed.into_bytes();
        bytes[ct_start + 2] = if bytes[ct_start + 2] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(open(&k, &tampered), Err(OpenError::Unauthentic));
    }
}
