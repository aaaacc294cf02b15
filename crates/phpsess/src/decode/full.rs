//! The full decoder: PHP's serialize format over [`crate::reader`]'s tokens into a tree (the owned
//! [`Value`] or the zero-copy [`BorrowedValue`]), numbering value slots the way PHP's `var_hash`
//! does so that `r:`/`R:` references and repeated keys get PHP's verdict. It decides every input
//! the fast tape builder leaves (`super::build`), errors included.

use std::marker::PhantomData;

use crate::error::{DecodeReason, Result};
use crate::key_set::{KeySet, KeyView, StoredKeys};
use crate::reader::{Header, KeyRef, Reader, MAX_DEPTH};
use crate::value::array::numeric_key;
use crate::value::{Array, BorrowedKey, BorrowedValue, CustomObject, EnumCase, Key, Object, Value};

/// Decode one complete value by the full decoder alone; bytes after it are an error.
pub(crate) fn complete<'a, T: Tree<'a>>(input: &'a [u8], max_depth: usize) -> Result<T> {
    let mut builder = TreeBuilder::<T>::new();
    builder.max_depth = max_depth;
    let (value, used) = builder.value_at(input, 0)?;
    let mut reader = Reader::new(input);
    reader.skip_to(used);
    reader.finish()?;
    Ok(value)
}

/// What each value slot (PHP's `var_hash` numbering) holds, to validate `r:` and `R:`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Object,
    Other,
    /// A slot naming the place of a repeated key's old value: PHP's `var_hash` points at places,
    /// not values, and the new value was parsed into the same place, so the slot now reaches
    /// the slot given here (see [`TreeBuilder::repoint`]).
    Alias(usize),
}

/// A value tree the decoder can build: the owned [`Value`] or the zero-copy [`BorrowedValue`].
/// The builder below does the walking, slot numbering and duplicate keys once for both.
pub(crate) trait Tree<'a>: Sized {
    type Key: TreeKey;
    /// Everything that is not an array or an `O:` object.
    fn leaf(header: Header<'a>) -> Self;
    /// An array key, with numeric strings made ints as PHP's arrays do.
    fn array_key(key: KeyRef<'a>) -> Self::Key;
    /// An object property name, kept as written.
    fn property_key(key: KeyRef<'a>) -> Self::Key;
    fn array(entries: Vec<(Self::Key, Self)>) -> Self;
    fn object(class: &'a [u8], properties: Vec<(Self::Key, Self)>) -> Self;
    /// A string value borrowed from the input: `leaf` without the `Header` in between.
    #[inline]
    fn borrowed_string(bytes: &'a [u8]) -> Self {
        Self::leaf(Header::Str(std::borrow::Cow::Borrowed(bytes)))
    }
    /// A string key borrowed from the input, kept as written (`property_key`).
    #[inline]
    fn borrowed_key(bytes: &'a [u8]) -> Self::Key {
        Self::property_key(KeyRef::Str(std::borrow::Cow::Borrowed(bytes)))
    }
}

/// What duplicate detection needs from a key.
pub(crate) trait TreeKey: PartialEq {
    /// `Some` for int keys.
    fn int(&self) -> Option<i64>;
    /// The bytes of a string key.
    fn bytes(&self) -> &[u8];
    /// The int this key is to PHP's hash table: int keys, and string keys that are canonical
    /// decimal integers. Array keys arrive normalised already; property names are kept as
    /// written, yet PHP stores `i:0;` and `s:1:"0";` as the same property, so repeats are found
    /// by this (found by tests/tests/differential.rs).
    fn canonical_int(&self) -> Option<i64> {
        self.int().or_else(|| numeric_key(self.bytes()))
    }

    /// The key as the key set compares it: canonical ints as ints.
    fn view(&self) -> KeyView<'_> {
        match self.canonical_int() {
            Some(i) => KeyView::Int(i),
            None => KeyView::Str(self.bytes()),
        }
    }
}

/// A container's entries so far, as the key set reads them back.
struct Stored<'e, K, V>(&'e [(K, V)]);

impl<K: TreeKey, V> StoredKeys for Stored<'_, K, V> {
    fn key_at(&self, pos: usize) -> KeyView<'_> {
        self.0[pos].0.view()
    }
    fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        0..self.0.len()
    }
}

impl<'a> Tree<'a> for Value {
    type Key = Key;

    fn leaf(header: Header<'a>) -> Self {
        match header {
            Header::Null => Value::Null,
            Header::Bool(b) => Value::Bool(b),
            Header::Int(i) => Value::Int(i),
            Header::Float(f) => Value::Float(f),
            Header::Str(s) => Value::String(s.into()),
            Header::Custom { class, data } => Value::Custom(CustomObject {
                class: class.to_vec(),
                data: data.to_vec(),
            }),
            Header::Enum { class, case } => Value::Enum(EnumCase {
                class: class.to_vec(),
                case: case.to_vec(),
            }),
            Header::ObjectRef(n) => Value::ObjectRef(n),
            Header::Ref(n) => Value::Ref(n),
            // The builder handles containers itself and never passes them here.
            Header::Array(_) => Value::Array(Array::new()),
            Header::Object { class, .. } => Value::Object(Object::new(class)),
        }
    }

    fn array_key(key: KeyRef<'a>) -> Key {
        match key {
            KeyRef::Int(i) => Key::Int(i),
            KeyRef::Str(s) => Key::from_php_string(&s),
        }
    }

    fn property_key(key: KeyRef<'a>) -> Key {
        match key {
            KeyRef::Int(i) => Key::Int(i),
            KeyRef::Str(s) => Key::Str(s.into()),
        }
    }

    fn array(entries: Vec<(Key, Value)>) -> Self {
        Value::Array(Array::from_unique_entries(entries))
    }

    #[inline]
    fn borrowed_string(bytes: &'a [u8]) -> Self {
        Value::String(bytes.into())
    }

    #[inline]
    fn borrowed_key(bytes: &'a [u8]) -> Key {
        Key::Str(bytes.into())
    }

    fn object(class: &'a [u8], properties: Vec<(Key, Value)>) -> Self {
        Value::Object(Object {
            class: class.to_vec(),
            properties,
        })
    }
}

impl TreeKey for Key {
    fn int(&self) -> Option<i64> {
        match self {
            Key::Int(i) => Some(*i),
            Key::Str(_) => None,
        }
    }
    fn bytes(&self) -> &[u8] {
        match self {
            Key::Int(_) => &[],
            Key::Str(s) => s,
        }
    }
}

impl<'a> Tree<'a> for BorrowedValue<'a> {
    type Key = BorrowedKey<'a>;

    fn leaf(header: Header<'a>) -> Self {
        match header {
            Header::Null => BorrowedValue::Null,
            Header::Bool(b) => BorrowedValue::Bool(b),
            Header::Int(i) => BorrowedValue::Int(i),
            Header::Float(f) => BorrowedValue::Float(f),
            Header::Str(s) => BorrowedValue::String(s),
            Header::Custom { class, data } => BorrowedValue::Custom { class, data },
            Header::Enum { class, case } => BorrowedValue::Enum { class, case },
            Header::ObjectRef(n) => BorrowedValue::ObjectRef(n),
            Header::Ref(n) => BorrowedValue::Ref(n),
            Header::Array(_) => BorrowedValue::Array(Vec::new()),
            Header::Object { class, .. } => BorrowedValue::Object {
                class,
                properties: Vec::new(),
            },
        }
    }

    fn array_key(key: KeyRef<'a>) -> BorrowedKey<'a> {
        match key {
            KeyRef::Int(i) => BorrowedKey::Int(i),
            KeyRef::Str(s) => match numeric_key(&s) {
                Some(i) => BorrowedKey::Int(i),
                None => BorrowedKey::Str(s),
            },
        }
    }

    fn property_key(key: KeyRef<'a>) -> BorrowedKey<'a> {
        match key {
            KeyRef::Int(i) => BorrowedKey::Int(i),
            KeyRef::Str(s) => BorrowedKey::Str(s),
        }
    }

    fn array(entries: Vec<(BorrowedKey<'a>, Self)>) -> Self {
        BorrowedValue::Array(entries)
    }

    fn object(class: &'a [u8], properties: Vec<(BorrowedKey<'a>, Self)>) -> Self {
        BorrowedValue::Object { class, properties }
    }
}

impl TreeKey for BorrowedKey<'_> {
    fn int(&self) -> Option<i64> {
        match self {
            BorrowedKey::Int(i) => Some(*i),
            BorrowedKey::Str(_) => None,
        }
    }
    fn bytes(&self) -> &[u8] {
        match self {
            BorrowedKey::Int(_) => &[],
            BorrowedKey::Str(s) => s,
        }
    }
}

/// Builds value trees and numbers value slots the way PHP's `var_hash` does. One builder kept
/// across several [`TreeBuilder::value_at`] calls continues the numbering, as PHP's session decoders
/// do across session variables.
pub(crate) struct TreeBuilder<T> {
    slots: Vec<Slot>,
    /// Per entry of every open container, innermost last: the slot through which the slots
    /// naming its place are reached. One stack for all frames (a frame's entries sit above its
    /// parent's, and are popped with it), so containers cost no extra allocation.
    heads: Vec<Option<usize>>,
    /// Offset of the first value given for a key already present (PHP keeps the first position
    /// and the last value), and whether any `r:`/`R:` was read: see [`DecodeReason::RepeatedKeyWithReferences`].
    first_repeat: Option<usize>,
    saw_reference: bool,
    /// Nesting allowed: PHP's [`MAX_DEPTH`] unless [`crate::DecodeOptions`] lowers it.
    max_depth: usize,
    tree: PhantomData<T>,
}

/// The builder of owned [`Value`]s.
pub(crate) type Builder = TreeBuilder<Value>;

impl<T> TreeBuilder<T> {
    /// A builder with an empty slot table: the next value decoded is slot 1.
    pub(crate) fn new() -> Self {
        TreeBuilder {
            slots: Vec::new(),
            heads: Vec::new(),
            first_repeat: None,
            saw_reference: false,
            max_depth: MAX_DEPTH,
            tree: PhantomData,
        }
    }

    /// Decode one value starting at `offset` in `input`, continuing this builder's slot numbering.
    /// Returns the value and the offset just after it; error offsets are into the whole `input`.
    pub(crate) fn value_at<'a>(&mut self, input: &'a [u8], offset: usize) -> Result<(T, usize)>
    where
        T: Tree<'a>,
    {
        let mut reader = Reader::new(input);
        reader.skip_to(offset);
        // Every value takes at least 2 bytes; most take far more. Growing from a guess saves the
        // reallocation chain on big inputs.
        self.slots.reserve((input.len() - offset) / 16 + 4);
        let value = self.value(&mut reader, 0)?;
        // A repeated key drops the value it replaces from the tree while PHP's numbering still
        // counts it, so `r:`/`R:` numbers would no longer fit the tree: re-encoding would give
        // bytes that mean something else, or nothing. PHP never writes repeated keys; refuse
        // the combination rather than return a value that does not round-trip.
        if let (Some(at), true) = (self.first_repeat, self.saw_reference) {
            return Err(crate::Error::decode(
                at,
                DecodeReason::RepeatedKeyWithReferences,
            ));
        }
        Ok((value, reader.pos()))
    }

    /// Decode one value. Nesting is walked with an explicit stack, not recursion, so PHP's 4096
    /// levels fit on any thread's stack (a 2 MB test thread, a ZTS worker).
    fn value<'a>(&mut self, r: &mut Reader<'a>, depth: usize) -> Result<T>
    where
        T: Tree<'a>,
    {
        let mut stack: Vec<Frame<'a, T>> = Vec::new();
        loop {
            let start = r.pos();
            // Every value but `R:` takes a slot, numbered from 1, before it is parsed.
            let slot = self.slots.len();
            let takes_slot = !r.peek_is(b'R');
            if takes_slot {
                self.slots.push(Slot::Other);
            }
            let header = r.header()?;
            if matches!(header, Header::Ref(_) | Header::ObjectRef(_)) {
                self.saw_reference = true;
            }
            if let Some(frame) = stack.last_mut() {
                if let Some(i) = frame.pending_repeat {
                    self.first_repeat.get_or_insert(start);
                    self.repoint(frame.heads_base + i, &header, slot, start)?;
                }
            }
            let mut done_slot = takes_slot.then_some(slot);
            let mut done = match header {
                Header::Array(0) => {
                    r.end_container("array")?;
                    T::array(Vec::new())
                }
                Header::Array(len) => {
                    check_depth(start, depth + stack.len(), self.max_depth)?;
                    let key = T::array_key(r.key()?);
                    stack.push(Frame::new(
                        None,
                        slot,
                        len,
                        key,
                        T::array_key,
                        self.heads.len(),
                    ));
                    continue;
                }
                Header::Object { class, len } => {
                    self.slots[slot] = Slot::Object;
                    // PHP checks the depth of every object, empty or not.
                    check_depth(start, depth + stack.len(), self.max_depth)?;
                    if len == 0 {
                        r.end_container("object")?;
                        T::object(class, Vec::new())
                    } else {
                        let key = T::property_key(r.key()?);
                        stack.push(Frame::new(
                            Some(class),
                            slot,
                            len,
                            key,
                            T::property_key,
                            self.heads.len(),
                        ));
                        continue;
                    }
                }
                Header::Custom { .. } | Header::Enum { .. } => {
                    self.slots[slot] = Slot::Object;
                    T::leaf(header)
                }
                Header::ObjectRef(n) => {
                    // Must reach an earlier object, never its own slot.
                    let ok = n >= 1 && (n as usize) <= self.slots.len() && {
                        let target = self.resolve(n as usize - 1);
                        target != slot && self.slots[target] == Slot::Object
                    };
                    if !ok {
                        return Err(crate::Error::decode(
                            start,
                            DecodeReason::InvalidReference(n),
                        ));
                    }
                    self.slots[slot] = Slot::Object;
                    T::leaf(header)
                }
                Header::Ref(n) => {
                    if n == 0 || n as usize > self.slots.len() {
                        return Err(crate::Error::decode(
                            start,
                            DecodeReason::InvalidReference(n),
                        ));
                    }
                    T::leaf(header)
                }
                other => T::leaf(other),
            };
            // Hand the finished value to its container; close every container it completes.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(done);
                };
                top.add(done, done_slot, &mut self.heads);
                if top.remaining > 0 {
                    let key = (top.make_key)(r.key()?);
                    top.set_pending(key);
                    break;
                }
                let Some(frame) = stack.pop() else {
                    return Err(unreachable_frame());
                };
                self.heads.truncate(frame.heads_base);
                r.end_container(if frame.class.is_some() {
                    "object"
                } else {
                    "array"
                })?;
                done_slot = Some(frame.slot);
                done = match frame.class {
                    Some(class) => T::object(class, frame.entries),
                    None => T::array(frame.entries),
                };
            }
        }
    }

    /// The slot `index` reaches, following [`Slot::Alias`]es (never circular: an alias always
    /// targets a slot that is not an alias at the time, and slots never stop being aliases).
    fn resolve(&self, mut index: usize) -> usize {
        while let Slot::Alias(next) = self.slots[index] {
            index = next;
        }
        index
    }

    /// A repeated key's new value (`header`, in `slot` unless it is `R:`) is about to be parsed
    /// into the place of the old one. PHP's `var_hash` names places, so every slot that named
    /// the old value now reaches the new one: `a:3:{i:0;i:1;i:0;O:8:"stdClass":0:{}i:1;r:2;}`
    /// is accepted and `a:3:{i:0;O:8:"stdClass":0:{}i:0;i:1;i:1;r:2;}` refused, as PHP 8.2
    /// does. `head` is the slot through which every earlier slot of that place is reached;
    /// `R:` to the place itself is PHP's `rval_ref == rval` refusal.
    fn repoint(
        &mut self,
        head_index: usize,
        header: &Header<'_>,
        slot: usize,
        start: usize,
    ) -> Result<()> {
        match *header {
            Header::Ref(n) => {
                let Some(h) = self.heads[head_index] else {
                    return Ok(());
                };
                if n == 0 || n as usize > self.slots.len() {
                    return Ok(()); // refused by the `R:` check that follows
                }
                let mut target = n as usize - 1;
                loop {
                    if target == h {
                        return Err(crate::Error::decode(
                            start,
                            DecodeReason::InvalidReference(n),
                        ));
                    }
                    match self.slots[target] {
                        Slot::Alias(next) => target = next,
                        _ => break,
                    }
                }
                self.slots[h] = Slot::Alias(target);
            }
            _ => {
                if let Some(h) = self.heads[head_index] {
                    self.slots[h] = Slot::Alias(slot);
                }
                self.heads[head_index] = Some(slot);
            }
        }
        Ok(())
    }
}

/// A container being filled: its entries so far, how many are still to come, and the key read
/// for the value being decoded now.
struct Frame<'a, T: Tree<'a>> {
    class: Option<&'a [u8]>,
    /// The container's own slot.
    slot: usize,
    entries: Vec<(T::Key, T)>,
    /// Where this container's entries start in [`TreeBuilder::heads`]: per entry, the slot
    /// through which the slots naming its place are reached (`None` while only `R:` values, which
    /// take no slot, were stored there). See [`TreeBuilder::repoint`].
    heads_base: usize,
    remaining: usize,
    pending: Option<T::Key>,
    /// The entry `pending` repeats, if it does.
    pending_repeat: Option<usize>,
    /// The keys of `entries`, and of `pending` once it is found new.
    seen: KeySet,
    make_key: fn(KeyRef<'a>) -> T::Key,
}

impl<'a, T: Tree<'a>> Frame<'a, T> {
    fn new(
        class: Option<&'a [u8]>,
        slot: usize,
        len: usize,
        first_key: T::Key,
        make_key: fn(KeyRef<'a>) -> T::Key,
        heads_base: usize,
    ) -> Self {
        let mut seen = KeySet::new(len);
        // The first key is new: recorded at position 0.
        let _ = seen.insert(first_key.view(), 0, &Stored::<T::Key, T>(&[]));
        Frame {
            class,
            slot,
            entries: Vec::with_capacity(len),
            heads_base,
            remaining: len,
            pending: Some(first_key),
            pending_repeat: None,
            seen,
            make_key,
        }
    }

    /// The key of the next value. Repeats are found now, before the value is parsed, because
    /// they change what `r:`/`R:` inside that value may reach.
    fn set_pending(&mut self, key: T::Key) {
        self.pending_repeat =
            self.seen
                .insert(key.view(), self.entries.len(), &Stored(&self.entries));
        self.pending = Some(key);
    }

    /// Store the value (decoded in `slot`) for the pending key. PHP keeps the first position and
    /// the last value for a repeated key.
    fn add(&mut self, value: T, slot: Option<usize>, heads: &mut Vec<Option<usize>>) {
        self.remaining -= 1;
        let Some(key) = self.pending.take() else {
            return;
        };
        match self.pending_repeat.take() {
            // `repoint` already moved this entry's head when the value started.
            Some(i) => self.entries[i].1 = value,
            None => {
                self.entries.push((key, value));
                heads.push(slot);
            }
        }
    }
}

/// The stack is never empty where this is called (`last_mut` just returned a frame); an error
/// instead of a panic keeps that promise checkable without `unwrap`.
fn unreachable_frame() -> crate::Error {
    crate::Error::decode(0, DecodeReason::Session("decoder frame stack out of step"))
}

fn check_depth(start: usize, depth: usize, max_depth: usize) -> Result<()> {
    if depth >= max_depth {
        return Err(crate::Error::decode(
            start,
            DecodeReason::TooDeep { limit: max_depth },
        ));
    }
    Ok(())
}

/// The offset of the value given for the first repeated key (in input order) in the value at the
/// start of `input`, found by one scan that keeps only keys: how the serde layer, which hands
/// entries to visitors without building containers, learns what [`TreeBuilder`] learns while
/// building, to refuse [`DecodeReason::RepeatedKeyWithReferences`] the same way. Keys compare as
/// in [`TreeBuilder`] (the same [`Tree`] key functions and [`KeySet`]). A syntax error ends the
/// scan with what was found before it: the caller reports that error itself when it reaches it.
pub(crate) fn first_repeated_key(input: &[u8]) -> Option<usize> {
    struct Open<'a> {
        object: bool,
        remaining: usize,
        keys: Vec<(BorrowedKey<'a>, ())>,
        seen: KeySet,
    }
    let open = |object: bool, len: usize| Open {
        object,
        remaining: len,
        keys: Vec::new(),
        seen: KeySet::new(len),
    };
    let mut r = Reader::new(input);
    let mut stack: Vec<Open<'_>> = Vec::new();
    loop {
        match r.header().ok()? {
            Header::Array(len) if len > 0 => stack.push(open(false, len)),
            Header::Object { len, .. } if len > 0 => stack.push(open(true, len)),
            // Empty containers are closed here; leaves need nothing.
            Header::Array(_) => r.end_container("array").ok()?,
            Header::Object { .. } => r.end_container("object").ok()?,
            _ => {}
        }
        // Close finished containers, then read the next entry's key.
        loop {
            let top = stack.last_mut()?;
            if top.remaining == 0 {
                let reading = if top.object { "object" } else { "array" };
                stack.pop();
                r.end_container(reading).ok()?;
                continue;
            }
            top.remaining -= 1;
            let key = r.key().ok()?;
            let key = if top.object {
                BorrowedValue::property_key(key)
            } else {
                BorrowedValue::array_key(key)
            };
            let at = top.keys.len();
            if top
                .seen
                .insert(key.view(), at, &Stored(&top.keys))
                .is_some()
            {
                return Some(r.pos());
            }
            top.keys.push((key, ()));
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys that need a lookup each (descending ints, which a linear scan made quadratic, and
    /// repeats) cost the key set a bounded number of probes.
    #[test]
    fn repeated_key_checks_are_linear() {
        let n = 20_000usize;
        let mut input = format!("a:{}:{{", 2 * n).into_bytes();
        for i in (0..n).rev() {
            input.extend_from_slice(format!("i:{i};N;").as_bytes());
        }
        for i in 0..n {
            input.extend_from_slice(format!("s:{}:\"{i}\";b:1;", i.to_string().len()).as_bytes());
        }
        input.push(b'}');
        let v = crate::unserialize(&input).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), n);
        assert_eq!(a.get(0), Some(&Value::Bool(true)));
        assert_eq!(
            a.iter().next().map(|(k, _)| k.clone()),
            Some(Key::Int(n as i64 - 1))
        );
        let mut frame =
            Frame::<Value>::new(None, 0, 2 * n, Key::Int(n as i64), Value::array_key, 0);
        for i in (0..n as i64).rev() {
            frame.add(Value::Null, None, &mut Vec::new());
            frame.set_pending(Key::Int(i));
        }
        assert!(
            frame.seen.probes < 4 * n as u64,
            "{} probes",
            frame.seen.probes
        );
    }
}
