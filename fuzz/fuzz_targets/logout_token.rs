//! A back-channel logout token: parsing, signature and every claim check.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tollgate::fuzzing::logout_token(text);
    }
});
