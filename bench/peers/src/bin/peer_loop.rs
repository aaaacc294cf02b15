//! `peer_loop <crate> <path> <payload> <file> <n>`: one operation n times, for instruction counts
//! under callgrind (scripts/bench-peers.sh runs it with n and 2n and takes the difference).
//! Prints `unsupported` and exits 3 when the crate cannot do that path on that payload.

use std::hint::black_box;
use std::process::ExitCode;

use phpsess_peers_bench::{prepare, run, Path};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, krate, path, payload, file, n] = args.as_slice() else {
        eprintln!("usage: peer_loop <crate> <path> <payload> <file> <n>");
        return ExitCode::from(2);
    };
    let (Some(path), Ok(n)) = (Path::parse(path), n.parse::<usize>()) else {
        eprintln!("peer_loop: unknown path {path:?} or bad count {n:?}");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("peer_loop: cannot read {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(prepared) = prepare(krate, path, payload, &bytes) else {
        println!("unsupported");
        return ExitCode::from(3);
    };
    let mut used = 0usize;
    for _ in 0..n {
        used += run(krate, path, payload, black_box(&prepared)).unwrap_or(0);
    }
    println!("{used}");
    ExitCode::SUCCESS
}
