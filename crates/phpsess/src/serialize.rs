//! `serialize()`: a [`Value`] to bytes, byte-identical to PHP 8.2 with `serialize_precision=-1`.

use std::io::Write;

use crate::value::{Key, Value};

/// Encode `value` as PHP's `serialize()` would.
///
/// ```
/// use phpsess::{serialize, Array, Value};
/// let mut a = Array::new();
/// a.insert("n", Value::Float(0.1));
/// assert_eq!(serialize(&Value::Array(a)), br#"a:1:{s:1:"n";d:0.1;}"#);
/// ```
pub fn serialize(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    serialize_into(&mut out, value);
    out
}

/// Append the encoding of `value` to `out`.
pub fn serialize_into(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"N;"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"b:1;" } else { b"b:0;" }),
        Value::Int(i) => write_tagged_int(out, b'i', *i),
        Value::Float(f) => {
            out.extend_from_slice(b"d:");
            write_float(out, *f);
            out.push(b';');
        }
        Value::String(s) => write_str(out, b's', s),
        Value::Array(a) => {
            out.extend_from_slice(b"a:");
            write_uint(out, a.len() as u64);
            out.extend_from_slice(b":{");
            for (k, v) in a.iter() {
                write_key(out, k);
                serialize_into(out, v);
            }
            out.push(b'}');
        }
        Value::Object(o) => {
            out.extend_from_slice(b"O:");
            write_name(out, &o.class);
            out.push(b':');
            write_uint(out, o.properties.len() as u64);
            out.extend_from_slice(b":{");
            for (k, v) in &o.properties {
                write_key(out, k);
                serialize_into(out, v);
            }
            out.push(b'}');
        }
        Value::Custom(c) => {
            out.extend_from_slice(b"C:");
            write_name(out, &c.class);
            out.push(b':');
            write_uint(out, c.data.len() as u64);
            out.extend_from_slice(b":{");
            out.extend_from_slice(&c.data);
            out.push(b'}');
        }
        Value::Enum(e) => {
            out.extend_from_slice(b"E:");
            write_uint(out, (e.class.len() + 1 + e.case.len()) as u64);
            out.extend_from_slice(b":\"");
            out.extend_from_slice(&e.class);
            out.push(b':');
            out.extend_from_slice(&e.case);
            out.extend_from_slice(b"\";");
        }
        Value::ObjectRef(n) => {
            out.extend_from_slice(b"r:");
            write_uint(out, *n);
            out.push(b';');
        }
        Value::Ref(n) => {
            out.extend_from_slice(b"R:");
            write_uint(out, *n);
            out.push(b';');
        }
    }
}

fn write_key(out: &mut Vec<u8>, key: &Key) {
    match key {
        Key::Int(i) => write_tagged_int(out, b'i', *i),
        Key::Str(s) => write_str(out, b's', s),
    }
}

#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, tag: u8, s: &[u8]) {
    // Most strings in sessions are under 100 bytes: their head is one fixed-size store.
    let n = s.len();
    if n < 10 {
        out.extend_from_slice(&[tag, b':', b'0' + n as u8, b':', b'"']);
    } else if n < 100 {
        let (tens, ones) = (b'0' + (n / 10) as u8, b'0' + (n % 10) as u8);
        out.extend_from_slice(&[tag, b':', tens, ones, b':', b'"']);
    } else {
        out.push(tag);
        out.push(b':');
        write_uint(out, n as u64);
        out.extend_from_slice(b":\"");
    }
    out.extend_from_slice(s);
    out.extend_from_slice(b"\";");
}

/// `i:N;` and the like, with small numbers (list indices, counts) in one fixed-size store.
#[inline]
fn write_tagged_int(out: &mut Vec<u8>, tag: u8, i: i64) {
    if (0..10).contains(&i) {
        out.extend_from_slice(&[tag, b':', b'0' + i as u8, b';']);
    } else if (10..100).contains(&i) {
        out.extend_from_slice(&[
            tag,
            b':',
            b'0' + (i / 10) as u8,
            b'0' + (i % 10) as u8,
            b';',
        ]);
    } else {
        out.push(tag);
        out.push(b':');
        write_int(out, i);
        out.push(b';');
    }
}

pub(crate) fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    write_uint(out, name.len() as u64);
    out.extend_from_slice(b":\"");
    out.extend_from_slice(name);
    out.push(b'"');
}

#[inline]
pub(crate) fn write_uint(out: &mut Vec<u8>, mut n: u64) {
    // Most numbers in sessions are lengths and small ints: one or two pushes, no copy call.
    if n < 10 {
        out.push(b'0' + n as u8);
        return;
    }
    if n < 100 {
        out.extend_from_slice(&[b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]);
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[inline]
pub(crate) fn write_int(out: &mut Vec<u8>, i: i64) {
    if i < 0 {
        out.push(b'-');
    }
    write_uint(out, i.unsigned_abs());
}

/// Up to 17 significant digits of an f64, without leading or trailing zeros.
struct Digits {
    buf: [u8; 24],
    len: usize,
}

impl Digits {
    fn len(&self) -> usize {
        self.len
    }
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Split a decimal float text ("-1.25e-7", "0.001", "1e17", "123.5") into its significant digits
/// and the exponent of the first one (1.25e-7 -> "125", -7). The sign is ignored.
fn shortest_digits(text: &[u8]) -> (Digits, i32) {
    let text = text.strip_prefix(b"-").unwrap_or(text);
    let e_at = text
        .iter()
        .position(|&b| b == b'e' || b == b'E')
        .unwrap_or(text.len());
    let exp: i32 = std::str::from_utf8(&text[(e_at + 1).min(text.len())..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mantissa = &text[..e_at];
    let int_len = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len()) as i32;
    let mut d = Digits {
        buf: [0; 24],
        len: 0,
    };
    // The decimal exponent of the first digit written, before leading zeros are dropped.
    let mut first_exp = exp + int_len - 1;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if d.len == 0 && b == b'0' {
            first_exp -= 1;
            continue;
        }
        if d.len < d.buf.len() {
            d.buf[d.len] = b;
            d.len += 1;
        }
    }
    while d.len > 1 && d.buf[d.len - 1] == b'0' {
        d.len -= 1;
    }
    if d.len == 0 {
        d.buf[0] = b'0';
        d.len = 1;
        first_exp = 0;
    }
    (d, first_exp)
}

/// Can `f` lie exactly halfway between two `n`-digit decimals? Only if its exact decimal
/// expansion has `n + 1` significant digits. Most computed floats (`12.99 * 3 * 1.0825`) have
/// dozens, so this spares them the slow tie check in [`write_float`].
fn tie_possible(f: f64, n: usize) -> bool {
    let bits = f.abs().to_bits();
    let biased = (bits >> 52) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mut m, mut e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | 1 << 52, biased - 1075)
    };
    if m == 0 {
        return false;
    }
    let zeros = m.trailing_zeros();
    m >>= zeros;
    e += zeros as i32;
    // |f| = m * 2^e with m odd. With e < 0 the expansion is m * 5^-e digits long (a 5 last); past
    // 5^27 that is over 18 digits, more than any tie needs (n <= 17).
    let mut exact: u128 = if e < 0 {
        if e < -27 {
            return false;
        }
        u128::from(m) * 5u128.pow(e.unsigned_abs())
    } else if e <= 74 {
        u128::from(m) << e
    } else {
        return true; // beyond 2^127: rare enough to check the slow way
    };
    while exact.is_multiple_of(10) {
        exact /= 10;
    }
    let mut count = 0;
    while exact > 0 {
        exact /= 10;
        count += 1;
    }
    count == n + 1
}

/// PHP's `smart_str_append_double(…, serialize_precision = -1, false)`: the shortest digits that
/// round-trip, in fixed notation when the decimal exponent is in -4..=15 (`0.0001`,
/// `1000000000000000`), otherwise `d.dddE+x`; `-0`, `INF`, `-INF`, `NAN` spelled out.
pub(crate) fn write_float(out: &mut Vec<u8>, f: f64) {
    if f.is_nan() {
        out.extend_from_slice(b"NAN");
        return;
    }
    if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"INF" } else { b"-INF" });
        return;
    }
    if f == 0.0 {
        out.extend_from_slice(if f.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    // The shortest round-trip digits and decimal exponent, from ryu ("-1.2345e-7", "0.001", "1e17").
    let mut ryu_buf = ryu::Buffer::new();
    let (mut digits, mut exp) = shortest_digits(ryu_buf.format_finite(f).as_bytes());
    // When two shortest candidates are equally near (627005491681936.25 -> "…36.2" or "…36.3"),
    // a shortest-digits algorithm may take the upper one, while PHP's zend_dtoa (mode 0) takes the
    // nearest with ties to even, as Rust's fixed-precision `{:.N$e}` does (measured: PHP writes
    // d:627005491681936.2;). A tie at n digits needs half a unit of the n-th digit to be under
    // half an ulp, so n >= 16; only then redo the same digit count that way, keeping it if it
    // still reads back as `f`.
    if digits.len() >= 15 && tie_possible(f, digits.len()) {
        let mut exact = [0u8; 40];
        let mut cursor = std::io::Cursor::new(&mut exact[..]);
        let _ = write!(cursor, "{:.*e}", digits.len() - 1, f.abs());
        let written = cursor.position() as usize;
        let reads_back = std::str::from_utf8(&exact[..written])
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            == Some(f.abs());
        if reads_back {
            (digits, exp) = shortest_digits(&exact[..written]);
        }
    }
    let negative = f.is_sign_negative();
    let digits = digits.as_slice();
    // PHP's decpt is exp + 1; fixed notation when -4 < decpt <= 17... measured: 1e-4 fixed, 1e-5 not,
    // 1e16 fixed, 1e17 not.
    let decpt = exp + 1;
    if negative {
        out.push(b'-');
    }
    if !(-3..=17).contains(&decpt) {
        out.push(digits[0]);
        out.push(b'.');
        if digits.len() > 1 {
            out.extend_from_slice(&digits[1..]);
        } else {
            out.push(b'0');
        }
        out.push(b'E');
        out.push(if exp < 0 { b'-' } else { b'+' });
        write_uint(out, u64::from(exp.unsigned_abs()));
    } else if decpt <= 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-decpt) {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    } else {
        let decpt = decpt as usize;
        if digits.len() <= decpt {
            out.extend_from_slice(digits);
            for _ in digits.len()..decpt {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits[..decpt]);
            out.push(b'.');
            out.extend_from_slice(&digits[decpt..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The tie cases need every written digit: they are exact binary values halfway between two
    // shortest decimal candidates.
    #[allow(clippy::excessive_precision)]
    fn floats_print_like_php() {
        // Pairs measured with PHP 8.2's serialize().
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1e17, "1.0E+17"),
            (1.2345678901234568e17, "1.2345678901234568E+17"),
            (0.0001, "0.0001"),
            (0.00001, "1.0E-5"),
            (1.5e-5, "1.5E-5"),
            (-0.0, "-0"),
            (1e25, "1.0E+25"),
            (1.0, "1"),
            (100.0, "100"),
            (5e-324, "5.0E-324"),
            (1.7976931348623157e308, "1.7976931348623157E+308"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.00025, "0.00025"),
            (123456789012345.6, "123456789012345.6"),
            (1234567890123456.7, "1234567890123456.8"),
            // Exact ties (…36.25, …89.125) between two shortest candidates: PHP takes the even digit.
            (627005491681936.2, "627005491681936.2"),
            (159810037998389.12, "159810037998389.12"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "INF"),
            (f64::NEG_INFINITY, "-INF"),
            (f64::NAN, "NAN"),
        ];
        for (f, want) in cases {
            let mut out = Vec::new();
            write_float(&mut out, *f);
            assert_eq!(String::from_utf8(out).unwrap(), *want, "{f:e}");
        }
    }

    /// The tie filter only skips work: with it and without it, every float prints the same.
    #[test]
    fn tie_filter_never_changes_the_output() {
        let mut rng = crate::test_rng::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next();
        let mut skipped = 0;
        for i in 0..200_000 {
            let f = match i % 3 {
                0 => f64::from_bits(next()),
                // Values with a short exact expansion, where ties live.
                1 => (next() % (1 << 53)) as f64 / (1u64 << (next() % 12)) as f64,
                _ => (next() % 100_000) as f64 / 100.0 * ((next() % 5) as f64 + 1.0) * 1.0825,
            };
            if !f.is_finite() || f == 0.0 {
                continue;
            }
            let mut ryu_buf = ryu::Buffer::new();
            let (digits, _) = shortest_digits(ryu_buf.format_finite(f).as_bytes());
            if digits.len() < 15 || tie_possible(f, digits.len()) {
                continue;
            }
            skipped += 1;
            // What the slow check would have produced: the same digits.
            let mut exact = [0u8; 40];
            let mut cursor = std::io::Cursor::new(&mut exact[..]);
            write!(cursor, "{:.*e}", digits.len() - 1, f.abs()).unwrap();
            let written = cursor.position() as usize;
            let (even, _) = shortest_digits(&exact[..written]);
            let reads_back = std::str::from_utf8(&exact[..written])
                .unwrap()
                .parse::<f64>()
                .unwrap()
                == f.abs();
            assert!(
                !reads_back || even.as_slice() == digits.as_slice(),
                "{f:e}: skipped a tie"
            );
        }
        assert!(
            skipped > 50_000,
            "the filter skips most long floats: {skipped}"
        );
    }

    #[test]
    fn ints_print_like_php() {
        for (i, want) in [
            (0i64, "0"),
            (-1, "-1"),
            (i64::MIN, "-9223372036854775808"),
            (i64::MAX, "9223372036854775807"),
        ] {
            let mut out = Vec::new();
            write_int(&mut out, i);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }
}
