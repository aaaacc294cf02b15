//! Fuzz target: Laravel's JSON session mode (`session.serialization = json`, PHP's
//! `json_decode($data, true)` reproduced), reached through `LaravelSession::from_payload` with
//! the input made to start as a JSON payload (`{` or `[`).
//!
//! Properties beyond "no panic": what decodes re-encodes as JSON that decodes to the same
//! attributes as PHP's own round trip gives (an integral float comes back as an int, as
//! `json_encode` writes it without a fraction: see `common/json_round_trip.rs`), and the JSON
//! written in the second round trip is a fixed point (the first need not be: `-0` becomes `0`).
#![no_main]

#[path = "common/json_round_trip.rs"]
mod json_round_trip;

use libfuzzer_sys::fuzz_target;
use phpsess::laravel::LaravelSession;
use phpsess::Value;

fuzz_target!(|data: &[u8]| {
    let mut payload = Vec::with_capacity(data.len() + 1);
    if !matches!(data.first(), Some(b'{' | b'[')) {
        payload.push(b'{');
    }
    payload.extend_from_slice(data);
    let Ok(session) = LaravelSession::from_payload(&payload, None) else {
        return;
    };
    let Ok(first) = session.to_payload(None) else {
        return;
    };
    let back = LaravelSession::from_payload(&first, None).unwrap_or_else(|e| {
        panic!(
            "written JSON does not decode: {e}\ninput: {}\nwritten: {}",
            payload.escape_ascii(),
            first.escape_ascii()
        )
    });
    assert!(
        json_round_trip::same_after_json_round_trip(
            &Value::Array(session.attributes().clone()),
            &Value::Array(back.attributes().clone()),
        ),
        "attributes changed\ninput: {}\nwritten: {}",
        payload.escape_ascii(),
        first.escape_ascii()
    );
    // The written JSON is a fixed point from the second encoding on, not always from the first:
    // json_encode writes the float -0.0 as `-0`, json_decode reads that as the int 0, written
    // `0` next time (PHP 8.2 does the same; fuzz/regressions/laravel_json-negative-zero-...).
    let second = back.to_payload(None).expect("encoded once, encodes again");
    let again = LaravelSession::from_payload(&second, None).expect("written once, decodes");
    assert!(
        again.attributes() == back.attributes(),
        "attributes changed in the second round trip\nwritten: {}",
        second.escape_ascii()
    );
    let third = again
        .to_payload(None)
        .expect("encoded twice, encodes again");
    assert!(
        second == third,
        "not a fixed point\nsecond: {}\nthird: {}",
        second.escape_ascii(),
        third.escape_ascii()
    );
});
