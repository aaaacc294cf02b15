//! The slow way onto a tape: copy a tree the full decoder built. Used for the inputs the fast
//! builder leaves to it (repeated keys, unusual spellings), so that a [`crate::Document`] holds exactly
//! what [`crate::unserialize`] would return.

use std::borrow::Cow;

use super::tape::{span, Cell, Tag, Tape};
use crate::value::{BorrowedKey, BorrowedValue};

enum Work<'v, 'a> {
    Value(&'v BorrowedValue<'a>),
    Key(&'v BorrowedKey<'a>),
    /// The container at this cell is complete.
    Close(usize),
}

/// The tape of `value`, which borrows from `input`. Iterative, so 4096 levels need no deep stack.
pub(super) fn flatten(input: &[u8], value: &BorrowedValue<'_>) -> Tape {
    let mut tape = Tape::default();
    let mut work = vec![Work::Value(value)];
    while let Some(item) = work.pop() {
        let at = tape.cells.len();
        match item {
            Work::Close(container) => tape.cells[container].b = at as u64,
            Work::Key(BorrowedKey::Int(i)) => tape.cells.push(Cell::new(Tag::KeyInt, 0, *i as u64)),
            Work::Key(BorrowedKey::Str(s)) => {
                let owned = matches!(s, Cow::Owned(_));
                let cell = string(&mut tape, input, s, owned, (Tag::KeyStr, Tag::KeyStrOwned));
                tape.cells.push(cell);
            }
            Work::Value(v) => {
                let entries = match v {
                    BorrowedValue::Null => {
                        tape.cells.push(Cell::new(Tag::Null, 0, 0));
                        continue;
                    }
                    BorrowedValue::Bool(b) => {
                        tape.cells.push(Cell::new(Tag::Bool, 0, u64::from(*b)));
                        continue;
                    }
                    BorrowedValue::Int(i) => {
                        tape.cells.push(Cell::new(Tag::Int, 0, *i as u64));
                        continue;
                    }
                    BorrowedValue::Float(f) => {
                        tape.cells.push(Cell::new(Tag::Float, 0, f.to_bits()));
                        continue;
                    }
                    BorrowedValue::String(s) => {
                        let owned = matches!(s, Cow::Owned(_));
                        let cell = string(&mut tape, input, s, owned, (Tag::Str, Tag::StrOwned));
                        tape.cells.push(cell);
                        continue;
                    }
                    BorrowedValue::Custom { class, data } => {
                        tape.cells.push(span(Tag::Custom, input, class));
                        tape.cells.push(span(Tag::Name, input, data));
                        continue;
                    }
                    BorrowedValue::Enum { class, case } => {
                        tape.cells.push(span(Tag::Enum, input, class));
                        tape.cells.push(span(Tag::Name, input, case));
                        continue;
                    }
                    BorrowedValue::ObjectRef(n) => {
                        tape.cells.push(Cell::new(Tag::ObjectRef, 0, *n));
                        continue;
                    }
                    BorrowedValue::Ref(n) => {
                        tape.cells.push(Cell::new(Tag::Ref, 0, *n));
                        continue;
                    }
                    BorrowedValue::Array(entries) => {
                        tape.cells
                            .push(Cell::new(Tag::Array, entries.len() as u32, 0));
                        entries
                    }
                    BorrowedValue::Object { class, properties } => {
                        tape.cells
                            .push(Cell::new(Tag::Object, properties.len() as u32, 0));
                        tape.cells.push(span(Tag::Name, input, class));
                        properties
                    }
                };
                work.push(Work::Close(at));
                for (k, v) in entries.iter().rev() {
                    work.push(Work::Value(v));
                    work.push(Work::Key(k));
                }
            }
        }
    }
    tape
}

fn string(tape: &mut Tape, input: &[u8], s: &[u8], owned: bool, tags: (Tag, Tag)) -> Cell {
    if owned {
        tape.owned_cell(tags.1, s)
    } else {
        span(tags.0, input, s)
    }
}
