//! Runs one format operation N times on a file, for instruction counting under callgrind
//! (`scripts/bench-callgrind.sh`): `format_loop <document|unserialize|serialize> <file> <n>`.
//! Two runs with different N cancel the start-up cost out.

use std::hint::black_box;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(op), Some(path), Some(n)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: format_loop <document|unserialize|serialize> <file> <n>");
        return ExitCode::from(2);
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("format_loop: n must be a number, got {n:?}");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("format_loop: cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let value = match phpsess::unserialize(&bytes) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("format_loop: {path} does not decode: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Each result is used, so no iteration can be optimised away.
    let mut used = 0usize;
    for _ in 0..n {
        used += match op.as_str() {
            "document" => phpsess::Document::parse(black_box(&bytes))
                .map_or(0, |d| d.root().entries().map_or(0, |e| e.len())),
            "unserialize" => phpsess::unserialize(black_box(&bytes))
                .map_or(0, |v| v.as_array().map_or(0, |a| a.len())),
            "serialize" => phpsess::serialize(black_box(&value)).len(),
            other => {
                eprintln!("format_loop: unknown operation {other:?}");
                return ExitCode::from(2);
            }
        };
    }
    println!("{used}");
    ExitCode::SUCCESS
}
