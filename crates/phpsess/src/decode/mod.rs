//! The decode core: every way from PHP's serialize format to something in memory lives here, at
//! the bottom; [`crate::Document`] (a tape you read) and [`crate::unserialize`] (a tree you own)
//! are built on it and never call each other.
//!
//! - `build` (with `scan` for the common tokens): the fast path, one pass onto a [`Tape`]. It
//!   takes what PHP writes, references included, and gives up on repeated keys and every error.
//!   `scan` also serves [`crate::reader::Reader`] and the serde deserializer.
//! - `full`: the full decoder over [`crate::reader`]'s tokens, with PHP's slot numbering for
//!   `r:`/`R:` and repeated keys. It decides whatever the fast path gives up on, so the two never
//!   disagree on a verdict or an error message.
//! - `flatten` copies a full-decoder tree onto a tape; `tree` builds a tree from a tape.
//! - Both paths find repeated keys with the one [`crate::key_set::KeySet`].

mod build;
mod flatten;
mod full;
pub(crate) mod scan;
mod tape;
mod tree;

pub(crate) use full::{first_repeated_key, Builder, Tree};
pub(crate) use tape::{Cell, Tag, Tape};
pub(crate) use tree::tree_at;

use crate::error::Result;
use crate::value::BorrowedValue;

/// The largest input a tape holds: spans on the tape are 32-bit.
pub(crate) const MAX_INPUT: usize = u32::MAX as usize;

/// The fast path alone: `None` when the full decoder must decide (repeated keys, errors, or an
/// input over [`MAX_INPUT`]).
#[inline]
pub(crate) fn fast_tape(input: &[u8], max_depth: usize) -> Option<Tape> {
    if input.len() > MAX_INPUT {
        return None;
    }
    build::build(input, max_depth)
}

/// The tape of one complete value (the caller checks [`MAX_INPUT`]): the fast path, else the full
/// decoder's tree copied onto a tape, or its error.
pub(crate) fn tape(input: &[u8], max_depth: usize) -> Result<Tape> {
    match build::build(input, max_depth) {
        Some(tape) => Ok(tape),
        None => Ok(flatten::flatten(
            input,
            &full::complete::<BorrowedValue<'_>>(input, max_depth)?,
        )),
    }
}

/// One complete value as a tree. Scanning onto a tape and then allocating the tree is faster than
/// allocating while scanning, so the fast path goes first.
#[inline]
pub(crate) fn value<'a, T: Tree<'a>>(input: &'a [u8], max_depth: usize) -> Result<T> {
    match fast_tape(input, max_depth) {
        Some(tape) => Ok(tree_at(input, &tape, 0)),
        None => full::complete(input, max_depth),
    }
}

/// [`crate::unserialize_borrowed`] by the full decoder alone, for tests that compare the paths.
#[cfg(test)]
pub(crate) fn full_borrowed(input: &[u8]) -> Result<BorrowedValue<'_>> {
    full::complete(input, crate::MAX_DEPTH)
}

/// The fast path's verdict, for tests that check what it takes.
#[cfg(test)]
pub(crate) fn fast_path_takes(input: &[u8]) -> bool {
    build::build(input, crate::MAX_DEPTH).is_some()
}
