//! A sealed `mfa_token` as an application would hand it back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tollgate::fuzzing::mfa_token(text);
    }
});
