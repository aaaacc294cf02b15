//! The serde layer against real PHP 8.2 (`php -n`, one process): bytes our `Serializer` writes are
//! unserialized by PHP and PHP's view of them checked (class, property visibility, key and value
//! types), and values PHP serializes are read into typed structs.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use phpsess::php_serde::{from_bytes, to_bytes, PhpEnum, PhpObject};
use phpsess_compat::php::run_php;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

/// Reads base64 lines from stdin; for each prints `{"ok":…,"same":…,"view":…}`: whether PHP could
/// unserialize the bytes, whether PHP's own `serialize()` of the result gives the same bytes, and
/// a JSON view of the value that keeps what json_encode would lose (classes, visibility, int vs
/// string keys, float spelling). Then prints `name base64(serialize(value)) json_encode(value)` for
/// values built in PHP.
const PHP_SCRIPT: &str = r#"
error_reporting(E_ALL);
set_error_handler(function ($no, $str) { throw new ErrorException($str, 0, $no); });
enum Suit { case Hearts; case Spades; }
class User {
    public int $id;
    protected string $email;
    private string $secret;
    public function __construct(int $id, string $email, string $secret) {
        $this->id = $id; $this->email = $email; $this->secret = $secret;
    }
}
function view($v) {
    if ($v instanceof UnitEnum) return ['enum' => get_class($v) . '::' . $v->name];
    if (is_object($v)) {
        $props = [];
        foreach ((array)$v as $k => $x) {
            $parts = explode("\0", (string)$k);
            $vis = count($parts) === 1 ? 'public' : ($parts[1] === '*' ? 'protected' : 'private');
            $props[] = [$vis, end($parts), view($x)];
        }
        return ['class' => get_class($v), 'props' => $props];
    }
    if (is_array($v)) {
        $out = [];
        foreach ($v as $k => $x) $out[] = [$k, view($x)];
        return ['array' => $out];
    }
    if (is_float($v)) return ['float' => var_export($v, true)];
    if (is_string($v) && preg_match('//u', $v) !== 1) return ['bytes' => bin2hex($v)];
    return $v;
}
while (($line = fgets(STDIN)) !== false) {
    $bytes = base64_decode(trim($line), true);
    try {
        $v = unserialize($bytes);
        $ok = $v !== false || $bytes === 'b:0;';
        echo json_encode(['ok' => $ok, 'same' => $ok && serialize($v) === $bytes, 'view' => $ok ? view($v) : null]), "\n";
    } catch (Throwable $e) {
        echo json_encode(['ok' => false, 'error' => $e->getMessage()]), "\n";
    }
}
$shared = new User(8, 'bo@example.com', 'pw');
$values = [
    'shared' => ['user' => $shared, 'auth' => ['user' => $shared, 'guard' => 'web']],
    'session' => [
        '_token' => 'Xq3vT9kLmN2pR8sW4yZ1aB6cD0eF5gH7jK9lM3nP',
        'user' => new User(7, 'ann@example.com', 's3cret'),
        'suit' => Suit::Spades,
        'cart' => ['items' => ['tea', 'milk'], 'total' => 3.0, 'qty' => 2],
        'counts' => [10 => 1, 20 => 2],
    ],
    'floats' => [0.1 + 0.2, -0.0, 1e100, 1.0, 5e-324, PHP_INT_MAX],
    'dynamic' => ['list' => [1, [2, 3], []], 'map' => [3 => 'a', 1 => 'b'], 'f' => 0.5, 'n' => null, 's' => "h\u{e9}", 't' => true],
];
foreach ($values as $name => $v) {
    echo $name, ' ', base64_encode(serialize($v)), ' ', is_array($v) && $name === 'dynamic' ? json_encode($v) : '-', "\n";
}
"#;

struct PhpRun {
    /// One answer per input, in order.
    answers: Vec<Json>,
    /// Values PHP serialized: name -> (bytes, json_encode or None).
    values: HashMap<String, (Vec<u8>, Option<Json>)>,
}

fn ask_php(inputs: &[Vec<u8>]) -> PhpRun {
    let payload: String = inputs.iter().map(|i| B64.encode(i) + "\n").collect();
    let text = String::from_utf8(run_php(&["-r", PHP_SCRIPT], payload.as_bytes())).unwrap();
    let mut lines = text.lines();
    let answers = (&mut lines)
        .take(inputs.len())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let values = lines
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let name = parts.next().unwrap().to_owned();
            let bytes = B64.decode(parts.next().unwrap()).unwrap();
            let json = match parts.next().unwrap() {
                "-" => None,
                j => Some(serde_json::from_str(j).unwrap()),
            };
            (name, (bytes, json))
        })
        .collect();
    PhpRun { answers, values }
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct LaravelSession {
    #[serde(rename = "_token")]
    token: String,
    #[serde(rename = "_flash")]
    flash: Flash,
    #[serde(flatten)]
    rest: BTreeMap<String, i64>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Flash {
    old: Vec<String>,
    new: Vec<String>,
}

/// Byte strings the way `serde_bytes` writes them.
struct Bytes(&'static [u8]);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

#[derive(Serialize)]
struct Scalars {
    whole: f64,
    ratio: f32,
    tiny: f64,
    big: u64,
    neg: i8,
    text: &'static str,
    raw: Bytes,
    none: Option<i32>,
    yes: bool,
    unit: (),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct User {
    id: u32,
    email: String,
    secret: String,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Suit {
    Hearts,
    Spades,
}

#[derive(Serialize)]
enum Shape {
    Dot,
    Circle(f64),
    Rect(u32, u32),
    Named { name: &'static str },
}

#[derive(Debug, PartialEq, Deserialize)]
struct Cart {
    items: Vec<String>,
    total: f64,
    qty: u8,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Shared {
    user: User,
    auth: Auth,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Auth {
    user: PhpObject<User>,
    guard: String,
}

#[derive(Debug, PartialEq, Deserialize)]
struct SessionFromPhp<'a> {
    #[serde(rename = "_token")]
    token: &'a str,
    user: PhpObject<User>,
    suit: Suit,
    cart: Cart,
    counts: BTreeMap<u32, u32>,
}

fn arr(entries: Vec<(Json, Json)>) -> Json {
    json!({ "array": entries.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>() })
}

fn float(text: &str) -> Json {
    json!({ "float": text })
}

#[test]
fn php_reads_what_we_write_and_we_read_what_php_writes() {
    let laravel = LaravelSession {
        token: "Xq3vT9kLmN2pR8sW4yZ1aB6cD0eF5gH7jK9lM3nP".into(),
        flash: Flash {
            old: vec![],
            new: vec!["status".into()],
        },
        rest: BTreeMap::from([(
            "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d".into(),
            42,
        )]),
    };
    let scalars = Scalars {
        whole: 3.0,
        ratio: 0.1,
        tiny: 1e-7,
        big: i64::MAX as u64,
        neg: -5,
        text: "h\u{e9}",
        raw: Bytes(b"\xff\x00"),
        none: None,
        yes: true,
        unit: (),
    };
    let user = PhpObject::new(
        "User",
        User {
            id: 7,
            email: "ann@example.com".into(),
            secret: "s3cret".into(),
        },
    );
    let inputs = vec![
        to_bytes(&laravel).unwrap(),
        to_bytes(&scalars).unwrap(),
        to_bytes(&user).unwrap(),
        to_bytes(&vec![
            PhpEnum::new("Suit", Suit::Hearts),
            PhpEnum::new("Suit", Suit::Spades),
        ])
        .unwrap(),
        to_bytes(&vec![
            Shape::Dot,
            Shape::Circle(1.5),
            Shape::Rect(2, 3),
            Shape::Named { name: "n" },
        ])
        .unwrap(),
        to_bytes(&BTreeMap::from([("5", 1), ("05", 2), ("a", 3)])).unwrap(),
    ];
    let run = ask_php(&inputs);

    let expected_views = [
        arr(vec![
            (
                json!("_token"),
                json!("Xq3vT9kLmN2pR8sW4yZ1aB6cD0eF5gH7jK9lM3nP"),
            ),
            (
                json!("_flash"),
                arr(vec![
                    (json!("old"), arr(vec![])),
                    (json!("new"), arr(vec![(json!(0), json!("status"))])),
                ]),
            ),
            (
                json!("login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d"),
                json!(42),
            ),
        ]),
        arr(vec![
            (json!("whole"), float("3.0")),
            (json!("ratio"), float("0.1")),
            (json!("tiny"), float("1.0E-7")),
            (json!("big"), json!(i64::MAX)),
            (json!("neg"), json!(-5)),
            (json!("text"), json!("h\u{e9}")),
            (json!("raw"), json!({"bytes": "ff00"})),
            (json!("none"), Json::Null),
            (json!("yes"), json!(true)),
            (json!("unit"), Json::Null),
        ]),
        // Public names land in the declared protected/private properties.
        json!({"class": "User", "props": [
            ["public", "id", 7],
            ["protected", "email", "ann@example.com"],
            ["private", "secret", "s3cret"],
        ]}),
        arr(vec![
            (json!(0), json!({"enum": "Suit::Hearts"})),
            (json!(1), json!({"enum": "Suit::Spades"})),
        ]),
        arr(vec![
            (json!(0), json!("Dot")),
            (json!(1), arr(vec![(json!("Circle"), float("1.5"))])),
            (
                json!(2),
                arr(vec![(
                    json!("Rect"),
                    arr(vec![(json!(0), json!(2)), (json!(1), json!(3))]),
                )]),
            ),
            (
                json!(3),
                arr(vec![(
                    json!("Named"),
                    arr(vec![(json!("name"), json!("n"))]),
                )]),
            ),
        ]),
        // "5" became the int key 5, "05" stayed a string: as PHP itself would have it.
        arr(vec![
            (json!("05"), json!(2)),
            (json!(5), json!(1)),
            (json!("a"), json!(3)),
        ]),
    ];
    // Byte-identical to PHP's own serialize() of the same value, except the object: PHP writes
    // the declared visibility's mangled names where we wrote plain ones.
    let same = [true, true, false, true, true, true];
    for (i, (answer, want)) in run.answers.iter().zip(&expected_views).enumerate() {
        let input = String::from_utf8_lossy(&inputs[i]);
        assert_eq!(answer["ok"], json!(true), "{input}: {answer}");
        assert_eq!(&answer["view"], want, "{input}");
        assert_eq!(answer["same"], json!(same[i]), "{input}");
    }

    // The reverse: PHP's bytes into typed structs.
    let (bytes, _) = &run.values["session"];
    let s: SessionFromPhp = from_bytes(bytes).unwrap();
    assert_eq!(
        s,
        SessionFromPhp {
            token: "Xq3vT9kLmN2pR8sW4yZ1aB6cD0eF5gH7jK9lM3nP",
            user: PhpObject::new(
                "User",
                User {
                    id: 7,
                    email: "ann@example.com".into(),
                    secret: "s3cret".into()
                }
            ),
            suit: Suit::Spades,
            cart: Cart {
                items: vec!["tea".into(), "milk".into()],
                total: 3.0,
                qty: 2
            },
            counts: BTreeMap::from([(10, 1), (20, 2)]),
        }
    );

    // The same object twice: PHP writes `r:2;` the second time, which reads as a copy.
    let (bytes, _) = &run.values["shared"];
    assert!(
        bytes.windows(4).any(|w| w == b"r:2;"),
        "{}",
        String::from_utf8_lossy(bytes)
    );
    let shared: Shared = from_bytes(bytes).unwrap();
    let bo = User {
        id: 8,
        email: "bo@example.com".into(),
        secret: "pw".into(),
    };
    assert_eq!(shared.auth.user, PhpObject::new("User", bo));
    assert_eq!(shared.user, shared.auth.user.value);
    assert_eq!(shared.auth.guard, "web");

    let (bytes, _) = &run.values["floats"];
    let floats: Vec<f64> = from_bytes(bytes).unwrap();
    let want = [0.1 + 0.2, -0.0, 1e100, 1.0, 5e-324, i64::MAX as f64];
    assert_eq!(
        floats.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
        want.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
    );

    // deserialize_any agrees with PHP's json_encode on plain data.
    let (bytes, php_json) = &run.values["dynamic"];
    let ours: Json = from_bytes(bytes).unwrap();
    assert_eq!(Some(&ours), php_json.as_ref());
    assert_eq!(
        ours.to_string(),
        r#"{"list":[1,[2,3],[]],"map":{"3":"a","1":"b"},"f":0.5,"n":null,"s":"hé","t":true}"#
    );
}
