//! The tokens PHP's `serialize()` writes most — `N;`, `b:1;`, `i:42;`, `d:0.5;`, `s:3:"abc";`,
//! `a:2:{`, `}` —
//! read at full speed, and nothing else. Anything off this canonical path (a `+` sign, a
//! 19-digit number, a missing quote) is `None`, and the caller hands the position to
//! [`crate::reader::Reader`], which knows the whole grammar and its errors. So this never decides
//! what is valid: it only recognises the common case of what `Reader` accepts, with the same value.

use crate::reader::{exact_short_float, valid_class_name, EXACT_POWERS, HT_MAX_SIZE};

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
#[inline(always)]
pub(crate) fn int(input: &[u8], pos: usize) -> Option<(i64, usize)> {
    if input.get(pos + 1) != Some(&b':') {
        return None;
    }
    let negative = input.get(pos + 2) == Some(&b'-');
    let first = pos + 2 + usize::from(negative);
    // One loop to the ';': digits only, at least one, at most 18.
    let mut n: u64 = 0;
    let mut at = first;
    loop {
        let b = *input.get(at)?;
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            if b != b';' || at == first || at - first > 18 {
                return None;
            }
            break;
        }
        n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        at += 1;
    }
    let n = n as i64;
    Some((if negative { -n } else { n }, at + 1))
}

/// `d:[-]digits[.digits];` at `pos` (the `d`): up to 15 significant digits by
/// [`exact_short_float`]'s exact division, read in the same pass that finds the `;`; longer ones
/// (PHP writes up to 17, `d:472.40299999999996;`) by Rust's parser, which rounds correctly as
/// PHP's `zend_strtod` does. Exponents, `INF`, `NAN` and every other shape are `Reader`'s.
#[inline(always)]
pub(crate) fn float(input: &[u8], pos: usize) -> Option<(f64, usize)> {
    if input.get(pos + 1) != Some(&b':') {
        return None;
    }
    let start = pos + 2;
    let negative = input.get(start) == Some(&b'-');
    let body = start + usize::from(negative);
    let mut mantissa: u64 = 0;
    let mut dot = None;
    let mut at = body;
    // `[-]digits[.digits]` with at most 19 digits (the mantissa fits a u64) and one inner point.
    loop {
        let b = *input.get(at)?;
        let d = b.wrapping_sub(b'0');
        if d <= 9 {
            // Wraps only past MAX_DIGITS, which the check after the loop refuses.
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        } else if b == b'.' && dot.is_none() {
            dot = Some(at);
        } else if b == b';' {
            break;
        } else {
            return float_text(input, start);
        }
        at += 1;
    }
    if at - body > MAX_DIGITS + usize::from(dot.is_some()) {
        return float_text(input, start);
    }
    let fraction_digits = match dot {
        Some(dot) if dot == body || dot + 1 == at => return float_text(input, start),
        Some(dot) => at - dot - 1,
        None => 0,
    };
    if at == body {
        return float_text(input, start);
    }
    let value = if mantissa <= 1 << 53 {
        // Both exact as f64: one correctly rounded division (Clinger's fast path).
        mantissa as f64 / EXACT_POWERS[fraction_digits]
    } else {
        // PHP's 17-digit floats (`d:472.40299999999996;`).
        divide_rounded(mantissa, fraction_digits)
    };
    Some((if negative { -value } else { value }, at + 1))
}

/// 10^0 ..= 10^19, the divisors of [`divide_rounded`].
const POWERS_OF_TEN: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// The most digits [`float`] reads itself: 10^19 > u64::MAX would not fit.
const MAX_DIGITS: usize = 19;

/// `mantissa / 10^fraction_digits` rounded to the nearest f64, ties to even (what a correctly
/// rounding parser gives for the decimal text, as PHP's `zend_strtod` does), for mantissas above
/// 2^53 where the exact-division fast path no longer holds. Exact integer arithmetic in u128: the
/// mantissa is shifted so its top bit is bit 127, divided by 10^k (< 2^74), which leaves a
/// quotient of at least 54 bits; the bits below the 53 kept, and the remainder, decide the
/// rounding. Results lie between 1e-19 and 1e19, far from subnormals and overflow.
fn divide_rounded(mantissa: u64, fraction_digits: usize) -> f64 {
    let shift = (mantissa as u128).leading_zeros();
    let numerator = (mantissa as u128) << shift;
    let divisor = u128::from(POWERS_OF_TEN[fraction_digits]);
    let quotient = numerator / divisor;
    let remainder = numerator - quotient * divisor;
    let extra = 128 - quotient.leading_zeros() - 53;
    let mut kept = quotient >> extra;
    let dropped = quotient & ((1u128 << extra) - 1);
    let half = 1u128 << (extra - 1);
    if dropped > half || (dropped == half && (remainder != 0 || kept & 1 == 1)) {
        kept += 1;
    }
    // kept <= 2^53: exact as f64; times a power of two, exact too.
    let exponent = i64::from(extra) - i64::from(shift);
    kept as u64 as f64 * f64::from_bits(((exponent + 1023) as u64) << 52)
}

/// [`float`] for the text after `d:` at `start` that its one pass does not take.
#[cold]
fn float_text(input: &[u8], start: usize) -> Option<(f64, usize)> {
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
#[inline(always)]
pub(crate) fn string(input: &[u8], pos: usize) -> Option<(usize, usize, usize)> {
    // Lengths under 100 (nearly every key and most values) without the digit loop.
    let head = input.get(pos + 1..pos + 5)?;
    let d0 = head[1].wrapping_sub(b'0');
    let d1 = head[2].wrapping_sub(b'0');
    let (len, after) = if head[0] != b':' || d0 > 9 {
        return None;
    } else if head[2] == b':' {
        (usize::from(d0), pos + 3)
    } else if d1 <= 9 && head[3] == b':' {
        (usize::from(d0) * 10 + usize::from(d1), pos + 4)
    } else {
        let (len, after) = digits(input, pos + 2, 10)?;
        if input.get(after) != Some(&b':') {
            return None;
        }
        (usize::try_from(len).ok()?, after)
    };
    if input.get(after + 1) != Some(&b'"') {
        return None;
    }
    let start = after + 2;
    let end = start.checked_add(len)?;
    if input.get(end..end.checked_add(2)?)? != b"\";" {
        return None;
    }
    Some((start, len, end + 2))
}

/// `a:count:{` at `pos` (the `a`), with the count checked against the input as `Reader` checks it.
#[inline(always)]
pub(crate) fn array(input: &[u8], pos: usize) -> Option<(usize, usize)> {
    // `a:N:{` with one digit, the usual session array, as one word.
    if let Some(&[b':', d, b':', b'{']) = input.get(pos + 1..pos + 5) {
        let n = usize::from(d.wrapping_sub(b'0'));
        let body = pos + 5;
        if n <= 9 && n <= (input.len() - body) / 2 {
            return Some((n, body));
        }
    }
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

/// `O:len:"Class":count:{` at `pos` (the `O`), with the class name and the count checked as
/// `Reader` checks them: the class's span, the count and where the properties start.
#[inline(always)]
pub(crate) fn object(input: &[u8], pos: usize) -> Option<(usize, usize, usize, usize)> {
    object_with(input, pos, valid_class_name)
}

/// [`object`] with the class name's characters checked by `valid`, which must agree with
/// [`valid_class_name`] (the serde layer remembers the last class it checked: a list of objects
/// repeats one class).
#[inline(always)]
pub(crate) fn object_with(
    input: &[u8],
    pos: usize,
    valid: impl FnOnce(&[u8]) -> bool,
) -> Option<(usize, usize, usize, usize)> {
    if input.get(pos + 1) != Some(&b':') {
        return None;
    }
    let (len, after) = digits(input, pos + 2, 10)?;
    if input.get(after..after + 2)? != b":\"" {
        return None;
    }
    let class_start = after + 2;
    let quote = class_start.checked_add(usize::try_from(len).ok()?)?;
    let class = input.get(class_start..quote)?;
    let first = *class.first()?;
    if first == 0 || first == b'\\' || !valid(class) {
        return None;
    }
    if input.get(quote..quote + 2)? != b"\":" {
        return None;
    }
    let (count, after) = digits(input, quote + 2, 9)?;
    if input.get(after..after + 2)? != b":{" || count > ((input.len() - quote) / 2) as u64 {
        return None;
    }
    Some((class_start, class.len(), count as usize, after + 2))
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

    /// The scanners against the reader's full grammar on random token-like inputs: whatever a
    /// scanner takes, the reader takes with the same value and the same end.
    #[test]
    fn scanners_agree_with_the_reader() {
        use crate::reader::{Header, Reader};
        let mut rng = crate::test_rng::Rng(0x5eed_f10a7);
        let alphabet = b"0123456789012345.-;:\"aE+ ";
        let mut taken = 0;
        for _ in 0..200_000 {
            let tag = [b's', b'i', b'd', b'a', b'O'][rng.below(5)];
            let mut input = vec![tag, b':'];
            let random = |rng: &mut crate::test_rng::Rng, input: &mut Vec<u8>, n: usize| {
                for _ in 0..rng.below(n) {
                    input.push(alphabet[rng.below(alphabet.len())]);
                }
            };
            match rng.below(3) {
                // Random bytes.
                0 => random(&mut rng, &mut input, 24),
                // The canonical shape, then maybe a byte changed.
                _ => {
                    let digits = |rng: &mut crate::test_rng::Rng, n: usize| -> Vec<u8> {
                        (0..n).map(|_| b'0' + rng.below(10) as u8).collect()
                    };
                    match tag {
                        b's' => {
                            let len = rng.below(120);
                            let declared = (len + rng.below(3)).saturating_sub(1);
                            input.extend_from_slice(format!("{declared}:\"").as_bytes());
                            input.extend(std::iter::repeat_n(b'x', len));
                            input.extend_from_slice(b"\";");
                        }
                        b'a' => input.extend_from_slice(format!("{}:{{", rng.below(4)).as_bytes()),
                        b'O' => {
                            let class =
                                ["stdClass", "App\\Cart", "\\X", "a-b", "", "\u{e9}t\u{e9}"]
                                    [rng.below(6)];
                            let declared = (class.len() + rng.below(3)).saturating_sub(1);
                            let count = rng.below(4);
                            input.extend_from_slice(
                                format!("{declared}:\"{class}\":{count}:{{").as_bytes(),
                            );
                            // Room for the declared properties, or not.
                            input.extend(std::iter::repeat_n(b'N', rng.below(12)));
                        }
                        _ => {
                            if rng.below(3) == 0 {
                                input.push(b'-');
                            }
                            let n = 1 + rng.below(24);
                            input.extend(digits(&mut rng, n));
                            if tag == b'd' && rng.below(4) != 0 {
                                input.insert(2 + rng.below(input.len() - 1), b'.');
                            }
                            input.push(b';');
                        }
                    }
                    if rng.below(4) == 0 {
                        let at = 1 + rng.below(input.len() - 1);
                        input[at] = alphabet[rng.below(alphabet.len())];
                    }
                }
            }
            if rng.below(2) == 0 {
                input.extend_from_slice(b";N;");
            }
            let slow = {
                let mut r = Reader::new(&input);
                r.header_slow().ok().map(|h| (h, r.pos()))
            };
            let fast = match tag {
                b's' => string(&input, 0)
                    .map(|(at, len, end)| (Header::Str(input[at..at + len].into()), end)),
                b'i' => int(&input, 0).map(|(v, end)| (Header::Int(v), end)),
                b'd' => float(&input, 0).map(|(v, end)| (Header::Float(v), end)),
                b'a' => array(&input, 0).map(|(n, end)| (Header::Array(n), end)),
                _ => object(&input, 0).map(|(at, len, count, end)| {
                    let class = &input[at..at + len];
                    (Header::Object { class, len: count }, end)
                }),
            };
            if let Some((fast, end)) = fast {
                let Some((slow, slow_end)) = slow else {
                    panic!(
                        "scanner took what the reader refuses: {:?}",
                        String::from_utf8_lossy(&input)
                    );
                };
                let same = match (&fast, &slow) {
                    (Header::Float(a), Header::Float(b)) => a.to_bits() == b.to_bits(),
                    _ => fast == slow,
                };
                assert!(
                    same && end == slow_end,
                    "{:?}",
                    String::from_utf8_lossy(&input)
                );
                taken += 1;
            }
        }
        assert!(taken > 50_000, "the scanners took only {taken} inputs");
    }

    /// The exact division against Rust's correctly rounding parser, on mantissas of every
    /// length up to 19 digits, ties included.
    #[test]
    fn long_mantissas_round_as_the_parser_does() {
        let mut rng = crate::test_rng::Rng(0xf1_0a7);
        let check = |m: u64, k: usize| {
            if m <= 1 << 53 {
                return;
            }
            let want: f64 = format!("{m}e-{k}").parse().unwrap();
            assert_eq!(divide_rounded(m, k).to_bits(), want.to_bits(), "{m}e-{k}");
        };
        for _ in 0..300_000 {
            let digits = 16 + rng.below(4);
            let m = rng.next() % 10u64.pow(digits as u32);
            check(m, rng.below(20));
        }
        // Exact ties between two doubles, and their neighbours: 2^53 + 1 and friends.
        for base in [
            (1u64 << 53) + 1,
            (1 << 54) + 2,
            (1 << 60) + (1 << 7),
            9_007_199_254_740_993,
        ] {
            for delta in 0..4 {
                for k in 0..20 {
                    check(base + delta, k);
                }
            }
        }
        assert_eq!(
            float(b"d:472.40299999999996;", 0),
            Some((472.40299999999996, 21))
        );
        assert_eq!(
            float(b"d:-3144.3918750000003;", 0),
            Some((-3144.3918750000003, 22))
        );
    }
}
