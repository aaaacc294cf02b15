//! The friendly JSON form against real PHP: one `php -n` process unserializes a batch of values
//! (the committed fixtures, edge cases, and a few thousand pseudo-random floats and ints) and
//! `json_encode()`s each; wherever PHP accepts a value, `to_friendly_json` must give the same JSON,
//! compared parsed and as text. Objects and enums are left out of the equality check because the
//! friendly form shows them differently on purpose (class and every property; see `phpsess::json`);
//! they are checked to carry their `$class` / `$enum` instead.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use phpsess::json::{to_friendly_json, write_json};
use phpsess::{serialize, unserialize, Array, Value};
use phpsess_compat::fixtures::fixtures_dir;
use phpsess_compat::php::run_php;
use phpsess_compat::rng::{Rng, SeedReport};

/// Reads base64 serialized values, one a line; answers one JSON line each:
/// `{"json": "<json_encode output>"}` or `{"error": "<json_last_error_msg>"}`.
/// The JSON_UNESCAPED_* flags only change how strings are escaped (PHP escapes `/`, non-ASCII and
/// U+2028/9 by default; serde_json does not), which lets the text comparison below cover strings
/// as well as numbers.
const PHP_SCRIPT: &str = r#"
while (($line = fgets(STDIN)) !== false) {
    $value = unserialize(base64_decode(trim($line)));
    $flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_LINE_TERMINATORS;
    $json = json_encode($value, $flags);
    echo json_encode($json === false ? ["error" => json_last_error_msg()] : ["json" => $json]), "\n";
}
"#;

fn fixture_values() -> Vec<(String, Vec<u8>)> {
    let path = fixtures_dir().join("values.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate with `make fixtures`)", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let name = v["name"].as_str().unwrap().to_owned();
            let bytes = BASE64
                .decode(v["serialized_b64"].as_str().unwrap())
                .unwrap();
            (name, bytes)
        })
        .collect()
}

/// Hand-picked shapes json_encode() treats specially.
fn edge_cases() -> Vec<(String, Vec<u8>)> {
    let cases: &[&[u8]] = &[
        b"a:0:{}",
        b"a:2:{i:0;a:0:{}i:1;a:1:{i:0;a:0:{}}}",
        b"a:2:{i:1;s:1:\"a\";i:0;s:1:\"b\";}",
        b"a:1:{i:1;s:1:\"a\";}",
        b"a:2:{i:0;s:1:\"a\";s:1:\"0\";s:1:\"b\";}",
        b"a:1:{s:0:\"\";i:1;}",
        b"s:6:\"a\x00b\x1f\x7fc\";",
        b"s:8:\"\xe2\x80\xa8\xe2\x80\xa9/\\\";",
        b"s:4:\"\xf0\x9f\x98\x80\";",
        b"s:2:\"\xc3\x28\";",
        b"a:1:{s:2:\"\xc3\x28\";i:1;}",
        b"a:2:{i:0;i:1;i:1;R:2;}",
        b"a:2:{i:0;a:1:{i:0;d:0.5;}i:1;R:2;}",
        b"a:2:{i:0;i:1;i:1;a:2:{i:0;i:1;i:1;R:3;}}",
        b"d:-0;",
        b"d:1.0E+25;",
        b"d:NAN;",
        b"a:1:{i:0;d:INF;}",
    ];
    cases
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("edge case {i}"), b.to_vec()))
        .collect()
}

/// Seeded pseudo-random floats over the whole bit range (NaN and infinities included,
/// which json_encode refuses), plus ints and floats near the fixed/exponent switch.
fn random_numbers() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next_u64();
    let mut out = Vec::new();
    for i in 0..3000 {
        let bits = next();
        let f = match i % 3 {
            0 => f64::from_bits(bits),
            // Values of everyday size: exponent near 0.
            1 => (bits >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((i % 40) - 20),
            _ => ((bits % 2_000_001) as f64 - 1_000_000.0) / 100.0,
        };
        out.push((format!("float {f:e}"), serialize(&Value::Float(f))));
    }
    for e in -8..=20 {
        for m in [1.0, 1.5, 9.999_999_999_999_998, 12.5] {
            let f = m * 10f64.powi(e);
            for f in [f, -f] {
                out.push((format!("float {f:e}"), serialize(&Value::Float(f))));
            }
        }
    }
    for _ in 0..500 {
        let i = next() as i64;
        out.push((format!("int {i}"), serialize(&Value::Int(i))));
    }
    let mut list = Array::new();
    for _ in 0..50 {
        list.push(Value::Float(f64::from_bits(next() >> 2)));
    }
    out.push(("list of floats".into(), serialize(&Value::Array(list))));
    out
}

/// Does the value hold anything the friendly form shows unlike json_encode() on purpose?
fn has_object(v: &Value) -> bool {
    match v {
        Value::Object(_) | Value::Custom(_) | Value::Enum(_) | Value::ObjectRef(_) => true,
        Value::Array(a) => a.iter().any(|(_, v)| has_object(v)),
        _ => false,
    }
}

fn friendly_text(json: &serde_json::Value) -> String {
    let mut out = Vec::new();
    write_json(&mut out, json, false).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn friendly_json_equals_php_json_encode() {
    let _seed = SeedReport;
    let mut batch = fixture_values();
    batch.extend(edge_cases());
    batch.extend(random_numbers());

    let mut input = String::new();
    for (_, bytes) in &batch {
        input.push_str(&BASE64.encode(bytes));
        input.push('\n');
    }
    let stdout = run_php(
        &["-d", "display_errors=stderr", "-r", PHP_SCRIPT],
        input.as_bytes(),
    );
    let answers: Vec<serde_json::Value> = String::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), batch.len(), "one answer per value");

    let (mut equal, mut refused, mut objects) = (0, 0, 0);
    let mut failures = Vec::new();
    for ((name, bytes), answer) in batch.iter().zip(&answers) {
        let value = unserialize(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = to_friendly_json(&value);
        let ours_text = friendly_text(&ours);
        if has_object(&value) {
            // Documented difference: we show the class (and non-public properties).
            objects += 1;
            if !ours_text.contains("\"$class\"") && !ours_text.contains("\"$enum\"") {
                failures.push(format!("{name}: object without $class/$enum: {ours_text}"));
            }
            continue;
        }
        match (answer.get("json"), answer.get("error")) {
            (Some(php_text), _) => {
                let php_text = php_text.as_str().unwrap();
                let php_json: serde_json::Value = serde_json::from_str(php_text).unwrap();
                if php_json != ours || php_text != ours_text {
                    failures.push(format!("{name}: PHP {php_text}, ours {ours_text}"));
                } else {
                    equal += 1;
                }
            }
            (None, Some(error)) => {
                // json_encode() refused (INF/NAN, bad UTF-8, recursion): ours says why with a tag.
                refused += 1;
                let tagged = ["\"$float\"", "\"$base64\"", "\"$R\"", "\"$r\"", "\u{fffd}"]
                    .iter()
                    .any(|t| ours_text.contains(t));
                if !tagged {
                    failures.push(format!(
                        "{name}: PHP refused ({error}), ours untagged {ours_text}"
                    ));
                }
            }
            _ => panic!("{name}: unexpected answer {answer}"),
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Guards against a batch that silently compared nothing.
    assert!(equal > 3000, "only {equal} values compared equal");
    assert!(
        refused >= 10,
        "only {refused} values refused by json_encode"
    );
    assert!(objects >= 20, "only {objects} object values");
}
