//! Tests of the serde layer. Byte literals marked "PHP:" were produced by PHP 8.2 with the
//! expression shown (`php -n -r 'echo serialize(EXPR);'`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::*;

/// A byte buffer the way `serde_bytes::ByteBuf` asks for one (`deserialize_byte_buf`).
#[derive(Debug, PartialEq)]
struct Bytes(Vec<u8>);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

// PHP: ['_token'=>'Xq3vT9kLmN2pR8sW4yZ1aB6cD0eF5gH7jK9lM3nP', '_previous'=>['url'=>'http://localhost/dashboard'],
//       '_flash'=>['old'=>[], 'new'=>[]], 'login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d'=>42]
const LARAVEL: &[u8] = br#"a:4:{s:6:"_token";s:40:"Xq3vT9kLmN2pR8sW4yZ1aB6cD0eF5gH7jK9lM3nP";s:9:"_previous";a:1:{s:3:"url";s:26:"http://localhost/dashboard";}s:6:"_flash";a:2:{s:3:"old";a:0:{}s:3:"new";a:0:{}}s:50:"login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d";i:42;}"#;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct LaravelSession<'a> {
    #[serde(rename = "_token")]
    token: &'a str,
    #[serde(rename = "_previous")]
    previous: Previous,
    #[serde(rename = "_flash")]
    flash: Flash,
    /// `login_web_<sha1>` and anything else.
    #[serde(flatten)]
    rest: BTreeMap<String, i64>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Previous {
    url: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Flash {
    old: Vec<String>,
    new: Vec<String>,
}

#[test]
fn laravel_session_reads_into_a_struct_and_writes_back_the_same_bytes() {
    let s: LaravelSession = from_bytes(LARAVEL).unwrap();
    assert_eq!(
        s,
        LaravelSession {
            token: "Xq3vT9kLmN2pR8sW4yZ1aB6cD0eF5gH7jK9lM3nP",
            previous: Previous {
                url: "http://localhost/dashboard".into()
            },
            flash: Flash {
                old: vec![],
                new: vec![]
            },
            rest: BTreeMap::from([(
                "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d".to_owned(),
                42
            )]),
        }
    );
    // `flatten` makes serde write the struct as a map of unknown length: the count is filled in
    // afterwards.
    assert_eq!(to_bytes(&s).unwrap(), LARAVEL);
}

// PHP: new User(7, "ann@example.com", "s3cret") with `public $id; protected $email; private $secret;`
const USER: &[u8] =
    b"O:4:\"User\":3:{s:2:\"id\";i:7;s:8:\"\0*\0email\";s:15:\"ann@example.com\";s:12:\"\0User\0secret\";s:6:\"s3cret\";}";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct User<'a> {
    id: u32,
    email: &'a str,
    secret: String,
}

#[test]
fn struct_reads_public_protected_and_private_properties() {
    let u: User = from_bytes(USER).unwrap();
    assert_eq!(
        u,
        User {
            id: 7,
            email: "ann@example.com",
            secret: "s3cret".into()
        }
    );
    // As a map, property names are unmangled too.
    let m: BTreeMap<String, serde_json::Value> = from_bytes(USER).unwrap();
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        ["email", "id", "secret"].iter().collect::<Vec<_>>()
    );
}

#[test]
fn php_object_keeps_the_class_and_writes_o() {
    let o: PhpObject<User> = from_bytes(USER).unwrap();
    assert_eq!(o.class, "User");
    assert_eq!(o.value.secret, "s3cret");
    assert_eq!(
        to_bytes(&o).unwrap(),
        br#"O:4:"User":3:{s:2:"id";i:7;s:5:"email";s:15:"ann@example.com";s:6:"secret";s:6:"s3cret";}"#
    );
    // A map as the content, with a numeric property name: PHP writes those as strings.
    let m = PhpObject::new("stdClass", BTreeMap::from([("5", 1), ("a", 2)]));
    assert_eq!(
        to_bytes(&m).unwrap(),
        br#"O:8:"stdClass":2:{s:1:"5";i:1;s:1:"a";i:2;}"#
    );
    let err = from_bytes::<PhpObject<User>>(LARAVEL).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected a PHP object, found array at byte 0"
    );
}

// PHP: [1.0, 0.5, -0.0, 1e100, 0.1, 3]
const FLOATS: &[u8] = b"a:6:{i:0;d:1;i:1;d:0.5;i:2;d:-0;i:3;d:1.0E+100;i:4;d:0.1;i:5;i:3;}";

#[test]
fn floats_read_d_and_i_and_write_like_php() {
    let v: Vec<f64> = from_bytes(FLOATS).unwrap();
    assert_eq!(v, [1.0, 0.5, -0.0, 1e100, 0.1, 3.0]);
    assert!(v[2].is_sign_negative());
    // PHP writes the float 3.0 as `d:3;`.
    assert_eq!(
        to_bytes(&v).unwrap(),
        b"a:6:{i:0;d:1;i:1;d:0.5;i:2;d:-0;i:3;d:1.0E+100;i:4;d:0.1;i:5;d:3;}"
    );
    assert_eq!(to_bytes(&0.1f32).unwrap(), b"d:0.1;");
    assert_eq!(to_bytes(&f64::NAN).unwrap(), b"d:NAN;");
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Suit {
    Hearts,
    Spades,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle(f64),
    Rect(u32, u32),
    Named { name: String },
}

#[test]
fn enums() {
    // PHP: [Suit::Hearts, Suit::Spades] with `enum Suit { case Hearts; case Spades; }`
    let php = br#"a:2:{i:0;E:11:"Suit:Hearts";i:1;E:11:"Suit:Spades";}"#;
    assert_eq!(
        from_bytes::<Vec<Suit>>(php).unwrap(),
        [Suit::Hearts, Suit::Spades]
    );
    let cases: Vec<PhpEnum<Suit>> = from_bytes(php).unwrap();
    assert_eq!(cases[1], PhpEnum::new("Suit", Suit::Spades));
    let written = to_bytes(&[
        PhpEnum::new("Suit", Suit::Hearts),
        PhpEnum::new("Suit", Suit::Spades),
    ])
    .unwrap();
    assert_eq!(written, php);

    let shapes = vec![
        Shape::Dot,
        Shape::Circle(1.5),
        Shape::Rect(2, 3),
        Shape::Named { name: "n".into() },
    ];
    let bytes = to_bytes(&shapes).unwrap();
    assert_eq!(
        bytes,
        br#"a:4:{i:0;s:3:"Dot";i:1;a:1:{s:6:"Circle";d:1.5;}i:2;a:1:{s:4:"Rect";a:2:{i:0;i:2;i:1;i:3;}}i:3;a:1:{s:5:"Named";a:1:{s:4:"name";s:1:"n";}}}"#
    );
    assert_eq!(from_bytes::<Vec<Shape>>(&bytes).unwrap(), shapes);
    // A unit variant may also come as a single-key array holding null.
    assert_eq!(
        from_bytes::<Shape>(br#"a:1:{s:3:"Dot";N;}"#).unwrap(),
        Shape::Dot
    );
}

#[test]
fn deserialize_any_gives_lists_maps_and_scalars() {
    // PHP: ['list'=>[1,[2,3],[]], 'map'=>[3=>'a', 1=>'b'], 'str'=>"h\u{e9}", 'n'=>null, 't'=>true]
    let php = "a:5:{s:4:\"list\";a:3:{i:0;i:1;i:1;a:2:{i:0;i:2;i:1;i:3;}i:2;a:0:{}}s:3:\"map\";a:2:{i:3;s:1:\"a\";i:1;s:1:\"b\";}s:3:\"str\";s:3:\"h\u{e9}\";s:1:\"n\";N;s:1:\"t\";b:1;}";
    let v: serde_json::Value = from_bytes(php.as_bytes()).unwrap();
    assert_eq!(
        v.to_string(),
        r#"{"list":[1,[2,3],[]],"map":{"3":"a","1":"b"},"str":"hé","n":null,"t":true}"#
    );
    // Objects are maps of unmangled names; enum cases are "Class:Case"; floats stay floats.
    let v: serde_json::Value = from_bytes(USER).unwrap();
    assert_eq!(
        v.to_string(),
        r#"{"id":7,"email":"ann@example.com","secret":"s3cret"}"#
    );
    let v: serde_json::Value = from_bytes(br#"a:2:{i:0;E:11:"Suit:Hearts";i:1;d:0.5;}"#).unwrap();
    assert_eq!(v.to_string(), r#"["Suit:Hearts",0.5]"#);
    // Untagged enums buffer through deserialize_any.
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(untagged)]
    enum IdOrName {
        Id(i64),
        Name(String),
    }
    assert_eq!(
        from_bytes::<Vec<IdOrName>>(br#"a:2:{i:0;i:4;i:1;s:1:"x";}"#).unwrap(),
        [IdOrName::Id(4), IdOrName::Name("x".into())]
    );
}

#[test]
fn map_keys_follow_the_target_key_type() {
    let php = br#"a:2:{i:3;s:1:"a";i:1;s:1:"b";}"#;
    let by_int: BTreeMap<i64, String> = from_bytes(php).unwrap();
    assert_eq!(by_int, BTreeMap::from([(1, "b".into()), (3, "a".into())]));
    let by_text: HashMap<String, &str> = from_bytes(php).unwrap();
    assert_eq!(
        by_text,
        HashMap::from([("3".into(), "a"), ("1".into(), "b")])
    );
    let small: BTreeMap<u8, &str> = from_bytes(php).unwrap();
    assert_eq!(small[&3], "a");
    // Writing: string keys in PHP's canonical integer form become int keys, as in a PHP array.
    let m = BTreeMap::from([("5", 1), ("05", 2), ("-1", 3), ("a", 4)]);
    assert_eq!(
        to_bytes(&m).unwrap(),
        br#"a:4:{i:-1;i:3;s:2:"05";i:2;i:5;i:1;s:1:"a";i:4;}"#
    );
}

#[test]
fn strings_and_bytes() {
    // PHP: ['name'=>"\xff\xfe"]
    let php = b"a:1:{s:4:\"name\";s:2:\"\xff\xfe\";}";
    let m: HashMap<String, Bytes> = from_bytes(php).unwrap();
    assert_eq!(m["name"], Bytes(vec![0xff, 0xfe]));
    assert_eq!(to_bytes(&m).unwrap(), php);
    let err = from_bytes::<HashMap<String, String>>(php).unwrap_err();
    assert_eq!(err.to_string(), "invalid UTF-8 in string at byte 21");
    assert_eq!(err.offset(), Some(21));
    // Valid prefix, bad byte inside.
    let err = from_bytes::<String>(b"s:4:\"ab\xffc\";").unwrap_err();
    assert_eq!(err.to_string(), "invalid UTF-8 in string at byte 7");
    // Non-UTF-8 strings reach dynamic targets as bytes.
    assert_eq!(
        from_bytes::<Bytes>(b"s:1:\"\xff\";").unwrap(),
        Bytes(vec![0xff])
    );
    // `S:` (escaped) strings are owned: fine for String, not for &str.
    assert_eq!(from_bytes::<String>(br#"S:2:"\41b";"#).unwrap(), "Ab");
    assert_eq!(
        from_bytes::<&str>(br#"S:2:"\41b";"#)
            .unwrap_err()
            .to_string(),
        "expected a borrowed string, found a string at byte 0"
    );
    assert_eq!(from_bytes::<char>("s:2:\"é\";".as_bytes()).unwrap(), 'é');
}

#[test]
fn options_units_newtypes_tuples() {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Meters(f64);
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Marker;
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        a: Option<i32>,
        b: Option<i32>,
        #[serde(default)]
        c: Option<i32>,
        m: Meters,
        u: (),
        k: Marker,
        pair: (bool, String),
    }
    let php = br#"a:6:{s:1:"a";N;s:1:"b";i:5;s:1:"m";d:2.5;s:1:"u";N;s:1:"k";N;s:4:"pair";a:2:{i:0;b:1;i:1;s:1:"x";}}"#;
    let row: Row = from_bytes(php).unwrap();
    assert_eq!(
        row,
        Row {
            a: None,
            b: Some(5),
            c: None,
            m: Meters(2.5),
            u: (),
            k: Marker,
            pair: (true, "x".into())
        }
    );
    assert_eq!(
        to_bytes(&row).unwrap(),
        br#"a:7:{s:1:"a";N;s:1:"b";i:5;s:1:"c";N;s:1:"m";d:2.5;s:1:"u";N;s:1:"k";N;s:4:"pair";a:2:{i:0;b:1;i:1;s:1:"x";}}"#
    );
}

#[test]
fn unknown_fields_are_skipped_including_references_and_c_objects() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Only {
        id: i32,
    }
    let php = br#"a:3:{s:1:"x";a:2:{i:0;O:8:"stdClass":0:{}i:1;r:3;}s:1:"c";C:11:"ArrayObject":3:{abc}s:2:"id";i:9;}"#;
    assert_eq!(from_bytes::<Only>(php).unwrap(), Only { id: 9 });
}

#[derive(Debug, PartialEq, Deserialize)]
struct Id {
    id: i64,
}

#[test]
fn references_deserialize_as_copies() {
    // PHP: $o = new stdClass; $o->n = 1; [$o, $o]
    let v: serde_json::Value =
        from_bytes(br#"a:2:{i:0;O:8:"stdClass":1:{s:1:"n";i:1;}i:1;r:2;}"#).unwrap();
    assert_eq!(v.to_string(), r#"[{"n":1},{"n":1}]"#);

    // PHP: $u = new stdClass; $u->id = 7; ['user'=>$u, 'auth'=>['user'=>$u, 'via'=>'pw']]
    #[derive(Debug, PartialEq, Deserialize)]
    struct Auth<'a> {
        user: PhpObject<Id>,
        via: &'a str,
    }
    #[derive(Debug, PartialEq, Deserialize)]
    struct Session<'a> {
        user: Id,
        #[serde(borrow)]
        auth: Auth<'a>,
    }
    let s: Session = from_bytes(br#"a:2:{s:4:"user";O:8:"stdClass":1:{s:2:"id";i:7;}s:4:"auth";a:2:{s:4:"user";r:2;s:3:"via";s:2:"pw";}}"#).unwrap();
    assert_eq!(
        s,
        Session {
            user: Id { id: 7 },
            auth: Auth {
                user: PhpObject::new("stdClass", Id { id: 7 }),
                via: "pw"
            }
        }
    );

    // PHP: $x = 5; ['a' => &$x, 'b' => &$x]
    let m: BTreeMap<&str, i64> = from_bytes(br#"a:2:{s:1:"a";i:5;s:1:"b";R:2;}"#).unwrap();
    assert_eq!(m, BTreeMap::from([("a", 5), ("b", 5)]));
    // PHP: $n = null; ['a'=>&$n, 'b'=>&$n]  (a reference to null is None)
    let m: BTreeMap<&str, Option<i64>> = from_bytes(br#"a:2:{s:1:"a";N;s:1:"b";R:2;}"#).unwrap();
    assert_eq!(m, BTreeMap::from([("a", None), ("b", None)]));
    // PHP: $l = [1,2]; ['x'=>&$l, 'y'=>&$l]
    let m: BTreeMap<&str, Vec<u8>> =
        from_bytes(br#"a:2:{s:1:"x";a:2:{i:0;i:1;i:1;i:2;}s:1:"y";R:2;}"#).unwrap();
    assert_eq!(m["y"], [1, 2]);
    // Slots count values inside skipped values too: `r:4` is object B (1 outer, 2 inner array, 3 A).
    let ids: (serde::de::IgnoredAny, Id, Id) =
        from_bytes(br#"a:3:{i:0;a:1:{i:0;O:1:"A":0:{}}i:1;O:1:"B":1:{s:2:"id";i:3;}i:2;r:4;}"#)
            .unwrap();
    assert_eq!((ids.1.id, ids.2.id), (3, 3));
}

#[test]
fn reference_errors_are_exact() {
    let cases: &[(&[u8], &str)] = &[
        // PHP: $c = []; $c['self'] = &$c;
        (
            br#"a:1:{s:4:"self";a:1:{s:4:"self";R:2;}}"#,
            "reference 2 points at a value that contains it (a cycle); decode to Value at byte 32",
        ),
        // PHP: $p = new stdClass; $p->me = $p;
        (
            br#"O:8:"stdClass":1:{s:2:"me";r:1;}"#,
            "reference 1 points at a value that contains it (a cycle); decode to Value at byte 27",
        ),
        (
            br#"a:2:{i:0;i:1;i:1;R:9;}"#,
            "reference 9 points at no usable value at byte 17",
        ),
        (
            br#"a:2:{i:0;i:1;i:1;r:2;}"#,
            "reference 2 points at no usable value at byte 17",
        ),
        (
            br#"a:2:{i:0;i:1;i:1;R:0;}"#,
            "reference 0 points at no usable value at byte 17",
        ),
        // `r:3` is the reference's own slot.
        (
            br#"a:2:{i:0;i:1;i:1;r:3;}"#,
            "reference 3 points at no usable value at byte 17",
        ),
    ];
    for (input, want) in cases {
        let err = from_bytes::<serde_json::Value>(input).unwrap_err();
        assert_eq!(err.to_string(), *want, "{}", String::from_utf8_lossy(input));
    }
}

/// Found by `cargo fuzz` (fuzz/regressions/): serde read a repeated key plus a reference that
/// `unserialize` refuses. Both refuse it now, with the same error at the same offset (the value of
/// the first repeated key, wherever the reference is).
#[test]
fn repeated_keys_with_references_are_refused_as_unserialize_does() {
    let fuzzed =
        include_bytes!("../../../../fuzz/regressions/serde_from_bytes-repeated-key-with-reference");
    let cases: &[(&[u8], &str)] = &[
        (
            fuzzed,
            "repeated key in a value that also has r:/R: references (not supported) at byte 55",
        ),
        // The reference before the repeat, and a repeat in a nested array.
        (
            b"a:3:{i:0;i:1;i:1;R:2;i:0;i:2;}",
            "repeated key in a value that also has r:/R: references (not supported) at byte 25",
        ),
        (
            b"a:2:{i:0;a:2:{i:1;i:1;i:1;i:3;}i:1;R:4;}",
            "repeated key in a value that also has r:/R: references (not supported) at byte 26",
        ),
        // "0" is the int key 0 in an array.
        (
            br#"a:3:{i:0;i:1;s:1:"0";i:2;i:1;R:2;}"#,
            "repeated key in a value that also has r:/R: references (not supported) at byte 21",
        ),
    ];
    for (input, want) in cases {
        let serde = from_bytes::<serde_json::Value>(input)
            .unwrap_err()
            .to_string();
        assert_eq!(serde, *want, "{}", String::from_utf8_lossy(input));
        let value = crate::unserialize(input).unwrap_err().to_string();
        assert_eq!(value, *want, "{}", String::from_utf8_lossy(input));
    }
    // Repeated keys alone, and references alone, still deserialize (the last value wins).
    let v: serde_json::Value = from_bytes(b"a:2:{i:0;i:1;i:0;i:2;}").unwrap();
    assert_eq!(v, serde_json::json!({"0": 2}));
    let v: serde_json::Value = from_bytes(b"a:2:{i:0;i:1;i:1;R:2;}").unwrap();
    assert_eq!(v, serde_json::json!([1, 1]));
}

#[test]
fn exponential_references_hit_the_replay_limit() {
    // Level k is a pair of references to level k-1: 2^k copies of the first array.
    let levels = 40;
    let mut input = format!("a:{}:{{i:0;a:2:{{i:0;i:1;i:1;i:2;}}", levels + 1).into_bytes();
    // Slots: 1 = outer array, 2 = level 0, 3 and 4 its ints, 4 + k level k (`R:` takes none).
    let mut prev = 2;
    for k in 1..=levels {
        input.extend_from_slice(format!("i:{k};a:2:{{i:0;R:{prev};i:1;R:{prev};}}").as_bytes());
        prev = 4 + k;
    }
    input.push(b'}');
    let err = from_bytes::<Vec<serde::de::IgnoredAny>>(&input).map(|v| v.len());
    assert_eq!(err.unwrap(), levels + 1, "skipped values are not expanded");
    let err = from_bytes::<serde_json::Value>(&input).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("references re-read more than 2097152 bytes; decode to Value at byte "),
        "{err}"
    );
}

#[test]
fn sequences_of_unknown_length_get_their_count_afterwards() {
    struct Evens;
    impl Serialize for Evens {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            // `filter` has no exact size, so serde passes no length.
            s.collect_seq((0..30).filter(|i| i % 2 == 0))
        }
    }
    let bytes = to_bytes(&Evens).unwrap();
    assert!(bytes.starts_with(b"a:15:{i:0;i:0;i:1;i:2;"), "{bytes:?}");
    assert_eq!(from_bytes::<Vec<i32>>(&bytes).unwrap().len(), 15);
}

#[test]
fn value_conversions() {
    let v = to_value(&Previous { url: "u".into() }).unwrap();
    assert_eq!(v.as_array().unwrap().get("url"), Some(&Value::string("u")));
    let back: Previous = from_value(&v).unwrap();
    assert_eq!(back.url, "u");
    let err = from_value::<Vec<i32>>(&v).unwrap_err();
    assert_eq!(
        err.to_string(),
        "array is not a list: expected key 0, found a string key"
    );
}

#[test]
fn decode_errors_are_exact() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Small {
        id: u8,
        name: String,
    }
    type Run = Box<dyn Fn(&[u8]) -> Error>;
    let cases: Vec<(&[u8], Run, &str)> = vec![
        (b"i:300;", Box::new(|b| from_bytes::<u8>(b).unwrap_err()), "integer 300 is out of range for u8 at byte 0"),
        (b"i:-1;", Box::new(|b| from_bytes::<u64>(b).unwrap_err()), "integer -1 is out of range for u64 at byte 0"),
        (br#"s:1:"x";"#, Box::new(|b| from_bytes::<i64>(b).unwrap_err()), "expected i64, found string at byte 0"),
        (br#"a:2:{s:2:"id";i:1;s:4:"name";i:2;}"#, Box::new(|b| from_bytes::<Small>(b).unwrap_err()), "expected a string, found int at byte 29"),
        (br#"a:2:{s:2:"id";i:999;s:4:"name";s:0:"";}"#, Box::new(|b| from_bytes::<Small>(b).unwrap_err()), "integer 999 is out of range for u8 at byte 14"),
        (br#"a:1:{s:2:"id";i:1;}"#, Box::new(|b| from_bytes::<Small>(b).unwrap_err()), "missing field `name` at byte 0"),
        (b"i:1;", Box::new(|b| from_bytes::<Small>(b).unwrap_err()), "expected struct Small, found int at byte 0"),
        (b"a:2:{i:0;i:1;i:5;i:2;}", Box::new(|b| from_bytes::<Vec<i32>>(b).unwrap_err()), "array is not a list: expected key 1, found key 5 at byte 13"),
        (b"a:3:{i:0;i:1;i:1;i:2;i:2;i:3;}", Box::new(|b| from_bytes::<(i32, i32)>(b).unwrap_err()), "1 of 3 entries left unread at byte 0"),
        (b"a:1:{i:0;i:1;}x", Box::new(|b| from_bytes::<Vec<i32>>(b).unwrap_err()), "trailing bytes after the value at byte 14"),
        (br#"C:11:"ArrayObject":3:{abc}"#, Box::new(|b| from_bytes::<serde_json::Value>(b).unwrap_err()), "expected any valid JSON value, found custom-serialized (C:) object of class ArrayObject at byte 0"),
        (br#"E:10:"Suit:Clubs";"#, Box::new(|b| from_bytes::<Suit>(b).unwrap_err()), "unknown variant `Clubs`, expected `Hearts` or `Spades` at byte 0"),
        (br#"a:2:{s:1:"a";i:1;s:1:"b";i:2;}"#, Box::new(|b| from_bytes::<Shape>(b).unwrap_err()), "expected enum Shape as a string or a single-key array, found array of 2 entries at byte 0"),
        (br#"s:6:"Circle";"#, Box::new(|b| from_bytes::<Shape>(b).unwrap_err()), "expected a single-key array for an enum variant with data, found a string at byte 0"),
        (br#"a:1:{s:1:"x";i:1;}"#, Box::new(|b| from_bytes::<BTreeMap<i32, i32>>(b).unwrap_err()), "expected an integer key, found a string key at byte 5"),
        (b"b:2;", Box::new(|b| from_bytes::<bool>(b).unwrap_err()), "expected 0 or 1 in bool at byte 2"),
        (b"N;", Box::new(|b| from_bytes::<PhpEnum<Suit>>(b).unwrap_err()), "expected a PHP enum case, found null at byte 0"),
    ];
    for (input, run, want) in cases {
        assert_eq!(
            run(input).to_string(),
            want,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn encode_errors_are_exact() {
    let cases: Vec<(Error, &str)> = vec![
        (
            to_bytes(&u64::MAX).unwrap_err(),
            "cannot encode: integer 18446744073709551615 does not fit PHP's int (64-bit signed)",
        ),
        (
            to_bytes(&BTreeMap::from([(true, 1)])).unwrap_err(),
            "cannot encode: PHP array keys must be integers or strings, found a bool",
        ),
        (
            to_bytes(&PhpObject::new("Point", vec![1])).unwrap_err(),
            "cannot encode: the value of a PhpObject must be a struct or a map, found a sequence",
        ),
        (
            to_bytes(&PhpObject::new("Bad-Name", ())).unwrap_err(),
            "cannot encode: invalid PHP class name \"Bad-Name\"",
        ),
        (
            to_bytes(&PhpEnum::new("Suit", 3)).unwrap_err(),
            "cannot encode: expected an enum case name, found an integer",
        ),
    ];
    for (err, want) in cases {
        assert_eq!(err.to_string(), want);
    }
}

/// `depth` arrays nested in one another: `a:1:{i:0;a:1:{i:0;…N;}…}`.
fn nested(depth: usize) -> Vec<u8> {
    let mut v = b"a:1:{i:0;".repeat(depth);
    v.extend_from_slice(b"N;");
    v.extend(std::iter::repeat_n(b'}', depth));
    v
}

#[test]
fn deep_nesting_fits_a_2mib_stack_up_to_the_limit() {
    // Test threads have 2 MiB stacks; run explicitly on one in case RUST_MIN_STACK is set.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let v: serde_json::Value = from_bytes(&nested(SERDE_MAX_DEPTH)).unwrap();
            assert!(v.is_array());
            // serde_json's own drop of the result is recursive too; forget it to measure ours only.
            std::mem::forget(v);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nesting_past_the_limit_is_an_error() {
    let input = nested(SERDE_MAX_DEPTH + 1);
    let err = from_bytes::<serde_json::Value>(&input).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "nesting deeper than 128 levels at byte {}",
            SERDE_MAX_DEPTH * 9
        )
    );
    // Skipping an unknown field has the same limit, without recursion.
    #[derive(Debug, Deserialize)]
    struct Empty {}
    let mut wrapped = b"a:1:{s:1:\"x\";".to_vec();
    wrapped.extend_from_slice(&input);
    wrapped.push(b'}');
    let err = from_bytes::<Empty>(&wrapped).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "nesting deeper than 128 levels at byte {}",
            13 + (SERDE_MAX_DEPTH - 1) * 9
        )
    );
}

#[test]
fn escaped_strings_and_references_leave_the_fast_paths() {
    // The fast paths recognise `s:`, `i:`, `a:` by their tag byte: an `S:` key or value (escaped
    // bytes) and an `R:` in an int slot must reach the reader, not be read as their lookalikes.
    #[derive(Debug, PartialEq, Deserialize)]
    struct Pair {
        a: String,
        n: i64,
        m: i64,
    }
    let v: Pair = from_bytes(br#"a:3:{S:1:"\61";S:2:"\41b";S:1:"n";i:3;s:1:"m";R:3;}"#).unwrap();
    assert_eq!(
        v,
        Pair {
            a: "Ab".into(),
            n: 3,
            m: 3
        }
    );
    let err = from_bytes::<Pair>(br#"a:3:{s:1:"a";s:2:"x";s:1:"n";i:3;s:1:"m";i:4;}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected '\"' after the string's declared length in string at byte 20"
    );
}

/// The open-container stack keeps its first levels inline and the rest on the heap: a cycle is
/// found on either side of that line, and nesting past it still reads.
#[test]
fn cycles_are_found_at_every_depth() {
    for depth in [1usize, 15, 16, 17, 40] {
        // `depth` nested lists, the innermost holding `R:k` to the array at level k.
        for target in [1, depth / 2 + 1, depth] {
            let mut input = Vec::new();
            for _ in 0..depth {
                input.extend_from_slice(b"a:1:{i:0;");
            }
            input.extend_from_slice(format!("R:{target};").as_bytes());
            input.extend(std::iter::repeat_n(b'}', depth));
            let err = from_bytes::<serde::de::IgnoredAny>(&input)
                .map(|_| ())
                .and_then(|()| from_bytes::<serde_json::Value>(&input).map(|_| ()))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("(a cycle)"),
                "depth {depth}, R:{target}: {err}"
            );
        }
        let plain = [
            b"a:1:{i:0;".repeat(depth),
            b"i:7;".to_vec(),
            b"}".repeat(depth),
        ]
        .concat();
        let v: serde_json::Value = from_bytes(&plain).unwrap();
        assert_eq!(
            v.to_string(),
            format!("{}7{}", "[".repeat(depth), "]".repeat(depth))
        );
    }
}
