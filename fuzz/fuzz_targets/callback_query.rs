//! The callback route: a query string and a `Cookie` header (split at the first newline).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (query, cookies) = text.split_once('\n').unwrap_or((text, ""));
        tollgate::fuzzing::callback(query, cookies);
    }
});
