//! Fuzz target: the lossless JSON reader (`phpsess::json::from_lossless_json` and
//! `session_from_lossless_json`) on arbitrary JSON documents.
//!
//! Properties beyond "no panic": a document that reads back as a value writes out as a document
//! that reads back to the same value (same `serialize()` bytes); the same for sessions, in the
//! encoding the document names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phpsess::json::{
    from_lossless_json, session_from_lossless_json, session_to_lossless_json, to_lossless_json,
};
use phpsess::session::{encode, Format};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(value) = from_lossless_json(&doc) {
        let again = to_lossless_json(&value);
        let back = from_lossless_json(&again).unwrap_or_else(|e| {
            panic!("written document does not read back: {e}\ninput: {doc}\nwritten: {again}")
        });
        assert!(
            phpsess::serialize(&back) == phpsess::serialize(&value),
            "value changed\ninput: {doc}\nwritten: {again}"
        );
    }
    if let Ok((vars, format)) = session_from_lossless_json(&doc) {
        let again = session_to_lossless_json(&vars, format);
        let (back, back_format) = session_from_lossless_json(&again).unwrap_or_else(|e| {
            panic!("written session does not read back: {e}\ninput: {doc}\nwritten: {again}")
        });
        assert_eq!(back_format, format);
        let canonical = |a| encode(a, Format::PhpSerialize).ok();
        assert!(
            canonical(&back) == canonical(&vars),
            "session changed\ninput: {doc}\nwritten: {again}"
        );
    }
});
