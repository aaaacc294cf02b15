//! The document must hold exactly what `unserialize` returns, on the fast path and the fallback.

use super::*;
use crate::unserialize;

/// `unserialize` itself tries the tape first: compare with the tree builder alone.
fn same_as_unserialize(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let tree = crate::decode::full_borrowed(input).map(|v| v.to_owned());
    assert_eq!(
        unserialize(input).map_err(|e| e.to_string()),
        tree.as_ref().map(Clone::clone).map_err(|e| e.to_string()),
        "{text}"
    );
    match (Document::parse(input), tree) {
        (Ok(doc), Ok(value)) => assert_eq!(doc.to_value(), value, "{text}"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
        (a, b) => panic!("{text}: document {a:?}, unserialize {b:?}"),
    }
}

#[test]
fn agrees_with_unserialize_on_values_and_errors() {
    let cases: &[&[u8]] = &[
        b"N;",
        b"b:1;",
        b"i:-42;",
        b"d:0.1;",
        b"d:-INF;",
        br#"s:3:"a"c";"#,
        br#"S:3:"\61bc";"#,
        b"a:0:{}",
        br#"a:3:{i:0;s:1:"x";s:1:"5";i:1;s:2:"05";a:1:{i:-3;N;}}"#,
        br#"a:2:{S:1:"\6b";i:1;s:1:"j";b:0;}"#,
        br#"O:8:"stdClass":0:{}"#,
        b"O:3:\"Foo\":3:{s:6:\"\0*\0bar\";i:1;s:8:\"\0Foo\0baz\";d:1.5;i:7;N;}",
        br#"O:3:"Foo":2:{s:1:"0";i:1;i:0;i:2;}"#,
        br#"C:3:"Foo":5:{hello}"#,
        br#"E:11:"Suit:Hearts";"#,
        br#"a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}"#,
        br#"a:2:{i:0;i:1;i:1;R:2;}"#,
        // References on the fast path: valid, and each way of being invalid.
        br#"a:3:{i:0;O:8:"stdClass":1:{s:1:"a";a:1:{i:0;i:5;}}i:1;r:2;i:2;R:4;}"#,
        br#"a:2:{i:0;i:1;i:1;r:2;}"#,
        br#"a:2:{i:0;i:1;i:1;R:3;}"#,
        br#"a:2:{i:0;i:1;i:1;R:0;}"#,
        br#"a:1:{i:0;r:2;}"#,
        br#"a:2:{i:0;E:11:"Suit:Hearts";i:1;r:2;}"#,
        br#"a:3:{i:0;O:8:"stdClass":0:{}i:1;r:2;i:2;r:3;}"#,
        br#"a:3:{i:0;i:1;i:1;R:2;i:2;R:3;}"#,
        br#"O:8:"stdClass":1:{s:4:"self";r:1;}"#,
        br#"a:2:{i:0;a:1:{i:0;i:1;}i:1;R:3;}"#,
        // Repeated keys: first position, last value.
        b"a:3:{i:0;i:1;i:1;i:2;i:0;i:3;}",
        br#"a:3:{s:1:"a";i:1;s:1:"b";i:2;s:1:"a";i:3;}"#,
        br#"a:2:{s:1:"7";i:1;i:7;i:2;}"#,
        // Errors, each with the full decoder's message.
        b"",
        b"a:1:{i:0;N;",
        b"a:999999999:{",
        b"N;N;",
        b"r:1;",
        br#"a:3:{i:0;i:1;i:0;i:2;i:1;R:2;}"#,
        b"i:99999999999999999999;",
    ];
    for input in cases {
        same_as_unserialize(input);
    }
}

#[test]
fn big_containers_find_repeats_through_the_index() {
    let mut list = Vec::new();
    let mut map = Vec::new();
    for i in 0..100 {
        list.extend_from_slice(format!("i:{i};i:{i};").as_bytes());
        map.extend_from_slice(format!("s:4:\"k{i:03}\";i:{i};").as_bytes());
    }
    let wrap = |n: usize, body: &[u8]| [format!("a:{n}:{{").as_bytes(), body, b"}"].concat();
    same_as_unserialize(&wrap(100, &list));
    same_as_unserialize(&wrap(100, &map));
    // A repeat at the end of each, and an int key out of order that is new.
    same_as_unserialize(&wrap(101, &[&list[..], b"i:50;N;"].concat()));
    same_as_unserialize(&wrap(101, &[&map[..], br#"s:4:"k050";N;"#].concat()));
    same_as_unserialize(&wrap(101, &[&list[..], b"i:-1;N;"].concat()));
    let mixed = [&map[..], &list[..], br#"s:4:"k099";N;"#].concat();
    same_as_unserialize(&wrap(201, &mixed));
}

#[test]
fn reads_without_copying() {
    let input = b"a:3:{s:4:\"user\";s:5:\"alice\";i:3;O:3:\"Foo\":1:{s:6:\"\0*\0bar\";d:2.5;}s:1:\"e\";E:6:\"S:Hear\";}";
    let doc = Document::parse(input).unwrap();
    let root = doc.root();
    assert_eq!(root.get("user").and_then(|v| v.as_str()), Some("alice"));
    let foo = root.get(3).unwrap();
    assert_eq!(foo.class(), Some(&b"Foo"[..]));
    assert_eq!(foo.property("bar").and_then(|v| v.as_float()), Some(2.5));
    assert_eq!(root.get("e").unwrap().type_name(), "enum");
    let keys: Vec<_> = root.entries().unwrap().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            EntryKey::Str(b"user"),
            EntryKey::Int(3),
            EntryKey::Str(b"e")
        ]
    );
    assert_eq!(root.entries().unwrap().len(), 3);
    assert!(
        std::ptr::eq(
            root.get("user").unwrap().as_bytes().unwrap().as_ptr(),
            &input[21]
        ),
        "the string is the input's bytes"
    );
}

#[test]
fn nesting_stops_at_php_s_limit_on_a_default_thread_stack() {
    let nested = |n: usize| [b"a:1:{i:0;".repeat(n), b"N;".to_vec(), b"}".repeat(n)].concat();
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let deepest = nested(crate::MAX_DEPTH);
            let doc = Document::parse(&deepest).expect("4096 levels are allowed");
            let mut v = doc.root();
            let mut depth = 0;
            while let Some(inner) = v.get(0) {
                v = inner;
                depth += 1;
            }
            assert_eq!((depth, v.is_null()), (crate::MAX_DEPTH, true));
            let too_deep = nested(crate::MAX_DEPTH + 1);
            assert_eq!(
                Document::parse(&too_deep).err().map(|e| e.to_string()),
                crate::decode::full_borrowed(&too_deep)
                    .err()
                    .map(|e| e.to_string())
            );
        })
        .expect("thread")
        .join()
        .expect("no stack overflow");
}

/// The speed comes from the fast builder: it must take what PHP writes and leave the rest.
#[test]
fn the_fast_builder_takes_what_php_writes() {
    let fast: &[&[u8]] = &[
        br#"a:3:{i:0;s:1:"x";s:1:"5";i:1;s:2:"05";a:1:{i:-3;N;}}"#,
        b"O:3:\"Foo\":3:{s:6:\"\0*\0bar\";i:1;s:8:\"\0Foo\0baz\";d:1.5;i:7;N;}",
        br#"a:3:{i:0;C:3:"Foo":5:{hello}i:1;E:11:"Suit:Hearts";i:2;S:1:"\61";}"#,
        br#"a:2:{i:5;b:1;i:3;b:0;}"#,
    ];
    for input in fast {
        assert!(
            crate::decode::fast_path_takes(input),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    let references: &[u8] = br#"a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}"#;
    assert!(crate::decode::fast_path_takes(references));
    let full: &[&[u8]] = &[
        br#"a:2:{i:0;i:1;i:1;r:2;}"#,
        b"a:2:{i:0;i:1;i:0;i:2;}",
        br#"O:3:"Foo":1:{s:1:"0";i:1;}"#,
        b"N;N;",
    ];
    for input in full {
        assert!(
            !crate::decode::fast_path_takes(input),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
}

#[cfg(feature = "axum")]
#[test]
fn a_lookup_by_bytes_finds_what_a_lookup_by_key_finds() {
    // PHP turns "5" into the int key 5; "05", "-0" and "5 " stay strings.
    let input = br#"a:6:{i:5;s:3:"int";s:2:"05";s:4:"zero";s:2:"-0";s:5:"minus";s:2:"5 ";s:5:"space";s:4:"name";i:1;i:-7;s:3:"neg";}"#;
    let doc = Document::parse(input).unwrap();
    let root = doc.root();
    for key in ["5", "05", "-0", "5 ", "name", "-7", "missing", "7"] {
        let by_key = root.get(key).map(|v| v.to_value());
        let by_bytes = root.get_str(key.as_bytes()).map(|v| v.to_value());
        assert_eq!(by_key, by_bytes, "{key:?}");
    }
    assert_eq!(
        root.get_str(b"5").map(|v| v.to_value()),
        Some(crate::Value::from("int"))
    );
    assert!(root.get_str(b"missing").is_none());
}
