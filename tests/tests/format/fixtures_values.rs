//! Golden value fixtures (`fixtures/values.json`, made by real PHP 8.2): every input PHP wrote
//! decodes, re-encodes to the same bytes, and decodes to the structure PHP meant.

use phpsess::value::{PropertyName, Visibility};
use phpsess::{serialize, unserialize, unserialize_prefix, Array, DecodeReason, Error, Key, Value};
use phpsess_compat::fixtures::{escape_bytes, value_fixtures, ValueFixture};

fn fixtures() -> Vec<ValueFixture> {
    let (php_version, values) = value_fixtures();
    assert!(
        php_version.starts_with("8.2."),
        "fixtures were made by PHP {php_version}, not 8.2: run `make fixtures` with PHP 8.2"
    );
    assert!(values.len() >= 90, "only {} value fixtures", values.len());
    values
}

fn decoded(name: &str) -> Value {
    let f = fixtures()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture named {name}"));
    unserialize(&f.serialized).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_fixture_round_trips_byte_for_byte() {
    let mut failures = Vec::new();
    for f in fixtures() {
        match unserialize(&f.serialized) {
            Ok(v) => {
                let again = serialize(&v);
                if again != f.serialized {
                    failures.push(format!(
                        "{} ({}):\n  php:  {}\n  ours: {}",
                        f.name,
                        f.php,
                        escape_bytes(&f.serialized, 300),
                        escape_bytes(&again, 300)
                    ));
                }
            }
            Err(e) => failures.push(format!(
                "{} ({}): {e}\n  input: {}",
                f.name,
                f.php,
                escape_bytes(&f.serialized, 300)
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn prefix_decoding_uses_every_byte_and_trailing_bytes_are_rejected() {
    for f in fixtures() {
        let (value, used) = unserialize_prefix(&f.serialized).expect(&f.name);
        assert_eq!(used, f.serialized.len(), "{}", f.name);
        // PHP 8.2 ignores bytes after the value; unserialize_prefix does too, strict
        // unserialize refuses them at the first extra byte.
        let mut junk = f.serialized.clone();
        junk.extend_from_slice(b"junk");
        let (again, used) = unserialize_prefix(&junk).expect(&f.name);
        assert_eq!(used, f.serialized.len(), "{}", f.name);
        assert_eq!(serialize(&again), serialize(&value), "{}", f.name);
        match unserialize(&junk) {
            Err(Error::Decode {
                offset,
                reason: DecodeReason::TrailingBytes,
            }) => assert_eq!(offset, f.serialized.len(), "{}", f.name),
            other => panic!("{}: expected TrailingBytes, got {other:?}", f.name),
        }
    }
}

#[test]
fn floats_decode_to_the_exact_bits_php_holds() {
    let mut checked = 0;
    for f in fixtures() {
        let Some(bits) = f.f64_bits else { continue };
        assert_eq!(f.php_type, "float", "{}", f.name);
        let Value::Float(x) = unserialize(&f.serialized).expect(&f.name) else {
            panic!("{}: not a float", f.name)
        };
        // Including NAN: `d:NAN;` carries no payload, and PHP's NAN and Rust's f64::NAN are both
        // the quiet NaN 0x7ff8000000000000.
        assert_eq!(
            x.to_bits(),
            bits,
            "{} ({}): ours {x:e}, PHP {:e}",
            f.name,
            f.php,
            f64::from_bits(bits)
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} float fixtures");
}

#[test]
fn float_text_is_php_serialize_precision_minus_one() {
    // A few exact spellings worth reading in the test itself (all come from the fixtures).
    let table: &[(&str, &[u8])] = &[
        ("float_0_1", b"d:0.1;"),
        ("float_neg_zero", b"d:-0;"),
        ("float_1e15", b"d:1000000000000000;"),
        ("float_1e16", b"d:10000000000000000;"),
        ("float_1e17", b"d:1.0E+17;"),
        ("float_1e25", b"d:1.0E+25;"),
        ("float_1e_4", b"d:0.0001;"),
        ("float_1e_5", b"d:1.0E-5;"),
        ("float_0_1_plus_0_2", b"d:0.30000000000000004;"),
        ("float_denormal_min", b"d:5.0E-324;"),
        ("float_inf", b"d:INF;"),
        ("float_neg_inf", b"d:-INF;"),
        ("float_nan", b"d:NAN;"),
    ];
    let all = fixtures();
    for (name, want) in table {
        let f = all.iter().find(|f| f.name == *name).expect(name);
        assert_eq!(
            escape_bytes(&f.serialized, 99),
            escape_bytes(want, 99),
            "{name}"
        );
        assert_eq!(serialize(&unserialize(want).unwrap()), *want, "{name}");
    }
}

fn keys(a: &Array) -> Vec<Key> {
    a.iter().map(|(k, _)| k.clone()).collect()
}

fn array(v: &Value) -> &Array {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v:?}"))
}

fn s(bytes: &[u8]) -> Key {
    Key::Str(bytes.into())
}

#[test]
fn scalars_and_strings() {
    assert_eq!(decoded("int_min"), Value::Int(i64::MIN));
    assert_eq!(decoded("int_max"), Value::Int(i64::MAX));
    assert_eq!(decoded("string_nul"), Value::string(b"a\0b"));
    assert_eq!(
        decoded("string_invalid_utf8"),
        Value::string(vec![0xff, 0xfe, 0xfd])
    );
    assert_eq!(
        decoded("string_all_bytes"),
        Value::string((0..=255u8).collect::<Vec<u8>>())
    );
    assert_eq!(
        decoded("string_syntax"),
        Value::from(r#"he said "hi"; s:1:"x";}"#)
    );
}

#[test]
fn array_keys_are_stored_as_php_stores_them() {
    let v = decoded("array_numeric_string_keys");
    assert_eq!(
        keys(array(&v)),
        vec![
            Key::Int(123),
            s(b"0123"),
            s(b"-0"),
            s(b" 1"),
            s(b"1 "),
            s(b"1.5"),
            Key::Int(-7),
            Key::Int(i64::MAX),
            s(b"9223372036854775808"),
            Key::Int(i64::MIN),
            s(b"-9223372036854775809"),
            s(b""),
        ]
    );
    let v = decoded("array_negative_keys");
    assert_eq!(keys(array(&v)), vec![Key::Int(-5), Key::Int(-4)]);
    let v = decoded("array_non_sequential");
    assert_eq!(keys(array(&v)), vec![Key::Int(3), Key::Int(1), Key::Int(2)]);
    assert!(!array(&v).is_list());
    let v = decoded("array_key_casts");
    assert_eq!(keys(array(&v)), vec![Key::Int(1), Key::Int(0), s(b"")]);
    let v = decoded("array_binary_keys");
    assert_eq!(keys(array(&v)), vec![s(b"\0"), s(b"\xff"), s(b"a\"b")]);
    assert!(array(&decoded("array_list")).is_list());
}

fn object(v: &Value) -> &phpsess::Object {
    match v {
        Value::Object(o) => o,
        other => panic!("not an object: {other:?}"),
    }
}

/// Each property as (visibility, declaring class, bare name).
fn unmangled(o: &phpsess::Object) -> Vec<(Visibility, Option<Vec<u8>>, Vec<u8>)> {
    o.properties
        .iter()
        .map(|(k, _)| match k {
            Key::Str(raw) => {
                let p = PropertyName::parse(raw);
                (p.visibility, p.class.map(<[u8]>::to_vec), p.name.to_vec())
            }
            Key::Int(i) => panic!("int property {i}"),
        })
        .collect()
}

#[test]
fn mangled_property_names_unmangle() {
    use Visibility::*;
    let user = decoded("object_user");
    let o = object(&user);
    assert_eq!(o.class, b"User");
    assert_eq!(
        unmangled(o),
        vec![
            (Public, None, b"name".to_vec()),
            (Protected, None, b"role".to_vec()),
            (Private, Some(b"User".to_vec()), b"secret".to_vec()),
        ]
    );
    assert_eq!(o.get("secret"), Some(&Value::from("s3\0cret")));
    assert_eq!(o.get("role"), Some(&Value::from("admin")));

    // A private property redeclared by the child class: two properties, same bare name.
    let admin = decoded("object_admin");
    let o = object(&admin);
    assert_eq!(
        unmangled(o),
        vec![
            (Public, None, b"name".to_vec()),
            (Protected, None, b"role".to_vec()),
            (Private, Some(b"User".to_vec()), b"secret".to_vec()),
            (Private, Some(b"Admin".to_vec()), b"secret".to_vec()),
            (Public, None, b"level".to_vec()),
        ]
    );

    let cart = decoded("object_namespaced");
    let o = object(&cart);
    assert_eq!(o.class, b"App\\Models\\Cart");
    assert_eq!(
        unmangled(o)[2],
        (
            Private,
            Some(b"App\\Models\\Cart".to_vec()),
            b"total".to_vec()
        )
    );
    assert_eq!(o.get("total"), Some(&Value::Float(9.5)));
    assert_eq!(object(o.get("owner").unwrap()).class, b"User");

    // Uninitialised typed properties are not written at all.
    let draft = decoded("object_uninitialized_typed");
    assert_eq!(
        unmangled(object(&draft)),
        vec![(Public, None, b"title".to_vec())]
    );

    // (object)['a', 'b']: PHP turns the int keys into the property names "0" and "1".
    let o = decoded("object_stdclass_numeric_props");
    assert_eq!(
        object(&o)
            .properties
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>(),
        vec![s(b"0"), s(b"1")]
    );
}

#[test]
fn custom_objects_magic_serialize_and_enums() {
    assert_eq!(
        decoded("custom_serializable"),
        Value::Custom(phpsess::CustomObject {
            class: b"LegacyPayload".to_vec(),
            data: b"raw:{bytes}\0;".to_vec(),
        })
    );
    assert_eq!(
        decoded("custom_serializable_nested_serialized"),
        Value::Custom(phpsess::CustomObject {
            class: b"LegacyPayload".to_vec(),
            data: br#"a:1:{s:1:"k";i:1;}"#.to_vec(),
        })
    );
    // __serialize() with int keys: kept as int keys, not property names.
    let packed = decoded("object_magic_serialize_int_keys");
    let o = object(&packed);
    assert_eq!(o.class, b"Packed");
    assert_eq!(
        o.properties,
        vec![
            (Key::Int(0), Value::from("x")),
            (Key::Int(1), Value::Int(2)),
            (s(b"k"), Value::Bool(true)),
        ]
    );
    let enum_case = |class: &[u8], case: &[u8]| {
        Value::Enum(phpsess::EnumCase {
            class: class.to_vec(),
            case: case.to_vec(),
        })
    };
    assert_eq!(decoded("enum_backed"), enum_case(b"Suit", b"Hearts"));
    assert_eq!(decoded("enum_pure"), enum_case(b"Status", b"Active"));
    assert_eq!(
        decoded("enum_namespaced"),
        enum_case(b"App\\Models\\Color", b"Green")
    );
}

fn values(v: &Value) -> Vec<Value> {
    array(v).iter().map(|(_, v)| v.clone()).collect()
}

#[test]
fn reference_numbers_are_kept() {
    // r:N — another handle to the object in slot N (slot 1 is the outer value).
    let v = decoded("ref_object_twice");
    assert_eq!(values(&v)[1], Value::ObjectRef(2));
    let v = decoded("enum_twice");
    assert_eq!(values(&v)[1], Value::ObjectRef(2));
    let v = decoded("ref_object_self");
    assert_eq!(object(&v).get("self"), Some(&Value::ObjectRef(1)));
    let v = decoded("ref_object_numbering");
    let vals = values(&v);
    assert_eq!(
        (&vals[3], &vals[4], &vals[6]),
        (
            &Value::ObjectRef(2),
            &Value::ObjectRef(5),
            &Value::ObjectRef(5)
        )
    );
    // R:N — a PHP reference (&) to the value in slot N.
    let v = decoded("ref_php_scalar");
    assert_eq!(values(&v), vec![Value::Int(1), Value::Ref(2)]);
    let v = decoded("ref_php_nested_target");
    assert_eq!(array(&v).get("z"), Some(&Value::Ref(3)));
    let v = decoded("ref_mixed");
    assert_eq!(
        values(&v)[1..],
        [
            Value::Int(5),
            Value::Ref(3),
            Value::ObjectRef(2),
            Value::Ref(2)
        ]
    );
    let v = decoded("ref_php_property");
    assert_eq!(object(&v).get("b"), Some(&Value::Ref(2)));
    let v = decoded("ref_recursive_array");
    let inner = array(&v).get("x").expect("x");
    assert_eq!(array(inner).get("self"), Some(&Value::Ref(2)));
}

/// `json_encode()`'s view of a value, for the value kinds whose mapping is fixed by PHP alone
/// (no objects, enums or references). `None` for the others.
fn as_json(v: &Value) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => J::Number(serde_json::Number::from_f64(*f)?),
        Value::String(s) => J::String(String::from_utf8(s.to_vec()).ok()?),
        Value::Array(a) if a.is_list() => {
            J::Array(a.iter().map(|(_, v)| as_json(v)).collect::<Option<_>>()?)
        }
        Value::Array(a) => {
            let mut map = serde_json::Map::new();
            for (k, v) in a.iter() {
                let key = String::from_utf8(k.to_bytes()).ok()?;
                map.insert(key, as_json(v)?);
            }
            J::Object(map)
        }
        _ => return None,
    })
}

/// Equality that also compares object key order (serde_json's map equality ignores it) and
/// float signs.
fn json_same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_same(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && json_same(va, vb))
        }
        (J::Number(x), J::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(fx), Some(fy)) if x.is_f64() || y.is_f64() => {
                x.is_f64() == y.is_f64() && fx.to_bits() == fy.to_bits()
            }
            _ => x == y,
        },
        _ => a == b,
    }
}

#[test]
fn decoded_structure_matches_php_json_encode() {
    let mut checked = 0;
    for f in fixtures() {
        let v = unserialize(&f.serialized).expect(&f.name);
        let Some(ours) = as_json(&v) else { continue };
        if f.name == "ref_recursive_array_copy" {
            // json_encode() saw the live array, which contains itself (recursion error);
            // serialize() wrote the recursion it could not number as N;.
            assert_eq!(f.json, None);
            continue;
        }
        let php_json = f.json.as_deref().unwrap_or_else(|| {
            panic!("{}: PHP's json_encode failed on a value we can map", f.name)
        });
        let php: serde_json::Value = serde_json::from_str(php_json).expect(&f.name);
        assert!(
            json_same(&ours, &php),
            "{} ({}):\n  php:  {php_json}\n  ours: {ours}",
            f.name,
            f.php
        );
        checked += 1;
    }
    // Scalars, strings and arrays: most of the fixtures. Keeps the test from checking nothing.
    assert!(
        checked >= 50,
        "only {checked} fixtures compared with json_encode"
    );
}

#[test]
fn the_generator_reproduces_the_committed_fixtures() {
    // `make fixtures` must be deterministic: running the committed generator with this PHP gives
    // the committed files byte for byte (so they are not hand-edited, and nothing drifts).
    let dir = std::env::temp_dir().join(format!("phpsess-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let root = phpsess_compat::fixtures::workspace_root();
    let out = std::process::Command::new(phpsess_compat::php::php_binary())
        .arg("-n")
        .arg(root.join("fixtures/generate.php"))
        .arg(&dir)
        .output()
        .expect("run php (PHP 8.2 CLI needed)");
    assert!(
        out.status.success(),
        "generate.php failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A newer 8.2 patch release changes the recorded version and nothing else; compare the rest.
    let without_version = |bytes: Vec<u8>| -> Vec<u8> {
        let text = String::from_utf8(bytes).expect("fixtures are UTF-8 JSON");
        text.lines()
            .filter(|l| !l.trim_start().starts_with("\"php_version\""))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    };
    for file in ["values.json", "sessions.json"] {
        let fresh = without_version(std::fs::read(dir.join(file)).expect(file));
        let committed =
            without_version(std::fs::read(root.join("fixtures").join(file)).expect(file));
        assert!(
            fresh == committed,
            "fixtures/{file} differs from what generate.php writes now: run `make fixtures`"
        );
    }
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}
