//! [`Document`]: a decoded PHP value you read without copying it, the fastest way to look into
//! sessions. Parsing checks everything [`crate::unserialize`] checks and accepts exactly the same
//! inputs; instead of a tree of allocations it keeps one flat tape of cells over the input bytes.
//! [`ValueRef`] walks it; [`Document::to_value`] gives the owned [`Value`] when you want to edit.

mod view;

use std::fmt;

pub use view::{Entries, EntryKey, ValueRef, View};

use crate::decode::{self, Tape};
use crate::error::Result;
use crate::value::Value;
use crate::DecodeOptions;

/// A serialized PHP value, parsed and validated, borrowing its strings from the input.
///
/// ```
/// use phpsess::Document;
/// let doc = Document::parse(br#"a:2:{s:4:"user";s:5:"alice";s:4:"cart";a:1:{i:0;i:7;}}"#)?;
/// let root = doc.root();
/// assert_eq!(root.get("user").and_then(|v| v.as_str()), Some("alice"));
/// assert_eq!(root.get("cart").and_then(|c| c.get(0)).and_then(|v| v.as_int()), Some(7));
/// # Ok::<(), phpsess::Error>(())
/// ```
#[derive(Clone)]
pub struct Document<'a> {
    input: &'a [u8],
    tape: Tape,
}

impl<'a> Document<'a> {
    /// The largest input a document holds: spans on the tape are 32-bit.
    pub const MAX_INPUT: usize = decode::MAX_INPUT;

    /// Parse one complete value; bytes after it are an error. Accepts and refuses exactly what
    /// [`crate::unserialize`] does, with the same error (what was read, and where).
    pub fn parse(input: &'a [u8]) -> Result<Self> {
        Self::parse_with(input, &DecodeOptions::new())
    }

    /// [`Document::parse`] within `options`' limits (a lower nesting limit for input you do not
    /// trust); [`DecodeOptions::parse_document`] says the same.
    pub fn parse_with(input: &'a [u8], options: &DecodeOptions) -> Result<Self> {
        if input.len() > Self::MAX_INPUT {
            return Err(crate::options::too_large());
        }
        // The fast builder takes what PHP writes; for anything else (references, repeated
        // keys, errors) the full decoder decides and its tree is copied onto a tape.
        let tape = decode::tape(input, options.depth_limit())?;
        Ok(Document { input, tape })
    }

    /// The top-level value.
    pub fn root(&self) -> ValueRef<'_> {
        ValueRef::new(self, 0)
    }

    /// The bytes this document was parsed from.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The tape, for a caller in the crate that keeps it beside its own copy of the input and
    /// builds the tree later ([`decode::tree_at`]).
    #[cfg(feature = "axum")]
    pub(crate) fn into_tape(self) -> Tape {
        self.tape
    }

    /// The owned [`Value`], equal to what [`crate::unserialize`] returns for the same input.
    pub fn to_value(&self) -> Value {
        decode::tree_at(self.input, &self.tape, 0)
    }
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Document").field(&self.root()).finish()
    }
}

#[cfg(test)]
mod tests;
