//! Fuzz target: `phpsess::php_serde::from_bytes` on arbitrary bytes, into the dynamic serde_json value
//! (every `deserialize_any` path) and into typed shapes (maps, sequences, options, a struct, an
//! enum), so the data-model mismatch paths run too.
//!
//! Properties beyond "no panic": whatever deserializes as a serde_json value also parses with
//! `unserialize` (serde reads a subset of what the value decoder reads), and an error names a
//! byte offset inside the input.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use phpsess::php_serde::from_bytes;

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // read only by Debug
struct User {
    id: u32,
    name: String,
    roles: Vec<String>,
    score: Option<f64>,
    flags: BTreeMap<String, bool>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
enum Shape {
    Unit,
    New(i64),
    Tuple(u8, String),
    Struct { x: i32, y: i32 },
}

fn check_offset(data: &[u8], e: &phpsess::Error) {
    if let Some(offset) = e.offset() {
        assert!(
            offset <= data.len(),
            "offset {offset} past the input ({} bytes): {e}",
            data.len()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    match from_bytes::<serde_json::Value>(data) {
        Ok(_) => {
            if let Err(e) = phpsess::unserialize(data) {
                panic!(
                    "serde read what unserialize refuses ({e})\ninput: {}",
                    data.escape_ascii()
                );
            }
        }
        Err(e) => check_offset(data, &e),
    }
    if let Err(e) = from_bytes::<User>(data) {
        check_offset(data, &e);
    }
    if let Err(e) = from_bytes::<BTreeMap<i64, Option<Vec<u8>>>>(data) {
        check_offset(data, &e);
    }
    if let Err(e) = from_bytes::<Vec<Shape>>(data) {
        check_offset(data, &e);
    }
    if let Err(e) = from_bytes::<(bool, char, u64, &str)>(data) {
        check_offset(data, &e);
    }
});
