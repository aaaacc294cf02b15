//! UTF-8 checks of the strings a typed target asks for as `&str` or `String`, a window of the
//! input at a time instead of string by string.
//!
//! Session strings are short (a SKU, a colour, a token), and `std::str::from_utf8` costs a call
//! and a byte-at-a-time loop on each of them: a fifth of a typed deserialization, measured on a
//! shopping cart. Checked once, a stretch of input holding many strings goes word at a time, and a
//! string inside it is then a slice of that `&str`: valid exactly when both its ends fall on
//! character boundaries, two byte tests. The verdict and the offset of a bad byte are the ones a
//! check of the string alone gives.

/// Bytes checked ahead of the string asked for: the strings of a hundred entries or so, checked
/// in about 1,700 instructions. The price of a window that is not used: a target reading one
/// short string between long ones it skips pays that per string read (measured against 1 KiB
/// windows: 1% fewer instructions on the cart, 1.3% on objects; an adaptive size cost the
/// Laravel payload 0.6%).
const WINDOW: usize = 4096;

/// The stretch of input last checked, as text.
pub(super) struct Utf8Window<'de> {
    input: &'de [u8],
    /// Valid UTF-8: `input[at..at + text.len()]`.
    text: &'de str,
    at: usize,
}

impl<'de> Utf8Window<'de> {
    pub(super) fn new(input: &'de [u8]) -> Self {
        Utf8Window {
            input,
            text: "",
            at: 0,
        }
    }

    /// `input[start..start + len]` as text, or the offset of its first byte that is not UTF-8
    /// (where a check of those bytes alone puts it).
    #[inline]
    pub(super) fn str(&mut self, start: usize, len: usize) -> Result<&'de str, usize> {
        // `start` below the window wraps around to a large value, which `get` refuses.
        let from = start.wrapping_sub(self.at);
        if let Some(s) = from.checked_add(len).and_then(|to| self.text.get(from..to)) {
            return Ok(s);
        }
        self.check_from(start, len)
    }

    /// Check a new window starting at `start`, at least `len` bytes long.
    #[inline(never)]
    fn check_from(&mut self, start: usize, len: usize) -> Result<&'de str, usize> {
        let input = self.input;
        let Some(end) = start.checked_add(len).filter(|&e| e <= input.len()) else {
            // Not a span of the input: no window, the caller's bytes decide (never reached from
            // the deserializer, which passes spans it has read).
            return Err(start);
        };
        let mut limit = end.max(start.saturating_add(WINDOW)).min(input.len());
        // End the window on a character boundary, so a character it cuts is not an error.
        while limit > end && input.get(limit).is_some_and(|&b| is_continuation(b)) {
            limit -= 1;
        }
        let text = match std::str::from_utf8(&input[start..limit]) {
            Ok(text) => text,
            Err(e) if e.valid_up_to() >= len => {
                // Bad bytes past this string: keep the valid part as the window.
                match std::str::from_utf8(&input[start..start + e.valid_up_to()]) {
                    Ok(text) => text,
                    Err(_) => return from_bytes(input, start, end),
                }
            }
            Err(e) => return Err(start + e.valid_up_to()),
        };
        self.text = text;
        self.at = start;
        match text.get(..len) {
            Some(s) => Ok(s),
            // The string ends inside a character.
            None => from_bytes(input, start, end),
        }
    }
}

#[inline]
fn is_continuation(b: u8) -> bool {
    (b as i8) < -0x40
}

/// The string on its own, for the verdict and the offset of its first bad byte.
#[cold]
fn from_bytes(input: &[u8], start: usize, end: usize) -> Result<&str, usize> {
    std::str::from_utf8(&input[start..end]).map_err(|e| start + e.valid_up_to())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every span of inputs mixing ASCII, multi-byte characters and bad bytes, asked in order
    /// and out of order: the same verdict and offset as `from_utf8` on the span alone.
    #[test]
    fn agrees_with_from_utf8_on_every_span() {
        let mut rng = crate::test_rng::Rng(0x07f8_0b1d);
        let pieces: [&[u8]; 7] = [
            b"a",
            b"xyz",
            "é".as_bytes(),
            "€".as_bytes(),
            "😀".as_bytes(),
            b"\xff",
            b"\xe2\x82",
        ];
        for _ in 0..300 {
            let mut input = Vec::new();
            for _ in 0..rng.below(40) {
                input.extend_from_slice(pieces[rng.below(pieces.len())]);
            }
            let mut window = Utf8Window::new(&input);
            for _ in 0..200 {
                let start = rng.below(input.len() + 1);
                let len = rng.below(input.len() - start + 1);
                let want = std::str::from_utf8(&input[start..start + len])
                    .map_err(|e| start + e.valid_up_to());
                assert_eq!(window.str(start, len), want, "{input:?} {start}+{len}");
            }
        }
    }

    #[test]
    fn a_long_input_is_checked_a_window_at_a_time() {
        let mut input = "é".repeat(WINDOW).into_bytes();
        input.push(0xff);
        let mut window = Utf8Window::new(&input);
        assert_eq!(window.str(0, 4), Ok("éé"));
        assert!(
            window.text.len() <= WINDOW,
            "one window, ending on a character boundary"
        );
        assert_eq!(window.str(2 * WINDOW - 2, 2), Ok("é"));
        assert_eq!(window.str(2 * WINDOW - 2, 3), Err(2 * WINDOW));
        assert_eq!(
            window.str(1, 2),
            Err(1),
            "a span starting inside a character"
        );
    }
}
