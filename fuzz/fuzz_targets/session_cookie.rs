//! A `Cookie` header: chunk assembly and unsealing of the session cookie.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tollgate::fuzzing::session_cookie(text);
    }
});
