//! A request to the My Account / My Organization proxy: it reaches only the API, without the
//! application's credentials, and never as a cross-origin write.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tollgate::fuzzing::proxy_request(text);
    }
});
