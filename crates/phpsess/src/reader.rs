//! A byte cursor over PHP's `serialize()` format that yields one value header at a time.
//!
//! This is the one tokenizer: [`crate::unserialize`] builds [`crate::Value`] trees with it and the
//! serde deserializer drives visitors with it. It accepts exactly the token grammar of PHP 8.2's
//! `var_unserializer.re` (including its quirks, such as `O:` counts with a sign or no digits) and
//! records where every error happened.

use std::borrow::Cow;

use crate::decode::scan;
use crate::error::{DecodeReason, Error, Result};

/// PHP's default `unserialize_max_depth`: nested non-empty arrays and objects allowed.
pub const MAX_DEPTH: usize = 4096;

/// The start of one value. Containers (`Array`, `Object`) have consumed their opening `{`; the caller
/// reads the entries and then calls [`Reader::end_container`].
#[derive(Debug, PartialEq)]
pub(crate) enum Header<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, [u8]>),
    Array(usize),
    Object { class: &'a [u8], len: usize },
    Custom { class: &'a [u8], data: &'a [u8] },
    Enum { class: &'a [u8], case: &'a [u8] },
    ObjectRef(u64),
    Ref(u64),
}

/// An array or object key as read: only `i:`, `s:` and `S:` are keys.
#[derive(Debug)]
pub(crate) enum KeyRef<'a> {
    Int(i64),
    Str(Cow<'a, [u8]>),
}

pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { input, pos: 0 }
    }

    /// Offset of the next unread byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    pub(crate) fn error(&self, reason: DecodeReason) -> Error {
        Error::decode(self.pos, reason)
    }

    fn error_at(&self, pos: usize, reason: DecodeReason) -> Error {
        Error::decode(pos, reason)
    }

    /// True when the next byte is `b`.
    #[inline]
    pub(crate) fn peek_is(&self, b: u8) -> bool {
        self.peek() == Some(b)
    }

    /// Move to `pos` (only ever forward, to a position a previous read returned).
    pub(crate) fn skip_to(&mut self, pos: usize) {
        self.pos = pos;
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    #[inline]
    fn expect(&mut self, byte: u8, expected: &'static str, reading: &'static str) -> Result<()> {
        match self.peek() {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.error(DecodeReason::Expected { expected, reading })),
            None => Err(self.error(DecodeReason::UnexpectedEnd { reading })),
        }
    }

    /// `uiv = [0-9]+`, with C's `size_t` wrap-around on absurdly long inputs, like `parse_uiv`.
    #[inline]
    fn uiv(&mut self, reading: &'static str) -> Result<u64> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            n = n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            self.pos += 1;
        }
        if self.pos == start {
            return Err(match self.peek() {
                None => self.error(DecodeReason::UnexpectedEnd { reading }),
                Some(_) => self.error(DecodeReason::InvalidNumber { reading }),
            });
        }
        Ok(n)
    }

    /// `iv = [+-]? [0-9]+` scanned, then valued like `parse_iv2` (saturating on overflow).
    #[inline]
    fn iv(&mut self, reading: &'static str) -> Result<i64> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let digits = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if self.pos == digits {
            return Err(match self.peek() {
                None => self.error(DecodeReason::UnexpectedEnd { reading }),
                Some(_) => self.error(DecodeReason::InvalidNumber { reading }),
            });
        }
        Ok(parse_iv2(&self.input[start..self.pos]).0)
    }

    /// `parse_iv2` as PHP calls it for `O:` counts and `C:` lengths: optional sign, any number of
    /// digits including none.
    fn loose_iv(&mut self) -> i64 {
        let rest = &self.input[self.pos..];
        let (value, used) = parse_iv2(rest);
        self.pos += used;
        value
    }

    /// Read the next value's header.
    #[inline]
    pub(crate) fn header(&mut self) -> Result<Header<'a>> {
        // The tokens PHP writes most, by the scanner the tape builder uses: it recognises only
        // what the grammar below accepts, with the same value, so verdicts and errors stay here.
        let pos = self.pos;
        let fast = match self.input.get(pos) {
            Some(b's') => scan::string(self.input, pos)
                .map(|(at, len, end)| (Header::Str(Cow::Borrowed(&self.input[at..at + len])), end)),
            Some(b'i') => scan::int(self.input, pos).map(|(v, end)| (Header::Int(v), end)),
            Some(b'a') => scan::array(self.input, pos).map(|(n, end)| (Header::Array(n), end)),
            Some(b'd') => scan::float(self.input, pos).map(|(v, end)| (Header::Float(v), end)),
            Some(b'b') => scan::boolean(self.input, pos).map(|(v, end)| (Header::Bool(v), end)),
            Some(b'O') => scan::object(self.input, pos).map(|(at, len, count, end)| {
                let class = &self.input[at..at + len];
                (Header::Object { class, len: count }, end)
            }),
            Some(b'N') if self.input.get(pos + 1) == Some(&b';') => Some((Header::Null, pos + 2)),
            _ => None,
        };
        if let Some((header, end)) = fast {
            self.pos = end;
            return Ok(header);
        }
        self.header_slow()
    }

    /// [`Self::header`] for everything the scanner leaves: the whole grammar and every error.
    pub(crate) fn header_slow(&mut self) -> Result<Header<'a>> {
        let start = self.pos;
        let Some(tag) = self.peek() else {
            return Err(self.error(DecodeReason::UnexpectedEnd { reading: "value" }));
        };
        self.pos += 1;
        if tag == b'N' {
            self.expect(b';', "';'", "null")?;
            return Ok(Header::Null);
        }
        if tag == b'}' {
            self.pos = start;
            return Err(self.error(DecodeReason::UnexpectedEnd {
                reading: "container",
            }));
        }
        let Some(reading) = tag_name(tag) else {
            self.pos = start;
            return Err(self.error(DecodeReason::UnknownTag(tag)));
        };
        self.expect(b':', "':'", reading)?;
        match tag {
            b'b' => {
                let v = match self.peek() {
                    Some(b'0') => false,
                    Some(b'1') => true,
                    None => return Err(self.error(DecodeReason::UnexpectedEnd { reading })),
                    Some(_) => {
                        return Err(self.error(DecodeReason::Expected {
                            expected: "0 or 1",
                            reading,
                        }))
                    }
                };
                self.pos += 1;
                self.expect(b';', "';'", reading)?;
                Ok(Header::Bool(v))
            }
            b'i' => {
                let v = self.iv(reading)?;
                self.expect(b';', "';'", reading)?;
                Ok(Header::Int(v))
            }
            b'd' => self.float().map(Header::Float),
            b's' => self.string(reading).map(|s| Header::Str(Cow::Borrowed(s))),
            b'S' => self.escaped_string().map(|s| Header::Str(Cow::Owned(s))),
            b'a' => {
                let digits = self.pos;
                self.uiv(reading)?;
                // PHP values an array count with parse_iv (saturating, "Numerical result out of
                // range"), not the wrapping parse_uiv of lengths: `a:18446744073709551616:{}`
                // must not wrap to 0 (found by tests/tests/format/differential.rs).
                let n = parse_iv2(&self.input[digits..self.pos]).0 as u64;
                self.expect(b':', "':'", reading)?;
                self.expect(b'{', "'{'", reading)?;
                // PHP: "each element is encoded using at least 2 characters".
                let remaining = self.remaining();
                if n > (remaining / 2) as u64 || n >= HT_MAX_SIZE {
                    return Err(self.error_at(
                        start,
                        DecodeReason::LengthExceedsInput {
                            reading: "array",
                            declared: n,
                            remaining,
                        },
                    ));
                }
                Ok(Header::Array(n as usize))
            }
            b'O' | b'C' => self.object(tag, start),
            b'E' => {
                let s = self.class_like(reading, b';')?;
                let Some(colon) = s.iter().position(|&b| b == b':') else {
                    return Err(self.error_at(start, DecodeReason::InvalidEnum));
                };
                let (class, case) = (&s[..colon], &s[colon + 1..]);
                if !valid_class_name(class) {
                    return Err(self.error_at(start + 2, DecodeReason::InvalidClassName));
                }
                Ok(Header::Enum { class, case })
            }
            b'r' | b'R' => {
                let n = self.uiv(reading)?;
                self.expect(b';', "';'", reading)?;
                Ok(if tag == b'r' {
                    Header::ObjectRef(n)
                } else {
                    Header::Ref(n)
                })
            }
            _ => unreachable!("tag_name filtered unknown tags"),
        }
    }

    /// An array or object key: `i:`, `s:` or `S:` and nothing else.
    #[inline]
    pub(crate) fn key(&mut self) -> Result<KeyRef<'a>> {
        let start = self.pos;
        // The two common key shapes are read directly; `S:` goes through `header`.
        let fast = match self.input.get(start) {
            Some(b's') => scan::string(self.input, start)
                .map(|(at, len, end)| (KeyRef::Str(Cow::Borrowed(&self.input[at..at + len])), end)),
            Some(b'i') => scan::int(self.input, start).map(|(v, end)| (KeyRef::Int(v), end)),
            _ => None,
        };
        if let Some((key, end)) = fast {
            self.pos = end;
            return Ok(key);
        }
        match (self.input.get(start), self.input.get(start + 1)) {
            (Some(b's'), Some(b':')) => {
                self.pos += 2;
                self.string("string").map(|s| KeyRef::Str(Cow::Borrowed(s)))
            }
            (Some(b'i'), Some(b':')) => {
                self.pos += 2;
                let v = self.iv("integer")?;
                self.expect(b';', "';'", "integer")?;
                Ok(KeyRef::Int(v))
            }
            (Some(b'S'), Some(b':')) => match self.header()? {
                Header::Str(s) => Ok(KeyRef::Str(s)),
                _ => Err(self.error_at(start, DecodeReason::InvalidKey)),
            },
            (None, _) => Err(self.error(DecodeReason::UnexpectedEnd { reading: "key" })),
            (Some(_), _) => Err(self.error(DecodeReason::InvalidKey)),
        }
    }

    /// Consume the `}` that closes an array or object.
    #[inline]
    pub(crate) fn end_container(&mut self, reading: &'static str) -> Result<()> {
        self.expect(b'}', "'}'", reading)
    }

    /// Fail unless the whole input was consumed.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(self.error(DecodeReason::TrailingBytes))
        }
    }

    fn float(&mut self) -> Result<f64> {
        let reading = "float";
        let rest = &self.input[self.pos..];
        for (word, v) in [
            (&b"NAN;"[..], f64::NAN),
            (b"INF;", f64::INFINITY),
            (b"-INF;", f64::NEG_INFINITY),
        ] {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(v);
            }
        }
        let start = self.pos;
        let len = scan_php_float(rest)
            .ok_or_else(|| self.error(DecodeReason::InvalidNumber { reading }))?;
        self.pos += len;
        if let Some(v) = exact_short_float(&rest[..len]) {
            self.expect(b';', "';'", reading)?;
            return Ok(v);
        }
        // The scanner admitted only [+-]digits[.digits][e[+-]digits], all ASCII.
        let text = std::str::from_utf8(&self.input[start..self.pos])
            .map_err(|_| self.error_at(start, DecodeReason::InvalidNumber { reading }))?;
        let v = parse_float_text(text)
            .ok_or_else(|| self.error_at(start, DecodeReason::InvalidNumber { reading }))?;
        self.expect(b';', "';'", reading)?;
        Ok(v)
    }

    /// `N:"bytes";` after the tag and colon.
    #[inline]
    fn string(&mut self, reading: &'static str) -> Result<&'a [u8]> {
        let len = self.uiv(reading)?;
        self.expect(b':', "':'", reading)?;
        self.expect(b'"', "'\"'", reading)?;
        let remaining = self.remaining();
        if len > remaining as u64 {
            return Err(self.error(DecodeReason::LengthExceedsInput {
                reading,
                declared: len,
                remaining,
            }));
        }
        let s = &self.input[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        self.expect(b'"', "'\"' after the string's declared length", reading)?;
        self.expect(b';', "';'", reading)?;
        Ok(s)
    }

    /// `S:N:"…";` where `\xx` is one byte in hex (deprecated by PHP, still accepted).
    fn escaped_string(&mut self) -> Result<Vec<u8>> {
        let reading = "escaped string";
        let len = self.uiv(reading)?;
        self.expect(b':', "':'", reading)?;
        self.expect(b'"', "'\"'", reading)?;
        let remaining = self.remaining();
        if len > remaining as u64 {
            return Err(self.error(DecodeReason::LengthExceedsInput {
                reading,
                declared: len,
                remaining,
            }));
        }
        let mut out = Vec::with_capacity(len as usize);
        for _ in 0..len {
            let Some(b) = self.peek() else {
                return Err(self.error(DecodeReason::UnexpectedEnd { reading }));
            };
            if b == b'\\' {
                let hex = self.input.get(self.pos + 1..self.pos + 3);
                let v = hex.and_then(|h| {
                    let hi = (h[0] as char).to_digit(16)?;
                    let lo = (h[1] as char).to_digit(16)?;
                    Some((hi * 16 + lo) as u8)
                });
                match v {
                    Some(v) => {
                        out.push(v);
                        self.pos += 3;
                    }
                    None => return Err(self.error(DecodeReason::InvalidEscape)),
                }
            } else {
                out.push(b);
                self.pos += 1;
            }
        }
        self.expect(b'"', "'\"' after the string's declared length", reading)?;
        self.expect(b';', "';'", reading)?;
        Ok(out)
    }

    /// `N:"name"` followed by `after` (`:` for objects, `;` for enums); `len` must be non-zero.
    fn class_like(&mut self, reading: &'static str, after: u8) -> Result<&'a [u8]> {
        let len_at = self.pos;
        let len = self.uiv(reading)?;
        self.expect(b':', "':'", reading)?;
        self.expect(b'"', "'\"'", reading)?;
        let remaining = self.remaining();
        if len == 0 {
            return Err(self.error_at(len_at, DecodeReason::InvalidClassName));
        }
        if len > remaining as u64 {
            return Err(self.error_at(
                len_at,
                DecodeReason::LengthExceedsInput {
                    reading,
                    declared: len,
                    remaining,
                },
            ));
        }
        let s = &self.input[self.pos..self.pos + len as usize];
        self.pos += len as usize;
        self.expect(b'"', "'\"' after the name's declared length", reading)?;
        let what = if after == b';' { "';'" } else { "':'" };
        self.expect(after, what, reading)?;
        Ok(s)
    }

    fn object(&mut self, tag: u8, start: usize) -> Result<Header<'a>> {
        let reading = if tag == b'C' {
            "custom object"
        } else {
            "object"
        };
        let name_at = self.pos;
        let class = self.class_like(reading, b':')?;
        if class[0] == 0 || class[0] == b'\\' || !valid_class_name(class) {
            return Err(self.error_at(name_at, DecodeReason::InvalidClassName));
        }
        // Offsets below mirror object_custom()/the O: branch, which measure from the closing quote.
        let quote = self.pos - 2;
        if tag == b'C' {
            let len = self.loose_iv();
            self.expect(b':', "':'", reading)?;
            self.expect(b'{', "'{'", reading)?;
            let remaining = self.remaining();
            if len < 0 || remaining as i64 <= len {
                return Err(self.error_at(
                    start,
                    DecodeReason::LengthExceedsInput {
                        reading,
                        declared: len.max(0) as u64,
                        remaining,
                    },
                ));
            }
            let data = &self.input[self.pos..self.pos + len as usize];
            self.pos += len as usize;
            self.expect(b'}', "'}' after the payload's declared length", reading)?;
            return Ok(Header::Custom { class, data });
        }
        if quote + 3 > self.input.len() {
            return Err(self.error(DecodeReason::UnexpectedEnd { reading }));
        }
        let len = self.loose_iv();
        let remaining = self.input.len() - quote;
        if len < 0 || len as u64 > (remaining / 2) as u64 {
            return Err(self.error_at(
                start,
                DecodeReason::LengthExceedsInput {
                    reading,
                    declared: len.max(0) as u64,
                    remaining,
                },
            ));
        }
        self.expect(b':', "':'", reading)?;
        self.expect(b'{', "'{'", reading)?;
        Ok(Header::Object {
            class,
            len: len as usize,
        })
    }
}

/// HT_MAX_SIZE on 64-bit PHP: arrays cannot declare more elements than this.
pub(crate) const HT_MAX_SIZE: u64 = 0x4000_0000;

fn tag_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        b'b' => "bool",
        b'i' => "integer",
        b'd' => "float",
        b's' => "string",
        b'S' => "escaped string",
        b'a' => "array",
        b'O' => "object",
        b'C' => "custom object",
        b'E' => "enum",
        b'r' => "object reference",
        b'R' => "reference",
        _ => return None,
    })
}

/// PHP's `parse_iv2`: `[+-]?0*[0-9]*`, saturating with PHP's "Numerical result out of range".
/// Returns the value and the number of bytes used.
fn parse_iv2(s: &[u8]) -> (i64, usize) {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    while s.get(i) == Some(&b'0') {
        i += 1;
    }
    let start = i;
    let mut result: u64 = 0;
    while let Some(b @ b'0'..=b'9') = s.get(i).copied() {
        result = result.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
        i += 1;
    }
    let limit = i64::MAX as u64 + u64::from(neg);
    let value = if i - start > 19 || result > limit {
        if neg {
            i64::MIN
        } else {
            i64::MAX
        }
    } else if neg {
        (result as i64).wrapping_neg()
    } else {
        result as i64
    };
    (value, i)
}

/// Length of the longest prefix matching `iv | nv | nvexp` from var_unserializer.re, if any.
fn scan_php_float(s: &[u8]) -> Option<usize> {
    let digits = |from: usize| s[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut i = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let int_digits = digits(i);
    i += int_digits;
    if s.get(i) == Some(&b'.') {
        let frac_digits = digits(i + 1);
        if int_digits == 0 && frac_digits == 0 {
            return None;
        }
        i += 1 + frac_digits;
    } else if int_digits == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_digits = digits(j);
        if exp_digits > 0 {
            i = j + exp_digits;
        }
    }
    Some(i)
}

/// Powers of ten an `f64` holds exactly.
pub(crate) const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `[-]digits[.digits]` with at most 15 significant digits, valued without a general parser:
/// the digits as an integer and the power of ten are both exact in an `f64`, so one division
/// rounds correctly (Clinger's fast path). `None` for every other shape.
#[inline]
pub(crate) fn exact_short_float(text: &[u8]) -> Option<f64> {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if body.is_empty() || body.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut fraction_digits = None;
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(b - b'0'),
            b'.' if fraction_digits.is_none() => fraction_digits = Some(body.len() - i - 1),
            _ => return None,
        }
    }
    // At most 15 digits were read (16 bytes with the point, or 15 without), so
    // mantissa < 10^16 may exceed 2^53 only with 16 digits: re-check.
    if mantissa > 1 << 53 || body.first() == Some(&b'.') || body.last() == Some(&b'.') {
        return None;
    }
    let value = mantissa as f64 / EXACT_POWERS[fraction_digits.unwrap_or(0)];
    Some(if negative { -value } else { value })
}

/// `zend_strtod` on text the scanner accepted. Rust's parser is correctly rounded, as is Gay's.
fn parse_float_text(text: &str) -> Option<f64> {
    match text.parse::<f64>() {
        Ok(v) => Some(v),
        // Rust rejects "5." and ".5e3"-style edge forms in some versions; normalise and retry.
        Err(_) => {
            let mut t = String::with_capacity(text.len() + 2);
            let mut prev_dot = false;
            for c in text.chars() {
                if (c == 'e' || c == 'E') && prev_dot {
                    t.push('0');
                }
                prev_dot = c == '.';
                t.push(c);
            }
            if prev_dot {
                t.push('0');
            }
            t.parse::<f64>().ok()
        }
    }
}

/// `zend_is_valid_class_name`: ASCII letters, digits, `_`, `\` and any byte >= 0x80. By table:
/// every object header of a session pays it once per byte of its class name.
#[inline]
pub(crate) fn valid_class_name(name: &[u8]) -> bool {
    name.iter().all(|&b| CLASS_NAME_BYTES[usize::from(b)])
}

/// The bytes [`valid_class_name`] takes.
const CLASS_NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_' || c == b'\\' || c >= 0x80;
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_name_table_is_zend_is_valid_class_name() {
        for b in 0..=255u8 {
            let zend = b.is_ascii_alphanumeric() || b == b'_' || b == b'\\' || b >= 0x80;
            assert_eq!(valid_class_name(&[b]), zend, "{b:#04x}");
        }
        assert!(valid_class_name(b"App\\Cart\\CartItem"));
        assert!(!valid_class_name(b"a-b"));
    }

    #[test]
    fn float_scanner_matches_php_grammar() {
        let cases: &[(&str, Option<usize>)] = &[
            ("1;", Some(1)),
            ("-1.5;", Some(4)),
            (".5;", Some(2)),
            ("5.;", Some(2)),
            ("1e5;", Some(3)),
            ("1.5E-7;", Some(6)),
            ("1e;", Some(1)),
            (".;", None),
            ("+;", None),
            ("e5;", None),
        ];
        for (s, want) in cases {
            assert_eq!(scan_php_float(s.as_bytes()), *want, "{s}");
        }
        for text in ["5.", ".5", "1.e5", "+1.5", "-0", "1e999"] {
            assert!(parse_float_text(text).is_some(), "{text}");
        }
    }

    #[test]
    fn short_floats_value_exactly_as_the_general_parser() {
        let mut rng = crate::test_rng::Rng(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next();
        let mut checked = 0;
        for _ in 0..200_000 {
            let digits = 1 + (next() % 16) as usize;
            let mut text: String = (0..digits)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let point = (next() % (digits as u64 + 1)) as usize;
            if point > 0 && point < digits {
                text.insert(point, '.');
            }
            if next() % 2 == 0 {
                text.insert(0, '-');
            }
            let want: f64 = text.parse().unwrap();
            if let Some(got) = exact_short_float(text.as_bytes()) {
                assert_eq!(got.to_bits(), want.to_bits(), "{text}");
                checked += 1;
            }
        }
        assert!(
            checked > 150_000,
            "the fast path takes most short floats: {checked}"
        );
        for text in [
            "5.",
            ".5",
            "1e5",
            "+1",
            "12345678901234567",
            "1.2345678901234567",
        ] {
            assert_eq!(exact_short_float(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn parse_iv2_saturates_like_php() {
        assert_eq!(parse_iv2(b"9223372036854775807;"), (i64::MAX, 19));
        assert_eq!(parse_iv2(b"-9223372036854775808;"), (i64::MIN, 20));
        assert_eq!(parse_iv2(b"9223372036854775808;").0, i64::MAX);
        assert_eq!(parse_iv2(b"-99999999999999999999").0, i64::MIN);
        assert_eq!(parse_iv2(b"000000000000000000000012:"), (12, 24));
        assert_eq!(parse_iv2(b":"), (0, 0));
        assert_eq!(parse_iv2(b"+:"), (0, 1));
    }
}
