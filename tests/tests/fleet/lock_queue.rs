//! The lock queue with real PHP processes (`tests/php/fleet_lock.php`, and php-fpm workers
//! behind nginx running `tests/php/fleet_hold.php`): waiters get the session in the order they
//! arrived, and a holder killed with SIGKILL (a CLI process, or the php-fpm worker serving the
//! request) does not stall the queue beyond its lock's expiry nor lose a waiter's write.
//!
//! Arrival is proven, not slept for: each waiter is started only once the one before it is in
//! the session's queue (`LLEN <lock>_Q`).

use std::path::Path;
use std::time::{Duration, Instant};

use phpsess_compat::servers::{signal, wait_until, wait_until_fatal, NotYet, RedisServer};
use phpsess_compat::web::http::with_query;
use phpsess_compat::web::{new_session_id, FpmPool, PhpCli, PhpProcess, Site};
use redis::Commands;
use serde_json::json;

const STEP_TIMEOUT: Duration = Duration::from_secs(20);

fn request(save_path: &str, lock_expire: &str) -> PhpCli {
    PhpCli::script("fleet_lock.php")
        .ini("session.save_handler", "phpsess")
        .ini("session.save_path", save_path)
        .ini("phpsess.lock_expire", lock_expire)
        .ini("phpsess.lock_wait_timeout", "30000")
        .timeout(Duration::from_secs(60))
}

fn wait_for_file(path: &Path, process: &mut PhpProcess) {
    wait_until_fatal(&format!("{}", path.display()), STEP_TIMEOUT, || {
        if path.exists() {
            Ok(())
        } else if process.has_exited() {
            Err(NotYet::Fatal("the PHP process exited first".to_owned()))
        } else {
            Err(NotYet::Retry("not there yet".to_owned()))
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
}

fn wait_for_queue(con: &mut redis::Connection, queue: &str, len: usize) {
    wait_until(&format!("{len} waiters in {queue}"), STEP_TIMEOUT, || {
        let n: usize = con.llen(queue).map_err(|e| e.to_string())?;
        if n >= len {
            Ok(())
        } else {
            Err(format!("{n} queued"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn php_requests_get_the_session_in_arrival_order() {
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}", redis.addr());
    let dir = tempfile::tempdir().expect("temp dir");
    let id = new_session_id("fifo");
    let queue = format!("PHPREDIS_SESSION:{id}_LOCK_Q");
    let mut con = redis.connection();
    let args = |tag: &str| [id.clone(), tag.to_owned(), dir.path().display().to_string()];

    let mut holder = request(&save_path, "30").args(args("holder")).spawn();
    wait_for_file(&dir.path().join("holder.started"), &mut holder);
    let tags = ["w0", "w1", "w2", "w3"];
    let mut waiters = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{tag}.release")), b"").expect("release file");
        waiters.push(request(&save_path, "30").args(args(tag)).spawn());
        wait_for_queue(&mut con, &queue, i + 1);
    }
    std::fs::write(dir.path().join("holder.release"), b"").expect("release file");
    holder.wait().assert_success();
    for w in waiters {
        w.wait().assert_success();
    }
    let shown = PhpCli::script("fleet_show.php")
        .ini("session.save_handler", "phpsess")
        .ini("session.save_path", &save_path)
        .arg(&id)
        .run_ok()
        .json();
    assert_eq!(
        shown["session"]["log"],
        json!(["holder", "w0", "w1", "w2", "w3"]),
        "lock order = arrival order"
    );
    let left: Vec<String> = con.keys("*_LOCK*").expect("KEYS");
    assert_eq!(left, Vec::<String>::new(), "nothing of the queue is left");
}

#[test]
fn a_holder_killed_with_sigkill_stalls_the_queue_only_until_its_lock_expires() {
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}", redis.addr());
    let dir = tempfile::tempdir().expect("temp dir");
    let id = new_session_id("crash");
    let queue = format!("PHPREDIS_SESSION:{id}_LOCK_Q");
    let mut con = redis.connection();
    let args = |tag: &str| [id.clone(), tag.to_owned(), dir.path().display().to_string()];

    // The holder's lock lives 2 s; it never gets its release file.
    let mut holder = request(&save_path, "2").args(args("holder")).spawn();
    wait_for_file(&dir.path().join("holder.started"), &mut holder);
    std::fs::write(dir.path().join("waiter.release"), b"").expect("release file");
    let waiter = request(&save_path, "30").args(args("waiter")).spawn();
    wait_for_queue(&mut con, &queue, 1);
    let pttl: i64 = con
        .pttl(format!("PHPREDIS_SESSION:{id}_LOCK"))
        .expect("PTTL");
    let killed = Instant::now();
    signal(holder.pid().expect("holder pid"), "KILL");
    let out = waiter.wait();
    let waited = killed.elapsed();
    out.assert_success();
    assert_eq!(out.json()["seen"], json!([]), "the holder never wrote");
    // The lock expires after `pttl`; the waiter looks again within a 250 ms slice.
    let bound = Duration::from_millis(pttl.max(0) as u64 + 250 + 1000);
    assert!(
        waited < bound,
        "waited {waited:?} after the kill, bound {bound:?}"
    );
}

/// `fleet_hold.php` for session `id` as `tag`, on its own connection; the response's JSON (or
/// the HTTP status / error text, for a request whose worker died) and when it arrived.
fn hold_request(
    site: &Site,
    id: &str,
    tag: &str,
    dir: &Path,
) -> std::thread::JoinHandle<(Result<serde_json::Value, String>, Instant)> {
    let mut client = site.client().timeout(Duration::from_secs(60));
    let dir = dir.display().to_string();
    let path = with_query(
        "/fleet_hold.php",
        &[("id", id), ("tag", tag), ("dir", &dir)],
    );
    std::thread::spawn(move || {
        let result = match client.get(&path) {
            Ok(r) if r.status == 200 => Ok(r.json()),
            Ok(r) => Err(format!("HTTP {}: {}", r.status, r.text())),
            Err(e) => Err(e.to_string()),
        };
        (result, Instant::now())
    })
}

/// The pid a `fleet_hold.php` request wrote once it held the session.
fn wait_for_pid(path: &Path) -> u32 {
    wait_until(&format!("{}", path.display()), STEP_TIMEOUT, || {
        std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| t.trim().parse::<u32>().map_err(|e| e.to_string()))
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_php_fpm_worker_killed_while_holding_the_session_stalls_the_queue_only_until_its_lock_expires()
{
    let redis = RedisServer::start();
    // One pool: the holder and three waiters each need a worker; one more for the check after.
    let pool = FpmPool::builder("web")
        .workers(5)
        .value("session.save_handler", "phpsess")
        .value("session.save_path", format!("tcp://{}", redis.addr()))
        .value("phpsess.lock_expire", "2")
        .value("phpsess.lock_wait_timeout", "30000")
        .start();
    let site = Site::start(vec![pool]);
    let dir = tempfile::tempdir().expect("temp dir");
    let id = new_session_id("fpmcrash");
    let lock = format!("PHPREDIS_SESSION:{id}_LOCK");
    let queue = format!("{lock}_Q");
    let mut con = redis.connection();

    // The holder never gets its release file: it holds the session until its worker is killed.
    let holder = hold_request(&site, &id, "holder", dir.path());
    let pid = wait_for_pid(&dir.path().join("holder.started"));
    assert!(
        site.pools[0].worker_pids().contains(&pid),
        "pid {pid} is not one of the pool's workers {:?}",
        site.pools[0].worker_pids()
    );
    let tags = ["w0", "w1", "w2"];
    let mut waiters = Vec::new();
    for (i, tag) in tags.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{tag}.release")), b"").expect("release file");
        waiters.push(hold_request(&site, &id, tag, dir.path()));
        wait_for_queue(&mut con, &queue, i + 1);
    }
    let pttl: i64 = con.pttl(&lock).expect("PTTL");
    assert!(pttl > 0, "the holder's lock has a TTL: {pttl}");
    let killed = Instant::now();
    signal(pid, "KILL");

    let (holder_result, _) = holder.join().expect("holder thread");
    assert!(
        holder_result.is_err(),
        "the killed worker's request cannot have succeeded: {holder_result:?}"
    );
    let mut done = Vec::new();
    for (tag, w) in tags.iter().zip(waiters) {
        let (result, at) = w.join().expect("waiter thread");
        let json = result.unwrap_or_else(|e| panic!("{tag}: {e}\n{}", site.php_errors()));
        assert_eq!(json["written"], json!(true), "{tag}: {json}");
        assert_eq!(json["errors"], json!([]), "{tag}: {json}");
        done.push((json, at.duration_since(killed)));
    }
    // The first waiter had the session once the dead holder's lock expired (its queue-mates
    // look again every 250 ms), not after a waiter's whole wait budget.
    let first = done[0].1;
    let bound = Duration::from_millis(pttl as u64 + 250 + 1000);
    println!(
        "killed worker {pid} with {pttl} ms left on its lock; waiters done after {:?}",
        done.iter().map(|d| d.1).collect::<Vec<_>>()
    );
    assert!(
        first < bound,
        "first waiter done {first:?} after the kill, bound {bound:?}"
    );
    // The queue moved on in arrival order and no waiter's increment was lost: each saw the
    // ones before it.
    for (i, (json, _)) in done.iter().enumerate() {
        let seen_n = json["seen"]["n"].as_i64().unwrap_or(0);
        assert_eq!(seen_n, i as i64, "{}: {json}", tags[i]);
    }
    let mut after = site.client();
    std::fs::write(dir.path().join("after.release"), b"").expect("release file");
    let dir_text = dir.path().display().to_string();
    let path = with_query(
        "/fleet_hold.php",
        &[("id", &id), ("tag", "after"), ("dir", &dir_text)],
    );
    let last = site.ok_json("a request after the crash", after.get(&path));
    assert_eq!(last["seen"]["n"], json!(3), "{last}");
    assert_eq!(last["seen"]["log"], json!(["w0", "w1", "w2"]), "{last}");
    let left: Vec<String> = con.keys("*_LOCK*").expect("KEYS");
    assert_eq!(left, Vec::<String>::new(), "nothing of the queue is left");
}
