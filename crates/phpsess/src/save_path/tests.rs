//! Table tests for both save_path syntaxes: exact structs for every accepted form, exact error
//! texts for every refused one. What phpredis does with each form was measured with phpredis
//! 5.3.7 (the session handler's parsing is unchanged in 6.x) against a server logging commands.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

fn tcp(host: &str, port: u16) -> Address {
    Address::Tcp {
        host: host.into(),
        port,
    }
}

fn tls(scheme: &str, host: &str, port: u16) -> Address {
    Address::Tls {
        scheme: scheme.into(),
        host: host.into(),
        port,
    }
}

fn unix(path: &str) -> Address {
    Address::Unix { path: path.into() }
}

/// An entry with nothing but an address.
fn at(address: Address, offset: usize) -> HostEntry {
    HostEntry {
        address,
        weight: None,
        timeout: None,
        read_timeout: None,
        persistent: None,
        persistent_id: None,
        prefix: None,
        auth: None,
        database: None,
        retry_interval_ms: None,
        stream: BTreeMap::new(),
        ignored: Vec::new(),
        offset,
    }
}

fn pw(p: &str) -> Option<Auth> {
    Some(Auth::new(None, p.as_bytes().to_vec()))
}

fn user_pw(u: &str, p: &str) -> Option<Auth> {
    Some(Auth::new(
        Some(u.as_bytes().to_vec()),
        p.as_bytes().to_vec(),
    ))
}

fn stream(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn bytes(s: &[u8]) -> Option<Vec<u8>> {
    Some(s.to_vec())
}

#[test]
fn redis_save_paths() {
    let cases: Vec<(&str, Vec<HostEntry>)> = vec![
        ("tcp://127.0.0.1:6379", vec![at(tcp("127.0.0.1", 6379), 0)]),
        ("tcp://h", vec![at(tcp("h", 6379), 0)]),
        // phpredis dials 6379 for port 0.
        ("tcp://h:0", vec![at(tcp("h", 6379), 0)]),
        ("tcp://h:6379/", vec![at(tcp("h", 6379), 0)]),
        ("h:6380", vec![at(tcp("h", 6380), 0)]),
        (
            "redis-1.internal",
            vec![at(tcp("redis-1.internal", 6379), 0)],
        ),
        // A bare host takes parameters (no ':' to misread as a scheme).
        (
            "h?weight=3",
            vec![HostEntry {
                weight: Some(3),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        ("ssl://h", vec![at(tls("ssl", "h", 6379), 0)]),
        ("tlsv1.2://h:1", vec![at(tls("tlsv1.2", "h", 1), 0)]),
        (
            "tls://h:6380?stream[verify_peer]=0&stream[cafile]=/etc/ssl/ca.pem",
            vec![HostEntry {
                stream: stream(&[("cafile", "/etc/ssl/ca.pem"), ("verify_peer", "0")]),
                ..at(tls("tls", "h", 6380), 0)
            }],
        ),
        // With stream options, phpredis dials a bare host over ssl:// but keeps tcp:// as written.
        (
            "h?stream[verify_peer]=0",
            vec![HostEntry {
                stream: stream(&[("verify_peer", "0")]),
                ..at(tls("ssl", "h", 6379), 0)
            }],
        ),
        (
            "tcp://h?stream[verify_peer]=0",
            vec![HostEntry {
                stream: stream(&[("verify_peer", "0")]),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "unix:///run/redis.sock?prefix=U%3A",
            vec![HostEntry {
                prefix: bytes(b"U:"),
                ..at(unix("/run/redis.sock"), 0)
            }],
        ),
        ("unix:/run/redis.sock", vec![at(unix("/run/redis.sock"), 0)]),
        (
            "file:///run/redis.sock",
            vec![at(unix("/run/redis.sock"), 0)],
        ),
        (
            "/run/redis.sock?database=2",
            vec![HostEntry {
                database: Some(2),
                ..at(unix("/run/redis.sock"), 0)
            }],
        ),
        ("tcp://[::1]:6379", vec![at(tcp("::1", 6379), 0)]),
        (
            "tcp://[fe80::1%eth0]",
            vec![at(tcp("fe80::1%eth0", 6379), 0)],
        ),
        (
            "tls://[2001:db8::7]:6380",
            vec![at(tls("tls", "2001:db8::7", 6380), 0)],
        ),
        // PHP takes the last ':' as the port; phpredis brackets the rest itself.
        ("tcp://::1:6379", vec![at(tcp("::1", 6379), 0)]),
        ("::1", vec![at(tcp("::1", 6379), 0)]),
        // Entries split on C isspace() and ','; empty ones are skipped; offsets are bytes.
        (
            "tcp://a:1?weight=2, tcp://b:2?weight=3\ttcp://c:3,,,\n/tmp/x.sock \x0b\x0c\r",
            vec![
                HostEntry {
                    weight: Some(2),
                    ..at(tcp("a", 1), 0)
                },
                HostEntry {
                    weight: Some(3),
                    ..at(tcp("b", 2), 20)
                },
                at(tcp("c", 3), 39),
                at(unix("/tmp/x.sock"), 52),
            ],
        ),
        (
            "tcp://h:1?weight=5&timeout=2.5&read_timeout=0&persistent=YES&persistent_id=pid%201\
             &prefix=p%FF&auth=s%26cret&database=15&retry_interval=100&stream[verify_peer_name]=0\
             &unknown=1&db=2&3=x",
            vec![HostEntry {
                weight: Some(5),
                timeout: Some(2.5),
                read_timeout: Some(0.0),
                persistent: Some(true),
                persistent_id: bytes(b"pid 1"),
                prefix: bytes(b"p\xff"),
                auth: pw("s&cret"),
                database: Some(15),
                retry_interval_ms: Some(100),
                stream: stream(&[("verify_peer_name", "0")]),
                ignored: vec!["unknown".into(), "db".into(), "3".into()],
                ..at(tcp("h", 1), 0)
            }],
        ),
        // Names as PHP normalises them; later duplicates win; '+' and leading spaces.
        (
            "tcp://h?read.timeout=3&+weight=2&prefix=a&prefix=b+c&prefix%5B=x",
            vec![HostEntry {
                read_timeout: Some(3.0),
                weight: Some(2),
                prefix: bytes(b"b c"),
                ignored: vec!["prefix_".into()],
                ..at(tcp("h", 6379), 0)
            }],
        ),
        // PHP numbers: whitespace around them ("+" decodes to a space), exponents, "-0".
        (
            "tcp://h?weight=+7+&timeout=5e-1&read_timeout=-0",
            vec![HostEntry {
                weight: Some(7),
                timeout: Some(0.5),
                read_timeout: Some(0.0),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?persistent=0",
            vec![HostEntry {
                persistent: Some(false),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?persistent=",
            vec![HostEntry {
                persistent: Some(false),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?persistent=True",
            vec![HostEntry {
                persistent: Some(true),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        // An empty prefix is allowed: keys are the bare ids.
        (
            "tcp://h?prefix=",
            vec![HostEntry {
                prefix: bytes(b""),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        // The fragment is glued back onto the query: '#' in a password works.
        (
            "tcp://h?auth=p#w&x=1",
            vec![HostEntry {
                auth: pw("p#w"),
                ignored: vec!["x".into()],
                ..at(tcp("h", 6379), 0)
            }],
        ),
        // A fragment without a query, or an empty query: no parameters.
        ("tcp://h:1#auth=x", vec![at(tcp("h", 1), 0)]),
        ("tcp://h:1?", vec![at(tcp("h", 1), 0)]),
        // PHP turns control bytes of the query into '_'.
        (
            "tcp://h?prefix=a\x01b",
            vec![HostEntry {
                prefix: bytes(b"a_b"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        // Every auth form phpredis reads.
        (
            "tcp://h?auth=pw",
            vec![HostEntry {
                auth: pw("pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[]=pw",
            vec![HostEntry {
                auth: pw("pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[0]=pw",
            vec![HostEntry {
                auth: pw("pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[pass]=pw",
            vec![HostEntry {
                auth: pw("pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[]=u&auth[]=p%23w",
            vec![HostEntry {
                auth: user_pw("u", "p#w"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[user]=u&auth[pass]=pw",
            vec![HostEntry {
                auth: user_pw("u", "pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[pass]=pw&auth[user]=u",
            vec![HostEntry {
                auth: user_pw("u", "pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[0]=u&auth[pass]=pw",
            vec![HostEntry {
                auth: user_pw("u", "pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "tcp://h?auth[user]=u&auth[1]=pw",
            vec![HostEntry {
                auth: user_pw("u", "pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        // Standard redis:// and rediss:// URLs.
        ("redis://h", vec![at(tcp("h", 6379), 0)]),
        ("redis://h/", vec![at(tcp("h", 6379), 0)]),
        (
            "redis://:p%40ss@h:6380/2",
            vec![HostEntry {
                auth: pw("p@ss"),
                database: Some(2),
                ..at(tcp("h", 6380), 0)
            }],
        ),
        (
            "redis://u+x:p+w@h/0?weight=2&prefix=x%3A",
            vec![HostEntry {
                auth: user_pw("u+x", "p+w"),
                database: Some(0),
                weight: Some(2),
                prefix: bytes(b"x:"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
        (
            "rediss://u:pw@[::1]:6380?stream[verify_peer]=0",
            vec![HostEntry {
                auth: user_pw("u", "pw"),
                stream: stream(&[("verify_peer", "0")]),
                ..at(tls("rediss", "::1", 6380), 0)
            }],
        ),
        (
            "redis://h?database=4&auth=pw",
            vec![HostEntry {
                database: Some(4),
                auth: pw("pw"),
                ..at(tcp("h", 6379), 0)
            }],
        ),
    ];
    for (input, want) in cases {
        match SavePath::parse(input) {
            Ok(got) => assert_eq!(got.hosts, want, "{input:?}"),
            Err(e) => panic!("{input:?}: {e}"),
        }
    }
}

#[test]
fn redis_save_path_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "invalid save_path entry  at offset 0: no hosts: the save_path is empty"),
        (" ,\t, ", "invalid save_path entry  ,\t,  at offset 0: no hosts: the save_path is empty"),
        (
            "tcp://h:99999",
            "invalid save_path entry tcp://h:99999 at offset 0: not a valid URL (PHP's parse_url(), which phpredis uses, rejects it: check the host and that the port is at most 65535)",
        ),
        (
            "tcp://a:1, tcp://:6379",
            "invalid save_path entry tcp://:6379 at offset 11: not a valid URL (PHP's parse_url(), which phpredis uses, rejects it: check the host and that the port is at most 65535)",
        ),
        (
            "h:6379?weight=2",
            "invalid save_path entry h:6379?weight=2 at offset 0: 'h:6379' needs the tcp:// scheme when parameters follow: phpredis reads 'h' as a URL scheme here; write tcp://h:6379?...",
        ),
        (
            "TCP://h",
            "invalid save_path entry TCP://h at offset 0: unsupported scheme 'TCP': use tcp://, tls:// (or ssl://, tlsv1.2://, tlsv1.3://), unix:///path, redis:// or rediss://",
        ),
        (
            "udp://h:1",
            "invalid save_path entry udp://h:1 at offset 0: unsupported scheme 'udp': use tcp://, tls:// (or ssl://, tlsv1.2://, tlsv1.3://), unix:///path, redis:// or rediss://",
        ),
        (
            "h:abc",
            "invalid save_path entry h:abc at offset 0: unsupported scheme 'h': use tcp://, tls:// (or ssl://, tlsv1.2://, tlsv1.3://), unix:///path, redis:// or rediss://",
        ),
        (
            "unix:relative.sock",
            "invalid save_path entry unix:relative.sock at offset 0: a unix socket needs an absolute path, got 'relative.sock' (phpredis would dial it as a TCP host name)",
        ),
        (
            "unix://tmp/x.sock",
            "invalid save_path entry unix://tmp/x.sock at offset 0: a unix socket needs an absolute path: unix:///path/to/redis.sock",
        ),
        (
            "tcp://user:s3cret@h",
            "invalid save_path entry tcp://user:***@h at offset 0: phpredis ignores user and password in the URL; use ?auth=PASSWORD or ?auth[]=USER&auth[]=PASSWORD (or a redis:// URL)",
        ),
        (
            "tcp://h:6379/2",
            "invalid save_path entry tcp://h:6379/2 at offset 0: phpredis ignores the path '/2' after the host; use ?database=N to choose a database",
        ),
        ("?weight=1", "invalid save_path entry ?weight=1 at offset 0: no host and no socket path"),
        ("a/b", "invalid save_path entry a/b at offset 0: invalid host 'a/b'"),
        (
            "[::1]:6379",
            "invalid save_path entry [::1]:6379 at offset 0: invalid host '[::1]:6379': an IPv6 host with a port needs the scheme, as in tcp://[::1]:6379",
        ),
        ("tcp://[::g]", "invalid save_path entry tcp://[::g] at offset 0: invalid IPv6 address '[::g]'"),
        (
            "tcp://a:b:6379",
            "invalid save_path entry tcp://a:b:6379 at offset 0: invalid host 'a:b': write IPv6 addresses in brackets, as in tcp://[::1]:6379",
        ),
        // phpredis measured: "timeout=1,5" makes a second host "5&prefix=T:".
        (
            "tcp://h:1?timeout=1,5&prefix=T:",
            "invalid save_path entry 5&prefix=T: at offset 20: invalid host '5&prefix=T:': a ',' or whitespace ends a save_path entry, even inside a parameter value (write %2C or %20)",
        ),
        (
            "tcp://h:1?timeout=1,5",
            "invalid save_path entry 5 at offset 20: invalid host '5': a ',' or whitespace ends a save_path entry, even inside a parameter value (write %2C or %20)",
        ),
        ("tcp://h?weight=0", "invalid save_path entry tcp://h?weight=0 at offset 0: weight must be a positive integer, got '0'"),
        ("tcp://h?weight=-1", "invalid save_path entry tcp://h?weight=-1 at offset 0: weight must be a positive integer, got '-1'"),
        // phpredis reads "2abc" as 2 and "abc" as 0 (measured), "1.5" as 1.
        ("tcp://h?weight=2abc", "invalid save_path entry tcp://h?weight=2abc at offset 0: weight must be a positive integer, got '2abc'"),
        ("tcp://h?weight=1.5", "invalid save_path entry tcp://h?weight=1.5 at offset 0: weight must be a positive integer, got '1.5'"),
        ("tcp://h?weight=", "invalid save_path entry tcp://h?weight= at offset 0: weight must be a positive integer, got ''"),
        (
            "tcp://h?weight=2147483648",
            "invalid save_path entry tcp://h?weight=2147483648 at offset 0: weight must be at most 2147483647, got '2147483648'",
        ),
        (
            "tcp://h?weight[]=1",
            "invalid save_path entry tcp://h?weight[]=1 at offset 0: weight must be a single value, not an array (weight[...])",
        ),
        ("tcp://h?timeout=0", "invalid save_path entry tcp://h?timeout=0 at offset 0: timeout must be a positive number of seconds, got '0'"),
        ("tcp://h?timeout=-1", "invalid save_path entry tcp://h?timeout=-1 at offset 0: timeout must be a positive number of seconds, got '-1'"),
        ("tcp://h?timeout=abc", "invalid save_path entry tcp://h?timeout=abc at offset 0: timeout must be a number of seconds, got 'abc'"),
        (
            "tcp://h?timeout=1e10",
            "invalid save_path entry tcp://h?timeout=1e10 at offset 0: timeout must be at most 2147483647 seconds, got '1e10'",
        ),
        (
            "tcp://h?timeout=1e999",
            "invalid save_path entry tcp://h?timeout=1e999 at offset 0: timeout must be at most 2147483647 seconds, got '1e999'",
        ),
        (
            "tcp://h?timeout=1e-9",
            "invalid save_path entry tcp://h?timeout=1e-9 at offset 0: timeout must be at least 0.000001 seconds (one microsecond), got '1e-9'",
        ),
        ("tcp://h?read_timeout=-1", "invalid save_path entry tcp://h?read_timeout=-1 at offset 0: read_timeout must not be negative, got '-1'"),
        (
            "tcp://h?database=-1",
            "invalid save_path entry tcp://h?database=-1 at offset 0: database must be an integer from 0 to 2147483647, got '-1'",
        ),
        (
            "tcp://h?database=abc",
            "invalid save_path entry tcp://h?database=abc at offset 0: database must be an integer from 0 to 2147483647, got 'abc'",
        ),
        (
            "tcp://h?database=2147483648",
            "invalid save_path entry tcp://h?database=2147483648 at offset 0: database must be an integer from 0 to 2147483647, got '2147483648'",
        ),
        (
            "tcp://h?retry_interval=-5",
            "invalid save_path entry tcp://h?retry_interval=-5 at offset 0: retry_interval must be a whole number of milliseconds from 0 to 2147483647, got '-5'",
        ),
        (
            "tcp://h?persistent=on",
            "invalid save_path entry tcp://h?persistent=on at offset 0: persistent must be 1, true, yes, 0, false or no, got 'on' (phpredis reads anything but 1, true and yes as false)",
        ),
        (
            "tcp://h?prefix[]=x",
            "invalid save_path entry tcp://h?prefix[]=x at offset 0: prefix must be a single value, not an array (prefix[...])",
        ),
        (
            "tcp://h?auth=",
            "invalid save_path entry tcp://h?auth=*** at offset 0: auth is empty (phpredis would send AUTH \"\", which a server without a password refuses); remove it or give the password",
        ),
        (
            "tcp://h?auth[user]=u",
            "invalid save_path entry tcp://h?auth[user]=*** at offset 0: auth with one element must be auth[]=PASSWORD or auth[pass]=PASSWORD, got auth[user]",
        ),
        (
            "tcp://h?auth[username]=u&auth[pass]=s3cret",
            "invalid save_path entry tcp://h?auth[username]=***&auth[pass]=*** at offset 0: auth with two elements needs the user in auth[user] or the first auth[]",
        ),
        (
            "tcp://h?auth[user]=u&auth[0]=s3cret",
            "invalid save_path entry tcp://h?auth[user]=***&auth[0]=*** at offset 0: auth with two elements needs the password in auth[pass] or the second auth[]",
        ),
        (
            "tcp://h?auth[]=a&auth[]=b&auth[]=c",
            "invalid save_path entry tcp://h?auth[]=***&auth[]=***&auth[]=*** at offset 0: auth as an array must have one element (the password) or two (user and password), got 3",
        ),
        (
            "tcp://h?auth[]=u&auth[]=",
            "invalid save_path entry tcp://h?auth[]=***&auth[]=*** at offset 0: auth password is empty (phpredis would send it, and a server refuses an empty password)",
        ),
        ("tcp://h?auth[]=&auth[]=pw", "invalid save_path entry tcp://h?auth[]=***&auth[]=*** at offset 0: auth user is empty"),
        (
            "tcp://h?auth[0][]=x",
            "invalid save_path entry tcp://h?auth[0][]=*** at offset 0: auth[0] must be a single value, not an array",
        ),
        (
            "tcp://h?stream=x",
            "invalid save_path entry tcp://h?stream=x at offset 0: stream must be given as stream[option]=value, e.g. stream[verify_peer]=0",
        ),
        (
            "tcp://h?stream[]=x",
            "invalid save_path entry tcp://h?stream[]=x at offset 0: stream options need a name, as in stream[verify_peer]=0; got stream[0]",
        ),
        (
            "tcp://h?stream[peer_fingerprint][sha256]=x",
            "invalid save_path entry tcp://h?stream[peer_fingerprint][sha256]=x at offset 0: stream[peer_fingerprint] must be a single value, not an array",
        ),
        ("tcp://h?stream[cafile]=%FF", "invalid save_path entry tcp://h?stream[cafile]=%FF at offset 0: stream[cafile] is not valid UTF-8"),
        (
            "redis://u@h",
            "invalid save_path entry redis://***@h at offset 0: the URL has a user but no password; write redis://USER:PASSWORD@host (or redis://:PASSWORD@host)",
        ),
        ("redis://u:@h", "invalid save_path entry redis://u:***@h at offset 0: the password in the URL is empty"),
        ("redis://h/x", "invalid save_path entry redis://h/x at offset 0: the path of a redis:// URL is the database number, got '/x'"),
        (
            "redis://:pw@h?auth=x",
            "invalid save_path entry redis://:***@h?auth=*** at offset 0: auth is given twice: in the URL and as ?auth=",
        ),
        (
            "redis://h/1?database=2",
            "invalid save_path entry redis://h/1?database=2 at offset 0: database is given twice: in the URL path and as ?database=",
        ),
        (
            "tcp://h\0:1",
            "invalid save_path entry tcp://h\\0:1 at offset 7: the save_path contains a NUL byte at offset 7",
        ),
    ];
    for (input, want) in cases {
        match SavePath::parse(input) {
            Ok(got) => panic!("{input:?} was accepted: {got:?}"),
            Err(e) => assert_eq!(e.to_string(), *want, "{input:?}"),
        }
    }
}

#[test]
fn php_limits_are_errors() {
    let many = format!("tcp://h?{}", "x=1&".repeat(1001));
    assert_eq!(
        SavePath::parse(&many).map_err(|e| match e {
            Error::SavePath { reason, offset, .. } => (offset, reason),
            other => (usize::MAX, other.to_string()),
        }),
        Err((
            0,
            "more than 1000 parameters (PHP's max_input_vars); phpredis would ignore the rest"
                .to_string()
        ))
    );
    let deep = format!("tcp://h?auth{}=x", "[a]".repeat(65));
    assert_eq!(
        SavePath::parse(&deep).map_err(|e| e.to_string().rsplit(": ").next().map(String::from)),
        Err(Some(
            "a parameter nests more than 64 levels of [...] (PHP drops it)".to_string()
        ))
    );
}

#[test]
fn effective_values_and_our_defaults() {
    let sp = SavePath::parse("tcp://a, tcp://b?timeout=0.25&read_timeout=1.5&weight=4&prefix=&database=9&retry_interval=250&persistent=1")
        .expect("parses");
    let (a, b) = (&sp.hosts[0], &sp.hosts[1]);
    assert_eq!(a.effective_weight(), 1);
    assert_eq!(a.connect_timeout(), Duration::from_secs(2));
    assert_eq!(a.effective_read_timeout(), Duration::from_secs(5));
    assert!(!a.effective_persistent());
    assert_eq!(a.effective_prefix(), b"PHPREDIS_SESSION:");
    assert_eq!(a.effective_database(), 0);
    assert_eq!(a.effective_retry_interval(), Duration::ZERO);
    assert_eq!(b.effective_weight(), 4);
    assert_eq!(b.connect_timeout(), Duration::from_millis(250));
    assert_eq!(b.effective_read_timeout(), Duration::from_millis(1500));
    assert!(b.effective_persistent());
    assert_eq!(b.effective_prefix(), b"");
    assert_eq!(b.effective_database(), 9);
    assert_eq!(b.effective_retry_interval(), Duration::from_millis(250));
    // read_timeout=0 is phpredis's "not set": our default applies.
    let z = SavePath::parse("tcp://h?read_timeout=0").expect("parses");
    assert_eq!(z.hosts[0].effective_read_timeout(), Duration::from_secs(5));
}

#[test]
fn cluster_save_paths() {
    let base = ClusterSavePath {
        seeds: vec![tcp("10.0.0.1", 7000)],
        timeout: None,
        read_timeout: None,
        failover: Failover::None,
        persistent: None,
        auth: None,
        prefix: None,
        stream: BTreeMap::new(),
        ignored: Vec::new(),
    };
    let cases: Vec<(&str, ClusterSavePath)> = vec![
        ("seed[]=10.0.0.1:7000", base.clone()),
        (
            "seed[]=10.0.0.1:7000&seed[]=10.0.0.2:7001&seed[]=10.0.0.1:7000",
            ClusterSavePath {
                seeds: vec![tcp("10.0.0.1", 7000), tcp("10.0.0.2", 7001)],
                ..base.clone()
            },
        ),
        (
            "seed[a]=tls://h:1&seed[b]=ssl://h:2&seed[c]=tcp://h:3&seed[]=[::1]:4&seed[]=::1:5",
            ClusterSavePath {
                seeds: vec![
                    tls("tls", "h", 1),
                    tls("ssl", "h", 2),
                    tcp("h", 3),
                    tcp("::1", 4),
                    tcp("::1", 5),
                ],
                ..base.clone()
            },
        ),
        // With stream options phpredis dials seeds without a scheme over ssl://.
        (
            "seed[]=h:1&seed[]=tcp://h:2&stream[verify_peer]=0",
            ClusterSavePath {
                seeds: vec![tls("ssl", "h", 1), tcp("h", 2)],
                stream: stream(&[("verify_peer", "0")]),
                ..base.clone()
            },
        ),
        (
            "seed[]=10.0.0.1:7000&timeout=0&read_timeout=1.5&failover=DISTRIBUTE&persistent=1\
             &auth[]=u&auth[]=p&prefix=&database=3&weight=2",
            ClusterSavePath {
                timeout: Some(0.0),
                read_timeout: Some(1.5),
                failover: Failover::Distribute,
                persistent: Some(true),
                auth: user_pw("u", "p"),
                prefix: bytes(b""),
                ignored: vec!["database".into(), "weight".into()],
                ..base.clone()
            },
        ),
        (
            "failover=error&seed[]=10.0.0.1:7000&auth=p%26w",
            ClusterSavePath {
                failover: Failover::Error,
                auth: pw("p&w"),
                ..base.clone()
            },
        ),
        (
            "seed[]=10.0.0.1:7000&failover=none",
            ClusterSavePath {
                failover: Failover::None,
                ..base.clone()
            },
        ),
    ];
    for (input, want) in cases {
        match ClusterSavePath::parse(input) {
            Ok(got) => assert_eq!(got, want, "{input:?}"),
            Err(e) => panic!("{input:?}: {e}"),
        }
    }

    let sp = ClusterSavePath::parse("seed[]=h:1&timeout=0").expect("parses");
    assert_eq!(sp.connect_timeout(), Duration::from_secs(2));
    assert_eq!(sp.effective_read_timeout(), Duration::from_secs(5));
    assert_eq!(sp.effective_prefix(), b"PHPREDIS_CLUSTER_SESSION:");
    assert!(!sp.effective_persistent());
    assert!(!sp.uses_tls());
    let sp =
        ClusterSavePath::parse("seed[]=h:1&timeout=3&read_timeout=0.5&prefix=x").expect("parses");
    assert_eq!(sp.connect_timeout(), Duration::from_secs(3));
    assert_eq!(sp.effective_read_timeout(), Duration::from_millis(500));
    assert_eq!(sp.effective_prefix(), b"x");
    assert!(ClusterSavePath::parse("seed[]=tls://h:1")
        .expect("parses")
        .uses_tls());
}

#[test]
fn cluster_save_path_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "",
            "invalid save_path entry  at offset 0: no seeds: give the cluster's nodes as seed[]=host:port&seed[]=host:port",
        ),
        (
            "timeout=2&auth=s3cret",
            "invalid save_path entry timeout=2&auth=*** at offset 0: no seeds: give the cluster's nodes as seed[]=host:port&seed[]=host:port",
        ),
        (
            "timeout=2&seed=h:1",
            "invalid save_path entry seed=h:1 at offset 10: seeds must be given as seed[]=host:port, one seed[] per node",
        ),
        (
            "seed[]=h:1&seed[]=h",
            "invalid save_path entry seed[]=h at offset 11: seed 'h' is not in host:port format (phpredis ignores it with a warning)",
        ),
        ("seed[]=h:0", "invalid save_path entry seed[]=h:0 at offset 0: seed 'h:0' has an invalid port '0' (want 1 to 65535)"),
        ("seed[]=h:", "invalid save_path entry seed[]=h: at offset 0: seed 'h:' has an invalid port '' (want 1 to 65535)"),
        ("seed[]=h:%2B1", "invalid save_path entry seed[]=h:%2B1 at offset 0: seed 'h:+1' has an invalid port '+1' (want 1 to 65535)"),
        (
            "seed[]=h:65536",
            "invalid save_path entry seed[]=h:65536 at offset 0: seed 'h:65536' has an invalid port '65536' (want 1 to 65535)",
        ),
        ("seed[][]=h:1", "invalid save_path entry seed[][]=h:1 at offset 0: seed[0] must be a single host:port, not an array"),
        (
            "seed[]=udp://h:1",
            "invalid save_path entry seed[]=udp://h:1 at offset 0: seed 'udp://h:1' has an unsupported scheme 'udp': use tcp://, tls:// or ssl://",
        ),
        ("seed[]=:1", "invalid save_path entry seed[]=:1 at offset 0: seed ':1': the host is empty"),
        ("seed[]=%FF:1", "invalid save_path entry seed[]=%FF:1 at offset 0: seed '\u{fffd}:1' is not valid UTF-8"),
        ("seed[]=h:1&timeout=-1", "invalid save_path entry timeout=-1 at offset 11: timeout must not be negative, got '-1'"),
        (
            "seed[]=h:1&read_timeout=3000000000",
            "invalid save_path entry read_timeout=3000000000 at offset 11: read_timeout must be at most 2147483647 seconds, got '3000000000'",
        ),
        (
            "seed[]=h:1&failover=distribute_slaves",
            "invalid save_path entry failover=distribute_slaves at offset 11: failover must be none, error or distribute, got 'distribute_slaves' (phpredis's session handler reads anything else as none)",
        ),
        (
            "seed[]=h:1&auth=",
            "invalid save_path entry auth=*** at offset 11: auth is empty (phpredis would send AUTH \"\", which a server without a password refuses); remove it or give the password",
        ),
        (
            "seed[]=h:1&persistent=on",
            "invalid save_path entry persistent=on at offset 11: persistent must be 1, true, yes, 0, false or no, got 'on' (phpredis reads anything but 1, true and yes as false)",
        ),
        ("seed[]=h:1&stream=x", "invalid save_path entry stream=x at offset 11: stream must be given as stream[option]=value, e.g. stream[verify_peer]=0"),
        (
            "seed[]=h:1&x\0",
            "invalid save_path entry seed[]=h:1&x\\0 at offset 12: the save_path contains a NUL byte at offset 12",
        ),
    ];
    for (input, want) in cases {
        match ClusterSavePath::parse(input) {
            Ok(got) => panic!("{input:?} was accepted: {got:?}"),
            Err(e) => assert_eq!(e.to_string(), *want, "{input:?}"),
        }
    }
}

#[test]
fn addresses_print_as_phpredis_dials_them() {
    let cases = [
        (tcp("h", 6379), "tcp://h:6379"),
        (tcp("::1", 6379), "tcp://[::1]:6379"),
        (tls("tls", "2001:db8::7", 6380), "tls://[2001:db8::7]:6380"),
        (tls("rediss", "h", 1), "rediss://h:1"),
        (unix("/run/redis.sock"), "unix:///run/redis.sock"),
    ];
    for (a, want) in cases {
        assert_eq!(a.to_string(), want);
    }
    assert_eq!(tcp("h", 1).host(), Some("h"));
    assert_eq!(tcp("h", 1).port(), Some(1));
    assert_eq!(unix("/x").host(), None);
    assert_eq!(unix("/x").port(), None);
    assert!(!unix("/x").is_tls());
}

#[test]
fn json_is_readable_and_hides_passwords() {
    let sp = SavePath::parse(
        "tcp://h:1?prefix=%FF&auth[]=bob&auth[]=s3cret&timeout=1.5, unix:///s?prefix=ok&x=1",
    )
    .expect("parses");
    assert_eq!(
        serde_json::to_string(&sp).expect("serializes"),
        concat!(
            r#"{"hosts":[{"address":{"type":"tcp","host":"h","port":1},"weight":null,"timeout":1.5,"#,
            r#""read_timeout":null,"persistent":null,"persistent_id":null,"prefix":{"$base64":"/w=="},"#,
            r#""auth":{"user":"bob","password":"<redacted: 6 bytes>"},"database":null,"#,
            r#""retry_interval_ms":null,"stream":{},"offset":0},"#,
            r#"{"address":{"type":"unix","path":"/s"},"weight":null,"timeout":null,"read_timeout":null,"#,
            r#""persistent":null,"persistent_id":null,"prefix":"ok","auth":null,"database":null,"#,
            r#""retry_interval_ms":null,"stream":{},"ignored":["x"],"offset":59}]}"#
        )
    );
    let cluster =
        ClusterSavePath::parse("seed[]=tls://h:1&failover=distribute&auth=pw").expect("parses");
    assert_eq!(
        serde_json::to_string(&cluster).expect("serializes"),
        concat!(
            r#"{"seeds":[{"type":"tls","scheme":"tls","host":"h","port":1}],"timeout":null,"#,
            r#""read_timeout":null,"failover":"distribute","persistent":null,"#,
            r#""auth":{"user":null,"password":"<redacted: 2 bytes>"},"prefix":null,"stream":{}}"#
        )
    );
    let debug = format!("{:?}", sp.hosts[0].auth);
    assert_eq!(
        debug,
        r#"Some(Auth { user: Some("bob"), password: <redacted: 6 bytes> })"#
    );
}

// Through `store::Topology`, which picks the Sentinel or the phpredis form.
#[cfg(feature = "store")]
#[test]
fn errors_never_show_passwords() {
    let inputs = [
        "tcp://h?auth=s3cret&weight=0",
        "tcp://h?auth[]=u&auth[]=s3cret&timeout=x",
        "tcp://u:s3cret@h",
        "redis://u:s3cret@h/x",
        "tcp://h?%61uth=s3cret&weight=0",
    ];
    for input in inputs {
        let e = SavePath::parse(input).expect_err("refused").to_string();
        assert!(!e.contains("s3cret"), "{e}");
    }
    let e = ClusterSavePath::parse("auth=s3cret&seed[]=h")
        .expect_err("refused")
        .to_string();
    assert!(!e.contains("s3cret"), "{e}");
    // A seed with a URL's user:password@ (not a cluster seed form) used to be echoed whole.
    let e = ClusterSavePath::parse("seed[]=u:s3cret@h:1&timeout=1")
        .expect_err("refused")
        .to_string();
    assert_eq!(
        e,
        "invalid save_path entry seed[]=***@h:1 at offset 0: seed '***@h:1' has a user or password: give auth= in the save_path"
    );
    // Exact texts for the forms that used to print the password.
    let cases: &[(&str, &str)] = &[
        // A lone user info is as often the password (redis://PASSWORD@host) as a user.
        (
            "redis://s3cret@h",
            "invalid save_path entry redis://***@h at offset 0: the URL has a user but no password; write redis://USER:PASSWORD@host (or redis://:PASSWORD@host)",
        ),
        (
            "tcp://s3cret@h:1",
            "invalid save_path entry tcp://***@h:1 at offset 0: phpredis ignores user and password in the URL; use ?auth=PASSWORD or ?auth[]=USER&auth[]=PASSWORD (or a redis:// URL)",
        ),
        (
            "sentinel://h:1/m?auth=s3cret&sentinel_auth=s3cret&timeout=x",
            "invalid save_path entry sentinel://h:1/m?auth=***&sentinel_auth=***&timeout=x at offset 0: timeout must be a number of seconds, got 'x'",
        ),
        (
            "  sentinel://h:1/m?auth[]=u&auth[]=s3cret&Sentinel%5Fauth=s3cret&database=x",
            "invalid save_path entry sentinel://h:1/m?auth[]=***&auth[]=***&Sentinel%5Fauth=***&database=x at offset 2: database must be an integer from 0 to 2147483647, got 'x'",
        ),
        (
            "sentinel://h/m?sentinel_auth=s3cret",
            "invalid save_path entry sentinel://h/m?sentinel_auth=*** at offset 0: sentinel 'h' is not HOST:PORT",
        ),
        // A URL's user:password@ is not part of the sentinel form: refused without echoing it
        // (the address text used to be shown whole, twice).
        (
            "sentinel://:s3cret@h:1/m",
            "invalid save_path entry sentinel://:***@h:1/m at offset 0: sentinel '***@h:1' has a user or password: give sentinel_auth= (and auth= for the master) in the query",
        ),
        (
            "sentinel://h0:1,u:s3cret@h:1/m",
            "invalid save_path entry sentinel://h0:***@h:1/m at offset 0: sentinel '***@h:1' has a user or password: give sentinel_auth= (and auth= for the master) in the query",
        ),
        (
            "sentinel://u:s3cret@h/m",
            "invalid save_path entry sentinel://u:***@h/m at offset 0: sentinel '***@h' has a user or password: give sentinel_auth= (and auth= for the master) in the query",
        ),
        (
            "tcp://h?xauth=s3cret&weight=0",
            "invalid save_path entry tcp://h?xauth=***&weight=0 at offset 0: weight must be a positive integer, got '0'",
        ),
    ];
    for (input, want) in cases {
        let got = crate::store::Topology::from_save_path(input)
            .err()
            .map(|e| e.to_string());
        assert_eq!(got.as_deref(), Some(*want), "{input:?}");
    }
    // The NUL error shows the whole save_path: every entry is redacted.
    let e = SavePath::parse("tcp://a, tcp://u:s3cret@b?auth=s3cret\0")
        .expect_err("refused")
        .to_string();
    assert_eq!(
        e,
        "invalid save_path entry tcp://a, tcp://u:***@b?auth=*** at offset 37: the save_path contains a NUL byte at offset 37"
    );
}

/// Multibyte characters next to every place the parsers cut the input (scheme, port, host,
/// query, pair, seed, sentinel address): each gives an error naming the entry, never a panic.
/// `tcp://h:12é` used to panic in the Sentinel check, which cut the save_path at byte 11.
// Through `store::Topology`, which picks the Sentinel or the phpredis form.
#[cfg(feature = "store")]
#[test]
fn multibyte_input_gives_errors_not_panics() {
    // None: accepted (PHP's parse_url() reads the port of "12é" as 12, as strtol() does).
    let hosts: &[(&str, Option<&str>)] = &[
        ("tcp://h:12é", None),
        ("sentinel:/é", Some("invalid save_path entry sentinel:/é at offset 0: unsupported scheme 'sentinel': use tcp://, tls:// (or ssl://, tlsv1.2://, tlsv1.3://), unix:///path, redis:// or rediss://")),
        ("sentinelé://h:1/m", Some("invalid save_path entry sentinelé://h:1/m at offset 0: invalid host 'sentinelé://h:1/m'")),
        ("é", Some("invalid save_path entry é at offset 0: invalid host 'é'")),
        ("tcp://é:1", Some("invalid save_path entry tcp://é:1 at offset 0: invalid host 'é'")),
        ("tcp://h:1?éé=1", None),
        ("tcp://h:1?weight=é", Some("invalid save_path entry tcp://h:1?weight=é at offset 0: weight must be a positive integer, got 'é'")),
        ("tcp://é@h", Some("invalid save_path entry tcp://***@h at offset 0: phpredis ignores user and password in the URL; use ?auth=PASSWORD or ?auth[]=USER&auth[]=PASSWORD (or a redis:// URL)")),
        ("tcp://u:é@h", Some("invalid save_path entry tcp://u:***@h at offset 0: phpredis ignores user and password in the URL; use ?auth=PASSWORD or ?auth[]=USER&auth[]=PASSWORD (or a redis:// URL)")),
        ("redis://:é€@h:1/é", Some("invalid save_path entry redis://:***@h:1/é at offset 0: the path of a redis:// URL is the database number, got '/é'")),
        ("unix:é", Some("invalid save_path entry unix:é at offset 0: a unix socket needs an absolute path, got 'é' (phpredis would dial it as a TCP host name)")),
        ("sentinel://h:1é/m", Some("invalid save_path entry sentinel://h:1é/m at offset 0: sentinel 'h:1é' has an invalid port '1é' (want 1 to 65535)")),
        ("sentinel://é:1/m", Some("invalid save_path entry sentinel://é:1/m at offset 0: sentinel 'é:1': invalid host 'é'")),
        ("sentinel://h:1/m?timeout=é", Some("invalid save_path entry sentinel://h:1/m?timeout=é at offset 0: timeout must be a number of seconds, got 'é'")),
        ("sentinel://h:1/m?auth=é&weight=€", None),
    ];
    for (input, want) in hosts {
        let got = crate::store::Topology::from_save_path(input)
            .err()
            .map(|e| e.to_string());
        assert_eq!(got.as_deref(), *want, "{input:?}");
    }
    let cluster: &[(&str, Option<&str>)] = &[
        ("seed[]=h:12é", Some("invalid save_path entry seed[]=h:12é at offset 0: seed 'h:12é' has an invalid port '12é' (want 1 to 65535)")),
        ("seed[]=é:1", Some("invalid save_path entry seed[]=é:1 at offset 0: seed 'é:1': invalid host 'é'")),
        ("seed[]=h:1&timeout=é", Some("invalid save_path entry timeout=é at offset 11: timeout must be a number of seconds, got 'é'")),
        ("é=1&seed[]=h:€", Some("invalid save_path entry seed[]=h:€ at offset 5: seed 'h:€' has an invalid port '€' (want 1 to 65535)")),
    ];
    for (input, want) in cluster {
        let got = ClusterSavePath::parse(input).err().map(|e| e.to_string());
        assert_eq!(got.as_deref(), *want, "{input:?}");
    }
}

/// Random strings built from the pieces the parsers look for and multibyte characters: no input
/// makes a parser or a redaction panic.
#[test]
fn random_utf8_never_panics() {
    const PIECES: &[&str] = &[
        "tcp://",
        "tls://",
        "redis://",
        "rediss://",
        "unix:",
        "unix:///",
        "sentinel://",
        "SENTINEL://",
        "seed[]=",
        "auth=",
        "auth[]=",
        "sentinel_auth=",
        "timeout=",
        "database=",
        "stream[",
        "]",
        "[",
        ":",
        "/",
        "?",
        "#",
        "@",
        "&",
        "=",
        ",",
        " ",
        "%",
        "%FF",
        "%2",
        "1",
        "65535",
        "99999",
        "h",
        "::1",
        "é",
        "€",
        "😀",
        "\u{85}",
        "\u{a0}",
        "\t",
        "\0",
    ];
    let mut rng = crate::test_rng::Rng(0x5eed_5a7e_9a70_0001);
    for _ in 0..20_000 {
        let n = 1 + rng.below(12);
        let input: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        let _ = SavePath::parse(&input);
        let _ = ClusterSavePath::parse(&input);
        #[cfg(feature = "store")]
        let _ = crate::store::Topology::from_save_path(&input);
        #[cfg(feature = "store")]
        let _ = crate::store::Topology::from_cluster_save_path(&input);
        let _ = redact_save_path(&input);
        let _ = redact_query(&input);
    }
}

#[test]
fn unknown_parameters_are_named_with_the_parameter_meant() {
    let shown = |sp: &str, cluster: bool| -> Vec<String> {
        unknown_parameters(sp, cluster)
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        shown("tcp://h:1?databse=1&timout=2, tcp://[::1]?db=2&Weight=3&auth=s3cret", false),
        [
            "unknown save_path parameter 'databse' in tcp://h:1 is ignored; did you mean 'database'?",
            "unknown save_path parameter 'timout' in tcp://h:1 is ignored; did you mean 'timeout'?",
            "unknown save_path parameter 'db' in tcp://[::1]:6379 is ignored",
            "unknown save_path parameter 'Weight' in tcp://[::1]:6379 is ignored; did you mean 'weight'?",
        ]
    );
    assert_eq!(
        shown("seed[]=h:1&prefx=a&database=2", true),
        [
            "unknown save_path parameter 'prefx' in the rediscluster save_path is ignored; did you mean 'prefix'?",
            "unknown save_path parameter 'database' in the rediscluster save_path is ignored",
        ]
    );
    assert_eq!(
        shown("sentinel://h:1/m?sentinel_aut=x&read_timeot=1", false),
        [
            "unknown save_path parameter 'sentinel_aut' in sentinel://h:1/m is ignored; did you mean 'sentinel_auth'?",
            "unknown save_path parameter 'read_timeot' in sentinel://h:1/m is ignored; did you mean 'read_timeout'?",
        ]
    );
    assert!(
        shown("tcp://h:1?weight=0&databse=1", false).is_empty(),
        "a bad save_path reports its error instead"
    );
    assert!(shown("tcp://h:1?weight=2&database=1", false).is_empty());
}
