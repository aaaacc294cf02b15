//! The fast way onto a tape: one pass over the input pushing a cell per token, the common tokens
//! read by [`scan`], the rest by [`Reader`].
//!
//! It handles what PHP writes — every type, any nesting, `r:`/`R:` references — and gives up
//! (returns `None`) on what needs the full decoder's bookkeeping: repeated keys (which move PHP's
//! value slots, so references into them need the full slot table), property names that are
//! numeric strings, and every error. The caller then runs the full decoder, which either
//! reports the error or builds the value, so the two can never disagree on a verdict.

use std::borrow::Cow;

use super::scan;
use super::tape::{span, Cell, Tag, Tape};
use crate::hash::{seeds, Seeds};
use crate::key_set::{KeySet, KeyView, StoredKeys};
use crate::reader::{Header, KeyRef, Reader};
use crate::value::array::numeric_key;

/// Build the tape of `input`, or `None` when the full decoder must decide.
pub(super) fn build(input: &[u8], max_depth: usize) -> Option<Tape> {
    let mut tape = Tape {
        // A cell per 8 input bytes is about what sessions need; growing costs little anyway.
        cells: Vec::with_capacity(input.len() / 8 + 8),
        owned: Vec::new(),
    };
    let mut stack: Vec<Open> = Vec::new();
    // PHP's value slots, counted only once a reference needs them.
    let mut slots = Slots::default();
    // Fetched once for every container's key set.
    let seeds = seeds();
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
                    if stack.len() >= max_depth {
                        return None;
                    }
                    tape.cells.push(Cell::new(Tag::Array, len as u32, 0));
                    let mut open = Open::new(at, len, false, seeds);
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
                        if stack.len() >= max_depth {
                            return None;
                        }
                        tape.cells
                            .push(Cell::new(Tag::Object, len as u32, at as u64 + 2));
                        tape.cells.push(span(Tag::Name, input, class));
                        if len > 0 {
                            let mut open = Open::new(at, len, true, seeds);
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
                    Header::ObjectRef(n) => {
                        // An earlier object's slot, never its own (the next one).
                        slots.catch_up(&tape);
                        let own = slots.objects.len();
                        let target = usize::try_from(n).ok()?.checked_sub(1)?;
                        if target >= own || !slots.objects[target] {
                            return None;
                        }
                        Cell::new(Tag::ObjectRef, 0, n)
                    }
                    Header::Ref(n) => {
                        // Any slot so far; `R:` takes none of its own.
                        slots.catch_up(&tape);
                        if n == 0 || usize::try_from(n).ok()? > slots.objects.len() {
                            return None;
                        }
                        Cell::new(Tag::Ref, 0, n)
                    }
                    // The scanner reads the canonical forms of the rest; what it left is unusual
                    // (`i:+1;`, long digits): the full decoder's business.
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

/// PHP's value slots (its `var_hash` numbering, which `r:N;`/`R:N;` name): every value but an
/// `R:` takes the next slot when it starts, keys take none. Rebuilt from the tape cells written
/// since the last reference, so inputs without references never pay for it. Without repeated
/// keys (which send the input to the full decoder) a slot is simply the value it started.
#[derive(Default)]
struct Slots {
    /// Per slot: does it hold an object (`O:`, `C:`, `E:`, or an `r:` to one)?
    objects: Vec<bool>,
    /// Tape cells already counted.
    counted: usize,
}

impl Slots {
    fn catch_up(&mut self, tape: &Tape) {
        for cell in &tape.cells[self.counted..] {
            match cell.tag {
                Tag::Ref | Tag::KeyInt | Tag::KeyStr | Tag::KeyStrOwned | Tag::Name => {}
                Tag::Object | Tag::Custom | Tag::Enum | Tag::ObjectRef => self.objects.push(true),
                _ => self.objects.push(false),
            }
        }
        self.counted = tape.cells.len();
    }
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
    fn new(cell: usize, len: usize, object: bool, seeds: &'static Seeds) -> Self {
        Open {
            cell,
            remaining: len,
            object,
            keys: KeySet::with_seeds(seeds, len),
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
        let stored = Container {
            container: self.cell,
            input,
            tape,
        };
        let view = stored.view(cell);
        if self.keys.insert(view, tape.cells.len(), &stored).is_some() {
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

/// The keys stored so far in one container of a tape being built.
struct Container<'t> {
    container: usize,
    input: &'t [u8],
    tape: &'t Tape,
}

impl Container<'_> {
    #[inline]
    fn view(&self, key: Cell) -> KeyView<'_> {
        match key.tag {
            Tag::KeyInt => KeyView::Int(key.b as i64),
            _ => KeyView::Str(self.tape.bytes(self.input, key)),
        }
    }
}

impl StoredKeys for Container<'_> {
    fn key_at(&self, pos: usize) -> KeyView<'_> {
        self.view(self.tape.cells[pos])
    }

    /// The key cells of the entries stored so far.
    fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        let tape = self.tape;
        let end = tape.cells.len();
        let mut k = tape.first_entry(self.container);
        std::iter::from_fn(move || {
            if k >= end {
                return None;
            }
            let key = k;
            k = tape.skip(k + 1);
            Some(key)
        })
    }
}
