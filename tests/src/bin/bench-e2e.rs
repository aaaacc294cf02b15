//! `bench-e2e`: the end-to-end benchmark of phpsess against phpredis (see
//! `phpsess_compat::web::bench`); progress on stderr, a markdown report on stdout.
//! Run it with `make bench-e2e` (or `scripts/bench-e2e.sh`), which builds the extension first.
//!
//! Environment: BENCH_SECONDS (window per run, default 3), BENCH_WARMUP (1),
//! BENCH_WORKERS (php-fpm workers, 4), BENCH_CONNECTIONS (load-generator connections, 8),
//! BENCH_DELAY_MS (the remote Redis's reply delay, 1), BENCH_COUNT (requests of the counting
//! pass, 200), BENCH_ROUNDS (speed runs per configuration, median reported, 3),
//! BENCH_RUNNERS (`cli,fpm`), BENCH_SHARED (the shared-session rows of issue 13: `1` after the
//! main table, `0` none, `only` just those), BENCH_ENCRYPTION (encrypted vs plain phpsess, issue
//! 14: `1` at the end, `0` none, `only` just those).

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use phpsess_compat::web::bench::{self, BenchOptions, Runner};
use phpsess_compat::web::bench_shared;
use phpsess_compat::web::phpsess_extension;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name}={v:?} is not a valid value")),
        Err(_) => Ok(default),
    }
}

fn options() -> Result<BenchOptions, String> {
    let d = BenchOptions::default();
    let runners = match std::env::var("BENCH_RUNNERS") {
        Ok(list) => list
            .split(',')
            .map(|r| match r.trim() {
                "cli" => Ok(Runner::Cli),
                "fpm" => Ok(Runner::Fpm),
                other => Err(format!(
                    "BENCH_RUNNERS: unknown runner {other:?} (cli, fpm)"
                )),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Err(_) => d.runners,
    };
    Ok(BenchOptions {
        seconds: env_or("BENCH_SECONDS", d.seconds)?,
        warmup_seconds: env_or("BENCH_WARMUP", d.warmup_seconds)?,
        workers: env_or("BENCH_WORKERS", d.workers)?,
        connections: env_or("BENCH_CONNECTIONS", d.connections)?,
        delay: Duration::from_secs_f64(env_or("BENCH_DELAY_MS", 1.0)? / 1000.0),
        count_requests: env_or("BENCH_COUNT", d.count_requests)?,
        rounds: env_or("BENCH_ROUNDS", d.rounds)?,
        runners,
        phpsess_ini: Vec::new(),
    })
}

/// First line of a command's output, or "?".
fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench-e2e: {e}");
            return ExitCode::from(2);
        }
    };
    let so = phpsess_extension();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load_before = load_average();
    let started = Instant::now();
    let shared = std::env::var("BENCH_SHARED").unwrap_or_else(|_| "1".into());
    if !matches!(shared.as_str(), "0" | "1" | "only") {
        eprintln!("bench-e2e: BENCH_SHARED={shared:?} is not 0, 1 or only");
        return ExitCode::from(2);
    }
    let encryption = std::env::var("BENCH_ENCRYPTION").unwrap_or_else(|_| "1".into());
    if !matches!(encryption.as_str(), "0" | "1" | "only") {
        eprintln!("bench-e2e: BENCH_ENCRYPTION={encryption:?} is not 0, 1 or only");
        return ExitCode::from(2);
    }
    let shared = if encryption == "only" {
        "0".to_owned()
    } else {
        shared
    };
    if shared != "only" && encryption != "only" {
        let rows = bench::run(&opts, |line| eprintln!("bench-e2e: {line}"));
        let phpredis = first_line(
            "php",
            &[
                "-n",
                "-d",
                "extension=igbinary",
                "-d",
                "extension=redis",
                "-r",
                "echo phpversion('redis');",
            ],
        );
        println!("### End-to-end: phpsess vs phpredis {phpredis}");
        println!();
        println!(
            "`make bench-e2e` — median of {} runs of {} s per configuration, each after {} s warm-up, phpredis and phpsess alternating; php-fpm: {} workers (opcache on), {} load-generator connections with a session each; one redis-server 7; 1 KiB session; \"+{} ms\" = every Redis reply (and each new connection's first) delayed by a proxy. {}; {} CPUs; load average {} before, {} after; {:.0} s in all; {}.",
            opts.rounds,
            opts.seconds,
            opts.warmup_seconds,
            opts.workers,
            opts.connections,
            opts.delay.as_secs_f64() * 1000.0,
            first_line("php", &["-n", "-v"]),
            cpus,
            load_before,
            load_average(),
            started.elapsed().as_secs_f64(),
            so.display()
        );
        println!();
        print!("{}", bench::markdown(&rows, &opts));
    }
    if shared != "0" {
        let started = Instant::now();
        let load_before = load_average();
        let (rows, handoffs) = bench_shared::run(&opts, |line| eprintln!("bench-e2e: {line}"));
        println!();
        println!("### Parallel requests on one session (issue 13)");
        println!();
        println!(
            "`make bench-e2e` (`BENCH_SHARED=only` for these rows alone) — php-fpm: {} workers (opcache on) behind nginx, every load-generator connection with the SAME session cookie; each request counts in the session and holds it 2 ms; {} s per row after {} s warm-up, one run each; phpredis with locking on and `lock_retries=-1` (waits forever); phpsess defaults (lock queue on). \"of serial limit\" = req/s × hold. {} CPUs; load average {} before, {} after; {:.0} s.",
            bench_shared::SHARED_WORKERS,
            opts.seconds,
            opts.warmup_seconds,
            cpus,
            load_before,
            load_average(),
            started.elapsed().as_secs_f64(),
        );
        println!();
        print!("{}", bench_shared::markdown(&rows, &handoffs, &opts));
    }
    if encryption != "0" {
        let started = Instant::now();
        let load_before = load_average();
        let rows = bench::run_encryption(&opts, |line| eprintln!("bench-e2e: {line}"));
        println!();
        println!("### Encryption at rest: phpsess encrypted vs plain (issue 14)");
        println!();
        println!(
            "`make bench-e2e` (`BENCH_ENCRYPTION=only` for these rows alone) — phpsess with `phpsess.encryption=on` against phpsess plain in the same run, alternating, locking on, loopback, 1 KiB session; median of {} runs of {} s after {} s warm-up; php-fpm: {} workers (opcache on), {} load-generator connections. {} CPUs; load average {} before, {} after; {:.0} s.",
            opts.rounds,
            opts.seconds,
            opts.warmup_seconds,
            opts.workers,
            opts.connections,
            cpus,
            load_before,
            load_average(),
            started.elapsed().as_secs_f64(),
        );
        println!();
        print!("{}", bench::encryption_markdown(&rows));
    }
    ExitCode::SUCCESS
}
