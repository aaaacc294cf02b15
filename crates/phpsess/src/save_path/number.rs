//! PHP's numeric strings (`is_numeric()`), so save_path numbers are read the way phpredis reads them.
//!
//! phpredis converts parameters with `zval_get_long()` / `zval_get_double()`, which also accept a
//! numeric *prefix* ("5abc" is 5, "abc" is 0). We only accept strings PHP calls numeric, and for
//! those the value is exactly what phpredis computes; see `save_path` for why.

/// A number read from a PHP numeric string: what `$s + 0` gives when `is_numeric($s)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PhpNumber {
    /// An integer string that fits in PHP's 64-bit `int` ("42", " -7 ", "007").
    Int(i64),
    /// Anything else numeric: a fraction, an exponent, or an integer too large for `int`.
    Float(f64),
}

/// The whitespace PHP skips around a numeric string (`ZEND_STRTOL`'s set, no locale).
fn is_php_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Read `s` as PHP's `is_numeric()` does: optional whitespace, an optional sign, digits with an
/// optional fraction (`1.`, `.5`) and exponent (`1e5`, `2.5E-3`), optional trailing whitespace.
/// Hex, octal, binary, `_` separators, `inf` and `nan` are not numeric. Returns `None` when PHP
/// would say the string is not numeric.
pub fn parse_number(s: &[u8]) -> Option<PhpNumber> {
    let mut start = 0;
    while start < s.len() && is_php_space(s[start]) {
        start += 1;
    }
    let mut end = s.len();
    while end > start && is_php_space(s[end - 1]) {
        end -= 1;
    }
    let body = &s[start..end];

    let mut i = 0;
    if matches!(body.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < body.len() && body[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut is_float = false;
    if i < body.len() && body[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < body.len() && body[j].is_ascii_digit() {
            j += 1;
        }
        // "1." and ".5" are numeric, "." is not.
        if int_digits == 0 && j == frac_start {
            return None;
        }
        i = j;
        is_float = true;
    } else if int_digits == 0 {
        return None;
    }
    if i < body.len() && matches!(body[i], b'e' | b'E') {
        let mut j = i + 1;
        if j < body.len() && matches!(body[j], b'+' | b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < body.len() && body[j].is_ascii_digit() {
            j += 1;
        }
        if j == exp_start {
            return None; // "1e" and "1e+" leave a non-numeric tail
        }
        i = j;
        is_float = true;
    }
    if i != body.len() {
        return None;
    }
    // The body is ASCII by construction, so this never fails.
    let text = std::str::from_utf8(body).ok()?;
    if !is_float {
        // An integer that overflows `int` is a float in PHP ("9223372036854775808").
        if let Ok(n) = text.parse::<i64>() {
            return Some(PhpNumber::Int(n));
        }
    }
    // Rust's parser is correctly rounded, as is PHP's zend_strtod; "1e400" is INF in both.
    text.parse::<f64>().ok().map(PhpNumber::Float)
}

impl PhpNumber {
    /// The value as a float (PHP's `(float)` of the same string).
    pub fn as_f64(self) -> f64 {
        match self {
            PhpNumber::Int(i) => i as f64,
            PhpNumber::Float(f) => f,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_strings_as_php_reads_them() {
        // Each expectation was printed by PHP 8.2: `is_numeric($s) ? $s + 0 : null`.
        let cases: &[(&str, Option<PhpNumber>)] = &[
            ("1.5e3", Some(PhpNumber::Float(1500.0))),
            ("1.e3", Some(PhpNumber::Float(1000.0))),
            ("1.", Some(PhpNumber::Float(1.0))),
            ("-.5", Some(PhpNumber::Float(-0.5))),
            ("+.5e3", Some(PhpNumber::Float(500.0))),
            ("1e", None),
            ("1e+", None),
            (" 1 ", Some(PhpNumber::Int(1))),
            ("\x0b1\x0c", Some(PhpNumber::Int(1))),
            ("1 x", None),
            ("0x1A", None),
            ("9223372036854775807", Some(PhpNumber::Int(i64::MAX))),
            (
                "9223372036854775808",
                Some(PhpNumber::Float(9.223372036854776E+18)),
            ),
            ("-9223372036854775808", Some(PhpNumber::Int(i64::MIN))),
            ("00000000000000000000000000001", Some(PhpNumber::Int(1))),
            ("1_000", None),
            ("1e400", Some(PhpNumber::Float(f64::INFINITY))),
            ("-0", Some(PhpNumber::Int(0))),
            ("  ", None),
            ("", None),
            (".", None),
            ("+", None),
            ("inf", None),
            ("-1.5E-3", Some(PhpNumber::Float(-0.0015))),
        ];
        for (s, want) in cases {
            assert_eq!(parse_number(s.as_bytes()), *want, "{s:?}");
        }
    }
}
