//! From a tape to a tree: the owned [`crate::Value`] or the zero-copy [`crate::BorrowedValue`],
//! through the same [`Tree`] constructors the tree decoder uses. Scanning onto a tape and then
//! allocating is faster than allocating while scanning, so the decoders take this way first.

use std::borrow::Cow;

use super::full::Tree;
use super::tape::{Cell, Tag, Tape};
use crate::reader::{Header, KeyRef};

/// A container being filled.
struct Building<'a, T: Tree<'a>> {
    class: Option<&'a [u8]>,
    entries: Vec<(T::Key, T)>,
    left: usize,
    /// The key cell of the entry being built.
    key_at: usize,
}

/// The tree of the value at cell `at` of `tape`, the tape of `input`.
#[inline]
pub(crate) fn tree_at<'a, T: Tree<'a>>(input: &'a [u8], tape: &Tape, at: usize) -> T {
    OnTape { input, tape }.tree_at(at)
}

/// A tape with the input its spans point into.
struct OnTape<'a, 't> {
    input: &'a [u8],
    tape: &'t Tape,
}

impl<'a> OnTape<'a, '_> {
    /// The tree of the value at cell `at`. Iterative: PHP's 4096 levels need no deep stack.
    fn tree_at<T: Tree<'a>>(&self, mut at: usize) -> T {
        let tape = self.tape;
        let mut stack: Vec<Building<'a, T>> = Vec::new();
        loop {
            let cell = tape.cells[at];
            let mut done = match cell.tag {
                Tag::Array | Tag::Object => {
                    let class = (cell.tag == Tag::Object).then(|| self.span(tape.cells[at + 1]));
                    let len = cell.a as usize;
                    if len > 0 {
                        let key_at = tape.first_entry(at);
                        stack.push(Building {
                            class,
                            entries: Vec::with_capacity(len),
                            left: len,
                            key_at,
                        });
                        at = key_at + 1;
                        continue;
                    }
                    match class {
                        Some(class) => T::object(class, Vec::new()),
                        None => T::array(Vec::new()),
                    }
                }
                Tag::Str => T::borrowed_string(self.span(cell)),
                _ => T::leaf(self.header(at)),
            };
            // Hand the finished value to its container; close every container it completes.
            loop {
                let Some(last) = stack.len().checked_sub(1) else {
                    return done;
                };
                let top = &mut stack[last];
                // Array keys on the tape are normalised already: take them as written.
                let key_cell = tape.cells[top.key_at];
                let key = match key_cell.tag {
                    Tag::KeyStr => T::borrowed_key(self.span(key_cell)),
                    _ => T::property_key(self.key_ref(key_cell)),
                };
                top.entries.push((key, done));
                top.left -= 1;
                if top.left > 0 {
                    top.key_at = tape.skip(top.key_at + 1);
                    at = top.key_at + 1;
                    break;
                }
                let frame = stack.swap_remove(last);
                done = match frame.class {
                    Some(class) => T::object(class, frame.entries),
                    None => T::array(frame.entries),
                };
            }
        }
    }

    /// A span of the input, with the input's lifetime.
    fn span(&self, cell: Cell) -> &'a [u8] {
        let input: &'a [u8] = self.input;
        &input[cell.a as usize..cell.a as usize + cell.b as usize]
    }

    /// A string cell's bytes: borrowed from the input, or copied from the unescaped store.
    fn string(&self, cell: Cell) -> Cow<'a, [u8]> {
        match cell.tag {
            Tag::StrOwned | Tag::KeyStrOwned => {
                Cow::Owned(self.tape.bytes(self.input, cell).to_vec())
            }
            _ => Cow::Borrowed(self.span(cell)),
        }
    }

    /// The leaf value at `at` as the reader would have given it.
    fn header(&self, at: usize) -> Header<'a> {
        let cell = self.tape.cells[at];
        match cell.tag {
            Tag::Bool => Header::Bool(cell.b != 0),
            Tag::Int => Header::Int(cell.b as i64),
            Tag::Float => Header::Float(f64::from_bits(cell.b)),
            Tag::Str | Tag::StrOwned => Header::Str(self.string(cell)),
            Tag::Custom => Header::Custom {
                class: self.span(cell),
                data: self.span(self.tape.cells[at + 1]),
            },
            Tag::Enum => Header::Enum {
                class: self.span(cell),
                case: self.span(self.tape.cells[at + 1]),
            },
            Tag::ObjectRef => Header::ObjectRef(cell.b),
            Tag::Ref => Header::Ref(cell.b),
            // Containers are built by `tree_at`; keys and names are never values.
            _ => Header::Null,
        }
    }

    fn key_ref(&self, cell: Cell) -> KeyRef<'a> {
        match cell.tag {
            Tag::KeyInt => KeyRef::Int(cell.b as i64),
            _ => KeyRef::Str(self.string(cell)),
        }
    }
}
