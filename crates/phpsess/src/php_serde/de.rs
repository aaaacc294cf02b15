//! The serde `Deserializer`: drives visitors straight from the [`Reader`] tokenizer, one header at a
//! time, without building a [`crate::Value`] first. Strings borrow from the input where they can.

use std::borrow::Cow;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::utf8::Utf8Window;
use super::{ENUM_TOKEN, OBJECT_TOKEN};
use crate::error::{DecodeReason, Error};

/// Results inside the deserializer carry a [`DeError`].
type Result<T, E = DeError> = std::result::Result<T, E>;
use crate::reader::{Header, KeyRef, Reader};
use crate::value::{Key, PropertyName};

/// Nesting limit of the serde layer, serde_json's number. Lower than [`crate::MAX_DEPTH`] because
/// each level costs several generic stack frames here (visitor, access, seed): measured with a
/// `serde_json::Value` target on a 2 MiB thread, an unoptimised build overflows between 256 and
/// 400 levels (about 6 KiB a level). Sessions nest a handful of levels.
pub const SERDE_MAX_DEPTH: usize = 128;

/// A serde deserializer over one value in PHP's `serialize()` format.
///
/// ```
/// use serde::Deserialize;
/// #[derive(Deserialize, Debug, PartialEq)]
/// struct User<'a> { id: u32, name: &'a str }
///
/// let bytes = br#"a:2:{s:2:"id";i:7;s:4:"name";s:3:"Ann";}"#;
/// let mut de = phpsess::php_serde::Deserializer::from_bytes(bytes);
/// let user = User::deserialize(&mut de)?;
/// de.end()?;
/// assert_eq!(user, User { id: 7, name: "Ann" });
/// # Ok::<(), phpsess::Error>(())
/// ```
pub struct Deserializer<'de> {
    input: &'de [u8],
    reader: Reader<'de>,
    /// Start offsets of the arrays and objects being read, outermost first: the nesting depth,
    /// and what a reference must not point at (a cycle).
    open: OpenStack,
    /// Where each value slot starts, built on the first `r:`/`R:` only.
    slots: Option<SlotIndex<'de>>,
    /// Bytes re-read to follow references so far.
    replayed: usize,
    /// Nesting allowed: [`SERDE_MAX_DEPTH`] unless [`Deserializer::max_depth`] lowers it.
    max_depth: usize,
    /// UTF-8 checks of string values, a stretch of input at a time.
    text: Utf8Window<'de>,
    /// Class names of the last `O:`s read, whose characters are known to be valid.
    known_class: [&'de [u8]; 2],
}

impl<'de> Deserializer<'de> {
    /// A deserializer reading from the start of `input`.
    #[inline]
    pub fn from_bytes(input: &'de [u8]) -> Self {
        Deserializer {
            input,
            reader: Reader::new(input),
            open: OpenStack::default(),
            slots: None,
            replayed: 0,
            max_depth: SERDE_MAX_DEPTH,
            text: Utf8Window::new(input),
            known_class: [&[]; 2],
        }
    }

    /// Allow at most `levels` nested arrays and objects (a lower limit against hostile input;
    /// values above [`SERDE_MAX_DEPTH`] are that). Deeper input is an error naming the limit.
    pub fn max_depth(mut self, levels: usize) -> Self {
        self.max_depth = levels.min(SERDE_MAX_DEPTH);
        self
    }

    /// Offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.reader.pos()
    }

    /// Fail unless the whole input has been consumed (call after deserializing the value).
    pub fn end(&self) -> crate::error::Result<()> {
        self.reader.finish()
    }

    /// Run `f` for the value starting at the current position and give any error without a position
    /// (a visitor's `custom` error, a mismatch found here) that value's offset. This is the one place
    /// positions are added; an error that already has one, from a nested value, keeps it.
    ///
    /// It is also the one place references are followed: at `r:N;`/`R:N;`, `f` runs on the bytes of
    /// value slot N instead, so every kind of value can come from a reference.
    ///
    /// Out of line: the callers' fast paths for canonical tokens stay small without it (fewer
    /// registers saved on every call).
    #[inline(never)]
    fn positioned<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let start = self.reader.pos();
        let result = if self.reader.peek_is(b'r') || self.reader.peek_is(b'R') {
            self.follow_reference(f)
        } else {
            f(self)
        };
        result.map_err(|e| at(e, start))
    }

    /// Read `r:N;`/`R:N;` and run `f` on a copy of value slot N: PHP's object handle or `&`
    /// reference becomes a second, equal Rust value (typed data has no sharing).
    fn follow_reference<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let at = self.reader.pos();
        let (n, object) = match self.reader.header()? {
            Header::ObjectRef(n) => (n, true),
            Header::Ref(n) => (n, false),
            _ => unreachable!("called at an 'r' or 'R' tag, which the reader reads as a reference"),
        };
        let invalid = || Error::decode(at, DecodeReason::InvalidReference(n));
        if self.slots.is_none() {
            // PHP's slots name places, and a repeated key's value takes the old value's place,
            // so replaying a slot's bytes could give what PHP no longer has there. `unserialize`
            // refuses repeated keys together with references; refuse the same inputs with the
            // same error, found by one key scan at the first reference.
            if let Some(repeat) = crate::decode::first_repeated_key(self.input) {
                return Err(Error::decode(repeat, DecodeReason::RepeatedKeyWithReferences).into());
            }
        }
        let slots = self.slots.get_or_insert_with(|| SlotIndex::new(self.input));
        // The slot must start before the reference (`r:` never names its own slot); `r:` must
        // name an object, as PHP requires.
        let target = slots
            .start(n, at)?
            .ok_or_else(|| DeError::from(invalid()))?;
        if object && !matches!(self.input[target], b'O' | b'C' | b'E' | b'r') {
            return Err(invalid().into());
        }
        if self.open.contains(target) {
            return Err(Error::SerdeAt {
                offset: at,
                message: format!(
                    "reference {n} points at a value that contains it (a cycle); decode to Value"
                ),
            }
            .into());
        }
        if self.replayed > REFERENCE_REPLAY_LIMIT {
            return Err(Error::SerdeAt {
                offset: at,
                message: format!(
                    "references re-read more than {REFERENCE_REPLAY_LIMIT} bytes; decode to Value"
                ),
            }
            .into());
        }
        let mut replay = Reader::new(self.input);
        replay.skip_to(target);
        let saved = std::mem::replace(&mut self.reader, replay);
        let result = f(self);
        self.replayed += self.reader.pos() - target;
        self.reader = saved;
        result
    }

    /// The next header. References never reach here: [`Self::positioned`] follows them first.
    fn header(&mut self) -> Result<Header<'de>> {
        let start = self.reader.pos();
        match self.reader.header()? {
            Header::ObjectRef(n) | Header::Ref(n) => {
                Err(Error::decode(start, DecodeReason::InvalidReference(n)).into())
            }
            h => Ok(h),
        }
    }

    #[inline]
    fn enter(&mut self, start: usize) -> Result<()> {
        if self.open.len() >= self.max_depth {
            return Err(self.too_deep(start));
        }
        self.open.push(start);
        Ok(())
    }

    #[cold]
    fn too_deep(&self, start: usize) -> DeError {
        Error::decode(
            start,
            DecodeReason::TooDeep {
                limit: self.max_depth,
            },
        )
        .into()
    }

    #[inline]
    fn leave(&mut self) {
        self.open.pop();
    }

    /// The `}` closing a container, `reading` says which in an error.
    #[inline]
    fn close(&mut self, reading: &'static str) -> Result<()> {
        let pos = self.reader.pos();
        if self.input.get(pos) == Some(&b'}') {
            self.reader.skip_to(pos + 1);
            return Ok(());
        }
        Ok(self.reader.end_container(reading)?)
    }

    /// Drive `visitor` over the entries of a container whose header was just read, then consume
    /// its `}`. `kind` says how keys are read (list indices, array keys, property names). An error
    /// without a position gets the container's, `start`: so callers need no `map_err`, and the
    /// fast paths that call this are a jump.
    fn entries<V: Visitor<'de>>(
        &mut self,
        start: usize,
        len: usize,
        kind: EntriesKind,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.enter(start)?;
        let mut left = len;
        let access = Entries {
            de: self,
            len,
            left: &mut left,
            kind,
            fields,
            next_field: 0,
        };
        let value = match kind {
            EntriesKind::List => visitor.visit_seq(access),
            EntriesKind::Array | EntriesKind::Object => visitor.visit_map(access),
        };
        let value = match value {
            Ok(value) => value,
            Err(e) => return Err(at(e, start)),
        };
        if left > 0 {
            return Err(at(unread(left, len), start));
        }
        self.leave();
        self.close(kind.reading())?;
        Ok(value)
    }

    /// Bytes of the `E:` value just read (`Class:Case`), borrowed from the input.
    fn enum_text(&self, class: &[u8], case: &[u8]) -> &'de [u8] {
        // The reader is just past `Class:Case";`.
        let end = self.reader.pos() - 2;
        &self.input[end - (class.len() + 1 + case.len())..end]
    }

    /// Visit a string value: `&str` borrowed from `s:`, owned for `S:`; invalid UTF-8 is an error at
    /// the offending byte.
    fn visit_string<V: Visitor<'de>>(&mut self, s: Cow<'de, [u8]>, visitor: V) -> Result<V::Value> {
        match s {
            Cow::Borrowed(b) => {
                // The reader is just past `"bytes";`.
                let data_start = self.reader.pos() - 2 - b.len();
                match self.text.str(data_start, b.len()) {
                    Ok(s) => visitor.visit_borrowed_str(s),
                    Err(bad) => Err(invalid_utf8(bad)),
                }
            }
            Cow::Owned(v) => match String::from_utf8(v) {
                Ok(s) => visitor.visit_string(s),
                Err(_) => {
                    Err(Error::Serde("invalid UTF-8 in escaped (S:) string".to_owned()).into())
                }
            },
        }
    }

    /// Is the array whose header was just read a list (keys 0, 1, … in order)? Scans ahead with a
    /// second reader and leaves this one where it was.
    fn array_is_list(&self, len: usize) -> Result<bool> {
        let mut scan = Reader::new(self.input);
        scan.skip_to(self.reader.pos());
        for i in 0..len {
            match scan.key()? {
                KeyRef::Int(k) if k as u64 == i as u64 && k >= 0 => {}
                _ => return Ok(false),
            }
            skip_value(&mut scan, self.open.len(), self.max_depth)?;
        }
        Ok(true)
    }
}

/// Deserialize a `T` from one complete PHP-serialized value; bytes after it are an error.
///
/// ```
/// let v: Vec<i32> = phpsess::php_serde::from_bytes(b"a:2:{i:0;i:1;i:1;i:2;}")?;
/// assert_eq!(v, [1, 2]);
/// # Ok::<(), phpsess::Error>(())
/// ```
pub fn from_bytes<'de, T: de::Deserialize<'de>>(input: &'de [u8]) -> crate::error::Result<T> {
    let mut de = Deserializer::from_bytes(input);
    // A match rather than `?`s: each of those moved the value once more.
    match T::deserialize(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => Ok(value),
            Err(e) => Err(e),
        },
        Err(e) => Err(e.into()),
    }
}

/// Bytes that following references may re-read in one deserialization, against inputs whose
/// references nest so that the copies grow exponentially (each level naming the previous one
/// twice). Session data stays far below it.
pub const REFERENCE_REPLAY_LIMIT: usize = 2 << 20;

/// The start offsets of the containers being read, outermost first. The first levels live in
/// the deserializer itself: a session nests a handful of levels, and a heap stack cost an
/// allocation per deserialization.
#[derive(Default)]
struct OpenStack {
    inline: [usize; OpenStack::INLINE],
    len: usize,
    deeper: Vec<usize>,
}

impl OpenStack {
    const INLINE: usize = 16;

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn push(&mut self, start: usize) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = start,
            None => self.deeper.push(start),
        }
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) {
        if self.len > OpenStack::INLINE {
            self.deeper.pop();
        }
        self.len = self.len.saturating_sub(1);
    }

    fn contains(&self, start: usize) -> bool {
        let inline = &self.inline[..self.len.min(OpenStack::INLINE)];
        inline.contains(&start) || self.deeper.contains(&start)
    }
}

/// Where PHP's value slots start (the numbering `r:`/`R:` use: every value but an `R:` takes the
/// next slot, keys take none), found by one forward scan that stops as soon as it has the slot
/// asked for and resumes from there for the next reference.
struct SlotIndex<'de> {
    reader: Reader<'de>,
    /// Entries left in each container the scan is inside.
    open: Vec<(usize, &'static str)>,
    starts: Vec<usize>,
    started: bool,
}

impl<'de> SlotIndex<'de> {
    fn new(input: &'de [u8]) -> Self {
        SlotIndex {
            reader: Reader::new(input),
            open: Vec::new(),
            starts: Vec::new(),
            started: false,
        }
    }

    /// The start of slot `n` (1-based) if it begins before `before`.
    fn start(&mut self, n: u64, before: usize) -> Result<Option<usize>> {
        let Some(index) = usize::try_from(n).ok().and_then(|n| n.checked_sub(1)) else {
            return Ok(None);
        };
        while self.starts.len() <= index {
            if self.reader.pos() >= before || !self.next_value()? {
                return Ok(None);
            }
        }
        Ok(Some(self.starts[index]).filter(|&s| s < before))
    }

    /// Read up to and including the next value's header; false when the root value is done.
    fn next_value(&mut self) -> Result<bool> {
        if self.started {
            loop {
                match self.open.last_mut() {
                    None => return Ok(false),
                    Some((0, reading)) => {
                        let reading = *reading;
                        self.open.pop();
                        self.reader.end_container(reading)?;
                    }
                    Some((left, _)) => {
                        *left -= 1;
                        self.reader.key()?;
                        break;
                    }
                }
            }
        }
        self.started = true;
        let start = self.reader.pos();
        let takes_slot = !self.reader.peek_is(b'R');
        match self.reader.header()? {
            Header::Array(n) => self.open.push((n, "array")),
            Header::Object { len, .. } => self.open.push((len, "object")),
            _ => {}
        }
        if takes_slot {
            self.starts.push(start);
        }
        Ok(true)
    }
}

/// The decode core's scanners for the tokens PHP writes most, each behind a check of its tag
/// byte (the scanners start after it). `None` sends the caller to the reader, which knows the whole
/// grammar and every error, so a fast path never changes a verdict.
mod fast {
    use crate::decode::scan;

    #[inline]
    fn tag(input: &[u8], pos: usize, tag: u8) -> Option<()> {
        (input.get(pos) == Some(&tag)).then_some(())
    }

    #[inline]
    pub(super) fn int(input: &[u8], pos: usize) -> Option<(i64, usize)> {
        tag(input, pos, b'i')?;
        scan::int(input, pos)
    }

    #[inline]
    pub(super) fn float(input: &[u8], pos: usize) -> Option<(f64, usize)> {
        tag(input, pos, b'd')?;
        scan::float(input, pos)
    }

    #[inline]
    pub(super) fn string(input: &[u8], pos: usize) -> Option<(usize, usize, usize)> {
        tag(input, pos, b's')?;
        scan::string(input, pos)
    }

    #[inline]
    pub(super) fn array(input: &[u8], pos: usize) -> Option<(usize, usize)> {
        tag(input, pos, b'a')?;
        scan::array(input, pos)
    }

    /// `known` are class names already found valid, which need no second check: the two
    /// last read, since objects holding objects alternate two classes.
    #[inline]
    pub(super) fn object<'de>(
        input: &'de [u8],
        pos: usize,
        known: &mut [&'de [u8]; 2],
    ) -> Option<(usize, usize)> {
        tag(input, pos, b'O')?;
        let mut seen = false;
        let (class, len, count, body) = scan::object_with(input, pos, |class| {
            seen = known.iter().any(|k| super::same_bytes(k, class));
            seen || crate::reader::valid_class_name(class)
        })?;
        if !seen {
            *known = [&input[class..class + len], known[0]];
        }
        Some((count, body))
    }

    pub(super) use scan::boolean;
}

/// Entries a visitor left unread.
#[cold]
fn unread(left: usize, len: usize) -> DeError {
    Error::Serde(format!("{left} of {len} entries left unread")).into()
}

/// A string that is not UTF-8 where `&str`/`String` was asked for, at its first bad byte.
#[cold]
fn invalid_utf8(offset: usize) -> DeError {
    Error::SerdeAt {
        offset,
        message: "invalid UTF-8 in string".to_owned(),
    }
    .into()
}

/// Give an error without a position the offset `offset`.
fn at(mut err: DeError, offset: usize) -> DeError {
    if let Error::Serde(message) = &mut *err.0 {
        let message = std::mem::take(message);
        *err.0 = Error::SerdeAt { offset, message };
    }
    err
}

/// The error of [`Deserializer`]'s serde traits: the crate's [`Error`], boxed. serde threads a
/// `Result` through every visitor and access call; a pointer-sized error keeps those results
/// small where the crate's error enum (which also describes Redis failures) is 112 bytes, as
/// serde_json boxes its own. [`from_bytes`] and `?` in a function returning
/// [`crate::Result`] turn it back into an [`Error`].
pub struct DeError(Box<Error>);

impl DeError {
    /// The error inside.
    pub fn into_inner(self) -> Error {
        *self.0
    }
}

impl From<Error> for DeError {
    #[cold]
    fn from(e: Error) -> Self {
        DeError(Box::new(e))
    }
}

impl From<DeError> for Error {
    fn from(e: DeError) -> Self {
        *e.0
    }
}

impl std::fmt::Debug for DeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for DeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for DeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl de::Error for DeError {
    #[cold]
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        <Error as de::Error>::custom(msg).into()
    }

    #[cold]
    fn invalid_type(unexpected: de::Unexpected, expected: &dyn Expected) -> Self {
        <Error as de::Error>::invalid_type(unexpected, expected).into()
    }

    #[cold]
    fn invalid_value(unexpected: de::Unexpected, expected: &dyn Expected) -> Self {
        <Error as de::Error>::invalid_value(unexpected, expected).into()
    }
}

/// "expected {what the visitor wanted}, found {PHP type}". Never quotes string contents: session
/// data holds secrets, and errors end up in logs.
#[cold]
fn mismatch(found: &Header<'_>, expected: &dyn Expected) -> DeError {
    Error::Serde(format!("expected {expected}, found {}", describe(found))).into()
}

fn describe(h: &Header<'_>) -> String {
    let lossy = String::from_utf8_lossy;
    match h {
        Header::Null => "null".into(),
        Header::Bool(_) => "bool".into(),
        Header::Int(_) => "int".into(),
        Header::Float(_) => "float".into(),
        Header::Str(_) => "string".into(),
        Header::Array(_) => "array".into(),
        Header::Object { class, .. } => format!("object of class {}", lossy(class)),
        Header::Custom { class, .. } => {
            format!("custom-serialized (C:) object of class {}", lossy(class))
        }
        Header::Enum { class, case } => format!("enum case {}::{}", lossy(class), lossy(case)),
        Header::ObjectRef(_) | Header::Ref(_) => "reference".into(),
    }
}

/// Skip one value (any kind, references included) without recursion, checking nesting against
/// the serde limit counted from `depth`.
fn skip_value(r: &mut Reader<'_>, depth: usize, max_depth: usize) -> Result<()> {
    // Entries left in each open container, and what to call it in an error.
    let mut open: Vec<(usize, &'static str)> = Vec::new();
    loop {
        let start = r.pos();
        match r.header()? {
            Header::Array(n) => open.push((n, "array")),
            Header::Object { len, .. } => open.push((len, "object")),
            _ => {}
        }
        if depth + open.len() > max_depth {
            return Err(Error::decode(start, DecodeReason::TooDeep { limit: max_depth }).into());
        }
        loop {
            match open.last_mut() {
                None => return Ok(()),
                Some((0, reading)) => {
                    let reading = *reading;
                    open.pop();
                    r.end_container(reading)?;
                }
                Some((left, _)) => {
                    *left -= 1;
                    r.key()?;
                    break;
                }
            }
        }
    }
}

/// How a container's keys are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EntriesKind {
    /// A sequence: keys must be `i:0`, `i:1`, … and are not shown to the visitor.
    List,
    /// An array as a map: keys as written.
    Array,
    /// An object as a map: string keys are property names, unmangled.
    Object,
}

impl EntriesKind {
    fn reading(self) -> &'static str {
        match self {
            EntriesKind::List | EntriesKind::Array => "array",
            EntriesKind::Object => "object",
        }
    }
}

///
/// Handed to the visitor by value, so that its calls for each key and value reach these methods
/// directly (through `&mut Entries`, serde's forwarding impl stood between, a call per key);
/// `left` is the caller's, which checks it afterwards.
struct Entries<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    len: usize,
    left: &'a mut usize,
    kind: EntriesKind,
    /// The field names of the struct being read (empty for maps): a key equal to one is handed
    /// to the visitor as that `&'static str`, which needs no UTF-8 check.
    fields: &'static [&'static str],
    /// Where to look first: the field after the last one found, since arrays written from the
    /// same PHP code keep their keys in one order.
    next_field: usize,
}

impl Entries<'_, '_> {
    /// The struct field whose name is `name`'s bytes, if any.
    #[inline(always)]
    fn field(&mut self, name: &[u8]) -> Option<&'static str> {
        let fields = self.fields;
        // Mangled aliases (`\0*\0name`, `\0Class\0name`) are skipped: serde lists a field's
        // names together (sorted, so these come first), and an object's keys are unmangled
        // before they are looked up here.
        let past_aliases = |mut at: usize| {
            while fields.get(at).is_some_and(|f| f.starts_with('\0')) {
                at += 1;
            }
            at
        };
        let expected = past_aliases(self.next_field);
        let found = match fields.get(expected) {
            Some(f) if same_bytes(f.as_bytes(), name) => expected,
            _ => fields.iter().position(|f| same_bytes(f.as_bytes(), name))?,
        };
        self.next_field = found + 1;
        Some(fields[found])
    }
}

/// A property name without its visibility prefix: [`PropertyName::parse`]'s `name` (what follows
/// the second NUL of `\0Class\0name`; no second NUL, a public name), its class skipped a word at
/// a time.
#[inline(always)]
fn unmangled(raw: &[u8]) -> &[u8] {
    match raw {
        [0, b'*', 0, name @ ..] => name,
        [0, rest @ ..] => match first_nul(rest) {
            Some(end) => &rest[end + 1..],
            None => raw,
        },
        _ => raw,
    }
}

/// The index of the first NUL byte of `s`: eight bytes at a time (a word has a zero byte where
/// `(w - 0x01…01) & !w & 0x80…80` is non-zero, its lowest set bit in the first zero byte).
fn first_nul(s: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let (words, tail) = s.as_chunks::<8>();
    for (i, w) in words.iter().enumerate() {
        let w = u64::from_le_bytes(*w);
        let zeros = w.wrapping_sub(ONES) & !w & HIGHS;
        if zeros != 0 {
            return Some(i * 8 + (zeros.trailing_zeros() / 8) as usize);
        }
    }
    tail.iter()
        .position(|&b| b == 0)
        .map(|i| words.len() * 8 + i)
}

/// `s:N:"field";` at `pos`, exactly (N without leading zeros, as PHP writes it): the position
/// after it. A field name that starts with NUL is never taken here, so a mangled property name
/// always goes the way that unmangles it.
#[inline(always)]
fn expected_key(input: &[u8], pos: usize, field: &str) -> Option<usize> {
    let name = field.as_bytes();
    let n = name.len();
    // The header `s:N:"` (or `s:NN:"`) compared as the low bytes of a little-endian word; the
    // whole key is bounds checked once, and is at least 8 bytes long (`s:1:"x";`).
    let (key, head_len) = match n {
        1..=9 => {
            let key = input.get(pos..pos + n + 7)?;
            let head = u64::from_le_bytes([b's', b':', b'0' + n as u8, b':', b'"', 0, 0, 0]);
            let word = u64::from_le_bytes(*key.first_chunk::<8>()?);
            if word & 0xff_ffff_ffff != head {
                return None;
            }
            (key, 5)
        }
        10..=99 => {
            let key = input.get(pos..pos + n + 8)?;
            let head = u64::from_le_bytes([
                b's',
                b':',
                b'0' + (n / 10) as u8,
                b'0' + (n % 10) as u8,
                b':',
                b'"',
                0,
                0,
            ]);
            let word = u64::from_le_bytes(*key.first_chunk::<8>()?);
            if word & 0xffff_ffff_ffff != head {
                return None;
            }
            (key, 6)
        }
        _ => return None,
    };
    let (text, quote) = key[head_len..].split_at(n);
    if name[0] == 0 || !same_bytes(text, name) || quote != b"\";" {
        return None;
    }
    Some(pos + key.len())
}

/// `a == b`, without a call to `memcmp` for the short names struct fields have: lengths first,
/// then two overlapping loads that cover the bytes.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if let (Some(a0), Some(b0), Some(a1), Some(b1)) = (
        a.first_chunk::<8>(),
        b.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        if a.len() <= 16 {
            return u64::from_le_bytes(*a0) == u64::from_le_bytes(*b0)
                && u64::from_le_bytes(*a1) == u64::from_le_bytes(*b1);
        }
        // Longer (Laravel's `login_web_<sha1>` is 50 bytes): a word at a time, then the last
        // word, overlapping.
        let (wa, _) = a.as_chunks::<8>();
        let (wb, _) = b.as_chunks::<8>();
        return wa.iter().zip(wb).all(|(x, y)| x == y) && a1 == b1;
    }
    if let (Some(a0), Some(b0), Some(a1), Some(b1)) = (
        a.first_chunk::<4>(),
        b.first_chunk::<4>(),
        a.last_chunk::<4>(),
        b.last_chunk::<4>(),
    ) {
        return u32::from_le_bytes(*a0) == u32::from_le_bytes(*b0)
            && u32::from_le_bytes(*a1) == u32::from_le_bytes(*b1);
    }
    // 0 to 3 bytes: first, middle and last cover them all.
    let n = a.len();
    n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
}

impl<'de> SeqAccess<'de> for Entries<'_, 'de> {
    type Error = DeError;

    #[inline(always)]
    fn next_element<T: de::Deserialize<'de>>(&mut self) -> Result<Option<T>> {
        self.next_element_seed(std::marker::PhantomData)
    }

    #[inline(always)]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if *self.left == 0 {
            return Ok(None);
        }
        let index = self.len - *self.left;
        let key_at = self.de.reader.pos();
        if let Some((k, end)) = fast::int(self.de.input, key_at) {
            if k as u64 == index as u64 {
                self.de.reader.skip_to(end);
                *self.left -= 1;
                return seed.deserialize(&mut *self.de).map(Some);
            }
        }
        self.list_key(index, key_at)?;
        *self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(*self.left)
    }
}

impl Entries<'_, '_> {
    /// The key `index` of a list, read by the reader: not as PHP writes it, or not that key.
    #[inline(never)]
    fn list_key(&mut self, index: usize, key_at: usize) -> Result<()> {
        match self.de.reader.key()? {
            KeyRef::Int(k) if k >= 0 && k as u64 == index as u64 => {}
            KeyRef::Int(k) => {
                return Err(Error::SerdeAt {
                    offset: key_at,
                    message: format!("array is not a list: expected key {index}, found key {k}"),
                }
                .into())
            }
            KeyRef::Str(_) => {
                return Err(Error::SerdeAt {
                    offset: key_at,
                    message: format!(
                        "array is not a list: expected key {index}, found a string key"
                    ),
                }
                .into())
            }
        }
        Ok(())
    }
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = DeError;

    #[inline(always)]
    fn next_key<K: de::Deserialize<'de>>(&mut self) -> Result<Option<K>> {
        self.next_key_seed(std::marker::PhantomData)
    }

    #[inline(always)]
    fn next_value<V: de::Deserialize<'de>>(&mut self) -> Result<V> {
        self.next_value_seed(std::marker::PhantomData)
    }

    #[inline(always)]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if *self.left == 0 {
            return Ok(None);
        }
        let key_at = self.de.reader.pos();
        if let Some(&field) = self.fields.get(self.next_field) {
            // The field that came next last time, written as PHP writes it: one comparison.
            if let Some(end) = expected_key(self.de.input, key_at, field) {
                *self.left -= 1;
                self.next_field += 1;
                self.de.reader.skip_to(end);
                return match seed.deserialize(BorrowedStrDeserializer::new(field)) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) => Err(at(e, key_at)),
                };
            }
        }
        self.other_key(seed)
    }

    #[inline(always)]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(*self.left)
    }
}

impl<'de> Entries<'_, 'de> {
    /// A key other than the expected field: another field, a mangled property name, a map key.
    /// Out of line, so that [`MapAccess::next_key_seed`]'s path for the expected field stays small.
    #[inline(never)]
    fn other_key<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        *self.left -= 1;
        let key_at = self.de.reader.pos();
        if !self.fields.is_empty() {
            if let Some((data, len, end)) = fast::string(self.de.input, key_at) {
                let raw = &self.de.input[data..data + len];
                let name = match self.kind {
                    EntriesKind::Object => unmangled(raw),
                    _ => raw,
                };
                if let Some(field) = self.field(name) {
                    self.de.reader.skip_to(end);
                    return seed
                        .deserialize(BorrowedStrDeserializer::new(field))
                        .map(Some)
                        .map_err(|e| at(e, key_at));
                }
            }
        }
        let key = self.de.reader.key()?;
        seed.deserialize(KeyDeserializer {
            key,
            property: self.kind == EntriesKind::Object,
        })
        .map(Some)
        .map_err(|e| at(e, key_at))
    }
}

macro_rules! deserialize_int {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let start = self.reader.pos();
            if let Some((i, end)) = fast::int(self.input, start) {
                self.reader.skip_to(end);
                let v = match <$ty>::try_from(i) {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => Err(Error::Serde(format!(
                        "integer {i} is out of range for {}",
                        stringify!($ty)
                    )).into()),
                };
                return v.map_err(|e| at(e, start));
            }
            self.positioned(|de| match de.header()? {
                Header::Int(i) => match <$ty>::try_from(i) {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => Err(Error::Serde(format!(
                        "integer {i} is out of range for {}",
                        stringify!($ty)
                    )).into()),
                },
                h => Err(mismatch(&h, &visitor)),
            })
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.positioned(|de| {
            let start = de.reader.pos();
            match de.header()? {
                Header::Null => visitor.visit_unit(),
                Header::Bool(b) => visitor.visit_bool(b),
                Header::Int(i) => visitor.visit_i64(i),
                Header::Float(f) => visitor.visit_f64(f),
                Header::Str(Cow::Borrowed(b)) => match std::str::from_utf8(b) {
                    Ok(s) => visitor.visit_borrowed_str(s),
                    Err(_) => visitor.visit_borrowed_bytes(b),
                },
                Header::Str(Cow::Owned(v)) => match String::from_utf8(v) {
                    Ok(s) => visitor.visit_string(s),
                    Err(e) => visitor.visit_byte_buf(e.into_bytes()),
                },
                Header::Array(len) => {
                    let kind = if de.array_is_list(len)? {
                        EntriesKind::List
                    } else {
                        EntriesKind::Array
                    };
                    de.entries(start, len, kind, &[], visitor)
                }
                Header::Object { len, .. } => {
                    de.entries(start, len, EntriesKind::Object, &[], visitor)
                }
                Header::Enum { class, case } => {
                    let text = de.enum_text(class, case);
                    match std::str::from_utf8(text) {
                        Ok(s) => visitor.visit_borrowed_str(s),
                        Err(_) => visitor.visit_borrowed_bytes(text),
                    }
                }
                h => Err(mismatch(&h, &visitor)),
            }
        })
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let start = self.reader.pos();
        if let Some((b, end)) = fast::boolean(self.input, start) {
            self.reader.skip_to(end);
            return visitor.visit_bool(b).map_err(|e| at(e, start));
        }
        self.positioned(|de| match de.header()? {
            Header::Bool(b) => visitor.visit_bool(b),
            h => Err(mismatch(&h, &visitor)),
        })
    }

    deserialize_int! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let start = self.reader.pos();
        if let Some((f, end)) = fast::float(self.input, start) {
            self.reader.skip_to(end);
            return visitor.visit_f64(f).map_err(|e| at(e, start));
        }
        self.positioned(|de| match de.header()? {
            Header::Float(f) => visitor.visit_f64(f),
            // PHP writes a float with an integral value as `d:1;`, but a PHP int in a float slot is
            // common too (`$price = 3`); take it, rounding past 2^53 like PHP's (float) cast.
            Header::Int(i) => visitor.visit_f64(i as f64),
            h => Err(mismatch(&h, &visitor)),
        })
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let start = self.reader.pos();
        if let Some((data, len, end)) = fast::string(self.input, start) {
            self.reader.skip_to(end);
            return match self.text.str(data, len) {
                Ok(s) => visitor.visit_borrowed_str(s).map_err(|e| at(e, start)),
                Err(bad) => Err(invalid_utf8(bad)),
            };
        }
        self.positioned(|de| match de.header()? {
            Header::Str(s) => de.visit_string(s, visitor),
            h => Err(mismatch(&h, &visitor)),
        })
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.positioned(|de| match de.header()? {
            Header::Str(Cow::Borrowed(b)) => visitor.visit_borrowed_bytes(b),
            Header::Str(Cow::Owned(v)) => visitor.visit_byte_buf(v),
            h => Err(mismatch(&h, &visitor)),
        })
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // Not `N;` and not a reference: the value itself, without the closure of `positioned`.
        let start = self.reader.pos();
        if !matches!(self.input.get(start), Some(b'N' | b'r' | b'R') | None) {
            return visitor.visit_some(&mut *self).map_err(|e| at(e, start));
        }
        if self.input.get(start..start + 2) == Some(b"N;") {
            self.reader.skip_to(start + 2);
            return visitor.visit_none();
        }
        self.positioned(|de| {
            if de.reader.peek_is(b'N') {
                de.header()?;
                visitor.visit_none()
            } else {
                visitor.visit_some(de)
            }
        })
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.positioned(|de| match de.header()? {
            Header::Null => visitor.visit_unit(),
            h => Err(mismatch(&h, &visitor)),
        })
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let start = self.reader.pos();
        if let Some((len, body)) = fast::array(self.input, start) {
            self.reader.skip_to(body);
            return self.entries(start, len, EntriesKind::List, &[], visitor);
        }
        self.positioned(|de| {
            let start = de.reader.pos();
            match de.header()? {
                Header::Array(len) => de.entries(start, len, EntriesKind::List, &[], visitor),
                h => Err(mismatch(&h, &visitor)),
            }
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        if name == OBJECT_TOKEN || name == ENUM_TOKEN {
            return self.positioned(|de| de.php_wrapper(name, visitor));
        }
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.map(&[], visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.map(fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.positioned(|de| {
            let start = de.reader.pos();
            match de.header()? {
                Header::Str(s) => visitor.visit_enum(UnitVariant(KeyRef::Str(s))),
                // A PHP enum case picks the variant by case name; the PHP class name is not
                // compared, Rust and PHP names rarely match (namespaces).
                Header::Enum { case, .. } => {
                    visitor.visit_enum(UnitVariant(KeyRef::Str(Cow::Borrowed(case))))
                }
                Header::Array(1) => {
                    de.enter(start)?;
                    let key_at = de.reader.pos();
                    let key = de.reader.key()?;
                    let value = visitor.visit_enum(DataVariant { de, key, key_at })?;
                    de.leave();
                    de.reader.end_container("array")?;
                    Ok(value)
                }
                Header::Array(n) => Err(Error::Serde(format!(
                    "expected enum {name} as a string or a single-key array, found array of {n} entries"
                )).into()),
                h => Err(mismatch(&h, &visitor)),
            }
        })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        skip_value(&mut self.reader, self.open.len(), self.max_depth)?;
        visitor.visit_unit()
    }
}

impl<'de> Deserializer<'de> {
    /// An array or object as a map, or as a struct with these `fields` (empty for a map).
    fn map<V: Visitor<'de>>(
        &mut self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let start = self.reader.pos();
        if let Some((len, body)) = fast::array(self.input, start) {
            self.reader.skip_to(body);
            return self.entries(start, len, EntriesKind::Array, fields, visitor);
        }
        self.map_other(fields, visitor)
    }

    /// [`Self::map`] of anything but an array as PHP writes it: out of line, so that the array's
    /// path is short.
    #[inline(never)]
    fn map_other<V: Visitor<'de>>(
        &mut self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let start = self.reader.pos();
        if let Some((len, body)) = fast::object(self.input, start, &mut self.known_class) {
            self.reader.skip_to(body);
            return self.entries(start, len, EntriesKind::Object, fields, visitor);
        }
        self.positioned(|de| {
            let start = de.reader.pos();
            match de.header()? {
                Header::Array(len) => de.entries(start, len, EntriesKind::Array, fields, visitor),
                Header::Object { len, .. } => {
                    de.entries(start, len, EntriesKind::Object, fields, visitor)
                }
                h => Err(mismatch(&h, &visitor)),
            }
        })
    }

    /// `PhpObject<T>` and `PhpEnum<T>`: a two-element sequence of the class name and the content
    /// (the object's properties, or the enum's case name).
    fn php_wrapper<V: Visitor<'de>>(
        &mut self,
        token: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        let start = self.reader.pos();
        match (token == OBJECT_TOKEN, self.header()?) {
            (true, Header::Object { class, len }) => {
                self.enter(start)?;
                let mut parts = WrapperParts {
                    class: Some(class),
                    content: Some(WrapperContent::Object { de: self, len }),
                };
                let value = visitor.visit_seq(&mut parts)?;
                if let Some(WrapperContent::Object { .. }) = parts.content {
                    return Err(
                        Error::Serde("object properties were left unread".to_owned()).into(),
                    );
                }
                self.leave();
                self.reader.end_container("object")?;
                Ok(value)
            }
            (false, Header::Enum { class, case }) => visitor.visit_seq(WrapperParts {
                class: Some(class),
                content: Some(WrapperContent::Case(case)),
            }),
            (true, h) => {
                Err(Error::Serde(format!("expected a PHP object, found {}", describe(&h))).into())
            }
            (false, h) => Err(Error::Serde(format!(
                "expected a PHP enum case, found {}",
                describe(&h)
            ))
            .into()),
        }
    }
}

struct WrapperParts<'a, 'de> {
    class: Option<&'de [u8]>,
    content: Option<WrapperContent<'a, 'de>>,
}

enum WrapperContent<'a, 'de> {
    Object {
        de: &'a mut Deserializer<'de>,
        len: usize,
    },
    Case(&'de [u8]),
}

impl<'de> SeqAccess<'de> for WrapperParts<'_, 'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if let Some(class) = self.class.take() {
            return seed
                .deserialize(KeyDeserializer {
                    key: KeyRef::Str(Cow::Borrowed(class)),
                    property: false,
                })
                .map(Some);
        }
        match self.content.take() {
            None => Ok(None),
            Some(WrapperContent::Case(case)) => seed
                .deserialize(KeyDeserializer {
                    key: KeyRef::Str(Cow::Borrowed(case)),
                    property: false,
                })
                .map(Some),
            Some(WrapperContent::Object { de, len }) => seed
                .deserialize(ObjectBody {
                    de,
                    len,
                    fields: &[],
                })
                .map(Some),
        }
    }
}

/// The properties of an `O:` object whose header has been read: a map, a struct, or a newtype
/// around one.
struct ObjectBody<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    len: usize,
    /// A struct's field names, as in [`Entries`].
    fields: &'static [&'static str],
}

impl<'de> ObjectBody<'_, 'de> {
    fn visit_properties<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut left = self.len;
        let access = Entries {
            de: self.de,
            len: self.len,
            left: &mut left,
            kind: EntriesKind::Object,
            fields: self.fields,
            next_field: 0,
        };
        let value = visitor.visit_map(access)?;
        if left > 0 {
            return Err(Error::Serde(format!("{left} of {} entries left unread", self.len)).into());
        }
        Ok(value)
    }
}

impl<'de> de::Deserializer<'de> for ObjectBody<'_, 'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_properties(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        ObjectBody { fields, ..self }.visit_properties(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_properties(de::IgnoredAny)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map enum identifier
    }
}

/// An array key or property name, as a value of its own (map key, struct field, enum variant).
struct KeyDeserializer<'de> {
    key: KeyRef<'de>,
    /// Unmangle `\0*\0name` / `\0Class\0name` to `name`.
    property: bool,
}

impl<'de> KeyDeserializer<'de> {
    /// The key's text: an int key as decimal, a property name unmangled.
    fn text(&self) -> Cow<'_, [u8]> {
        match &self.key {
            KeyRef::Int(i) => Cow::Owned(i.to_string().into_bytes()),
            KeyRef::Str(s) if self.property => Cow::Borrowed(PropertyName::parse(s).name),
            KeyRef::Str(s) => Cow::Borrowed(s),
        }
    }

    /// The key's text with the input's lifetime when it has one.
    fn borrowed_text(&self) -> Option<&'de [u8]> {
        match self.key {
            KeyRef::Str(Cow::Borrowed(s)) if self.property => Some(PropertyName::parse(s).name),
            KeyRef::Str(Cow::Borrowed(s)) => Some(s),
            _ => None,
        }
    }

    fn visit_text<V: Visitor<'de>>(self, visitor: V, bytes_ok: bool) -> Result<V::Value> {
        if let Some(b) = self.borrowed_text() {
            return match std::str::from_utf8(b) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) if bytes_ok => visitor.visit_borrowed_bytes(b),
                Err(_) => Err(Error::Serde("invalid UTF-8 in key".to_owned()).into()),
            };
        }
        let text = self.text();
        match std::str::from_utf8(&text) {
            Ok(s) => visitor.visit_str(s),
            Err(_) if bytes_ok => visitor.visit_bytes(&text),
            Err(_) => Err(Error::Serde("invalid UTF-8 in key".to_owned()).into()),
        }
    }

    /// An integer key, or a string key in PHP's canonical decimal form.
    fn int(&self) -> Result<i64> {
        match &self.key {
            KeyRef::Int(i) => Ok(*i),
            KeyRef::Str(_) => match Key::from_php_string(&self.text()) {
                Key::Int(i) => Ok(i),
                Key::Str(_) => Err(Error::Serde(
                    "expected an integer key, found a string key".to_owned(),
                )
                .into()),
            },
        }
    }
}

macro_rules! deserialize_int_key {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let i = self.int()?;
            match <$ty>::try_from(i) {
                Ok(v) => visitor.$visit(v),
                Err(_) => Err(Error::Serde(format!(
                    "key {i} is out of range for {}",
                    stringify!($ty)
                )).into()),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.key {
            KeyRef::Int(i) => visitor.visit_i64(i),
            KeyRef::Str(_) => self.visit_text(visitor, true),
        }
    }

    deserialize_int_key! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_text(visitor, false)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_text(visitor, false)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.visit_text(visitor, false)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        // Bytes, not an error: a derived struct ignores a field name it does not know, UTF-8 or not.
        self.visit_text(visitor, true)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.borrowed_text() {
            Some(b) => visitor.visit_borrowed_bytes(b),
            None => visitor.visit_bytes(&self.text()),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_enum(UnitVariant(self.key))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool f32 f64 unit unit_struct seq tuple tuple_struct map struct
    }
}

/// An enum written as a string (or `E:` case name): only a unit variant can come from it.
struct UnitVariant<'de>(KeyRef<'de>);

impl<'de> EnumAccess<'de> for UnitVariant<'de> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let key = KeyDeserializer {
            key: match &self.0 {
                KeyRef::Int(i) => KeyRef::Int(*i),
                KeyRef::Str(Cow::Borrowed(s)) => KeyRef::Str(Cow::Borrowed(s)),
                KeyRef::Str(Cow::Owned(s)) => KeyRef::Str(Cow::Owned(s.clone())),
            },
            property: false,
        };
        Ok((seed.deserialize(key)?, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value> {
        Err(data_variant_as_string())
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value> {
        Err(data_variant_as_string())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value> {
        Err(data_variant_as_string())
    }
}

fn data_variant_as_string() -> DeError {
    Error::Serde(
        "expected a single-key array for an enum variant with data, found a string".to_owned(),
    )
    .into()
}

/// An enum written as a single-key array: the key names the variant, the value is its data.
struct DataVariant<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    key: KeyRef<'de>,
    key_at: usize,
}

impl<'a, 'de> EnumAccess<'de> for DataVariant<'a, 'de> {
    type Error = DeError;
    type Variant = &'a mut Deserializer<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant)> {
        let variant = seed
            .deserialize(KeyDeserializer {
                key: self.key,
                property: false,
            })
            .map_err(|e| at(e, self.key_at))?;
        Ok((variant, self.de))
    }
}

impl<'de> VariantAccess<'de> for &mut Deserializer<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<()> {
        <() as de::Deserialize>::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time unmangling against `PropertyName::parse`, on names with NULs at every
    /// place, of every length around the word size.
    #[test]
    fn unmangled_is_property_name_parse() {
        let mut rng = crate::test_rng::Rng(0x00a1_1a5e);
        for _ in 0..20_000 {
            let len = rng.below(40);
            let mut raw: Vec<u8> = (0..len)
                .map(|_| [0, b'*', b'a', b'\\', 0xff][rng.below(5)])
                .collect();
            if rng.below(2) == 0 {
                raw.insert(0, 0);
            }
            assert_eq!(unmangled(&raw), PropertyName::parse(&raw).name, "{raw:?}");
        }
    }
}
