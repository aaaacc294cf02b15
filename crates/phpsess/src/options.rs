//! [`DecodeOptions`]: limits a caller sets for input it does not trust, on top of what PHP
//! itself refuses.

use crate::decode;
use crate::document::Document;
use crate::error::{DecodeReason, Error, Result};
use crate::value::{BorrowedValue, Value};
use crate::MAX_DEPTH;

/// How to decode: today, how deeply arrays and objects may nest.
///
/// The plain entry points ([`crate::unserialize`], [`Document::parse`], ...) accept exactly what
/// PHP's `unserialize()` accepts, nesting included (PHP's default `unserialize_max_depth`,
/// [`MAX_DEPTH`] = 4096). A service that reads sessions it did not write can refuse deep
/// input sooner: decoding never recurses, so the limit is not about the stack but about
/// giving hostile input less to work with. The error names the limit and where it was passed.
///
/// ```
/// use phpsess::DecodeOptions;
/// let shallow = DecodeOptions::new().max_depth(2);
/// assert!(shallow.unserialize(b"a:1:{i:0;a:1:{i:0;N;}}").is_ok());
/// let err = shallow.unserialize(b"a:1:{i:0;a:1:{i:0;a:1:{i:0;N;}}}").unwrap_err();
/// assert_eq!(err.to_string(), "nesting deeper than 2 levels at byte 18");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    max_depth: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions::new()
    }
}

impl DecodeOptions {
    /// PHP's limits: what the plain entry points use.
    pub const fn new() -> Self {
        DecodeOptions {
            max_depth: MAX_DEPTH,
        }
    }

    /// Allow at most `levels` nested non-empty arrays and objects (PHP counts every object,
    /// empty or not, and no empty array). Above [`MAX_DEPTH`] is [`MAX_DEPTH`]: phpsess never
    /// takes what PHP refuses. 0 refuses every non-empty array and every object. Unlike PHP's
    /// own `max_depth` option, 0 does not mean "no limit".
    pub const fn max_depth(mut self, levels: usize) -> Self {
        self.max_depth = if levels < MAX_DEPTH {
            levels
        } else {
            MAX_DEPTH
        };
        self
    }

    /// The nesting limit in force.
    pub const fn depth_limit(&self) -> usize {
        self.max_depth
    }

    /// [`crate::unserialize`] within these limits.
    pub fn unserialize(&self, input: &[u8]) -> Result<Value> {
        decode::value(input, self.max_depth)
    }

    /// [`crate::unserialize_borrowed`] within these limits.
    pub fn unserialize_borrowed<'a>(&self, input: &'a [u8]) -> Result<BorrowedValue<'a>> {
        decode::value(input, self.max_depth)
    }

    /// [`Document::parse`] within these limits.
    pub fn parse_document<'a>(&self, input: &'a [u8]) -> Result<Document<'a>> {
        Document::parse_with(input, self)
    }

    /// [`crate::php_serde::from_bytes`] within these limits (the serde layer's own, lower limit,
    /// [`crate::php_serde::SERDE_MAX_DEPTH`], still applies).
    pub fn from_bytes<'de, T: serde::Deserialize<'de>>(&self, input: &'de [u8]) -> Result<T> {
        let mut de = crate::php_serde::Deserializer::from_bytes(input).max_depth(self.max_depth);
        let value = T::deserialize(&mut de).map_err(Error::from)?;
        de.end()?;
        Ok(value)
    }
}

/// An input longer than a tape holds.
pub(crate) fn too_large() -> Error {
    Error::decode(
        0,
        DecodeReason::TooLarge {
            limit: decode::MAX_INPUT as u64,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each decoder stops at the limit with the same error, at the same byte; the limit counts
    /// levels as PHP's does (objects always, empty arrays never).
    #[test]
    fn every_decoder_stops_at_the_depth_limit() {
        let nested = |n: usize| [b"a:1:{i:0;".repeat(n), b"N;".to_vec(), b"}".repeat(n)].concat();
        for limit in [0, 1, 3, 64] {
            let options = DecodeOptions::new().max_depth(limit);
            let ok = nested(limit);
            assert!(options.unserialize(&ok).is_ok(), "{limit}");
            assert!(options.unserialize_borrowed(&ok).is_ok(), "{limit}");
            assert!(options.parse_document(&ok).is_ok(), "{limit}");
            assert!(
                options.from_bytes::<serde::de::IgnoredAny>(&ok).is_ok(),
                "{limit}"
            );
            let deep = nested(limit + 1);
            let want = format!("nesting deeper than {limit} levels at byte {}", 9 * limit);
            let errors = [
                options.unserialize(&deep).err(),
                options.unserialize_borrowed(&deep).err(),
                options.parse_document(&deep).err(),
                options.from_bytes::<serde::de::IgnoredAny>(&deep).err(),
            ];
            for err in errors {
                assert_eq!(err.map(|e| e.to_string()).as_deref(), Some(want.as_str()));
            }
        }
        let options = DecodeOptions::new().max_depth(1);
        assert!(
            options.unserialize(b"a:1:{i:0;a:0:{}}").is_ok(),
            "empty arrays do not count"
        );
        assert!(
            options
                .unserialize(br#"a:1:{i:0;O:8:"stdClass":0:{}}"#)
                .is_err(),
            "objects always count"
        );
        assert_eq!(
            DecodeOptions::new().max_depth(1 << 20).depth_limit(),
            MAX_DEPTH
        );
        assert_eq!(DecodeOptions::default(), DecodeOptions::new());
    }
}
