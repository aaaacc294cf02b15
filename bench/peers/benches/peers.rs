//! Criterion: every (path, payload) with phpsess and each peer that can do it, in one run, so the
//! ratios compare like with like. Payloads from `$PHPSESS_BENCH_PAYLOADS` (scripts/bench-peers.sh
//! makes them with `php -n bench/payloads.php`).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use phpsess_peers_bench::{prepare, run, Path, CRATES, PAYLOADS};

fn peers(c: &mut Criterion) {
    let dir = PathBuf::from(
        std::env::var_os("PHPSESS_BENCH_PAYLOADS")
            .expect("set PHPSESS_BENCH_PAYLOADS (scripts/bench-peers.sh does)"),
    );
    for path in Path::ALL {
        let mut group = c.benchmark_group(path.name());
        for payload in PAYLOADS {
            let file = dir.join(format!("{payload}.ser"));
            let bytes = std::fs::read(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            for krate in CRATES {
                let Some(prepared) = prepare(krate, path, payload, &bytes) else {
                    continue;
                };
                group.bench_with_input(BenchmarkId::new(krate, payload), &prepared, |b, p| {
                    b.iter(|| run(krate, path, payload, black_box(p)))
                });
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = peers
}
criterion_main!(benches);
