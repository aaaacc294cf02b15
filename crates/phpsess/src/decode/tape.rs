//! The tape a [`crate::Document`] stores: every value, key and name of the input as one 16-byte
//! cell in document order, strings as spans of the input, containers knowing where they end.
//! One allocation for the whole tree is what makes parsing faster than building PHP's zvals.

/// What a cell holds. Values first, then the cells that only appear inside containers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tag {
    Null,
    /// `b` is 0 or 1.
    Bool,
    /// `b` is the `i64`'s bits.
    Int,
    /// `b` is the `f64`'s bits.
    Float,
    /// A span of the input: `a` offset, `b` length.
    Str,
    /// A span of [`Tape::owned`] (an `S:` string, unescaped).
    StrOwned,
    /// `a` element count, `b` the index of the first cell after the array. Entries follow.
    Array,
    /// As `Array`; then a `Name` cell (the class), then the properties.
    Object,
    /// `a`/`b` the class span; a `Name` cell with the payload follows.
    Custom,
    /// `a`/`b` the class span; a `Name` cell with the case follows.
    Enum,
    /// `b` is the slot number of `r:N;`.
    ObjectRef,
    /// `b` is the slot number of `R:N;`.
    Ref,
    /// An entry's key: `b` the int's bits.
    KeyInt,
    /// An entry's key: span of the input.
    KeyStr,
    /// An entry's key: span of [`Tape::owned`].
    KeyStrOwned,
    /// A span of the input belonging to the cell before (class, payload, enum case).
    Name,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Cell {
    pub(crate) tag: Tag,
    pub(crate) a: u32,
    pub(crate) b: u64,
}

impl Cell {
    pub(crate) fn new(tag: Tag, a: u32, b: u64) -> Self {
        Cell { tag, a, b }
    }
}

/// The cells plus the bytes of strings that could not borrow from the input.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tape {
    pub(crate) cells: Vec<Cell>,
    pub(crate) owned: Vec<u8>,
}

impl Tape {
    /// The index of the first cell after the value at `at`.
    #[inline]
    pub(crate) fn skip(&self, at: usize) -> usize {
        let cell = self.cells[at];
        match cell.tag {
            Tag::Array | Tag::Object => cell.b as usize,
            Tag::Custom | Tag::Enum => at + 2,
            _ => at + 1,
        }
    }

    /// The index of the first key cell of the container at `at`.
    #[inline]
    pub(crate) fn first_entry(&self, at: usize) -> usize {
        match self.cells[at].tag {
            Tag::Object => at + 2,
            _ => at + 1,
        }
    }

    /// The bytes a span cell names.
    #[inline]
    pub(crate) fn bytes<'t>(&'t self, input: &'t [u8], cell: Cell) -> &'t [u8] {
        let (start, len) = (cell.a as usize, cell.b as usize);
        match cell.tag {
            Tag::StrOwned | Tag::KeyStrOwned => &self.owned[start..start + len],
            _ => &input[start..start + len],
        }
    }

    /// A cell for an unescaped `S:` string (`tag` is `StrOwned` or `KeyStrOwned`), its bytes
    /// stored in [`Tape::owned`].
    pub(crate) fn owned_cell(&mut self, tag: Tag, bytes: &[u8]) -> Cell {
        let start = self.owned.len();
        self.owned.extend_from_slice(bytes);
        Cell::new(tag, start as u32, bytes.len() as u64)
    }
}

/// A cell for `part`, a sub-slice of `input`.
#[inline]
pub(crate) fn span(tag: Tag, input: &[u8], part: &[u8]) -> Cell {
    let offset = part.as_ptr() as usize - input.as_ptr() as usize;
    Cell::new(tag, offset as u32, part.len() as u64)
}
