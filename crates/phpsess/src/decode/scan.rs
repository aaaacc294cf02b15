//! The tokens PHP's `serialize()` writes most — `N;`, `b:1;`, `i:42;`, `d:0.5;`, `s:3:"abc";`,
//! `a:2:{`, `}` —
//! read at full speed, and nothing else. Anything off this canonical path (a `+` sign, a
//! 19-digit number, a missing quote) is `None`, and the caller hands the position to
//! [`crate::reader::Reader`], which knows the whole grammar and its errors. So this never decides
//! what is valid: it only recognises the common case of what `Reader` accepts, with the same value.

use crate::reader::{exact_short_float, HT_MAX_SIZE};

/// Up to `max` decimal digits at `pos`: their value and the position after them.
#[inline]
pub(crate) fn digits(input: &[u8], mut pos: usize, max: usize) -> Option<(u64, usize)> {
    let start = pos;
    let mut n: u64 = 0;
    while let Some(&b) = input.get(pos) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if pos - start == max {
            return None;
        }
        n = n * 10 + u64::from(d);
        pos += 1;
    }
    (pos > start).then_some((n, pos))
}

/// `i:[-]digits;` at `pos` (the `i`, which the caller has checked), up to 18 digits so the value cannot overflow.
#[inline]
pub(crate) fn int(input: &[u8], pos: usize) -> Option<(i64, usize)> {
    if input.get(pos + 1) != Some(&b':') {
        return None;
    }
    let negative = input.get(pos + 2) == Some(&b'-');
    let (n, end) = digits(input, pos + 2 + usize::from(negative), 18)?;
    if input.get(end) != Some(&b';') {
        return None;
    }
    let n = n as i64;
    Some((if negative { -n } else { n }, end + 1))
}

/// `d:[-]digits[.digits];` at `pos` (the `d`): up to 15 significant digits by
/// [`exact_short_float`], longer ones (PHP writes up to 17, `d:472.40299999999996;`) by Rust's
/// parser, which rounds correctly as PHP's `zend_strtod` does. Exponents, `INF`, `NAN` and every
/// other shape are `Reader`'s.
#[inline]
pub(crate) fn float(input: &[u8], pos: usize) -> Option<(f64, usize)> {
    if input.get(pos + 1) != Some(&b':') {
        return None;
    }
    let start = pos + 2;
    let len = input
        .get(start..)?
        .iter()
        .take(LONG_FLOAT + 1)
        .position(|&b| b == b';')?;
    let text = &input[start..start + len];
    let value = match exact_short_float(text) {
        Some(v) => v,
        None => long_decimal(text)?,
    };
    Some((value, start + len + 1))
}

/// The longest float text [`float`] reads: 17 significant digits, a sign, a point and room for
/// leading zeros (`0.00012345678901234567`).
const LONG_FLOAT: usize = 24;

/// `[-]digits[.digits]` (digits on both sides of a point) by `str::parse`; `None` for any other
/// shape, so `Reader` keeps every form that needs its grammar (`1.`, `.5`, `+1`, `1e5`).
#[cold]
fn long_decimal(text: &[u8]) -> Option<f64> {
    let body = text.strip_prefix(b"-").unwrap_or(text);
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], Some(&body[dot + 1..])),
        None => (body, None),
    };
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !digits(int) || !frac.is_none_or(digits) {
        return None;
    }
    // All ASCII digits, '-' and '.': UTF-8 by construction.
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `s:len:"bytes";` at `pos` (the `s`): where the bytes start, their length, and the position after.
#[inline]
pub(crate) fn string(input: &[u8], pos: usize) -> Option<(usize, usize, usize)> {
    if input.get(pos + 1) != Some(&b':') {
        return None;
    }
    let (len, after) = digits(input, pos + 2, 10)?;
    if input.get(after..after + 2)? != b":\"" {
        return None;
    }
    let start = after + 2;
    let end = start.checked_add(len as usize)?;
    if input.get(end..end.checked_add(2)?)? != b"\";" {
        return None;
    }
    Some((start, len as usize, end + 2))
}

/// `a:count:{` at `pos` (the `a`), with the count checked against the input as `Reader` checks it.
#[inline]
pub(crate) fn array(input: &[u8], pos: usize) -> Option<(usize, usize)> {
    if input.get(pos + 1) != Some(&b':') {
        return None;
    }
    let (n, after) = digits(input, pos + 2, 9)?;
    if input.get(after..after + 2)? != b":{" {
        return None;
    }
    let body = after + 2;
    // "Each element is encoded using at least 2 characters."
    if n > ((input.len() - body) / 2) as u64 || n >= HT_MAX_SIZE {
        return None;
    }
    Some((n as usize, body))
}

/// `N;` or `b:0;`/`b:1;` at `pos`: the cell's payload (0/1 for bools) and the position after.
#[inline]
pub(crate) fn boolean(input: &[u8], pos: usize) -> Option<(bool, usize)> {
    match input.get(pos..pos + 4)? {
        b"b:0;" => Some((false, pos + 4)),
        b"b:1;" => Some((true, pos + 4)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_the_canonical_shapes() {
        assert_eq!(int(b"i:-42;", 0), Some((-42, 6)));
        assert_eq!(int(b"i:007;", 0), Some((7, 6)));
        assert_eq!(int(b"i:+1;", 0), None);
        assert_eq!(int(b"i:1234567890123456789;", 0), None, "19 digits: Reader");
        assert_eq!(string(br#"s:3:"abc";"#, 0), Some((5, 3, 10)));
        assert_eq!(string(br#"s:3:"abcd";"#, 0), None);
        assert_eq!(string(br#"s:99999999999:"a";"#, 0), None);
        assert_eq!(string(br#"s:9:"a";"#, 0), None, "length past the end");
        assert_eq!(array(b"a:2:{i:0;N;i:1;N;}", 0), Some((2, 5)));
        assert_eq!(array(b"a:9:{N;}", 0), None, "more elements than bytes");
        assert_eq!(boolean(b"b:1;", 0), Some((true, 4)));
        assert_eq!(float(b"d:-12.5;", 0), Some((-12.5, 8)));
        assert_eq!(float(b"d:0.1;", 0), Some((0.1, 6)));
        assert_eq!(float(b"d:1.0E+25;", 0), None, "exponents: Reader");
        assert_eq!(float(b"d:INF;", 0), None);
        assert_eq!(float(b"d:;", 0), None);
        assert_eq!(float(b"d:-;", 0), None);
        assert_eq!(
            float(b"d:472.40299999999996;", 0),
            Some((472.40299999999996, 21)),
            "17 digits, as PHP writes them"
        );
        assert_eq!(
            float(b"d:-0.00012345678901234567;", 0).map(|f| f.0),
            Some(-0.00012345678901234567)
        );
        assert_eq!(float(b"d:1.;", 0), None, "Reader's");
        assert_eq!(float(b"d:.5;", 0), None, "Reader's");
        assert_eq!(float(b"d:1.2.3;", 0), None);
        assert_eq!(float(b"d:--1;", 0), None);
        assert_eq!(
            float(b"d:0.1234567890123456789012345;", 0),
            None,
            "past LONG_FLOAT: Reader"
        );
        assert_eq!(boolean(b"b:2;", 0), None);
        assert_eq!(digits(b"12345", 0, 4), None);
        assert_eq!(digits(b"1234:", 0, 4), Some((1234, 4)));
    }
}
