//! A compact JWS: header parsing, signature checks and ID-token claim checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tollgate::fuzzing::jws(text);
    }
});
