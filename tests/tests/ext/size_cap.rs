//! The session size limit (`phpsess.max_session_bytes`) in real PHP against a real redis-server:
//! decompression bombs made by the encoders themselves, and a plain value over the limit, stored
//! under a session id; PHP runs with `memory_limit=64M`. The read must fail with a warning naming
//! the session (shortened id), the worker's memory must stay bounded, and the stored value must
//! be left as it was. Runs `tests/php/ext_size_cap.php`.

use std::io::Write;

use crate::support::{warnings, Php};
use phpsess::store::Compression;
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::json;

const SCRIPT: &str = "ext_size_cap.php";
const LIMIT: usize = 16 << 20;

/// A zstd frame that records a content size of `size` zero bytes, made without holding them.
fn zstd_bomb(size: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = zstd::stream::write::Encoder::new(&mut out, 1).unwrap();
    enc.set_pledged_src_size(Some(size)).unwrap();
    enc.include_contentsize(true).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..size / chunk.len() as u64 {
        enc.write_all(&chunk).unwrap();
    }
    enc.finish().unwrap();
    out
}

#[test]
fn values_over_the_limit_fail_the_read_in_bounded_memory_and_stay_stored() {
    let server = RedisServer::start();
    let zeros = vec![0u8; 64 << 20];
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "zstd",
            zstd_bomb(1 << 30),
            "zstd data of {n} bytes decompresses to more than the limit of 16777216 bytes".into(),
        ),
        (
            "lzf",
            Compression::Lzf.compress(&zeros).into_owned(),
            "lzf data of {n} bytes decompresses to more than the limit of 16777216 bytes".into(),
        ),
        (
            "lz4",
            Compression::Lz4 { level: 3 }.compress(&zeros).into_owned(),
            "lz4 data of {n} bytes decompresses to more than the limit of 16777216 bytes".into(),
        ),
        // A plain value over the limit, read without compression.
        (
            "none",
            vec![b'x'; LIMIT + 1],
            "{n} bytes stored, over the limit of 16777216 bytes".into(),
        ),
    ];
    drop(zeros);
    for (i, (algo, bomb, reason)) in cases.into_iter().enumerate() {
        let id = format!("bomb{i}{}", "k".repeat(28));
        let key = format!("PHPREDIS_SESSION:{id}");
        let _: () = server.connection().set(&key, &bomb).unwrap();
        let php = Php::standalone(&server.addr())
            .ini("memory_limit", "64M")
            .ini("phpsess.compression", algo);
        let v = php.json(SCRIPT, &["read", &id]);
        assert_eq!(v["ok"], json!(false), "{algo}: {v}");
        assert_eq!(v["session"], json!([]), "{algo}: nothing read: {v}");
        let reason = reason.replace("{n}", &bomb.len().to_string());
        let short = &id[..6];
        assert_eq!(
            warnings(&v),
            vec![
                format!(
                    "session_start(): phpsess: read of session {short}… (PHPREDIS_SESSION:{short}… \
                     on tcp://{}) refused: {reason} (phpsess.max_session_bytes)",
                    server.addr()
                ),
                "session_start(): Failed to read session data: phpsess (path: tcp://ADDR)"
                    .replace("ADDR", &server.addr()),
            ],
            "{algo}"
        );
        // PHP itself with its 64M limit and our read: far below the bomb's size.
        let peak_mib = v["peak_rss_kib"].as_u64().unwrap() / 1024;
        assert!(peak_mib < 100, "{algo}: peak RSS {peak_mib} MiB");
        eprintln!(
            "{algo}: {} bytes stored, peak RSS {peak_mib} MiB",
            bomb.len()
        );
        let stored: Vec<u8> = server.connection().get(&key).unwrap();
        assert!(stored == bomb, "{algo}: the stored value changed");
        let locks: Vec<String> = server.connection().keys("*_LOCK").unwrap();
        assert_eq!(locks, Vec::<String>::new(), "{algo}: lock released");
    }
}
