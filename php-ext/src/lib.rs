//! `phpsess`, the PHP extension: registers the session save handlers `phpsess` (phpredis's
//! `redis` save_path syntax, `redis://`/`rediss://` URLs, Sentinel) and `phpsess_cluster`
//! (phpredis's `rediscluster` syntax), over the core [`phpsess::store::SessionStore`].
//!
//! Layers, outermost first (private modules, so plain names here; `cargo doc -p phpsess-ext
//! --document-private-items` shows them): `ffi` (the raw session ABI mirror, layouts asserted at
//! compile time), `boundary` (every `extern "C"` entry point runs its Rust work under
//! `catch_unwind`; calls into PHP survive a bailout), then the safe code: `session` callbacks,
//! `handler` (per-request state and session semantics), `worker` (per-process stores keyed by pid)
//! and `ini` (the `phpsess.*` settings). All Redis logic lives in the core crate.

use std::ffi::{c_int, CString};

use ext_php_rs::builders::{ModuleBuilder, ModuleStartup};
use ext_php_rs::ffi::{
    php_info_print_table_end, php_info_print_table_header, php_info_print_table_row,
    php_info_print_table_start,
};
use ext_php_rs::zend::{ModuleAllocations, ModuleEntry, StaticModuleEntry};

mod boundary;
mod ffi;
mod functions;
mod handler;
mod ini;
mod session;
mod user;
mod worker;
mod worker_stats;

use crate::ffi::{FAILURE, MODULE_PERSISTENT, SUCCESS};

/// The extension's version, shown by `php --ri phpsess` and `phpversion('phpsess')`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `ZEND_MOD_REQUIRED("session")`: PHP loads ext/session first and `php --re phpsess` lists it.
static DEPS: ffi::ModuleDeps<2> = ffi::ModuleDeps([ffi::required(c"session"), ffi::dep_end()]);

/// PHP's entry point into the shared object.
#[no_mangle]
pub extern "C" fn get_module() -> *mut ModuleEntry {
    static MODULE: StaticModuleEntry = StaticModuleEntry::new();
    let built = std::panic::catch_unwind(|| {
        MODULE.get_or_init(|| {
            let (mut entry, _startup, owned) = module_entry();
            // ext-php-rs's ModuleBuilder always writes a NULL dependency list, and PHP copies the
            // entry at load, so the list goes in here.
            entry.deps = DEPS.as_ptr();
            // `_startup` only registers classes, constants and a SAPI hook, of which we have none:
            // MINIT is our own `startup` below.
            (entry, owned)
        })
    });
    // A panic here (none is possible, see `module_entry`) makes PHP refuse the library instead of
    // aborting the process.
    built.unwrap_or(std::ptr::null_mut())
}

fn module_entry() -> (ModuleEntry, ModuleStartup, ModuleAllocations) {
    let mut builder = ModuleBuilder::new("phpsess", VERSION)
        .startup_function(startup)
        .shutdown_function(shutdown)
        .request_startup_function(request_startup)
        .info_function(info);
    for f in functions::all().into_iter().chain(worker_stats::all()) {
        builder = builder.function(f);
    }
    builder
        .try_into()
        // Invariant: the builder fails only on a NUL in the name or version, or on duplicate
        // functions; ours are constant, NUL-free and distinct.
        .expect("constant module definition")
}

/// RINIT: a new request has made no choice of user yet.
extern "C" fn request_startup(_ty: c_int, _module_number: c_int) -> c_int {
    boundary::guard("request_startup", SUCCESS, || {
        user::reset();
        SUCCESS
    })
}

/// MINIT: INI entries and the two save handlers. Opens nothing: php-fpm forks its workers after
/// this, and each creates its own connections on first use.
extern "C" fn startup(ty: c_int, module_number: c_int) -> c_int {
    boundary::install_panic_hook();
    if ty != MODULE_PERSISTENT {
        // dl() unloads the module at the end of the request, while ext/session would keep the
        // handlers' addresses: load, but register no handler (failing MINIT would be a fatal
        // error that ends the script).
        boundary::warn(
            "phpsess: loaded with dl(), so the save handlers are not registered; load it from php.ini (extension=phpsess.so)",
        );
        return boundary::guard("startup", FAILURE, || {
            ini::register(module_number);
            SUCCESS
        });
    }
    let registered = boundary::guard("startup", Err("panic"), || {
        ini::register(module_number);
        session::register()
    });
    match registered {
        Ok(()) => SUCCESS,
        Err(name) => {
            boundary::warn(&format!(
                "phpsess: could not register the save handler {name} (ext/session's table of handlers is full)"
            ));
            FAILURE
        }
    }
}

/// MSHUTDOWN.
extern "C" fn shutdown(_ty: c_int, module_number: c_int) -> c_int {
    boundary::guard("shutdown", FAILURE, || {
        ini::unregister(module_number);
        SUCCESS
    })
}

/// phpinfo() / `php --ri phpsess`: version, effective settings, the INI table and this worker's
/// counters.
extern "C" fn info(module: *mut ModuleEntry) {
    let tables = boundary::guard("phpinfo", Vec::new(), info_tables);
    let print = |tables: &Vec<InfoTable>| {
        for (i, table) in tables.iter().enumerate() {
            // SAFETY: phpinfo's own printers, called during phpinfo with NUL-terminated strings
            // that outlive each call.
            unsafe {
                php_info_print_table_start();
                if let Some((a, b)) = &table.header {
                    php_info_print_table_header(2, a.as_ptr(), b.as_ptr());
                }
                for (a, b) in &table.rows {
                    php_info_print_table_row(2, a.as_ptr(), b.as_ptr());
                }
                php_info_print_table_end();
                if i == 0 {
                    ffi::display_ini_entries(module);
                }
            }
        }
    };
    boundary::php_call(tables, print);
}

struct InfoTable {
    header: Option<(CString, CString)>,
    rows: Vec<(CString, CString)>,
}

fn cstring(s: String) -> CString {
    // INI values are C strings already; a NUL can only come from our own text.
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn table(header: Option<(&str, String)>, rows: Vec<(&str, String)>) -> InfoTable {
    InfoTable {
        header: header.map(|(a, b)| (cstring(a.to_owned()), cstring(b))),
        rows: rows
            .into_iter()
            .map(|(a, b)| (cstring(a.to_owned()), cstring(b)))
            .collect(),
    }
}

fn user_index(s: &ini::Settings) -> String {
    match (s.index_on(), s.user_key.is_empty()) {
        (false, _) => "off".to_owned(),
        (true, false) => format!(
            "on: user from $_SESSION['{}'], at most {} sessions per user",
            s.user_key,
            s.user_index_max.max(1)
        ),
        (true, true) => format!(
            "on: user from phpsess_set_user() only, at most {} sessions per user",
            s.user_index_max.max(1)
        ),
    }
}

/// The encryption row: mode and key ids, never a key (the INI table shows the keys as hidden).
fn encryption(s: &ini::Settings) -> String {
    let row = encryption_mode(s);
    match s.hash_ids() {
        Ok(None) => row,
        Ok(Some(_)) => format!(
            "{row}; ids hashed (phpsess.hash_ids, {})",
            s.id_key_source()
        ),
        Err(message) => format!("{row}; hashed ids refused, sessions do not open: {message}"),
    }
}

fn encryption_mode(s: &ini::Settings) -> String {
    match s.encryption() {
        Ok(None) => "off".to_owned(),
        Ok(Some(e)) => {
            let mode = match e.mode() {
                phpsess::store::EncryptionMode::Migrate => "migrate (reads plaintext too)",
                _ => "on",
            };
            let previous: Vec<String> = e.previous_ids().iter().map(|k| k.to_string()).collect();
            let previous = if previous.is_empty() {
                "none".to_owned()
            } else {
                previous.join(", ")
            };
            format!(
                "{mode}: key set, key id {}; previous key ids: {previous}",
                e.key_id()
            )
        }
        Err(message) => format!("refused, sessions do not open: {message}"),
    }
}

fn info_tables() -> Vec<InfoTable> {
    let s = ini::Settings::read(&ini::PhpIni);
    let (expire, expire_from) = s.lock_expire();
    let locking = if s.locking_enabled {
        format!(
            "on: expire {} s ({expire_from}), wait up to {} ms {}, retry every {} ms",
            expire.as_secs(),
            s.lock_wait_timeout.max(0),
            if s.lock_queue {
                "in a queue"
            } else {
                "polling"
            },
            s.lock_retry_interval.max(1)
        )
    } else {
        "off".to_owned()
    };
    let compression = match s.compression() {
        Ok(c) => match c.level() {
            Some(level) => format!("{c} (level {level})"),
            None => c.to_string(),
        },
        Err(_) => format!("none ('{}' is not a known algorithm)", s.compression),
    };
    let ttl_from = if s.gc_maxlifetime > 0 {
        "session.gc_maxlifetime"
    } else {
        "default, session.gc_maxlifetime <= 0"
    };
    let about = table(
        Some(("phpsess support", "enabled".to_owned())),
        vec![
            ("Version", VERSION.to_owned()),
            ("Save handlers", "phpsess phpsess_cluster".to_owned()),
            ("Effective locking", locking),
            (
                "Effective early refresh",
                if s.early_refresh { "on" } else { "off" }.to_owned(),
            ),
            ("Effective compression", compression),
            ("Effective per-user index", user_index(&s)),
            ("Effective encryption", encryption(&s)),
            (
                "Effective session TTL",
                format!("{} s ({ttl_from})", ini::ttl(s.gc_maxlifetime).as_secs()),
            ),
        ],
    );
    let r = worker::report();
    let counters = table(
        Some(("This worker", format!("pid {}", r.pid))),
        vec![
            ("Requests", r.requests.to_string()),
            ("Round trips", r.store.round_trips.to_string()),
            ("Commands", r.store.commands.to_string()),
            ("Connections opened", r.store.connects.to_string()),
            ("Lock waits", r.store.lock_waits.to_string()),
            (
                "Time waited for locks (ms)",
                r.store.lock_wait_ms.to_string(),
            ),
            (
                "Lock waits ended by a hand-off",
                r.store.lock_handoffs.to_string(),
            ),
            (
                "Lock waits that polled (holder does not hand off)",
                r.store.lock_fallbacks.to_string(),
            ),
            ("Lock wait timeouts", r.store.lock_timeouts.to_string()),
            ("Lock waits by duration (ms)", wait_histogram(&r.store)),
            ("Lock losses", r.store.lock_losses.to_string()),
            (
                "User index entries dropped (over phpsess.user_index_max)",
                r.store.index_dropped.to_string(),
            ),
            ("Errors", r.errors.to_string()),
            ("Panics caught", r.panics.to_string()),
            ("Cached stores", r.stores.to_string()),
            ("Open session states", r.open_requests.to_string()),
        ],
    );
    vec![about, counters]
}

/// The lock wait histogram in one cell: `<=2:5 <=10:1 … >5000:0`.
fn wait_histogram(s: &phpsess::store::StoreStats) -> String {
    let bounds = phpsess::store::LOCK_WAIT_BUCKETS_MS;
    let mut parts: Vec<String> = bounds
        .iter()
        .zip(s.lock_wait_buckets)
        .map(|(b, n)| format!("<={b}:{n}"))
        .collect();
    parts.push(format!(
        ">{}:{}",
        bounds[bounds.len() - 1],
        s.lock_wait_buckets[bounds.len()]
    ));
    parts.join(" ")
}
