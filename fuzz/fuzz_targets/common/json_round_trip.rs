//! Shared by the Laravel fuzz targets (included with `#[path]`): what "the same attributes" means
//! across a `json_encode` / `json_decode` round trip.

use phpsess::Value;

/// True if `back` is what PHP gives for `json_decode(json_encode($before), true)`: equal, except
/// that a float with an integral value comes back as the int of that value. `json_encode` with
/// default flags (Laravel's) writes such a float without a fraction (`92233720368547760`, `-0`,
/// `1`), and `json_decode` reads that as an int: PHP's own round trip does this (checked with
/// PHP 8.2 on fuzz/regressions/laravel_json-round-trip-changes-attributes). Everything else,
/// keys and their order included, must come back exactly (floats bit for bit).
pub fn same_after_json_round_trip(before: &Value, back: &Value) -> bool {
    match (before, back) {
        (Value::Float(f), Value::Int(i)) => *i as f64 == *f,
        (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same_after_json_round_trip(va, vb))
        }
        (a, b) => a == b,
    }
}
