//! A `DPoP` proof header as a resource server (`RequireToken`) checks it for a bound token.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tollgate::fuzzing::api_dpop_proof(text);
    }
});
