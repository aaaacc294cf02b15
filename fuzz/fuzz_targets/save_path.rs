//! Fuzz target: the `session.save_path` parsers (`SavePath` for the `redis` handler,
//! `ClusterSavePath` for `rediscluster`) and the PHP decoders under them (`parse_url`, `parse_str`,
//! `parse_number`), on arbitrary input. A save_path comes from an INI file and reaches us inside
//! PHP, where a panic must never happen.
//!
//! Properties beyond "no panic":
//! - an error's offset lies within the save_path (it points at the offending entry);
//! - a parsed save_path's host offsets lie within it, and every accessor, `Debug` and the serde
//!   (JSON) view work on it;
//! - `parse_str` builds an array that `serialize()` encodes and `unserialize()` reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phpsess::save_path::php::{parse_number, parse_str, parse_url};
use phpsess::save_path::{ClusterSavePath, SavePath};
use phpsess::{serialize, unserialize, Error, Value};

fn check_error(what: &str, input: &str, e: &Error) {
    let offset = e.offset().unwrap_or(0);
    assert!(
        offset <= input.len(),
        "{what}: error offset {offset} past the end ({} bytes): {e}\ninput: {input:?}",
        input.len()
    );
    // Display must work (it redacts passwords, so it does its own slicing).
    let _ = e.to_string();
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_url(data);
    let _ = parse_number(data);
    let query = serialize(&Value::Array(parse_str(data)));
    if let Err(e) = unserialize(&query) {
        panic!(
            "parse_str result does not round-trip through serialize: {e}\ninput: {:?}\nencoded: {:?}",
            data.escape_ascii(),
            query.escape_ascii()
        );
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match SavePath::parse(text) {
        Ok(sp) => {
            for host in &sp.hosts {
                assert!(
                    host.offset < text.len(),
                    "host offset {} past the end: {text:?}",
                    host.offset
                );
                let _ = (
                    host.effective_weight(),
                    host.connect_timeout(),
                    host.effective_read_timeout(),
                    host.effective_persistent(),
                    host.effective_prefix(),
                    host.effective_database(),
                    host.effective_retry_interval(),
                    host.address.host(),
                    host.address.port(),
                    host.address.is_tls(),
                    host.address.to_string(),
                );
            }
            let _ = format!("{sp:?}");
            serde_json::to_string(&sp).unwrap_or_else(|e| panic!("SavePath JSON: {e}: {text:?}"));
        }
        Err(e) => check_error("SavePath", text, &e),
    }
    match ClusterSavePath::parse(text) {
        Ok(csp) => {
            let _ = (
                csp.connect_timeout(),
                csp.effective_read_timeout(),
                csp.effective_persistent(),
                csp.effective_prefix(),
                csp.uses_tls(),
            );
            let _ = format!("{csp:?}");
            serde_json::to_string(&csp)
                .unwrap_or_else(|e| panic!("ClusterSavePath JSON: {e}: {text:?}"));
        }
        Err(e) => check_error("ClusterSavePath", text, &e),
    }
});
