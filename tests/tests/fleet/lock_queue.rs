//! The lock queue with real PHP processes (`tests/php/fleet_lock.php`): waiters get the session
//! in the order they arrived, and a holder killed with SIGKILL does not stall the queue beyond
//! its lock's expiry.
//!
//! Arrival is proven, not slept for: each waiter is started only once the one before it is in
//! the session's queue (`LLEN <lock>_Q`).

use std::path::Path;
use std::time::{Duration, Instant};

use phpsess_compat::servers::{signal, wait_until, wait_until_fatal, NotYet, RedisServer};
use phpsess_compat::web::{new_session_id, PhpCli, PhpProcess};
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
