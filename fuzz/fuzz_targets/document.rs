//! Fuzz target: `phpsess::Document::parse` against the tree decoder on arbitrary bytes.
//!
//! The document has a tape builder of its own for what PHP writes and hands everything else to
//! the tree decoder; the two must never disagree: same verdict, same error message, and the same
//! value (compared as re-serialized bytes, since NAN never equals itself). Every accessor is
//! walked too, so a tape that is out of step panics here rather than in a caller.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phpsess::document::{ValueRef, View};
use phpsess::{serialize, unserialize_borrowed, Document};

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

fuzz_target!(|data: &[u8]| {
    match (Document::parse(data), unserialize_borrowed(data)) {
        (Ok(doc), Ok(tree)) => {
            let value = doc.to_value();
            assert!(
                serialize(&value) == serialize(&tree.to_owned()),
                "document and tree differ on {:?}",
                data.escape_ascii()
            );
            walk(doc.root());
        }
        (Err(d), Err(t)) => assert_eq!(
            d.to_string(),
            t.to_string(),
            "error messages differ on {:?}",
            data.escape_ascii()
        ),
        (d, t) => panic!(
            "verdicts differ on {:?}: document {:?}, tree {:?}",
            data.escape_ascii(),
            d.err(),
            t.err()
        ),
    }
});
