//! Fuzz target: the tape decoders against the tree decoder on arbitrary bytes.
//!
//! `Document::parse` (and `unserialize`/`unserialize_borrowed`, which try the tape first) have a
//! tape builder of their own for what PHP writes and hand everything else to the tree decoder
//! (`unserialize_prefix` alone). They must never disagree: same verdict, same error message, and
//! the same value (compared as re-serialized bytes, since NAN never equals itself). Every accessor
//! is walked too, so a tape that is out of step panics here rather than in a caller.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phpsess::document::{ValueRef, View};
use phpsess::{
    serialize, unserialize, unserialize_borrowed, unserialize_prefix, DecodeReason, Document, Error,
    Value,
};

/// Visit every value through the public accessors; returns how many were seen.
fn walk(v: ValueRef<'_>) -> usize {
    let mut seen = 1;
    let _ = (v.type_name(), v.as_bytes(), v.as_int(), v.class());
    if let View::Array(entries) | View::Object { properties: entries, .. } = v.view() {
        let declared = entries.len();
        let mut n = 0;
        for (_, child) in entries {
            seen += walk(child);
            n += 1;
        }
        assert_eq!(n, declared, "entries yielded what they declared");
    }
    seen
}

/// Strict decoding by the tree decoder alone: the prefix decoder plus the trailing-bytes rule.
fn tree_decode(data: &[u8]) -> Result<Value, Error> {
    let (value, used) = unserialize_prefix(data)?;
    if used < data.len() {
        return Err(Error::Decode {
            offset: used,
            reason: DecodeReason::TrailingBytes,
        });
    }
    Ok(value)
}

fn same(name: &str, data: &[u8], got: Result<Value, Error>, want: &Result<Value, Error>) {
    match (&got, want) {
        (Ok(g), Ok(w)) => assert!(
            serialize(g) == serialize(w),
            "{name} and the tree decoder differ on {:?}",
            data.escape_ascii()
        ),
        (Err(g), Err(w)) => assert_eq!(
            g.to_string(),
            w.to_string(),
            "{name}: error messages differ on {:?}",
            data.escape_ascii()
        ),
        (g, w) => panic!(
            "{name}: verdicts differ on {:?}: {:?} against the tree decoder's {:?}",
            data.escape_ascii(),
            g.as_ref().err(),
            w.as_ref().err()
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let tree = tree_decode(data);
    let doc = Document::parse(data);
    if let Ok(doc) = &doc {
        walk(doc.root());
    }
    same("document", data, doc.map(|d| d.to_value()), &tree);
    same("unserialize", data, unserialize(data), &tree);
    same(
        "unserialize_borrowed",
        data,
        unserialize_borrowed(data).map(|v| v.to_owned()),
        &tree,
    );
});
