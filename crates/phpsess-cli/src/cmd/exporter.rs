//! `phpsess exporter`: serves `/metrics` in Prometheus's text format. The scan (the expensive
//! part) runs in a background thread every `--interval` seconds; a scrape only formats the last
//! result, so Prometheus scraping every 15 s costs Redis nothing extra. A small HTTP/1.1 server
//! on `std::net`: GET `/metrics` (and `/` with a pointer to it), one connection at a time.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use phpsess::store::{Census, ScanOptions};

use crate::metrics::{render, ScrapeState};
use crate::target::TargetArgs;

/// `phpsess exporter --listen ADDR [--save-path SP] [--cluster] [--interval S]`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen, `host:port` (e.g. `127.0.0.1:9577`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9577")]
    listen: String,
    #[command(flatten)]
    target: TargetArgs,
    /// Seconds between two scans.
    #[arg(long, default_value_t = 60, value_name = "S")]
    interval: u64,
    /// Look up about N sessions per server per scan (estimates; for very large stores).
    #[arg(long, value_name = "N")]
    sample: Option<u64>,
    /// Also export `phpsess_session_memory_bytes` (`MEMORY USAGE`: one more command per session).
    #[arg(long)]
    memory: bool,
    /// The lifetime (seconds) of locks not set by phpsess, to estimate their age (see `stats
    /// --lock-expire`).
    #[arg(long, value_name = "S")]
    lock_expire: Option<u64>,
}

pub fn run(args: Args) -> Result<()> {
    let target = args.target.resolve(false)?;
    // Fail now on a save_path that cannot be used, not in the background.
    let mut scanner = target.scanner()?;
    let listener = TcpListener::bind(&args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr().context("listening address")?;
    eprintln!(
        "phpsess exporter: serving http://{local}/metrics, scanning every {} s",
        args.interval
    );
    let state = Arc::new(Mutex::new(ScrapeState::default()));
    let shared = Arc::clone(&state);
    let options = ScanOptions::default()
        .with_sample(args.sample)
        .with_memory(args.memory)
        .with_assumed_lock_expire_ms(crate::cmd::stats::assumed_lock_expire_ms(
            args.lock_expire,
            &target,
        ));
    let interval = Duration::from_secs(args.interval.max(1));
    std::thread::Builder::new()
        .name("scan".into())
        .spawn(move || loop {
            let started = Instant::now();
            let result = Census::take(&mut scanner, &options, |_| {});
            let took = started.elapsed().as_secs_f64();
            {
                let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
                s.scans += 1;
                s.scan_seconds = took;
                match result {
                    Ok(census) => {
                        s.census = Some(census);
                        s.up = true;
                        s.last_error = None;
                        s.last_success_unix = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                    }
                    Err(e) => {
                        s.errors += 1;
                        s.up = false;
                        eprintln!("phpsess exporter: scan failed: {e}");
                        s.last_error = Some(e.to_string());
                        // A cluster may have changed shape: ask for its masters again.
                        scanner.reset();
                    }
                }
            }
            std::thread::sleep(interval.saturating_sub(started.elapsed()));
        })
        .context("cannot start the scan thread")?;
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // A client that misbehaves gets dropped; the exporter goes on.
        let _ = serve(stream, &state);
    }
    Ok(())
}

fn serve(mut stream: TcpStream, state: &Mutex<ScrapeState>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Skip the headers: nothing in them changes the answer.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut parts = request.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, kind, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => {
            let s = state.lock().unwrap_or_else(|p| p.into_inner());
            (
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                render(&s),
            )
        }
        ("GET" | "HEAD", "/") => (
            "200 OK",
            "text/html; charset=utf-8",
            "<html><body><a href=\"/metrics\">/metrics</a></body></html>\n".to_owned(),
        ),
        ("GET" | "HEAD", _) => ("404 Not Found", "text/plain", "not found\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_owned(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}
