//! Per-process state: the session stores (with their persistent Redis connections) of this PHP
//! worker, and its counters. Keyed by process id: php-fpm runs MINIT in the master and forks the
//! workers, and `pcntl_fork()` can fork a running script, so a process that finds state created by
//! another pid drops it and starts afresh; nothing is ever opened before the first session open.
//! Stores are also keyed by thread (sound on thread-safe PHP builds), handler and save_path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use phpsess::store::{SessionStore, StoreOptions, StoreStats, Topology};

use crate::ini::IniSource;

/// Which save handler a store serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandlerKind {
    /// `phpsess`: phpredis's `redis` save_path syntax, `redis://` URLs, Sentinel.
    Hosts,
    /// `phpsess_cluster`: phpredis's `rediscluster` save_path syntax.
    Cluster,
}

impl HandlerKind {
    /// The `session.save_handler` name.
    pub fn name(self) -> &'static str {
        match self {
            HandlerKind::Hosts => "phpsess",
            HandlerKind::Cluster => "phpsess_cluster",
        }
    }

    /// Warnings for parameters of `save_path` this handler does not read (`databse=1`): phpredis
    /// ignores them silently, and so does the store, so a typo would go unnoticed.
    pub fn unknown_parameters(self, save_path: &str) -> Vec<String> {
        phpsess::save_path::unknown_parameters(save_path, self == HandlerKind::Cluster)
            .iter()
            .map(|p| format!("phpsess: {p} (handler {})", self.name()))
            .collect()
    }

    fn topology(self, save_path: &str) -> phpsess::Result<Topology> {
        let auth = crate::ini::default_auth(&crate::ini::PhpIni)?;
        match self {
            HandlerKind::Hosts => Topology::from_save_path_with_auth(save_path, auth.as_ref()),
            HandlerKind::Cluster => {
                Topology::from_cluster_save_path_with_auth(save_path, auth.as_ref())
            }
        }
    }
}

/// A store shared by the requests one thread of one worker serves.
pub type SharedStore = Arc<Mutex<SessionStore>>;

/// More distinct save_paths than this in one worker (a script setting random ones) drop the
/// cached stores instead of growing without bound.
const MAX_STORES: usize = 32;

#[derive(Hash, PartialEq, Eq)]
struct StoreKey {
    thread: ThreadId,
    kind: HandlerKind,
    save_path: String,
    auth: String,
}

#[derive(Default)]
struct Worker {
    pid: u32,
    stores: HashMap<StoreKey, SharedStore>,
    /// Stats of stores dropped from the cache, so the worker's totals never go backwards.
    retired: StoreStats,
}

static WORKER: Mutex<Option<Worker>> = Mutex::new(None);

/// Counters the store does not keep.
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);
static PANICS: AtomicU64 = AtomicU64::new(0);
/// Request states alive now (opened and not yet closed): 0 between requests, or state leaks.
static OPEN_REQUESTS: AtomicU64 = AtomicU64::new(0);
/// The pid the atomic counters belong to.
static COUNTERS_PID: AtomicU64 = AtomicU64::new(0);

/// Locks a mutex whose holder may have panicked (the boundary caught it): the data is plain and
/// each user re-validates what it needs.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn worker() -> MutexGuard<'static, Option<Worker>> {
    let mut guard = lock(&WORKER);
    let pid = std::process::id();
    if guard.as_ref().is_none_or(|w| w.pid != pid) {
        // Created by our parent (or never): its connections are the parent's, so forget them. The
        // dropped sockets are only closed in this process; the parent's copies stay open.
        *guard = Some(Worker {
            pid,
            ..Worker::default()
        });
    }
    guard
}

fn reset_counters_after_fork() {
    let pid = u64::from(std::process::id());
    if COUNTERS_PID.swap(pid, Ordering::Relaxed) != pid {
        REQUESTS.store(0, Ordering::Relaxed);
        ERRORS.store(0, Ordering::Relaxed);
        PANICS.store(0, Ordering::Relaxed);
    }
}

/// The store for `save_path` in this process and thread, created (without connecting) on first use.
pub fn store_for(
    kind: HandlerKind,
    save_path: &str,
    options: StoreOptions,
) -> phpsess::Result<SharedStore> {
    let key = StoreKey {
        thread: std::thread::current().id(),
        kind,
        save_path: save_path.to_owned(),
        // PHP_INI_SYSTEM, so fixed for a pool; part of the key all the same.
        auth: crate::ini::PhpIni
            .text(crate::ini::AUTH)
            .unwrap_or_default(),
    };
    {
        let guard = worker();
        if let Some(store) = guard.as_ref().and_then(|w| w.stores.get(&key)) {
            return Ok(Arc::clone(store));
        }
    }
    // Parse outside the worker lock; a second caller racing us (ZTS) just builds one more.
    let topology = kind.topology(save_path)?;
    let store = Arc::new(Mutex::new(SessionStore::new(topology, options)));
    let mut guard = worker();
    if let Some(w) = guard.as_mut() {
        if w.stores.len() >= MAX_STORES {
            for (_, s) in w.stores.drain() {
                let stats = lock(&s).stats();
                add(&mut w.retired, &stats);
            }
        }
        w.stores.insert(key, Arc::clone(&store));
    }
    Ok(store)
}

/// Counts one session opened by this worker.
pub fn count_request() {
    reset_counters_after_fork();
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

/// A request state was created (`true`) or dropped (`false`).
pub fn count_open_request(opened: bool) {
    if opened {
        OPEN_REQUESTS.fetch_add(1, Ordering::Relaxed);
    } else {
        OPEN_REQUESTS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts one callback that failed (and warned).
pub fn count_error() {
    reset_counters_after_fork();
    ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// Counts one panic caught at the boundary.
pub fn count_panic() {
    reset_counters_after_fork();
    PANICS.fetch_add(1, Ordering::Relaxed);
}

/// This worker's counters, for phpinfo.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The process they belong to.
    pub pid: u32,
    /// Sessions opened.
    pub requests: u64,
    /// Callbacks that failed with a warning.
    pub errors: u64,
    /// Panics caught at the boundary.
    pub panics: u64,
    /// Request states alive (the current request's, if a session is open).
    pub open_requests: u64,
    /// Cached stores (one per thread, handler and save_path).
    pub stores: usize,
    /// Store counters summed over every store this worker used.
    pub store: StoreStats,
}

/// A snapshot of the counters. Stores in use by a request on another thread are skipped rather
/// than waited for.
pub fn report() -> Report {
    reset_counters_after_fork();
    let guard = worker();
    let mut total = StoreStats::default();
    let mut stores = 0;
    if let Some(w) = guard.as_ref() {
        total = w.retired;
        stores = w.stores.len();
        for s in w.stores.values() {
            let stats = match s.try_lock() {
                Ok(store) => store.stats(),
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().stats(),
                Err(std::sync::TryLockError::WouldBlock) => continue,
            };
            add(&mut total, &stats);
        }
    }
    Report {
        pid: std::process::id(),
        requests: REQUESTS.load(Ordering::Relaxed),
        errors: ERRORS.load(Ordering::Relaxed),
        panics: PANICS.load(Ordering::Relaxed),
        open_requests: OPEN_REQUESTS.load(Ordering::Relaxed),
        stores,
        store: total,
    }
}

fn add(total: &mut StoreStats, s: &StoreStats) {
    total.round_trips += s.round_trips;
    total.commands += s.commands;
    total.connects += s.connects;
    total.lock_waits += s.lock_waits;
    total.lock_wait_ms += s.lock_wait_ms;
    for (t, b) in total.lock_wait_buckets.iter_mut().zip(s.lock_wait_buckets) {
        *t += b;
    }
    total.lock_handoffs += s.lock_handoffs;
    total.lock_fallbacks += s.lock_fallbacks;
    total.lock_timeouts += s.lock_timeouts;
    total.lock_losses += s.lock_losses;
    total.errors += s.errors;
    total.index_dropped += s.index_dropped;
}
