//! Criterion benchmark of the value format on payloads written by real PHP: `decode/<payload>`
//! times [`phpsess::unserialize`], `decode_borrowed/<payload>` the zero-copy
//! [`phpsess::unserialize_borrowed`], `decode_document/<payload>` the tape-based
//! [`phpsess::Document::parse`], `encode/<payload>` times [`phpsess::serialize`] of the decoded
//! value, each with `Throughput::Bytes` of the serialized size.
//!
//! Payloads (`laravel.ser`, `cart.ser`, `large.ser`) are read from `$PHPSESS_BENCH_PAYLOADS`,
//! default `<workspace>/target/bench-payloads`. `scripts/bench-format.sh` (`make bench`) generates
//! them, runs this benchmark and PHP's own `unserialize()`/`serialize()` on the same bytes in the
//! same run, and prints the comparison. When the directory lacks the files, this benchmark runs
//! `php -n bench/payloads.php <dir>` itself so that a bare `cargo bench` works: the bytes must come
//! from PHP's `serialize()`, never from ours.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const PAYLOADS: [&str; 3] = ["laravel", "cart", "large"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn payload_dir() -> PathBuf {
    match std::env::var_os("PHPSESS_BENCH_PAYLOADS") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target/bench-payloads"),
    }
}

/// Read every payload, generating the set with PHP first if one is missing.
fn load_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let dir = payload_dir();
    if PAYLOADS
        .iter()
        .any(|name| !dir.join(format!("{name}.ser")).is_file())
    {
        let script = workspace_root().join("bench/payloads.php");
        let status = Command::new("php")
            .arg("-n")
            .arg(&script)
            .arg(&dir)
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!(
                "payloads missing in {} and `php -n {} {}` failed ({other:?}); \
                 run `make bench` or set PHPSESS_BENCH_PAYLOADS",
                dir.display(),
                script.display(),
                dir.display()
            ),
        }
    }
    PAYLOADS
        .iter()
        .map(|&name| {
            let path = dir.join(format!("{name}.ser"));
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (name, bytes)
        })
        .collect()
}

fn format(c: &mut Criterion) {
    let payloads = load_payloads();

    let mut group = c.benchmark_group("decode");
    for (name, bytes) in &payloads {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), bytes, |b, bytes| {
            b.iter(|| phpsess::unserialize(black_box(bytes)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("decode_borrowed");
    for (name, bytes) in &payloads {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), bytes, |b, bytes| {
            b.iter(|| phpsess::unserialize_borrowed(black_box(bytes)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("decode_document");
    for (name, bytes) in &payloads {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), bytes, |b, bytes| {
            b.iter(|| phpsess::Document::parse(black_box(bytes)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("encode");
    for (name, bytes) in &payloads {
        let value = phpsess::unserialize(bytes)
            .unwrap_or_else(|e| panic!("{name}.ser does not decode: {e}"));
        // A benchmark of a wrong encoder would be worthless: the bytes must come back identical.
        assert!(
            phpsess::serialize(&value) == *bytes,
            "{name}.ser: serialize(unserialize(bytes)) != bytes"
        );
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &value, |b, value| {
            b.iter(|| phpsess::serialize(black_box(value)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short defaults keep `make bench` to a few minutes on a 2-core machine; command-line flags
    // (`--measurement-time`, `--sample-size`, `--warm-up-time`) override them.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    targets = format
}
criterion_main!(benches);
