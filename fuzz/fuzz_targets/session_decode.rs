//! Fuzz target: `phpsess::session::decode` on arbitrary bytes, in all three formats.
//!
//! Properties beyond "no panic", from the session module's promise that a session decodes to the
//! same array whatever its format (reference numbers always follow `serialize($_SESSION)`):
//! - whatever decodes in format A and encodes in format B (encoding may refuse, e.g. a `|` in a
//!   `php` name) decodes again in B, to an array whose `php_serialize` encoding is unchanged;
//! - re-encoding that in B gives the same bytes (encode is a fixed point after one round).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phpsess::session::{decode, encode, Format};

fuzz_target!(|data: &[u8]| {
    for from in Format::ALL {
        let Ok(vars) = decode(data, from) else {
            continue;
        };
        // php_serialize can encode every array: it is the canonical form we compare.
        let canonical = encode(&vars, Format::PhpSerialize).unwrap_or_else(|e| {
            panic!(
                "{from} session does not encode as php_serialize: {e}\ninput: {:?}",
                data.escape_ascii()
            )
        });
        for to in Format::ALL {
            let Ok(bytes) = encode(&vars, to) else {
                continue;
            };
            let back = decode(&bytes, to).unwrap_or_else(|e| {
                panic!(
                    "{from} -> {to}: encoded session does not decode: {e}\n input: {:?}\nencoded: {:?}",
                    data.escape_ascii(),
                    bytes.escape_ascii()
                )
            });
            let back_canonical = encode(&back, Format::PhpSerialize).unwrap_or_else(|e| {
                panic!(
                    "{from} -> {to}: re-decoded session does not encode: {e}\ninput: {:?}",
                    data.escape_ascii()
                )
            });
            assert!(
                back_canonical == canonical,
                "{from} -> {to} changed the session\n input: {:?}\nbefore: {:?}\n after: {:?}",
                data.escape_ascii(),
                canonical.escape_ascii(),
                back_canonical.escape_ascii()
            );
            let again = encode(&back, to).unwrap_or_else(|e| {
                panic!(
                    "{from} -> {to}: re-decoded session does not re-encode: {e}\ninput: {:?}",
                    data.escape_ascii()
                )
            });
            assert!(
                again == bytes,
                "{from} -> {to}: encode is not a fixed point\n input: {:?}\n first: {:?}\nsecond: {:?}",
                data.escape_ascii(),
                bytes.escape_ascii(),
                again.escape_ascii()
            );
        }
    }
});
