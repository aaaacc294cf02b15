//! Differential test: our decoder against PHP 8.2's `unserialize()`, on one corpus sent to one
//! `php -n tests/php/unserialize_oracle.php` process.
//!
//! The corpus: every fixture input (`fixtures/values.json`, the `php_serialize` session
//! fixtures), hand-picked inputs for every grammar corner (valid and invalid), depth 4095–4097,
//! huge declared counts, every truncation of every valid seed, two single-byte mutations per
//! offset of every valid seed, and a few thousand random grammar-shaped values (from the harness's
//! seeded generator, so runs are reproducible), most of them mutated.
//!
//! For each input PHP says whether `unserialize()` succeeded and re-serializes the result. We
//! compare against [`phpsess::unserialize_prefix`], because PHP 8.2 ignores bytes after the
//! value; that strict [`phpsess::unserialize`] refuses exactly those bytes (and otherwise agrees
//! with the prefix decoder) is asserted separately. When both accept, our `serialize()` of our
//! value must equal PHP's `serialize(unserialize($input))`.
//!
//! # Known differences
//!
//! PHP's `unserialize()` runs against a class table and class code, and PHP's `serialize()`
//! numbers references by object identity; our decoder has no class table and our value tree
//! keeps `r:`/`R:` numbers as written, by design. Each difference below is recognised by its
//! own check in [`classify`] and counted in the summary; anything else is a failure, and the
//! fixture inputs (which PHP wrote) must match exactly, with no known difference at all.
//!
//! Verdicts (PHP refuses, we accept; the reverse is never excused):
//!
//! - **Undefined enums**: PHP refuses `E:` naming a class that is not an enum or a case the enum
//!   lacks ("Undefined constant Suit::Nope"); we accept any `Class:Case`. Recognised when the
//!   input holds an enum case the oracle's class table does not have.
//! - **Class code rejects**: PHP instantiates declared classes and runs their code:
//!   `__unserialize()` validation (DateTime, ArrayObject), `Serializable` classes refusing `O:`
//!   ("Erroneous data format"), enums and `Closure` that may not be instantiated, and "Corrupt
//!   member variable name" for malformed mangled names on classes with declared properties.
//!   Recognised when PHP threw or warned (beyond its "Error at offset" notice) and the input
//!   names a class PHP has declared whose data it does not take verbatim (all but `stdClass`,
//!   `Bag`, `Packed` for `O:` and `LegacyPayload` for `C:`, see `fixtures/classes.php`).
//!
//! Values, checked exactly (our value, rewritten the way PHP re-serializes, must give PHP's
//! bytes; see [`Predict`]):
//!
//! - **Property key forms**: PHP stores int keys of plain objects as property names, so
//!   `O:8:"stdClass":1:{i:0;N;}` comes back as `{s:1:"0";N;}`; a class with `__unserialize()`
//!   receives its data as an array instead, where numeric strings become int keys
//!   (`O:6:"Packed":1:{s:1:"9";N;}` comes back as `{i:9;N;}`). Keys that become equal merge.
//!   We keep keys as written.
//! - **Class name spelling**: class names are case-insensitive and PHP writes the declared
//!   spelling (`O:8:"STDCLASS"` comes back as `stdClass`); an enum's class may also be written
//!   with a leading `\` (`E:12:"\Suit:Hearts";`), which PHP drops.
//! - **Enum singletons**: a case is one object, so a repeated `E:11:"Suit:Hearts";` comes back
//!   as `r:N;` naming the first.
//! - **Reference numbers**: PHP numbers `r:`/`R:` by the object they reach, so an `r:` naming a
//!   slot that holds an `r:` comes back naming the object's own slot, and an `r:` that an `R:`
//!   names becomes a PHP reference, written `R:`.
//!
//! Values, recognised by a predicate (PHP's output is not worth modelling):
//!
//! - **Class code rewrites**: for the declared classes above PHP fills in default properties,
//!   re-mangles names to their declared visibility, and `__unserialize()` may normalise data.
//! - **`C:` without an unserializer**: `C:` for a class that does not implement
//!   `Serializable::unserialize()` (unknown classes included) makes PHP warn "has no
//!   unserializer" and build an empty object; we keep the payload.
//! - **`R:1`**: a PHP reference to the top-level value itself. `unserialize()` returns a copy
//!   of that value, so the reference points at a temporary and PHP re-serializes it as `N;`
//!   (arrays) or `r:1;` (objects). We keep `R:1`, which is what the input said.
//! - **Repeated keys with references**: PHP keeps the first position and the last value for a
//!   repeated key, as we do, but its numbering still counts the replaced value (and anything
//!   inside it), which our tree has dropped, so references could not keep their meaning. We
//!   refuse such input (`DecodeReason::RepeatedKeyWithReferences`; found by fuzzing: the value
//!   re-encoded to bytes that did not decode). PHP never writes repeated keys. This is the one
//!   input PHP accepts that we refuse, and the test checks the input really has a repeated key.
//!
//! Run with `--nocapture` to see the summary.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::OnceLock;

use phpsess::{
    serialize, unserialize, unserialize_borrowed, unserialize_prefix, DecodeReason, Document,
    Error, Key, Value,
};
use phpsess_compat::fixtures::{b64, escape_bytes, session_fixtures, value_fixtures};
use phpsess_compat::php::{php_script, run_php_batch};
use phpsess_compat::rng::{Rng, SeedReport};

// ---------------------------------------------------------------------------------------------
// The corpus.

/// Where an input came from (fixture inputs get no known-difference allowance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Origin {
    Fixture,
    HandPicked,
    Depth,
    Truncated,
    Mutated,
    Random,
}

struct Case {
    origin: Origin,
    input: Vec<u8>,
}

const SEED: u64 = 0x5EED_0FFA_1120_24AB;
const RANDOM_VALUES: usize = 3000;
/// Seeds longer than this are not truncated or mutated at every offset (keeps the run short).
const MAX_SEED_LEN_FOR_SWEEPS: usize = 400;

/// Bytes that matter to the grammar, for mutations.
const GRAMMAR_BYTES: &[u8] = b"0123456789:;{}\"aisdNbOCESrR-+.eE\0\xff";

fn hand_picked() -> Vec<Vec<u8>> {
    let table: &[&[u8]] = &[
        // Null and bool.
        b"N;",
        b"N",
        b"N:;",
        b"n;",
        b"b:0;",
        b"b:1;",
        b"b:2;",
        b"b:;",
        b"b:01;",
        b"b:-1;",
        b"b:1",
        b"B:1;",
        // Integers.
        b"i:0;",
        b"i:+5;",
        b"i:-0;",
        b"i:-5;",
        b"i:007;",
        b"i:;",
        b"i:-;",
        b"i:+;",
        b"i:5",
        b"i:5:",
        b"i: 5;",
        b"i:5 ;",
        b"i:9223372036854775807;",
        b"i:9223372036854775808;",
        b"i:-9223372036854775808;",
        b"i:-9223372036854775809;",
        b"i:99999999999999999999999;",
        b"i:0x1A;",
        b"i:1e3;",
        b"i:1.5;",
        b"I:5;",
        // Floats.
        b"d:0;",
        b"d:0.1;",
        b"d:.5;",
        b"d:5.;",
        b"d:1e;",
        b"d:1e5;",
        b"d:1E+5;",
        b"d:1e-5;",
        b"d:1e+;",
        b"d:+1.5;",
        b"d:-.5;",
        b"d:-5.e3;",
        b"d:.e3;",
        b"d:.;",
        b"d:;",
        b"d:-;",
        b"d:00.5;",
        b"d:1.5e3.2;",
        b"d:INF;",
        b"d:-INF;",
        b"d:+INF;",
        b"d:NAN;",
        b"d:-NAN;",
        b"d:nan;",
        b"d:inf;",
        b"d:INFINITY;",
        b"d:INF",
        b"d:1e999;",
        b"d:-1e999;",
        b"d:1e-999;",
        b"d:0x10;",
        b"d: 1;",
        b"d:1 ;",
        b"d:1.5",
        b"d:1.7976931348623157E+308;",
        b"d:1.7976931348623159E+308;",
        b"d:2.2250738585072014E-308;",
        b"d:4.9E-324;",
        b"d:2.4703282292062328E-324;",
        b"d:2.4703282292062327E-324;",
        b"d:123456789012345678901234567890;",
        b"d:0.1000000000000000055511151231257827;",
        b"d:9007199254740993;",
        // Strings.
        b"s:0:\"\";",
        b"s:1:\"a\";",
        b"s:01:\"a\";",
        b"s:+1:\"a\";",
        b"s:-1:\"a\";",
        b"s:1:\"ab\";",
        b"s:2:\"a\";",
        b"s:1:\"a\"",
        b"s:1:\"a\":",
        b"s:1:a;",
        b"s:3:\"a\"b\";",
        b"s:1:\"\0\";",
        b"s:18446744073709551617:\"a\";",
        b"s:999999999:\"a\";",
        b"s::\"\";",
        b"S:1:\"a\";",
        b"S:3:\"\\61\\62\\63\";",
        b"S:1:\"\\61\";",
        b"S:1:\"\\6\";",
        b"S:1:\"\\zz\";",
        b"S:2:\"\\61\";",
        b"S:1:\"\\\\\";",
        b"S:1:\"\\FF\";",
        b"S:1:\"\\ff\";",
        // Arrays.
        b"a:0:{}",
        b"a:0:{",
        b"a:0:{};",
        b"a:1:{i:0;N;}",
        b"a:1:{i:0;N;",
        b"a:1:{i:0;}",
        b"a:1:{}",
        b"a:2:{i:0;N;}",
        b"a:1:{i:0;N;i:1;N;}",
        b"a:-1:{}",
        b"a:+1:{i:0;N;}",
        b"a:01:{i:0;N;}",
        b"a::{}",
        b"a:1:{N;N;}",
        b"a:1:{b:1;N;}",
        b"a:1:{d:1;N;}",
        b"a:1:{a:0:{}N;}",
        b"a:1:{O:8:\"stdClass\":0:{}N;}",
        b"a:1:{r:1;N;}",
        b"a:1:{R:1;N;}",
        b"a:1:{E:11:\"Suit:Hearts\";N;}",
        b"a:1:{S:1:\"a\";N;}",
        b"a:1:{s:1:\"5\";N;}",
        b"a:1:{s:2:\"05\";N;}",
        b"a:1:{s:2:\"-0\";N;}",
        b"a:1:{s:20:\"-9223372036854775808\";N;}",
        b"a:2:{i:0;N;i:0;b:1;}",
        b"a:2:{i:5;N;s:1:\"5\";i:1;}",
        b"a:999999999:{",
        b"a:1073741823:{}",
        b"a:1073741824:{}",
        b"a:18446744073709551616:{}",
        b"a:1:{i:0;N;}}",
        b"a:1:{i:0;a:0:{}}",
        b"A:0:{}",
        b"a:0:[]",
        // Objects.
        b"O:8:\"stdClass\":0:{}",
        b"O:8:\"stdClass\"::{}",
        b"O:8:\"stdClass\":+1:{s:1:\"a\";N;}",
        b"O:8:\"stdClass\":-1:{}",
        b"O:8:\"stdClass\":-0:{}",
        b"O:8:\"stdClass\":01:{s:1:\"a\";N;}",
        b"O:8:\"stdClass\":1:{s:1:\"a\";N;}",
        b"O:8:\"stdClass\":1:{i:0;N;}",
        b"O:8:\"stdClass\":1:{N;N;}",
        b"O:8:\"stdClass\":1:{}",
        b"O:8:\"stdClass\":0:{",
        b"O:8:\"stdClass\":0:",
        b"O:8:\"stdClass\"",
        b"O:8:\"stdClass\":999999999:{",
        b"O:0:\"\":0:{}",
        b"O:1:\"1\":0:{}",
        b"O:3:\"a-b\":0:{}",
        b"O:4:\"\\Foo\":0:{}",
        b"O:4:\"Foo\\\":0:{}",
        b"O:5:\"a\0bcd\":0:{}",
        b"O:4:\"F\xc3\xb6o\":0:{}",
        b"O:9:\"stdClass\":0:{}",
        b"O:7:\"stdClass\":0:{}",
        b"O:8:\"STDCLASS\":0:{}",
        b"O:3:\"Bag\":1:{s:1:\"x\";i:1;}",
        b"O:3:\"bag\":0:{}",
        b"O:13:\"Missing\\Thing\":1:{s:1:\"a\";N;}",
        b"O:6:\"Packed\":2:{i:0;i:1;i:1;i:2;}",
        b"O:6:\"Packed\":1:{s:1:\"9\";N;}",
        b"O:4:\"User\":1:{s:4:\"\0abc\";i:1;}",
        b"O:4:\"User\":1:{s:4:\"role\";i:1;}",
        b"O:7:\"Closure\":0:{}",
        b"O:4:\"Suit\":0:{}",
        b"O:13:\"LegacyPayload\":0:{}",
        b"O:8:\"stdClass\":1:{s:4:\"\0abc\";i:1;}",
        b"O:8:\"stdClass\":1:{s:3:\"\0*\0\";i:1;}",
        b"O:8:\"stdClass\":2:{s:1:\"a\";i:1;s:1:\"a\";i:2;}",
        b"O:8:\"stdClass\":1:{s:1:\"a\";r:1;}",
        b"O:8:\"stdClass\":1:{s:1:\"a\";R:1;}",
        b"O:22:\"__PHP_Incomplete_Class\":0:{}",
        // Custom (Serializable) objects.
        b"C:13:\"LegacyPayload\":0:{}",
        b"C:13:\"LegacyPayload\":3:{abc}",
        b"C:13:\"LegacyPayload\":3:{ab}",
        b"C:13:\"LegacyPayload\":2:{abc}",
        b"C:13:\"LegacyPayload\":-1:{}",
        b"C:13:\"LegacyPayload\":+3:{abc}",
        b"C:13:\"LegacyPayload\"::{}",
        b"C:13:\"LegacyPayload\":3:{a}c}",
        b"C:13:\"LegacyPayload\":999999:{}",
        b"C:13:\"LegacyPayload\":3:{abc",
        b"C:8:\"stdClass\":0:{}",
        b"C:7:\"Missing\":2:{ab}",
        b"C:6:\"Packed\":0:{}",
        b"C:4:\"Suit\":0:{}",
        // Enums.
        b"E:11:\"Suit:Hearts\";",
        b"E:11:\"suit:Hearts\";",
        b"E:11:\"Suit:hearts\";",
        b"E:9:\"Suit:Nope\";",
        b"E:4:\"Suit\";",
        b"E:5:\"Suit:\";",
        b"E:7:\":Hearts\";",
        b"E:10:\"Bag:Hearts\";",
        b"E:14:\"Missing:Hearts\";",
        b"E:13:\"Status:Active\";",
        b"E:22:\"App\\Models\\Color:Green\";",
        b"E:11:\"Suit:Hearts\"",
        b"E:11:\"Suit:Hearts\":",
        b"E:0:\"\";",
        b"E:12:\"Suit::Hearts\";",
        b"E:12:\"\\Suit:Hearts\";",
        b"E:12:\"Su-t:Hearts\";",
        // References.
        b"r:1;",
        b"R:1;",
        b"r:0;",
        b"R:0;",
        b"a:1:{i:0;r:1;}",
        b"a:1:{i:0;R:1;}",
        b"a:2:{i:0;i:1;i:1;R:1;}",
        b"a:2:{i:0;i:1;i:1;R:2;}",
        b"a:2:{i:0;i:1;i:1;R:3;}",
        b"a:2:{i:0;i:1;i:1;r:2;}",
        b"a:2:{i:0;O:8:\"stdClass\":0:{}i:1;r:2;}",
        b"a:2:{i:0;O:8:\"stdClass\":0:{}i:1;r:3;}",
        b"a:2:{i:0;O:8:\"stdClass\":0:{}i:1;R:2;}",
        b"a:1:{i:0;O:8:\"stdClass\":1:{s:1:\"a\";r:2;}}",
        b"a:1:{i:0;O:8:\"stdClass\":1:{s:1:\"a\";r:3;}}",
        b"a:2:{i:0;E:11:\"Suit:Hearts\";i:1;r:2;}",
        b"a:2:{i:0;C:13:\"LegacyPayload\":0:{}i:1;r:2;}",
        b"a:3:{i:0;i:1;i:1;R:2;i:2;R:2;}",
        b"a:2:{i:0;a:1:{i:0;i:1;}i:1;R:3;}",
        b"a:1:{i:0;a:1:{i:0;R:2;}}",
        b"a:2:{i:0;i:1;i:1;R:18446744073709551617;}",
        b"a:2:{i:0;i:1;i:1;R:99999999999999999999;}",
        b"a:2:{i:0;i:1;i:1;r:-1;}",
        b"a:2:{i:0;i:1;i:1;R:+2;}",
        b"a:2:{i:0;i:1;i:1;R:;}",
        b"O:6:\"Packed\":2:{i:0;O:8:\"stdClass\":0:{}i:1;r:2;}",
        b"O:6:\"Packed\":1:{i:0;R:1;}",
        b"a:1:{i:0;O:6:\"Packed\":2:{i:0;r:2;i:1;R:3;}}",
        b"a:3:{i:0;O:8:\"stdClass\":0:{}i:1;r:2;i:2;r:3;}",
        b"a:2:{i:0;E:11:\"Suit:Hearts\";i:1;E:11:\"Suit:Hearts\";}",
        b"a:3:{i:0;i:1;i:0;i:2;i:0;R:2;}",
        b"a:3:{i:0;i:1;i:0;i:2;i:0;R:3;}",
        // Repeated keys together with references.
        b"a:3:{i:0;O:8:\"stdClass\":0:{}i:0;i:1;i:1;r:2;}",
        b"a:3:{i:0;i:1;i:0;O:8:\"stdClass\":0:{}i:1;r:2;}",
        b"a:2:{i:0;O:8:\"stdClass\":0:{}i:0;a:1:{i:0;r:2;}}",
        b"a:3:{i:0;a:1:{i:0;O:8:\"stdClass\":0:{}}i:0;i:1;i:1;r:3;}",
        b"a:3:{i:0;O:8:\"stdClass\":0:{}i:0;i:1;i:1;R:2;}",
        b"a:2:{i:0;O:8:\"stdClass\":0:{}i:0;r:2;}",
        b"O:8:\"stdClass\":3:{s:1:\"a\";O:8:\"stdClass\":0:{}s:1:\"a\";i:1;s:1:\"b\";r:2;}",
        // Bytes after the value, and no value at all.
        b"N;N;",
        b"b:0;junk",
        b"b:0;",
        b"i:1;}",
        b"a:0:{}}",
        b"N; ",
        b"",
        b" ",
        b" N;",
        b";",
        b"x",
        b"\0",
        b"}",
    ];
    table.iter().map(|s| s.to_vec()).collect()
}

/// `depth` nested containers around `N;`, each opened by `open` and closed by `}`.
fn nested(depth: usize, open: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(depth * (open.len() + 1) + inner.len());
    for _ in 0..depth {
        v.extend_from_slice(open);
    }
    v.extend_from_slice(inner);
    v.extend(std::iter::repeat_n(b'}', depth));
    v
}

fn depth_cases() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for depth in [4095, 4096, 4097] {
        out.push(nested(depth, b"a:1:{i:0;", b"N;"));
        out.push(nested(depth, b"a:1:{i:0;", b"a:0:{}"));
        out.push(nested(depth, b"O:8:\"stdClass\":1:{s:1:\"a\";", b"N;"));
        out.push(nested(depth, b"O:6:\"Packed\":1:{i:0;", b"N;"));
        out.push(nested(depth, b"a:1:{i:0;", b"O:8:\"stdClass\":0:{}"));
    }
    out
}

/// Grammar-shaped random values, written directly as bytes so that they can say things our
/// `Value` cannot (odd spellings like `i:+5;`, repeated keys), with `r:`/`R:` numbers that
/// usually point at a real slot.
struct Gen<'r> {
    rng: &'r mut Rng,
    out: Vec<u8>,
    /// Per slot (1-based number = index + 1): does it hold an object?
    slots: Vec<bool>,
    /// Slots of the containers being written (ancestors of the current value).
    open: Vec<usize>,
}

impl Gen<'_> {
    fn push(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn int_text(&mut self) -> String {
        let n: i64 = match self.rng.below(8) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i64::MAX,
            4 => i64::MIN,
            5 => self.rng.below(100) as i64,
            6 => -(self.rng.below(100) as i64),
            _ => self.rng.next_u64() as i64,
        };
        match self.rng.below(20) {
            0 => format!("+{}", n.unsigned_abs()),
            1 => format!("00{n}"),
            2 => "-0".to_owned(),
            _ => n.to_string(),
        }
    }

    fn float_text(&mut self) -> Vec<u8> {
        const SPELLINGS: &[&[u8]] = &[
            b"1e5",
            b".5",
            b"5.",
            b"1.0E+25",
            b"-0.0",
            b"1E-7",
            b"00.5",
            b"-.5e-3",
            b"INF",
            b"-INF",
            b"NAN",
            b"1e400",
            b"4.9E-324",
        ];
        if self.rng.chance(25) {
            return self.rng.pick(SPELLINGS).to_vec();
        }
        let f = match self.rng.below(4) {
            0 => f64::from_bits(self.rng.next_u64()),
            1 => (self.rng.below(2000) as f64 - 1000.0) / 8.0,
            2 => *self.rng.pick(&[
                0.1,
                -0.0,
                1e15,
                1e16,
                1e17,
                1e-5,
                1e-4,
                f64::MAX,
                f64::MIN_POSITIVE,
            ]),
            _ => self.rng.next_u64() as f64 / 7.0,
        };
        // Our serializer spells it as PHP would; strip the `d:` and `;`.
        let s = serialize(&Value::Float(f));
        s[2..s.len() - 1].to_vec()
    }

    fn string_bytes(&mut self) -> Vec<u8> {
        const ALPHABET: &[u8] = b"ab\";:{}\\0\x009\xff\xc3\xa9 ";
        const WORDS: &[&[u8]] = &[b"", b"5", b"05", b"-3", b"0", b"x", b"\0*\0p", b"name"];
        if self.rng.chance(30) {
            return self.rng.pick(WORDS).to_vec();
        }
        let len = self.rng.below(10);
        (0..len).map(|_| *self.rng.pick(ALPHABET)).collect()
    }

    fn string(&mut self, tag: u8) {
        let s = self.string_bytes();
        if tag == b'S' {
            // Escape some bytes as \xx, as PHP's S: allows.
            let mut body = Vec::new();
            for &b in &s {
                if b == b'\\' || self.rng.chance(40) {
                    body.extend_from_slice(format!("\\{b:02x}").as_bytes());
                } else {
                    body.push(b);
                }
            }
            self.push(format!("S:{}:\"", s.len()).as_bytes());
            self.push(&body);
        } else {
            self.push(format!("s:{}:\"", s.len()).as_bytes());
            self.push(&s);
        }
        self.push(b"\";");
    }

    fn key(&mut self) {
        match self.rng.below(6) {
            0 | 1 => {
                let n = self.rng.below(4);
                self.push(format!("i:{n};").as_bytes());
            }
            2 => {
                let t = self.int_text();
                self.push(format!("i:{t};").as_bytes());
            }
            3 if self.rng.chance(10) => self.string(b'S'),
            _ => self.string(b's'),
        }
    }

    fn new_slot(&mut self, object: bool) -> usize {
        self.slots.push(object);
        self.slots.len()
    }

    fn value(&mut self, depth: usize) {
        let kinds = if depth >= 4 || self.out.len() > 2000 {
            9
        } else {
            13
        };
        match self.rng.below(kinds) {
            0 => {
                self.new_slot(false);
                self.push(b"N;");
            }
            1 => {
                self.new_slot(false);
                let b = self.rng.below(2);
                self.push(format!("b:{b};").as_bytes());
            }
            2 => {
                self.new_slot(false);
                let t = self.int_text();
                self.push(format!("i:{t};").as_bytes());
            }
            3 => {
                self.new_slot(false);
                let t = self.float_text();
                self.push(b"d:");
                self.push(&t);
                self.push(b";");
            }
            4 => {
                self.new_slot(false);
                let tag = if self.rng.chance(10) { b'S' } else { b's' };
                self.string(tag);
            }
            5 => {
                self.new_slot(true);
                const CASES: &[&str] = &[
                    "Suit:Hearts",
                    "Suit:Spades",
                    "Status:Active",
                    "Status:Inactive",
                    "App\\Models\\Color:Red",
                    "suit:Hearts",
                    "Suit:Nope",
                ];
                let c = if self.rng.chance(90) {
                    *self.rng.pick(&CASES[..5])
                } else {
                    *self.rng.pick(&CASES[5..])
                };
                self.push(format!("E:{}:\"{c}\";", c.len()).as_bytes());
            }
            6 => {
                // r: to an earlier object; now and then to anything at all.
                let objects: Vec<usize> = (1..=self.slots.len())
                    .filter(|&n| self.slots[n - 1])
                    .collect();
                let n = if !objects.is_empty() && self.rng.chance(90) {
                    *self.rng.pick(&objects)
                } else {
                    self.rng.below(self.slots.len() + 2)
                };
                self.new_slot(true);
                self.push(format!("r:{n};").as_bytes());
            }
            7 => {
                // R: to an earlier value, rarely to an open container (an ancestor) or nothing.
                let closed: Vec<usize> = (1..=self.slots.len())
                    .filter(|n| !self.open.contains(n))
                    .collect();
                let n = if !closed.is_empty() && self.rng.chance(90) {
                    *self.rng.pick(&closed)
                } else {
                    self.rng.below(self.slots.len() + 2)
                };
                self.push(format!("R:{n};").as_bytes());
            }
            8 => {
                self.new_slot(true);
                let class: &str = if self.rng.chance(90) {
                    "LegacyPayload"
                } else {
                    "Missing"
                };
                let payload = self.string_bytes();
                self.push(format!("C:{}:\"{class}\":{}:{{", class.len(), payload.len()).as_bytes());
                self.push(&payload);
                self.push(b"}");
            }
            9 | 10 => {
                let slot = self.new_slot(false);
                let n = self.rng.below(4);
                self.push(format!("a:{n}:{{").as_bytes());
                self.open.push(slot);
                for _ in 0..n {
                    self.key();
                    self.value(depth + 1);
                }
                self.open.pop();
                self.push(b"}");
            }
            _ => {
                let slot = self.new_slot(true);
                const CLASSES: &[&str] = &[
                    "stdClass",
                    "stdClass",
                    "Bag",
                    "Packed",
                    "Missing\\Thing",
                    "bag",
                    "STDCLASS",
                ];
                let class = *self.rng.pick(CLASSES);
                let n = self.rng.below(4);
                self.push(format!("O:{}:\"{class}\":{n}:{{", class.len()).as_bytes());
                self.open.push(slot);
                for _ in 0..n {
                    const NAMES: &[&[u8]] = &[b"a", b"b", b"\0*\0p", b"\0Bag\0q", b"0", b"x y"];
                    if self.rng.chance(20) {
                        self.key();
                    } else {
                        let name = *self.rng.pick(NAMES);
                        self.push(format!("s:{}:\"", name.len()).as_bytes());
                        self.push(name);
                        self.push(b"\";");
                    }
                    self.value(depth + 1);
                }
                self.open.pop();
                self.push(b"}");
            }
        }
    }
}

fn random_value(rng: &mut Rng) -> Vec<u8> {
    let mut g = Gen {
        rng,
        out: Vec::new(),
        slots: Vec::new(),
        open: Vec::new(),
    };
    g.value(0);
    g.out
}

/// One random edit: replace, insert, delete, duplicate a run, or nudge a digit.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    if input.is_empty() {
        input.push(*rng.pick(GRAMMAR_BYTES));
        return;
    }
    let at = rng.below(input.len());
    match rng.below(5) {
        0 => input[at] = *rng.pick(GRAMMAR_BYTES),
        1 => input.insert(at, *rng.pick(GRAMMAR_BYTES)),
        2 => {
            input.remove(at);
        }
        3 => {
            let len = 1 + rng.below(8.min(input.len() - at));
            let run = input[at..at + len].to_vec();
            let to = rng.below(input.len() + 1);
            input.splice(to..to, run);
        }
        _ => {
            if let Some(i) = (at..input.len()).find(|&i| input[i].is_ascii_digit()) {
                input[i] = if input[i] == b'9' { b'0' } else { input[i] + 1 };
            }
        }
    }
}

fn corpus() -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut add = |cases: &mut Vec<Case>, origin: Origin, input: Vec<u8>| {
        if seen.insert(input.clone()) {
            cases.push(Case { origin, input });
        }
    };

    // Every input PHP wrote: value fixtures and php_serialize sessions.
    let (_, values) = value_fixtures();
    for f in values {
        add(&mut cases, Origin::Fixture, f.serialized);
    }
    let (sessions, _) = session_fixtures();
    for s in sessions {
        add(&mut cases, Origin::Fixture, s.vars_serialized.clone());
        for (format, f) in &s.formats {
            if format == "php_serialize" {
                if let Some(written) = &f.written {
                    add(&mut cases, Origin::Fixture, written.clone());
                }
            }
        }
    }
    for input in hand_picked() {
        add(&mut cases, Origin::HandPicked, input);
    }
    for input in depth_cases() {
        add(&mut cases, Origin::Depth, input);
    }

    // Seeds for the sweeps: every short input we decode in full (PHP's verdict is compared
    // anyway; this only picks what is worth cutting and flipping).
    let seeds: Vec<Vec<u8>> = cases
        .iter()
        .filter(|c| c.input.len() <= MAX_SEED_LEN_FOR_SWEEPS && unserialize(&c.input).is_ok())
        .map(|c| c.input.clone())
        .collect();
    for seed in &seeds {
        for len in 0..seed.len() {
            add(&mut cases, Origin::Truncated, seed[..len].to_vec());
        }
    }
    // PHPSESS_TEST_SEED=<u64> explores another corpus (phpsess_compat::rng).
    let mut rng = Rng::new(SEED);
    for seed in &seeds {
        for at in 0..seed.len() {
            for _ in 0..2 {
                let mut m = seed.clone();
                m[at] = if rng.chance(80) {
                    *rng.pick(GRAMMAR_BYTES)
                } else {
                    rng.next_u64() as u8
                };
                add(&mut cases, Origin::Mutated, m);
            }
        }
    }
    for _ in 0..RANDOM_VALUES {
        let mut v = random_value(&mut rng);
        if rng.chance(60) {
            for _ in 0..1 + rng.below(3) {
                mutate(&mut rng, &mut v);
            }
        }
        add(&mut cases, Origin::Random, v);
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// PHP's side.

/// The oracle's first line: what PHP's class table holds.
struct ClassTable {
    /// Lowercased name -> declared spelling.
    classes: HashMap<Vec<u8>, Vec<u8>>,
    /// Lowercased enum name -> its cases.
    enums: HashMap<Vec<u8>, Vec<Vec<u8>>>,
    /// Lowercased names of classes with `__unserialize()`.
    magic_unserialize: HashSet<Vec<u8>>,
}

/// Classes whose data PHP takes verbatim: no declared properties, no validation
/// (fixtures/classes.php). `Packed` has `__unserialize()` but keeps whatever it gets.
const VERBATIM_O_CLASSES: &[&[u8]] = &[b"stdclass", b"bag", b"packed"];
/// `LegacyPayload::unserialize()` keeps the payload as is.
const VERBATIM_C_CLASSES: &[&[u8]] = &[b"legacypayload"];

impl ClassTable {
    fn parse(line: &str) -> Self {
        let v: serde_json::Value = serde_json::from_str(line).expect("oracle class table");
        let lower = |s: &str| s.to_ascii_lowercase().into_bytes();
        let strs = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .expect("array")
                .iter()
                .map(|s| s.as_str().expect("string").to_owned())
                .collect()
        };
        ClassTable {
            classes: strs(&v["classes"])
                .into_iter()
                .map(|c| (lower(&c), c.into_bytes()))
                .collect(),
            enums: v["enums"]
                .as_object()
                .expect("enums")
                .iter()
                .map(|(name, cases)| {
                    let cases = strs(cases).into_iter().map(String::into_bytes).collect();
                    (lower(name), cases)
                })
                .collect(),
            magic_unserialize: strs(&v["magic_unserialize"])
                .iter()
                .map(|c| lower(c))
                .collect(),
        }
    }

    fn declared(&self, class: &[u8]) -> Option<&Vec<u8>> {
        self.classes.get(&class.to_ascii_lowercase())
    }

    /// The declared spelling of an enum's class, as PHP's class lookup finds it: a leading `\`
    /// is dropped (PHP refuses it in `O:`/`C:` names but not in `E:`).
    fn declared_enum(&self, class: &[u8]) -> Option<&Vec<u8>> {
        self.declared(class.strip_prefix(b"\\").unwrap_or(class))
    }

    fn enum_case_exists(&self, class: &[u8], case: &[u8]) -> bool {
        let class = class.strip_prefix(b"\\").unwrap_or(class);
        self.enums
            .get(&class.to_ascii_lowercase())
            .is_some_and(|cases| cases.iter().any(|c| c == case))
    }
}

struct PhpVerdict {
    ok: bool,
    out: Option<Vec<u8>>,
    messages: Vec<String>,
    threw: Option<String>,
}

impl PhpVerdict {
    fn parse(line: &str) -> Self {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("oracle line {line:?}: {e}"));
        PhpVerdict {
            ok: v["ok"].as_bool().expect("ok"),
            out: v["out"].as_str().map(|s| b64(s, "oracle out")),
            messages: v["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| m.as_str().unwrap_or("").to_owned())
                .collect(),
            threw: v["threw"].as_str().map(str::to_owned),
        }
    }

    /// PHP raised something besides its generic "Error at offset" notice: class code spoke.
    fn class_code_spoke(&self) -> bool {
        self.threw.is_some()
            || self
                .messages
                .iter()
                .any(|m| !m.starts_with("unserialize(): Error at offset"))
    }

    fn describe(&self) -> String {
        let mut s = if self.ok {
            "accepted".to_owned()
        } else {
            "rejected".to_owned()
        };
        if let Some(t) = &self.threw {
            let _ = write!(s, ", threw {t}");
        }
        if !self.messages.is_empty() {
            let _ = write!(s, ", said {:?}", self.messages);
        }
        s
    }
}

struct Run {
    cases: Vec<Case>,
    table: ClassTable,
    verdicts: Vec<PhpVerdict>,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let cases = corpus();
        let inputs: Vec<Vec<u8>> = cases.iter().map(|c| c.input.clone()).collect();
        let lines = run_php_batch(&php_script("unserialize_oracle.php"), &[], &inputs);
        assert_eq!(
            lines.len(),
            cases.len() + 1,
            "the oracle answered {} lines for {} inputs",
            lines.len(),
            cases.len()
        );
        Run {
            table: ClassTable::parse(&lines[0]),
            verdicts: lines[1..].iter().map(|l| PhpVerdict::parse(l)).collect(),
            cases,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Known differences.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Known {
    UndefinedEnum,
    ClassCodeRejects,
    ClassCodeRewrites,
    NoUnserializer,
    PropertyKeyForms,
    ClassNameSpelling,
    EnumSingletons,
    RefNumbers,
    RefToTopLevel,
    DuplicateKeysWithRefs,
}

fn walk<'v>(v: &'v Value, f: &mut impl FnMut(&'v Value)) {
    f(v);
    match v {
        Value::Array(a) => a.iter().for_each(|(_, v)| walk(v, f)),
        Value::Object(o) => o.properties.iter().for_each(|(_, v)| walk(v, f)),
        _ => {}
    }
}

fn any(v: &Value, mut pred: impl FnMut(&Value) -> bool) -> bool {
    let mut found = false;
    walk(v, &mut |x| found |= pred(x));
    found
}

fn children(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Array(a) => Box::new(a.iter().map(|(_, v)| v)),
        Value::Object(o) => Box::new(o.properties.iter().map(|(_, v)| v)),
        _ => Box::new(std::iter::empty()),
    }
}

/// How many slots the value takes in PHP's numbering: one per value but `R:`.
fn slot_count(v: &Value) -> usize {
    usize::from(!matches!(v, Value::Ref(_))) + children(v).map(slot_count).sum::<usize>()
}

/// Our tree's values by slot (index = PHP's slot number - 1), a container before its contents.
fn number<'v>(v: &'v Value, slots: &mut Vec<&'v Value>) {
    if !matches!(v, Value::Ref(_)) {
        slots.push(v);
    }
    for child in children(v) {
        number(child, slots);
    }
}

/// PHP's `serialize(unserialize($input))`, predicted from our value tree for the differences
/// that are exactly predictable: property keys converted PHP's way (merging keys that become
/// equal, last value at the first position), declared class spellings, a repeated enum case
/// written as `r:` (cases are singletons), and `r:`/`R:` numbers re-pointed at where PHP writes
/// their target (an `r:` naming a slot that holds an `r:` names the object's first slot).
/// `None` when a reference targets a value the prediction no longer holds.
struct Predict<'v, 't> {
    table: &'t ClassTable,
    input_slots: Vec<&'v Value>,
    /// Input slot index -> output slot number of the values written so far.
    written: HashMap<usize, usize>,
    /// Input slot of a value dropped by a key merge -> input slot of the value that took its
    /// place (PHP's slots name places, so references to the old value reach the new one).
    replaced: HashMap<usize, usize>,
    /// Input slots some `R:` names. An `r:` there becomes a PHP reference to the object, which
    /// `serialize()` writes as `R:` to the object's first slot (taking no slot itself).
    ref_targets: HashSet<usize>,
    /// Enum case (declared class, case) -> output slot of its first occurrence.
    enums: HashMap<(Vec<u8>, Vec<u8>), usize>,
    out_slots: usize,
    out: Vec<u8>,
    applied: HashSet<Known>,
}

impl<'v> Predict<'v, '_> {
    fn run(v: &'v Value, table: &ClassTable) -> Option<(Vec<u8>, HashSet<Known>)> {
        let mut input_slots = Vec::new();
        number(v, &mut input_slots);
        let mut ref_targets = HashSet::new();
        walk(v, &mut |x| {
            if let Value::Ref(n) = x {
                ref_targets.insert((*n as usize).wrapping_sub(1));
            }
        });
        let mut p = Predict {
            table,
            input_slots,
            written: HashMap::new(),
            replaced: HashMap::new(),
            ref_targets,
            enums: HashMap::new(),
            out_slots: 0,
            out: Vec::new(),
            applied: HashSet::new(),
        };
        p.value(v, 0)?;
        Some((p.out, p.applied))
    }

    fn respell(&mut self, class: &[u8], declared: Option<&Vec<u8>>) -> Vec<u8> {
        match declared {
            Some(declared) if declared != class => {
                self.applied.insert(Known::ClassNameSpelling);
                declared.clone()
            }
            _ => class.to_vec(),
        }
    }

    fn enum_key(&mut self, e: &phpsess::EnumCase) -> (Vec<u8>, Vec<u8>) {
        let class = self.respell(&e.class, self.table.declared_enum(&e.class));
        (class, e.case.clone())
    }

    /// The output slot PHP writes for a reference to input slot `n` (1-based): `r:` chains end
    /// at the object.
    fn target(&mut self, n: u64) -> Option<usize> {
        let mut t = (n as usize).checked_sub(1)?;
        for _ in 0..self.input_slots.len() {
            if let Some(&next) = self.replaced.get(&t) {
                t = next;
                continue;
            }
            match self.input_slots.get(t)? {
                Value::ObjectRef(m) => t = (*m as usize).checked_sub(1)?,
                _ => break,
            }
        }
        let out = match self.input_slots.get(t)? {
            Value::Enum(e) => {
                let key = self.enum_key(e);
                *self.enums.get(&key)?
            }
            _ => *self.written.get(&t)?,
        };
        if out != n as usize {
            self.applied.insert(Known::RefNumbers);
        }
        Some(out)
    }

    fn begin(&mut self, slot: usize) -> usize {
        self.out_slots += 1;
        self.written.insert(slot, self.out_slots);
        self.out_slots
    }

    fn key(&mut self, k: &Key) {
        match k {
            Key::Int(i) => self.out.extend_from_slice(format!("i:{i};").as_bytes()),
            Key::Str(s) => {
                self.out
                    .extend_from_slice(format!("s:{}:\"", s.len()).as_bytes());
                self.out.extend_from_slice(s);
                self.out.extend_from_slice(b"\";");
            }
        }
    }

    /// Write `v`, which sits in input slot `slot` (unless it is an `R:`).
    fn value(&mut self, v: &'v Value, slot: usize) -> Option<()> {
        match v {
            Value::Ref(n) => {
                let out = self.target(*n)?;
                self.out.extend_from_slice(format!("R:{out};").as_bytes());
            }
            Value::ObjectRef(n) if self.ref_targets.contains(&slot) => {
                self.applied.insert(Known::RefNumbers);
                let out = self.target(*n)?;
                self.out.extend_from_slice(format!("R:{out};").as_bytes());
            }
            Value::ObjectRef(n) => {
                self.begin(slot);
                let out = self.target(*n)?;
                self.out.extend_from_slice(format!("r:{out};").as_bytes());
            }
            Value::Enum(e) => {
                let key = self.enum_key(e);
                match self.enums.get(&key).copied() {
                    // A repeated case that an `R:` names is a PHP reference to that object.
                    Some(first) if self.ref_targets.contains(&slot) => {
                        self.applied.insert(Known::EnumSingletons);
                        self.out.extend_from_slice(format!("R:{first};").as_bytes());
                    }
                    Some(first) => {
                        self.begin(slot);
                        self.applied.insert(Known::EnumSingletons);
                        self.out.extend_from_slice(format!("r:{first};").as_bytes());
                    }
                    None => {
                        let me = self.begin(slot);
                        self.enums.insert(key.clone(), me);
                        let name = [&key.0[..], b":", &key.1[..]].concat();
                        self.out
                            .extend_from_slice(format!("E:{}:\"", name.len()).as_bytes());
                        self.out.extend_from_slice(&name);
                        self.out.extend_from_slice(b"\";");
                    }
                }
            }
            Value::Custom(c) => {
                self.begin(slot);
                let class = self.respell(&c.class, self.table.declared(&c.class));
                self.out
                    .extend_from_slice(&serialize(&Value::Custom(phpsess::CustomObject {
                        class,
                        data: c.data.clone(),
                    })));
            }
            Value::Array(a) => {
                self.begin(slot);
                self.out
                    .extend_from_slice(format!("a:{}:{{", a.len()).as_bytes());
                let mut child = slot + 1;
                for (k, v) in a.iter() {
                    self.key(k);
                    self.value(v, child)?;
                    child += slot_count(v);
                }
                self.out.push(b'}');
            }
            Value::Object(o) => {
                self.begin(slot);
                let magic = self
                    .table
                    .magic_unserialize
                    .contains(&o.class.to_ascii_lowercase());
                // PHP's view of the keys: property names (int keys become strings), or for
                // __unserialize() an array (numeric strings become ints). Keys that become
                // equal merge: first position, last value.
                let mut props: Vec<(Key, &'v Value, usize)> = Vec::new();
                let mut child = slot + 1;
                for (k, v) in &o.properties {
                    let key = match k {
                        Key::Int(i) if !magic => Key::Str(i.to_string().into()),
                        Key::Str(s) if magic => Key::from_php_string(s),
                        k => k.clone(),
                    };
                    if key != *k {
                        self.applied.insert(Known::PropertyKeyForms);
                    }
                    match props.iter_mut().find(|(pk, _, _)| *pk == key) {
                        Some(p) => {
                            if !matches!(p.1, Value::Ref(_)) && !matches!(v, Value::Ref(_)) {
                                self.replaced.insert(p.2, child);
                            }
                            (p.1, p.2) = (v, child);
                        }
                        None => props.push((key, v, child)),
                    }
                    child += slot_count(v);
                }
                let class = self.respell(&o.class, self.table.declared(&o.class));
                self.out
                    .extend_from_slice(format!("O:{}:\"", class.len()).as_bytes());
                self.out.extend_from_slice(&class);
                self.out
                    .extend_from_slice(format!("\":{}:{{", props.len()).as_bytes());
                for (k, v, child) in props {
                    self.key(&k);
                    self.value(v, child)?;
                }
                self.out.push(b'}');
            }
            leaf => {
                self.begin(slot);
                self.out.extend_from_slice(&serialize(leaf));
            }
        }
        Some(())
    }
}

/// What the input holds as PHP reads it, including values a repeated key later replaced (which
/// PHP instantiated all the same): every enum case and class name, and whether a key repeats.
#[derive(Default)]
struct Scanned {
    repeated_key: bool,
    enums: Vec<(Vec<u8>, Vec<u8>)>,
    objects: Vec<Vec<u8>>,
    customs: Vec<Vec<u8>>,
}

/// Scan the value at the start of `input`; `None` if the bytes do not scan as one value.
fn scan(input: &[u8]) -> Option<Scanned> {
    let mut s = Scan {
        input,
        pos: 0,
        found: Scanned::default(),
    };
    s.value()?;
    Some(s.found)
}

/// A minimal walk over serialized bytes that our decoder already accepted: keys are compared,
/// values skipped (references are not resolved, which is why this exists beside the decoder).
struct Scan<'a> {
    input: &'a [u8],
    pos: usize,
    found: Scanned,
}

impl Scan<'_> {
    fn eat(&mut self, bytes: &[u8]) -> Option<()> {
        if self.input.get(self.pos..self.pos + bytes.len())? == bytes {
            self.pos += bytes.len();
            Some(())
        } else {
            None
        }
    }

    fn digits(&mut self) -> Option<u64> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.input.get(self.pos).copied() {
            n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            self.pos += 1;
        }
        (self.pos > start).then_some(n)
    }

    /// `O:`/`C:` counts: optional sign, possibly no digits (PHP's parse_iv2).
    fn loose_count(&mut self) -> Option<u64> {
        let neg = match self.input.get(self.pos) {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let n = self.digits().unwrap_or(0);
        (!neg || n == 0).then_some(n)
    }

    fn class_header(&mut self) -> Option<Vec<u8>> {
        let len = self.digits()? as usize;
        self.eat(b":\"")?;
        let class = self.input.get(self.pos..self.pos + len)?.to_vec();
        self.pos += len;
        self.eat(b"\":")?;
        Some(class)
    }

    fn leaf(&mut self) -> Option<Value> {
        let (v, used) = unserialize_prefix(&self.input[self.pos..]).ok()?;
        self.pos += used;
        Some(v)
    }

    fn value(&mut self) -> Option<()> {
        let tag = *self.input.get(self.pos)?;
        match tag {
            b'a' => {
                self.pos += 2;
                let n = self.digits()?;
                self.eat(b":{")?;
                self.entries(n)?;
                self.eat(b"}")
            }
            b'O' => {
                self.pos += 2;
                let class = self.class_header()?;
                self.found.objects.push(class);
                let n = self.loose_count()?;
                self.eat(b":{")?;
                self.entries(n)?;
                self.eat(b"}")
            }
            b'C' => {
                self.pos += 2;
                let class = self.class_header()?;
                self.found.customs.push(class);
                let n = self.loose_count()? as usize;
                self.eat(b":{")?;
                self.pos += n;
                self.eat(b"}")
            }
            b'r' | b'R' => {
                let end = self.input[self.pos..].iter().position(|&b| b == b';')?;
                self.pos += end + 1;
                Some(())
            }
            _ => {
                if let Value::Enum(e) = self.leaf()? {
                    self.found.enums.push((e.class, e.case));
                }
                Some(())
            }
        }
    }

    fn entries(&mut self, n: u64) -> Option<()> {
        let mut keys = HashSet::new();
        for _ in 0..n {
            // PHP stores `i:5;` and `s:1:"5";` as one key in arrays and objects alike.
            let key = match self.leaf()? {
                Value::Int(i) => Key::Int(i),
                Value::String(s) => Key::from_php_string(&s),
                _ => return None,
            };
            if !keys.insert(key) {
                self.found.repeated_key = true;
            }
            self.value()?;
        }
        Some(())
    }
}

impl ClassTable {
    /// The input names a declared class whose data PHP does not take verbatim (class code runs).
    fn has_class_code(&self, s: &Scanned) -> bool {
        let runs_code = |class: &Vec<u8>, verbatim: &[&[u8]]| {
            self.declared(class).is_some() && !verbatim.contains(&&class.to_ascii_lowercase()[..])
        };
        s.objects.iter().any(|c| runs_code(c, VERBATIM_O_CLASSES))
            || s.customs.iter().any(|c| runs_code(c, VERBATIM_C_CLASSES))
    }
}

/// Why PHP and we may disagree on this input, if a known difference explains it; `None` means
/// a real disagreement.
fn classify(
    input: &[u8],
    php: &PhpVerdict,
    ours: &Result<(Value, usize), Error>,
    table: &ClassTable,
) -> Option<Known> {
    let Ok((v, _)) = ours else {
        // PHP accepts what we refuse: never explained away, but for one deliberate refusal:
        // repeated keys together with references, whose numbers no tree can keep (see the
        // module docs). It must really be that input.
        if let Err(Error::Decode {
            reason: DecodeReason::RepeatedKeyWithReferences,
            ..
        }) = ours
        {
            if scan(input).is_some_and(|s| s.repeated_key) {
                return Some(Known::DuplicateKeysWithRefs);
            }
        }
        return None;
    };
    let scanned = scan(input)?;
    if !php.ok {
        if scanned
            .enums
            .iter()
            .any(|(class, case)| !table.enum_case_exists(class, case))
        {
            return Some(Known::UndefinedEnum);
        }
        if php.class_code_spoke() && table.has_class_code(&scanned) {
            return Some(Known::ClassCodeRejects);
        }
        return None;
    }
    let theirs = php.out.as_deref()?;
    if let Some((predicted, applied)) = Predict::run(v, table) {
        if predicted == theirs {
            // Exact once PHP's rewrites are applied: report the first one that applied.
            return applied.into_iter().min();
        }
    }
    if any(v, |x| matches!(x, Value::Ref(1))) {
        return Some(Known::RefToTopLevel);
    }
    if table.has_class_code(&scanned) {
        return Some(Known::ClassCodeRewrites);
    }
    if php
        .messages
        .iter()
        .any(|m| m.ends_with("has no unserializer"))
        && !scanned.customs.is_empty()
    {
        return Some(Known::NoUnserializer);
    }
    let has_refs = any(v, |x| matches!(x, Value::Ref(_) | Value::ObjectRef(_)));
    if has_refs && scanned.repeated_key {
        return Some(Known::DuplicateKeysWithRefs);
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Run `f` on a thread with a large stack. The decoder, `serialize()` and `Drop` all recurse once
/// per nesting level; at [`phpsess::MAX_DEPTH`] that needs about 1–2 MiB in debug builds, more
/// than a test thread's default 2 MiB once the comparison helpers (also recursive) run too.
fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .expect("spawn test thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

fn report(
    origin: Origin,
    input: &[u8],
    php: &PhpVerdict,
    ours: &Result<(Value, usize), Error>,
) -> String {
    let ours_text = match ours {
        Ok((v, used)) => format!(
            "accepted ({used} bytes): {}",
            escape_bytes(&serialize(v), 200)
        ),
        Err(e) => format!("rejected: {e}"),
    };
    format!(
        "[{origin:?}] input {}\n    php:  {}{}\n    ours: {ours_text}",
        escape_bytes(input, 2000),
        php.describe(),
        php.out
            .as_deref()
            .map(|o| format!(": {}", escape_bytes(o, 2000)))
            .unwrap_or_default(),
    )
}

#[test]
fn decoder_agrees_with_php_unserialize() {
    let _seed = SeedReport;
    on_big_stack(decoder_agrees_with_php_unserialize_body);
}

fn decoder_agrees_with_php_unserialize_body() {
    let run = run();
    let mut both_accept = 0usize;
    let mut both_reject = 0usize;
    let mut known: HashMap<Known, usize> = HashMap::new();
    let mut by_origin: HashMap<Origin, usize> = HashMap::new();
    let mut disagreements = Vec::new();
    for (case, php) in run.cases.iter().zip(&run.verdicts) {
        *by_origin.entry(case.origin).or_default() += 1;
        let ours = unserialize_prefix(&case.input);
        let agree = match (&ours, php.ok) {
            (Ok((v, _)), true) => php.out.as_deref() == Some(&serialize(v)[..]),
            (Err(_), false) => true,
            _ => false,
        };
        if agree {
            if php.ok {
                both_accept += 1;
            } else {
                both_reject += 1;
            }
            continue;
        }
        match classify(&case.input, php, &ours, &run.table) {
            // PHP wrote the fixtures: they must come back exactly.
            Some(k) if case.origin != Origin::Fixture => *known.entry(k).or_default() += 1,
            _ => disagreements.push(report(case.origin, &case.input, php, &ours)),
        }
    }

    let mut origins: Vec<_> = by_origin.into_iter().collect();
    origins.sort();
    let mut known_sorted: Vec<_> = known.iter().collect();
    known_sorted.sort();
    println!(
        "differential: {} inputs {origins:?}; both accept {both_accept} (same re-serialization), \
         both reject {both_reject}; known differences {known_sorted:?}; disagreements {}",
        run.cases.len(),
        disagreements.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements with PHP 8.2 (first 25):\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The corpus must keep exercising both sides.
    assert!(
        run.cases.len() > 20_000,
        "corpus shrank to {}",
        run.cases.len()
    );
    assert!(
        both_accept > 3_000,
        "only {both_accept} inputs accepted by both"
    );
    assert!(
        both_reject > 10_000,
        "only {both_reject} inputs rejected by both"
    );
}

#[test]
fn strict_unserialize_is_prefix_decoding_without_trailing_bytes() {
    let _seed = SeedReport;
    on_big_stack(strict_unserialize_is_prefix_decoding_without_trailing_bytes_body);
}

fn strict_unserialize_is_prefix_decoding_without_trailing_bytes_body() {
    let run = run();
    let mut trailing = 0;
    for (case, php) in run.cases.iter().zip(&run.verdicts) {
        let input = &case.input;
        let prefix = unserialize_prefix(input);
        let strict = unserialize(input);
        let where_ = || escape_bytes(input, 2000);
        match (&prefix, &strict) {
            (Ok((v, used)), Ok(sv)) => {
                assert_eq!(*used, input.len(), "{}", where_());
                assert_eq!(serialize(v), serialize(sv), "{}", where_());
            }
            (Ok((_, used)), Err(e)) => {
                // What PHP 8.2 silently ignores, we refuse, at the first extra byte.
                assert!(*used < input.len(), "{}", where_());
                assert!(
                    matches!(e, Error::Decode { offset, reason: DecodeReason::TrailingBytes } if offset == used),
                    "{}: {e:?}",
                    where_()
                );
                if php.ok {
                    trailing += 1;
                }
            }
            (Err(pe), Err(se)) => assert_eq!(pe.to_string(), se.to_string(), "{}", where_()),
            (Err(e), Ok(_)) => panic!("{}: prefix failed ({e}) but strict accepted", where_()),
        }
    }
    // Truncations and mutations produce plenty of "value, then junk" inputs PHP accepts.
    assert!(
        trailing > 30,
        "only {trailing} inputs with trailing bytes that PHP accepted"
    );
}

/// [`Document::parse`] (a tape builder of its own for what PHP writes) must hold what the tree
/// decoder returns and refuse what it refuses, with the same message, on the whole corpus. The
/// tree decoder alone is [`unserialize_prefix`] (the strict decoders try the tape first).
#[test]
fn document_agrees_with_the_tree_decoder() {
    let _seed = SeedReport;
    on_big_stack(document_agrees_with_the_tree_decoder_body);
}

/// Strict decoding by the tree decoder alone: the prefix decoder plus the trailing-bytes rule.
fn tree_decode(input: &[u8]) -> Result<Value, Error> {
    let (value, used) = unserialize_prefix(input)?;
    if used < input.len() {
        return Err(Error::Decode {
            offset: used,
            reason: DecodeReason::TrailingBytes,
        });
    }
    Ok(value)
}

fn document_agrees_with_the_tree_decoder_body() {
    let run = run();
    let mut accepted = 0;
    for case in &run.cases {
        let input = &case.input;
        let where_ = || escape_bytes(input, 2000);
        let tree = tree_decode(input);
        let borrowed = unserialize_borrowed(input).map(|v| v.to_owned());
        for (name, decoded) in [
            ("document", Document::parse(input).map(|d| d.to_value())),
            ("unserialize_borrowed", borrowed),
        ] {
            match (&decoded, &tree) {
                // Compared as bytes: NAN never equals itself as a value.
                (Ok(d), Ok(t)) => assert_eq!(serialize(d), serialize(t), "{name}: {}", where_()),
                (Err(d), Err(t)) => {
                    assert_eq!(d.to_string(), t.to_string(), "{name}: {}", where_())
                }
                (d, t) => panic!("{}: {name} {d:?}, tree decoder {t:?}", where_()),
            }
        }
        accepted += usize::from(tree.is_ok());
    }
    assert!(accepted > 3_000, "only {accepted} inputs accepted");
}

#[test]
fn known_difference_predicates_fire_on_their_own_examples() {
    on_big_stack(known_difference_predicates_fire_on_their_own_examples_body);
}

fn known_difference_predicates_fire_on_their_own_examples_body() {
    // Each predicate once on an input measured with PHP 8.2 (see the module docs), so that a
    // broken predicate cannot silently excuse everything or nothing.
    let run = run();
    let verdict = |input: &[u8]| {
        let i = run
            .cases
            .iter()
            .position(|c| c.input == input)
            .unwrap_or_else(|| panic!("{} is not in the corpus", escape_bytes(input, 99)));
        (&run.verdicts[i], unserialize_prefix(input))
    };
    let table: &[(&[u8], Option<Known>)] = &[
        (b"E:9:\"Suit:Nope\";", Some(Known::UndefinedEnum)),
        (b"E:10:\"Bag:Hearts\";", Some(Known::UndefinedEnum)),
        (
            b"O:13:\"LegacyPayload\":0:{}",
            Some(Known::ClassCodeRejects),
        ),
        (b"O:7:\"Closure\":0:{}", Some(Known::ClassCodeRejects)),
        (
            b"O:4:\"User\":1:{s:4:\"\0abc\";i:1;}",
            Some(Known::ClassCodeRejects),
        ),
        (
            b"O:4:\"User\":1:{s:4:\"role\";i:1;}",
            Some(Known::ClassCodeRewrites),
        ),
        (b"C:7:\"Missing\":2:{ab}", Some(Known::NoUnserializer)),
        (
            b"O:8:\"stdClass\":1:{i:0;N;}",
            Some(Known::PropertyKeyForms),
        ),
        (
            b"O:6:\"Packed\":1:{s:1:\"9\";N;}",
            Some(Known::PropertyKeyForms),
        ),
        (b"O:8:\"STDCLASS\":0:{}", Some(Known::ClassNameSpelling)),
        (b"E:11:\"suit:Hearts\";", Some(Known::ClassNameSpelling)),
        (b"E:12:\"\\Suit:Hearts\";", Some(Known::ClassNameSpelling)),
        (b"a:1:{i:0;R:1;}", Some(Known::RefToTopLevel)),
        (
            b"a:2:{i:0;E:11:\"Suit:Hearts\";i:1;E:11:\"Suit:Hearts\";}",
            Some(Known::EnumSingletons),
        ),
        (
            b"a:3:{i:0;O:8:\"stdClass\":0:{}i:1;r:2;i:2;r:3;}",
            Some(Known::RefNumbers),
        ),
        (
            b"a:1:{i:0;O:6:\"Packed\":2:{i:0;r:2;i:1;R:3;}}",
            Some(Known::RefNumbers),
        ),
        (
            b"a:3:{i:0;a:1:{i:0;O:8:\"stdClass\":0:{}}i:0;i:1;i:1;r:3;}",
            Some(Known::DuplicateKeysWithRefs),
        ),
        // PHP accepts, we refuse on purpose: a repeated key with references.
        (
            b"a:3:{i:0;i:1;i:0;O:8:\"stdClass\":0:{}i:1;r:2;}",
            Some(Known::DuplicateKeysWithRefs),
        ),
        // Agreements: no excuse needed, and none given. The repeated-key ones are where PHP's
        // slots name places, not values (see `repoint` in crates/phpsess/src/unserialize.rs).
        (b"a:3:{i:0;O:8:\"stdClass\":0:{}i:0;i:1;i:1;r:2;}", None),
        (b"a:2:{i:0;O:8:\"stdClass\":0:{}i:0;a:1:{i:0;r:2;}}", None),
        (b"a:2:{i:0;O:8:\"stdClass\":0:{}i:0;r:2;}", None),
        (b"a:3:{i:0;i:1;i:0;i:2;i:0;R:2;}", None),
        (b"a:18446744073709551616:{}", None),
        (b"O:6:\"Packed\":2:{i:0;i:1;i:1;i:2;}", None),
        (b"a:2:{i:0;O:8:\"stdClass\":0:{}i:1;R:2;}", None),
    ];
    for (input, want) in table {
        let (php, ours) = verdict(input);
        let agree = match (&ours, php.ok) {
            (Ok((v, _)), true) => php.out.as_deref() == Some(&serialize(v)[..]),
            (Err(_), false) => true,
            _ => false,
        };
        let got = if agree {
            None
        } else {
            classify(input, php, &ours, &run.table)
        };
        assert_eq!(
            got,
            *want,
            "{}",
            report(Origin::HandPicked, input, php, &ours)
        );
    }
}
