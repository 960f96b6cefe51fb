//! A `returnTo` value: whatever survives sanitising stays on the app's origin.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tollgate::fuzzing::return_to(text);
    }
});
