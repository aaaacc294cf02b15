//! The fast way onto a tape: one pass over the input pushing a cell per token, the common tokens
//! read by [`scan`], the rest by [`Reader`].
//!
//! It handles what PHP writes — every type, any nesting — and gives up (returns `None`) on what
//! needs the full decoder's bookkeeping: `r:`/`R:` references, repeated keys, property names that
//! are numeric strings, and every error. The caller then runs the full decoder, which either
//! reports the error or builds the value, so the two can never disagree on a verdict.

use std::borrow::Cow;

use super::scan;
use super::tape::{span, Cell, Tag, Tape};
use crate::hash::{bytes_hash, int_hash};
use crate::reader::{Header, KeyRef, Reader, MAX_DEPTH};
use crate::value::array::numeric_key;

/// Build the tape of `input`, or `None` when the full decoder must decide.
pub(super) fn build(input: &[u8]) -> Option<Tape> {
    let mut tape = Tape {
        // A cell per 8 input bytes is about what sessions need; growing costs little anyway.
        cells: Vec::with_capacity(input.len() / 8 + 8),
        owned: Vec::new(),
    };
    let mut stack: Vec<Open> = Vec::new();
    let mut pos = 0;
    loop {
        let at = tape.cells.len();
        let byte = *input.get(pos)?;
        let float = if byte == b'd' {
            scan::float(input, pos)
        } else {
            None
        };
        let cell = match byte {
            b's' => {
                let (start, len, end) = scan::string(input, pos)?;
                pos = end;
                Cell::new(Tag::Str, start as u32, len as u64)
            }
            b'i' => {
                let (i, end) = scan::int(input, pos)?;
                pos = end;
                Cell::new(Tag::Int, 0, i as u64)
            }
            b'a' => {
                let (len, body) = scan::array(input, pos)?;
                pos = body;
                if len == 0 {
                    pos = close(input, pos)?;
                    Cell::new(Tag::Array, 0, at as u64 + 1)
                } else {
                    if stack.len() >= MAX_DEPTH {
                        return None;
                    }
                    tape.cells.push(Cell::new(Tag::Array, len as u32, 0));
                    let mut open = Open::new(at, len, false);
                    pos = open.key(input, pos, &mut tape)?;
                    stack.push(open);
                    continue;
                }
            }
            b'd' if float.is_some() => {
                let (f, end) = float?;
                pos = end;
                Cell::new(Tag::Float, 0, f.to_bits())
            }
            b'N' if input.get(pos + 1) == Some(&b';') => {
                pos += 2;
                Cell::new(Tag::Null, 0, 0)
            }
            b'b' => {
                let (b, end) = scan::boolean(input, pos)?;
                pos = end;
                Cell::new(Tag::Bool, 0, u64::from(b))
            }
            _ => {
                let mut r = Reader::new(input);
                r.skip_to(pos);
                let header = r.header().ok()?;
                pos = r.pos();
                match header {
                    Header::Float(f) => Cell::new(Tag::Float, 0, f.to_bits()),
                    Header::Object { class, len } => {
                        if stack.len() >= MAX_DEPTH {
                            return None;
                        }
                        tape.cells
                            .push(Cell::new(Tag::Object, len as u32, at as u64 + 2));
                        tape.cells.push(span(Tag::Name, input, class));
                        if len > 0 {
                            let mut open = Open::new(at, len, true);
                            pos = open.key(input, pos, &mut tape)?;
                            stack.push(open);
                            continue;
                        }
                        pos = close(input, pos)?;
                        pos = finish_value(&mut stack, input, pos, &mut tape)?;
                        if stack.is_empty() {
                            break;
                        }
                        continue;
                    }
                    Header::Str(Cow::Borrowed(s)) => span(Tag::Str, input, s),
                    Header::Str(Cow::Owned(s)) => tape.owned_cell(Tag::StrOwned, &s),
                    Header::Custom { class, data } => {
                        tape.cells.push(span(Tag::Custom, input, class));
                        span(Tag::Name, input, data)
                    }
                    Header::Enum { class, case } => {
                        tape.cells.push(span(Tag::Enum, input, class));
                        span(Tag::Name, input, case)
                    }
                    // The scanner reads the canonical forms of the rest; what it left is unusual
                    // (`i:+1;`, long digits) or a reference: the full decoder's business.
                    _ => return None,
                }
            }
        };
        tape.cells.push(cell);
        pos = finish_value(&mut stack, input, pos, &mut tape)?;
        if stack.is_empty() {
            break;
        }
    }
    (pos == input.len()).then_some(tape)
}

/// The `}` closing a container at `pos`.
#[inline]
fn close(input: &[u8], pos: usize) -> Option<usize> {
    (input.get(pos) == Some(&b'}')).then_some(pos + 1)
}

/// A value just ended at `pos`: count it in its container, read the next key, or close every
/// container it completes. Returns the position after what was read.
#[inline]
fn finish_value(
    stack: &mut Vec<Open>,
    input: &[u8],
    mut pos: usize,
    tape: &mut Tape,
) -> Option<usize> {
    while let Some(top) = stack.last_mut() {
        top.remaining -= 1;
        if top.remaining > 0 {
            return top.key(input, pos, tape);
        }
        pos = close(input, pos)?;
        let end = tape.cells.len() as u64;
        tape.cells[top.cell].b = end;
        stack.pop();
    }
    Some(pos)
}

/// A container being filled.
struct Open {
    cell: usize,
    remaining: usize,
    object: bool,
    keys: KeySet,
}

impl Open {
    fn new(cell: usize, len: usize, object: bool) -> Self {
        Open {
            cell,
            remaining: len,
            object,
            keys: KeySet {
                seen: 0,
                max_int: None,
                strings: 0,
                bloom: 0,
                index: None,
            },
        }
    }

    /// Read the key at `pos`, push its cell, and give up if it repeats an earlier one. Returns
    /// the position after the key.
    #[inline]
    fn key(&mut self, input: &[u8], pos: usize, tape: &mut Tape) -> Option<usize> {
        let (cell, end) = match *input.get(pos)? {
            b's' => {
                let (start, len, end) = scan::string(input, pos)?;
                let bytes = &input[start..start + len];
                (
                    self.string_key(bytes, Cell::new(Tag::KeyStr, start as u32, len as u64))?,
                    end,
                )
            }
            b'i' => {
                let (i, end) = scan::int(input, pos)?;
                (Cell::new(Tag::KeyInt, 0, i as u64), end)
            }
            _ => {
                let mut r = Reader::new(input);
                r.skip_to(pos);
                let cell = match r.key().ok()? {
                    KeyRef::Int(i) => Cell::new(Tag::KeyInt, 0, i as u64),
                    KeyRef::Str(Cow::Borrowed(s)) => {
                        self.string_key(s, span(Tag::KeyStr, input, s))?
                    }
                    KeyRef::Str(Cow::Owned(s)) => {
                        let cell = tape.owned_cell(Tag::KeyStrOwned, &s);
                        self.string_key(&s, cell)?
                    }
                };
                (cell, r.pos())
            }
        };
        if !self.keys.is_new(self.cell, cell, input, tape) {
            return None;
        }
        tape.cells.push(cell);
        Some(end)
    }

    /// The cell for string key `bytes`: arrays store canonical decimal strings as int keys, as
    /// PHP's hash tables do. Objects keep names as written, yet PHP treats "0" and 0 as one
    /// property: that rarity is left to the full decoder.
    #[inline]
    fn string_key(&self, bytes: &[u8], cell: Cell) -> Option<Cell> {
        match numeric_key(bytes) {
            None => Some(cell),
            Some(_) if self.object => None,
            Some(i) => Some(Cell::new(Tag::KeyInt, 0, i as u64)),
        }
    }
}

/// While a container holds up to this many entries (the key being checked counted), a key that
/// needs a lookup is compared with each earlier one; past it the container builds a hash index.
const COMPARE_MAX: u32 = 16;

/// Repeated-key detection for one container, as cheap as possible for what PHP writes: int keys
/// above every earlier one (lists) need nothing, distinct string keys in small containers are
/// told apart by a 64-bit Bloom mask, anything else is looked up.
struct KeySet {
    /// Entries stored so far.
    seen: u32,
    max_int: Option<i64>,
    strings: u32,
    bloom: u64,
    /// Open addressing over every key of the container so far: `(hash >> 32) << 32 | cell + 1`.
    index: Option<Vec<u64>>,
}

/// Small containers use the Bloom mask for this many string keys, then compare.
const BLOOM_MAX: u32 = 12;

impl KeySet {
    /// True unless `key` (not yet pushed) equals a key already in container `container`.
    fn is_new(&mut self, container: usize, key: Cell, input: &[u8], tape: &Tape) -> bool {
        self.seen += 1;
        if let Some(index) = &mut self.index {
            return insert(
                index,
                key_hash(key, input, tape),
                tape.cells.len(),
                key,
                input,
                tape,
            );
        }
        let hash = match key.tag {
            Tag::KeyInt => {
                let i = key.b as i64;
                if self.max_int.is_none_or(|m| i > m) {
                    self.max_int = Some(i);
                    return true;
                }
                None
            }
            _ => {
                let h = key_hash(key, input, tape);
                let bit = 1u64 << (h & 63);
                if self.strings < BLOOM_MAX && self.bloom & bit == 0 {
                    self.strings += 1;
                    self.bloom |= bit;
                    return true;
                }
                self.strings += 1;
                self.bloom |= bit;
                Some(h)
            }
        };
        if self.seen <= COMPARE_MAX {
            return !entries(container, tape).any(|k| same_key(tape.cells[k], key, input, tape));
        }
        // A big container that needs lookups from now on: index every key so far, then this one.
        let declared = tape.cells[container].a as usize;
        let mut index = vec![0u64; (declared * 2).next_power_of_two().max(16)];
        for k in entries(container, tape) {
            let cell = tape.cells[k];
            insert(
                &mut index,
                key_hash(cell, input, tape),
                k,
                cell,
                input,
                tape,
            );
        }
        let h = hash.unwrap_or_else(|| key_hash(key, input, tape));
        let new = insert(&mut index, h, tape.cells.len(), key, input, tape);
        self.index = Some(index);
        new
    }
}

/// The key cells of the entries stored so far in the container at `container`.
fn entries(container: usize, tape: &Tape) -> impl Iterator<Item = usize> + '_ {
    let end = tape.cells.len();
    let mut k = tape.first_entry(container);
    std::iter::from_fn(move || {
        if k >= end {
            return None;
        }
        let key = k;
        k = tape.skip(k + 1);
        Some(key)
    })
}

/// Add `key` (at cell `at`) to the index unless an equal key is there; true when it was added.
fn insert(index: &mut [u64], h: u64, at: usize, key: Cell, input: &[u8], tape: &Tape) -> bool {
    let mask = index.len() - 1;
    let tag = h >> 32;
    let mut slot = h as usize & mask;
    loop {
        let v = index[slot];
        if v == 0 {
            index[slot] = tag << 32 | (at as u64 + 1);
            return true;
        }
        if v >> 32 == tag {
            let other = (v as u32 - 1) as usize;
            if same_key(tape.cells[other], key, input, tape) {
                return false;
            }
        }
        slot = (slot + 1) & mask;
    }
}

fn key_hash(key: Cell, input: &[u8], tape: &Tape) -> u64 {
    match key.tag {
        Tag::KeyInt => int_hash(key.b as i64),
        _ => bytes_hash(tape.bytes(input, key)),
    }
}

fn same_key(a: Cell, b: Cell, input: &[u8], tape: &Tape) -> bool {
    match (a.tag, b.tag) {
        (Tag::KeyInt, Tag::KeyInt) => a.b == b.b,
        (Tag::KeyInt, _) | (_, Tag::KeyInt) => false,
        _ => tape.bytes(input, a) == tape.bytes(input, b),
    }
}
