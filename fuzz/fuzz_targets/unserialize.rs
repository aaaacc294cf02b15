//! Fuzz target: `phpsess::unserialize` on arbitrary bytes.
//!
//! Properties beyond "no panic":
//! - whatever decodes re-encodes to bytes that decode again, and re-encoding that gives the same
//!   bytes (`serialize` is a fixed point after one round);
//! - `unserialize_prefix` agrees with `unserialize`: the strict decoder succeeds exactly when the
//!   prefix decoder used the whole input, and decoding the used prefix strictly gives the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phpsess::{serialize, unserialize, unserialize_prefix};

fuzz_target!(|data: &[u8]| {
    let strict = unserialize(data);
    let prefix = unserialize_prefix(data);
    match (&strict, &prefix) {
        (Ok(_), Ok((_, used))) => assert_eq!(
            *used,
            data.len(),
            "strict decode of {:?}",
            data.escape_ascii()
        ),
        (Err(_), Ok((value, used))) => {
            assert!(
                *used < data.len(),
                "strict decode failed on a full value: {:?}",
                data.escape_ascii()
            );
            let head = unserialize(&data[..*used]).unwrap_or_else(|e| {
                panic!(
                    "prefix {:?} decodes alone: {e}",
                    data[..*used].escape_ascii()
                )
            });
            assert_eq!(
                serialize(&head),
                serialize(value),
                "prefix of {:?}",
                data.escape_ascii()
            );
        }
        (Ok(_), Err(e)) => panic!(
            "prefix decoder failed ({e}) where the strict one succeeded: {:?}",
            data.escape_ascii()
        ),
        (Err(_), Err(_)) => {}
    }
    let Ok(value) = strict else { return };

    let encoded = serialize(&value);
    let again = unserialize(&encoded).unwrap_or_else(|e| {
        panic!(
            "re-encoded value does not decode: {e}\n input: {:?}\nencoded: {:?}",
            data.escape_ascii(),
            encoded.escape_ascii()
        )
    });
    let reencoded = serialize(&again);
    assert!(
        reencoded == encoded,
        "serialize is not a fixed point\n input: {:?}\n first: {:?}\nsecond: {:?}",
        data.escape_ascii(),
        encoded.escape_ascii(),
        reencoded.escape_ascii()
    );
});
