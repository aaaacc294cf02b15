//! Session semantics, the same for phpsess as for phpredis (each case runs with both, locking on,
//! and sessions written by the other handler): strict mode (an unknown id is rejected and a new
//! one issued), `session_regenerate_id(true)`, `session_destroy()`, `session_gc()`, lazy write
//! (unchanged data only refreshes the TTL), TTL = `session.gc_maxlifetime`.
//! Pairs with `tests/php/fleet_semantics.php`.

use phpsess_compat::servers::RedisServer;
use phpsess_compat::web::{new_session_id, Handler, PhpCli};
use redis::Commands;
use serde_json::{json, Value};

/// A Redis server and the save_path both handlers use.
struct Store {
    redis: RedisServer,
    save_path: String,
}

impl Store {
    fn start() -> Store {
        let redis = RedisServer::start();
        let save_path = format!("tcp://{}", redis.addr());
        Store { redis, save_path }
    }

    fn key(id: &str) -> String {
        format!("PHPREDIS_SESSION:{id}")
    }

    fn exists(&self, id: &str) -> bool {
        self.redis
            .connection()
            .exists(Store::key(id))
            .expect("EXISTS")
    }

    fn ttl(&self, id: &str) -> i64 {
        self.redis.connection().ttl(Store::key(id)).expect("TTL")
    }

    fn raw(&self, id: &str) -> Option<Vec<u8>> {
        self.redis.connection().get(Store::key(id)).expect("GET")
    }

    fn lock_keys(&self) -> Vec<String> {
        self.redis.connection().keys("*_LOCK").expect("KEYS")
    }

    /// `fleet_semantics.php ACTION ID PAIRS...` with `handler`, locking on, plus `inis`; asserts
    /// the script succeeded and raised no warning, and returns its JSON.
    fn step(
        &self,
        handler: Handler,
        action: &str,
        id: &str,
        pairs: &[&str],
        inis: &[(&str, &str)],
    ) -> Value {
        let (lock_key, lock_on) = handler.locking_ini(true);
        let mut cli = PhpCli::script("fleet_semantics.php")
            .ini("session.save_handler", handler.name())
            .ini("session.save_path", &self.save_path)
            .ini(lock_key, lock_on)
            .ini("redis.session.lock_expire", "30")
            .inis(inis.iter().copied())
            .arg(action)
            .arg(id)
            .args(pairs.iter().copied());
        cli = cli.ini("session.gc_probability", "0");
        let out = cli.run_ok();
        let json = out.json();
        assert_eq!(
            json["errors"],
            json!([]),
            "{handler} {action}: warnings\n{}",
            out.describe()
        );
        assert_eq!(
            json["ok"],
            json!(true),
            "{handler} {action}: session_start() failed"
        );
        json
    }
}

const STRICT: (&str, &str) = ("session.use_strict_mode", "1");

#[test]
fn strict_mode_rejects_unknown_ids_and_keeps_known_ones() {
    let store = Store::start();
    for handler in Handler::BOTH {
        let unknown = new_session_id("strict");
        let r = store.step(handler, "start", &unknown, &[], &[STRICT]);
        let issued = r["id"].as_str().expect("id");
        assert_ne!(
            issued, unknown,
            "{handler} accepted an unknown id in strict mode"
        );
        assert_eq!(issued.len(), 32, "{handler}: PHP's default id length");
        assert!(!store.exists(&unknown), "{handler} created the rejected id");

        let known = new_session_id("strict");
        store.step(handler.other(), "set", &known, &["a=1"], &[]);
        let r = store.step(handler, "start", &known, &[], &[STRICT]);
        assert_eq!(r["id"], json!(known), "{handler} rejected an existing id");
        assert_eq!(r["session"], json!({"a": "1"}));
    }
    assert_eq!(store.lock_keys(), Vec::<String>::new());
}

#[test]
fn regenerate_id_true_moves_the_session_and_deletes_the_old_one() {
    let store = Store::start();
    for handler in Handler::BOTH {
        let old = new_session_id("regen");
        store.step(handler.other(), "set", &old, &["a=1"], &[]);
        let r = store.step(handler, "regenerate", &old, &["b=2"], &[STRICT]);
        assert_eq!(r["regenerated"], json!(true));
        let new = r["id"].as_str().expect("id").to_owned();
        assert_ne!(new, old, "{handler}: the id did not change");
        assert!(!store.exists(&old), "{handler}: the old session was kept");
        // The other handler reads what this one wrote under the new id.
        let shown = store.step(handler.other(), "start", &new, &[], &[STRICT]);
        assert_eq!(shown["id"], json!(new));
        assert_eq!(
            shown["session"],
            json!({"a": "1", "b": "2", "after": "1"}),
            "{handler}: the new session"
        );
        assert_eq!(store.lock_keys(), Vec::<String>::new(), "{handler}");
    }
}

#[test]
fn destroy_deletes_the_session_and_its_lock() {
    let store = Store::start();
    for handler in Handler::BOTH {
        let id = new_session_id("destroy");
        store.step(handler.other(), "set", &id, &["a=1"], &[]);
        let r = store.step(handler, "destroy", &id, &[], &[]);
        assert_eq!(r["destroyed"], json!(true));
        assert!(!store.exists(&id), "{handler}: the session survived");
        assert_eq!(store.lock_keys(), Vec::<String>::new(), "{handler}");
    }
}

#[test]
fn gc_deletes_nothing_redis_expires_sessions() {
    let store = Store::start();
    let mut results = Vec::new();
    for handler in Handler::BOTH {
        let id = new_session_id("gc");
        store.step(handler.other(), "set", &id, &["a=1"], &[]);
        let r = store.step(handler, "gc", &id, &[], &[]);
        results.push((handler, r["gc"].clone()));
        assert!(store.exists(&id), "{handler}: gc deleted a live session");
    }
    // session_gc() returns the number of sessions deleted: none, Redis expires them itself.
    // phpredis 5.3.7 makes it return false (measured; PHP's way of saying gc failed, though no
    // warning is raised); phpsess answers 0, which is what happened.
    assert_eq!(
        results,
        vec![
            (Handler::Phpredis, json!(false)),
            (Handler::Phpsess, json!(0))
        ]
    );
}

#[test]
fn lazy_write_of_unchanged_data_only_refreshes_the_ttl() {
    let store = Store::start();
    let lifetime = ("session.gc_maxlifetime", "600");
    for handler in Handler::BOTH {
        let id = new_session_id("lazy");
        store.step(handler, "set", &id, &["a=1"], &[lifetime]);
        let before = store.raw(&id).expect("stored session");
        let () = store
            .redis
            .connection()
            .expire(Store::key(&id), 100)
            .expect("EXPIRE");
        store.redis.reset_stats();
        let r = store.step(handler, "start", &id, &[], &[lifetime]);
        assert_eq!(r["session"], json!({"a": "1"}));
        let stats = store.redis.info_commandstats();
        // Commands run inside Lua scripts count too, so a write inside phpsess's unlock script
        // would show here as well.
        assert_eq!(
            stats.get("setex"),
            None,
            "{handler} rewrote unchanged data: {stats:?}"
        );
        let refreshes =
            stats.get("expire").copied().unwrap_or(0) + stats.get("getex").copied().unwrap_or(0);
        assert_eq!(refreshes, 1, "{handler}: one TTL refresh: {stats:?}");
        let ttl = store.ttl(&id);
        assert!(
            (590..=600).contains(&ttl),
            "{handler}: TTL {ttl} after the refresh, want gc_maxlifetime 600"
        );
        assert_eq!(store.raw(&id), Some(before), "{handler}: data changed");
    }
}

#[test]
fn ttl_is_gc_maxlifetime() {
    let store = Store::start();
    for handler in Handler::BOTH {
        for lifetime in ["777", "86400"] {
            let id = new_session_id("ttl");
            store.step(
                handler,
                "set",
                &id,
                &["a=1"],
                &[("session.gc_maxlifetime", lifetime)],
            );
            let want: i64 = lifetime.parse().expect("number");
            let ttl = store.ttl(&id);
            assert!(
                (want - 10..=want).contains(&ttl),
                "{handler}: TTL {ttl}, want session.gc_maxlifetime {want}"
            );
        }
    }
}
