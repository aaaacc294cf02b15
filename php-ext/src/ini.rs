//! The `phpsess.*` INI settings: their table (registered in MINIT, `PHP_INI_ALL` so a pool's
//! `php_admin_value`/`php_value` or a script's `ini_set()` can change them, except `phpsess.auth`
//! and the encryption settings, which a script must not change), typed reads at the
//! moment a session opens, and the mapping from settings to the core store's [`StoreOptions`].

use std::ffi::{c_int, CStr};
use std::time::Duration;

use ext_php_rs::flags::IniEntryPermission;
use ext_php_rs::zend::{IniEntryDef, IniEntryDefs};
use std::sync::Mutex;

use phpsess::store::{
    AtRestKey, Compression, Encryption, EncryptionMode, IdHasher, LockOptions, StoreOptions,
    DEFAULT_MAX_SESSION_BYTES, MAX_LOCK_EXPIRE,
};

use crate::ffi;

/// One INI setting: its name and default.
pub struct Setting {
    /// Full INI name.
    pub name: &'static CStr,
    /// Default value, as PHP stores it.
    pub default: &'static CStr,
}

/// Every `phpsess.*` setting, in the order phpinfo lists them.
pub const SETTINGS: [Setting; 13] = [
    // Take the session lock on read (phpredis: redis.session.locking_enabled, default 0).
    Setting {
        name: c"phpsess.locking_enabled",
        default: c"1",
    },
    // Lock lifetime in seconds; 0 = max_execution_time, but at least 60 (see DEFAULT_LOCK_EXPIRE).
    Setting {
        name: c"phpsess.lock_expire",
        default: c"0",
    },
    // Milliseconds to wait for a lock held by another request before session_start() fails.
    Setting {
        name: c"phpsess.lock_wait_timeout",
        default: c"5000",
    },
    // Milliseconds between two attempts to take a held lock (at least 1).
    Setting {
        name: c"phpsess.lock_retry_interval",
        default: c"20",
    },
    // Refresh the TTL while reading (GETEX), so an unchanged session needs no EXPIRE.
    Setting {
        name: c"phpsess.early_refresh",
        default: c"0",
    },
    // none, lzf, zstd or lz4, stored as phpredis 6.1 does (redis.session.compression).
    Setting {
        name: c"phpsess.compression",
        default: c"none",
    },
    // Compression level for zstd (below 1 = 3, above the maximum = the maximum).
    Setting {
        name: c"phpsess.compression_level",
        default: c"3",
    },
    // Largest session a read accepts, stored and decompressed (bytes, or with a K, M or G suffix
    // as memory_limit); a bigger one fails the read instead of exhausting memory.
    Setting {
        name: c"phpsess.max_session_bytes",
        default: c"16M",
    },
    // The top-level $_SESSION entry holding the user id (int or string), e.g. user_id: every
    // write keeps the per-user index current from it. Empty = off.
    Setting {
        name: c"phpsess.user_key",
        default: c"",
    },
    // Keep the per-user index for phpsess_set_user() alone (on by itself when user_key is set).
    Setting {
        name: c"phpsess.user_index",
        default: c"0",
    },
    // The most sessions the index keeps per user; the ones expiring first are dropped beyond it.
    Setting {
        name: c"phpsess.user_index_max",
        default: c"100",
    },
    // Seconds between two publishes of a worker's counters to Redis (<prefix>_stats:<host>, for
    // `phpsess exporter`), riding a pipeline a request sends anyway. 0 = off.
    Setting {
        name: c"phpsess.stats_interval",
        default: c"0",
    },
    // Waiters for a held lock queue in arrival order and are handed the lock by the request
    // that releases it, instead of polling every lock_retry_interval.
    Setting {
        name: c"phpsess.lock_queue",
        default: c"1",
    },
];

const fn def(i: usize) -> IniEntryDef {
    IniEntryDef::new(
        SETTINGS[i].name,
        SETTINGS[i].default,
        IniEntryPermission::All,
    )
}

/// `phpsess.auth`: credentials for every save_path entry that gives none, so the password need
/// not be in `session.save_path` (which PHP prints in its own warnings). `PASSWORD`,
/// `USER:PASSWORD`, `:PASSWORD` (a password with a `:`), or `file:/absolute/path` to read them
/// from the first line of a file (then not even phpinfo() shows them). `PHP_INI_SYSTEM`: php.ini
/// or a pool's `php_admin_value` only, never `ini_set()` from a script.
pub const AUTH: &CStr = c"phpsess.auth";

/// `phpsess.encryption`: `off` (default), `migrate` (read plaintext and encrypted, write
/// encrypted) or `on` (plaintext is treated as absent). `PHP_INI_SYSTEM|PHP_INI_PERDIR`, as the keys.
pub const ENCRYPTION: &CStr = c"phpsess.encryption";
/// `phpsess.encryption_key`: `base64:<32 bytes>` or `file:/path`. Never shown: phpinfo prints
/// "(hidden)" and the key id.
pub const ENCRYPTION_KEY: &CStr = c"phpsess.encryption_key";
/// `phpsess.previous_keys`: comma-separated keys, same forms, accepted on read only (rotation).
pub const PREVIOUS_KEYS: &CStr = c"phpsess.previous_keys";

/// `phpsess.hash_ids`: `1` names every session in Redis by a keyed hash of its id (a key derived
/// from `phpsess.id_key`, else from `phpsess.encryption_key`), so a Redis dump holds no cookie
/// values. `PHP_INI_SYSTEM|PHP_INI_PERDIR`: a script switching it would read every session as
/// absent.
pub const HASH_IDS: &CStr = c"phpsess.hash_ids";
/// `phpsess.id_key`: the key the id hash is derived from (same forms as the encryption key), so
/// that `phpsess.encryption_key` can rotate without renaming every session. Never shown.
pub const ID_KEY: &CStr = c"phpsess.id_key";

/// Where the encryption settings may be set: php.ini, a pool's `php_admin_value`/`php_value`,
/// .htaccess, never `ini_set()`: a script must not be able to swap the key or turn encryption off.
const KEY_PERMISSION: IniEntryPermission =
    IniEntryPermission::System.union(IniEntryPermission::PerDir);

/// phpinfo's displayer for the key settings: `display_ini_entries` would print their value, the
/// key itself in the `base64:` form. It only prints a constant, so it cannot panic or fail.
unsafe extern "C" fn display_hidden(_entry: *mut ext_php_rs::ffi::zend_ini_entry, _type: c_int) {
    // SAFETY: php_printf with a NUL-terminated format without conversions, called by phpinfo.
    unsafe {
        ext_php_rs::ffi::php_printf(c"(hidden; see Effective encryption)".as_ptr());
    }
}

const fn hidden(name: &'static CStr) -> IniEntryDef {
    let mut def = IniEntryDef::new(name, c"", KEY_PERMISSION);
    def.displayer = Some(display_hidden);
    def
}

/// The table PHP keeps for the life of the process.
pub static INI_ENTRIES: IniEntryDefs<20> = IniEntryDefs::new([
    def(0),
    def(1),
    def(2),
    def(3),
    def(4),
    def(5),
    def(6),
    def(7),
    def(8),
    def(9),
    def(10),
    def(11),
    def(12),
    IniEntryDef::new(AUTH, c"", IniEntryPermission::System),
    IniEntryDef::new(ENCRYPTION, c"off", KEY_PERMISSION),
    hidden(ENCRYPTION_KEY),
    hidden(PREVIOUS_KEYS),
    IniEntryDef::new(HASH_IDS, c"0", KEY_PERMISSION),
    hidden(ID_KEY),
    IniEntryDef::end(),
]);

/// The credentials of `phpsess.auth` (`None` when it is empty).
pub fn default_auth(ini: &impl IniSource) -> phpsess::Result<Option<phpsess::save_path::Auth>> {
    let value = ini.text(AUTH).unwrap_or_default();
    if value.is_empty() {
        return Ok(None);
    }
    phpsess::save_path::Auth::from_setting_or_file(&value)
        .map(Some)
        .map_err(|reason| phpsess::Error::Setting {
            name: "phpsess.auth".into(),
            reason,
        })
}

/// The shortest lock lifetime used when `phpsess.lock_expire` is 0. phpredis uses
/// `max_execution_time`, but on Linux that counts CPU time: a request waiting 40 s on a database
/// or an HTTP call outlives a 30 s `max_execution_time` by wall clock, its lock expires under it
/// and its write is refused. 60 s is nginx's default `fastcgi_read_timeout` (the client has given
/// up by then); a longer `max_execution_time` wins, and `phpsess.lock_expire` should be set to
/// FPM's `request_terminate_timeout` where requests may run longer (an extension cannot read
/// FPM's pool settings). Also the lifetime under the CLI, where `max_execution_time` is 0 and a
/// crashed script must not leave a lock forever (phpredis sets no TTL then).
pub const DEFAULT_LOCK_EXPIRE: Duration = Duration::from_secs(60);

/// `session.gc_maxlifetime` when it is <= 0 (as phpredis).
pub const DEFAULT_TTL_SECS: i64 = 1440;

/// Where settings come from: PHP's INI table in the extension, a map in unit tests.
pub trait IniSource {
    /// The current value as text, `None` if no such entry exists.
    fn text(&self, name: &CStr) -> Option<String>;
    /// The current value as PHP's `INI_INT` reads it (`strtol(value, NULL, 0)`; 0 if missing).
    fn long(&self, name: &CStr) -> i64;
}

/// The running PHP's INI values (`INI_STR` / `INI_INT`).
pub struct PhpIni;

impl IniSource for PhpIni {
    fn text(&self, name: &CStr) -> Option<String> {
        let bytes = name.to_bytes();
        // SAFETY: `name` is NUL-terminated and its length excludes the NUL, as zend_ini.h wants;
        // the returned pointer is NULL or a NUL-terminated string owned by the INI entry, copied
        // here before anything can change it.
        unsafe {
            let p = ffi::zend_ini_string_ex(name.as_ptr(), bytes.len(), 0, std::ptr::null_mut());
            if p.is_null() {
                None
            } else {
                Some(CStr::from_ptr(p).to_string_lossy().into_owned())
            }
        }
    }

    fn long(&self, name: &CStr) -> i64 {
        // SAFETY: as above; `zend_ini_long` only reads the INI table.
        unsafe { ffi::zend_ini_long(name.as_ptr(), name.to_bytes().len(), 0 as c_int) }
    }
}

/// The settings one session request runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `phpsess.locking_enabled`.
    pub locking_enabled: bool,
    /// `phpsess.lock_expire` (seconds, as configured).
    pub lock_expire: i64,
    /// `max_execution_time`, the fallback for `lock_expire = 0`.
    pub max_execution_time: i64,
    /// `phpsess.lock_wait_timeout` (ms).
    pub lock_wait_timeout: i64,
    /// `phpsess.lock_retry_interval` (ms).
    pub lock_retry_interval: i64,
    /// `phpsess.early_refresh`.
    pub early_refresh: bool,
    /// `phpsess.compression`.
    pub compression: String,
    /// `phpsess.compression_level`.
    pub compression_level: i64,
    /// `session.gc_maxlifetime`.
    pub gc_maxlifetime: i64,
    /// `phpsess.max_session_bytes`, as written.
    pub max_session_bytes: String,
    /// `phpsess.user_key`.
    pub user_key: String,
    /// `phpsess.user_index`.
    pub user_index: bool,
    /// `phpsess.user_index_max`.
    pub user_index_max: i64,
    /// `phpsess.stats_interval` (seconds; 0 = off).
    pub stats_interval: i64,
    /// `phpsess.lock_queue`.
    pub lock_queue: bool,
    /// `phpsess.encryption`.
    pub encryption: String,
    /// `phpsess.encryption_key` (secret: never printed).
    encryption_key: String,
    /// `phpsess.previous_keys` (secret: never printed).
    previous_keys: String,
    /// `phpsess.hash_ids`.
    pub hash_ids: bool,
    /// `phpsess.id_key` (secret: never printed).
    id_key: String,
}

impl Settings {
    /// Reads every setting from `ini`.
    pub fn read(ini: &impl IniSource) -> Settings {
        let flag = |i: usize| ini.text(SETTINGS[i].name).is_some_and(|v| parse_bool(&v));
        Settings {
            locking_enabled: flag(0),
            lock_expire: ini.long(SETTINGS[1].name),
            max_execution_time: ini.long(c"max_execution_time"),
            lock_wait_timeout: ini.long(SETTINGS[2].name),
            lock_retry_interval: ini.long(SETTINGS[3].name),
            early_refresh: flag(4),
            compression: ini.text(SETTINGS[5].name).unwrap_or_default(),
            compression_level: ini.long(SETTINGS[6].name),
            gc_maxlifetime: ini.long(c"session.gc_maxlifetime"),
            max_session_bytes: ini.text(SETTINGS[7].name).unwrap_or_default(),
            user_key: ini.text(SETTINGS[8].name).unwrap_or_default(),
            user_index: flag(9),
            user_index_max: ini.long(SETTINGS[10].name),
            stats_interval: ini.long(SETTINGS[11].name),
            lock_queue: flag(12),
            encryption: ini.text(ENCRYPTION).unwrap_or_default(),
            encryption_key: ini.text(ENCRYPTION_KEY).unwrap_or_default(),
            previous_keys: ini.text(PREVIOUS_KEYS).unwrap_or_default(),
            hash_ids: ini.text(HASH_IDS).is_some_and(|v| parse_bool(&v)),
            id_key: ini.text(ID_KEY).unwrap_or_default(),
        }
    }

    /// Whether the per-user index is kept: `phpsess.user_index`, or a `phpsess.user_key`.
    pub fn index_on(&self) -> bool {
        self.user_index || !self.user_key.is_empty()
    }

    /// The lock lifetime in force, and where it came from.
    pub fn lock_expire(&self) -> (Duration, &'static str) {
        if self.lock_expire > 0 {
            (
                secs(self.lock_expire).min(MAX_LOCK_EXPIRE),
                "phpsess.lock_expire",
            )
        } else if secs(self.max_execution_time) > DEFAULT_LOCK_EXPIRE {
            (
                secs(self.max_execution_time).min(MAX_LOCK_EXPIRE),
                "max_execution_time",
            )
        } else {
            (
                DEFAULT_LOCK_EXPIRE,
                "default: max_execution_time counts CPU time, not wall clock",
            )
        }
    }

    /// The compression in force; `Err` carries the notice for a value phpredis would refuse too.
    pub fn compression(&self) -> Result<Compression, String> {
        Compression::from_ini(&self.compression, self.compression_level).ok_or_else(|| {
            format!(
                "phpsess: phpsess.compression '{}' is not one of none, lzf, zstd, lz4; storing uncompressed",
                self.compression
            )
        })
    }

    /// The session size limit in force; `Err` carries the notice for a value that is not a
    /// positive size (the default applies then).
    pub fn max_session_bytes(&self) -> Result<usize, String> {
        parse_quantity(&self.max_session_bytes)
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                format!(
                    "phpsess: phpsess.max_session_bytes '{}' is not a positive size; using {} bytes",
                    self.max_session_bytes, DEFAULT_MAX_SESSION_BYTES
                )
            })
    }

    /// Encryption at rest as configured: `Ok(None)` when off. `Err` says which setting is wrong
    /// (never with key material); the session must not open then, so that a typo never stores
    /// plaintext where encryption was asked for.
    pub fn encryption(&self) -> Result<Option<Encryption>, String> {
        at_rest(&self.encryption, &self.encryption_key, &self.previous_keys)
    }

    /// The id hash of `phpsess.hash_ids`: `Ok(None)` when off. `Err` (never with key material)
    /// when it is on without a usable `phpsess.encryption_key`: the session must not open then,
    /// or it would be stored under its plain id.
    pub fn hash_ids(&self) -> Result<Option<IdHasher>, String> {
        if !self.hash_ids {
            return Ok(None);
        }
        id_hasher(&self.id_key, &self.encryption_key).map(Some)
    }

    /// Where the id hash key comes from, for phpinfo.
    pub fn id_key_source(&self) -> &'static str {
        if self.id_key.trim().is_empty() {
            "a key derived from phpsess.encryption_key"
        } else {
            "a key derived from phpsess.id_key"
        }
    }

    /// `options` with encryption at rest and hashed ids as configured; `Err` as
    /// [`encryption`](Self::encryption) and [`hash_ids`](Self::hash_ids).
    pub fn with_at_rest(&self, options: StoreOptions) -> Result<StoreOptions, String> {
        Ok(options
            .with_encryption(self.encryption()?)
            .with_hash_ids(self.hash_ids()?))
    }

    /// The store options these settings mean, with the session lifetime `ttl_secs` (PHP's
    /// `maxlifetime` argument or `session.gc_maxlifetime`), plus notices about refused values.
    pub fn store_options(&self, ttl_secs: i64) -> (StoreOptions, Option<String>) {
        let (compression, mut notice) = match self.compression() {
            Ok(c) => (c, None),
            Err(n) => (Compression::None, Some(n)),
        };
        let max_session_bytes = self.max_session_bytes().unwrap_or_else(|n| {
            notice = Some(match notice.take() {
                Some(first) => format!("{first}; {n}"),
                None => n,
            });
            DEFAULT_MAX_SESSION_BYTES
        });
        let lock = LockOptions::default()
            .with_enabled(self.locking_enabled)
            .with_expire(self.lock_expire().0)
            .with_wait(millis(self.lock_wait_timeout.max(0)))
            .with_retry_interval(millis(self.lock_retry_interval.max(1)))
            .with_queue(self.lock_queue);
        let options = StoreOptions::default()
            .with_ttl(ttl(ttl_secs))
            .with_lock(lock)
            .with_early_refresh(self.early_refresh)
            .with_compression(compression)
            .with_max_session_bytes(max_session_bytes)
            .with_user_index(self.index_on())
            .with_user_index_max(usize::try_from(self.user_index_max).unwrap_or(1));
        (options, notice)
    }
}

/// The parsed keys of the last settings seen: a `file:` key is read once per worker, not per
/// request. The settings are `PHP_INI_SYSTEM|PHP_INI_PERDIR`, so they change with a reload or a
/// directory, which the text comparison catches.
type KeyCache = Option<((String, String, String), Result<Option<Encryption>, String>)>;
static KEY_CACHE: Mutex<KeyCache> = Mutex::new(None);

fn at_rest(mode: &str, key: &str, previous: &str) -> Result<Option<Encryption>, String> {
    let mode = match mode.trim().to_ascii_lowercase().as_str() {
        "" | "off" | "0" => return Ok(None),
        "migrate" => EncryptionMode::Migrate,
        "on" | "1" => EncryptionMode::On,
        _ => {
            return Err(format!(
                "phpsess: phpsess.encryption '{}' is not one of off, migrate, on; sessions are not opened",
                mode.escape_default()
            ))
        }
    };
    let texts = (format!("{mode:?}"), key.to_owned(), previous.to_owned());
    // A poisoned lock only means a panic elsewhere while holding it; the cache is still whole.
    let mut cache = KEY_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((seen, parsed)) = cache.as_ref() {
        if *seen == texts {
            return parsed.clone();
        }
    }
    let parsed = parse_keys(mode, key, previous);
    *cache = Some((texts, parsed.clone()));
    parsed
}

fn parse_keys(
    mode: EncryptionMode,
    key: &str,
    previous: &str,
) -> Result<Option<Encryption>, String> {
    if key.trim().is_empty() {
        return Err(
            "phpsess: phpsess.encryption is on but phpsess.encryption_key is empty; sessions are not opened"
                .to_owned(),
        );
    }
    let current = AtRestKey::parse(key).map_err(|e| {
        format!("phpsess: phpsess.encryption_key refused: {e}; sessions are not opened")
    })?;
    let previous = AtRestKey::parse_list(previous).map_err(|e| {
        format!("phpsess: phpsess.previous_keys refused: {e}; sessions are not opened")
    })?;
    Ok(Some(Encryption::new(mode, current).with_previous(previous)))
}

/// The id hash of the last key texts seen, cached as the encryption keys are.
type HasherCache = Option<((String, String), Result<IdHasher, String>)>;
static HASHER_CACHE: Mutex<HasherCache> = Mutex::new(None);

/// The id hash from `phpsess.id_key`, else from `phpsess.encryption_key`.
fn id_hasher(id_key: &str, encryption_key: &str) -> Result<IdHasher, String> {
    // A poisoned lock only means a panic elsewhere while holding it; the cache is still whole.
    let mut cache = HASHER_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let texts = (id_key.to_owned(), encryption_key.to_owned());
    if let Some((seen, parsed)) = cache.as_ref() {
        if *seen == texts {
            return parsed.clone();
        }
    }
    let (setting, key) = if id_key.trim().is_empty() {
        ("phpsess.encryption_key", encryption_key)
    } else {
        ("phpsess.id_key", id_key)
    };
    let parsed = if key.trim().is_empty() {
        Err("phpsess: phpsess.hash_ids is on but neither phpsess.id_key nor phpsess.encryption_key is set (the id hash key is derived from one); sessions are not opened".to_owned())
    } else {
        AtRestKey::parse(key)
            .map(|k| IdHasher::new(&k))
            .map_err(|e| format!("phpsess: {setting} refused: {e}; sessions are not opened"))
    };
    *cache = Some((texts, parsed.clone()));
    parsed
}

/// PHP's INI boolean (`zend_ini_parse_bool`): `true`, `yes`, `on` in any case, otherwise `atoi() != 0`.
pub fn parse_bool(value: &str) -> bool {
    let v = value.as_bytes();
    let word = |w: &str| v.eq_ignore_ascii_case(w.as_bytes());
    word("true") || word("yes") || word("on") || atoi(value) != 0
}

/// C's `atoi`: leading whitespace, an optional sign, then decimal digits up to the first non-digit.
fn atoi(value: &str) -> i64 {
    let s = value.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if negative {
        -n
    } else {
        n
    }
}

/// A size as PHP's `memory_limit` takes it: decimal digits and an optional `K`, `M` or `G` suffix
/// (any case), surrounding blanks allowed. `None` for anything else or a size over `usize`.
pub fn parse_quantity(value: &str) -> Option<usize> {
    let v = value.trim();
    let (digits, shift) = match v.as_bytes().last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 10),
        b'm' | b'M' => (&v[..v.len() - 1], 20),
        b'g' | b'G' => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: usize = digits.parse().ok()?;
    n.checked_mul(1 << shift)
}

/// Session lifetime from PHP's `maxlifetime`: <= 0 means 1440 s and anything above `INT_MAX` is
/// capped there, as phpredis does.
pub fn ttl(maxlifetime: i64) -> Duration {
    let secs = if maxlifetime <= 0 {
        DEFAULT_TTL_SECS
    } else {
        maxlifetime.min(i64::from(i32::MAX))
    };
    Duration::from_secs(secs.unsigned_abs())
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(n.unsigned_abs())
}

fn millis(n: i64) -> Duration {
    Duration::from_millis(n.unsigned_abs())
}

/// Registers the table; called once from MINIT.
pub fn register(module_number: i32) {
    IniEntryDef::register(INI_ENTRIES.as_slice(), module_number);
}

/// Unregisters the table; called from MSHUTDOWN.
pub fn unregister(module_number: i32) {
    // SAFETY: MSHUTDOWN of the module that registered the entries, with its own module number.
    unsafe { ffi::zend_unregister_ini_entries(module_number) };
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// INI values as strings; `long` mimics `strtol(v, NULL, 0)` for the decimal values used here.
    struct Map(HashMap<&'static str, &'static str>);

    impl Map {
        fn defaults() -> Map {
            let mut m = HashMap::new();
            for s in &SETTINGS {
                m.insert(s.name.to_str().unwrap(), s.default.to_str().unwrap());
            }
            m.insert("max_execution_time", "0");
            m.insert("session.gc_maxlifetime", "1440");
            Map(m)
        }
        fn with(mut self, k: &'static str, v: &'static str) -> Map {
            self.0.insert(k, v);
            self
        }
    }

    impl IniSource for Map {
        fn text(&self, name: &CStr) -> Option<String> {
            self.0.get(name.to_str().unwrap()).map(|v| v.to_string())
        }
        fn long(&self, name: &CStr) -> i64 {
            self.text(name).map(|v| atoi(&v)).unwrap_or(0)
        }
    }

    #[test]
    fn defaults_mean_the_store_defaults_with_locking_on() {
        let s = Settings::read(&Map::defaults());
        let (options, notice) = s.store_options(1440);
        assert_eq!(notice, None);
        assert_eq!(options, StoreOptions::default());
        assert!(options.lock.enabled);
        assert_eq!(
            s.lock_expire(),
            (
                DEFAULT_LOCK_EXPIRE,
                "default: max_execution_time counts CPU time, not wall clock"
            )
        );
    }

    #[test]
    fn lock_expiry_prefers_the_setting_then_max_execution_time() {
        // A short max_execution_time (CPU time) does not shorten the lock below the default.
        let m = Map::defaults().with("max_execution_time", "30");
        assert_eq!(Settings::read(&m).lock_expire().0, DEFAULT_LOCK_EXPIRE);
        let m = Map::defaults().with("max_execution_time", "300");
        assert_eq!(
            Settings::read(&m).lock_expire(),
            (Duration::from_secs(300), "max_execution_time")
        );
        let huge = Map::defaults().with("phpsess.lock_expire", "99999999999");
        assert_eq!(Settings::read(&huge).lock_expire().0, MAX_LOCK_EXPIRE);
        let m = m.with("phpsess.lock_expire", "7");
        assert_eq!(
            Settings::read(&m).lock_expire(),
            (Duration::from_secs(7), "phpsess.lock_expire")
        );
        let m = m.with("phpsess.lock_expire", "-3");
        assert_eq!(Settings::read(&m).lock_expire().0, Duration::from_secs(300));
        assert_eq!(Settings::read(&m).lock_expire().1, "max_execution_time");
    }

    #[test]
    fn waits_are_clamped_and_compression_refusals_become_a_notice() {
        let m = Map::defaults()
            .with("phpsess.lock_wait_timeout", "-5")
            .with("phpsess.lock_retry_interval", "0")
            .with("phpsess.compression", "brotli")
            .with("phpsess.early_refresh", "On")
            .with("phpsess.locking_enabled", "off");
        let (o, notice) = Settings::read(&m).store_options(0);
        assert_eq!(o.lock.wait, Duration::ZERO);
        assert_eq!(o.lock.retry_interval, Duration::from_millis(1));
        assert_eq!(o.compression, Compression::None);
        assert_eq!(o.ttl, Duration::from_secs(1440));
        assert!(o.early_refresh);
        assert!(!o.lock.enabled);
        assert_eq!(
            notice.as_deref(),
            Some("phpsess: phpsess.compression 'brotli' is not one of none, lzf, zstd, lz4; storing uncompressed")
        );
        let m = Map::defaults()
            .with("phpsess.compression", "ZSTD")
            .with("phpsess.compression_level", "9");
        let (o, notice) = Settings::read(&m).store_options(60);
        assert_eq!(
            (o.compression, notice),
            (Compression::Zstd { level: 9 }, None)
        );
        assert_eq!(o.ttl, Duration::from_secs(60));
    }

    #[test]
    fn max_session_bytes_takes_memory_limit_sizes() {
        let table = [
            ("16M", Some(16 << 20)),
            ("16m", Some(16 << 20)),
            ("512k", Some(512 << 10)),
            ("1G", Some(1 << 30)),
            (" 1048576 ", Some(1 << 20)),
            ("0", Some(0)),
            ("", None),
            ("M", None),
            ("-1", None),
            ("1.5M", None),
            ("16MB", None),
            ("99999999999999999999", None),
        ];
        for (value, want) in table {
            assert_eq!(parse_quantity(value), want, "{value:?}");
        }
        let (o, notice) = Settings::read(&Map::defaults().with("phpsess.max_session_bytes", "1K"))
            .store_options(60);
        assert_eq!((o.max_session_bytes, notice), (1024, None));
        let m = Map::defaults()
            .with("phpsess.max_session_bytes", "0")
            .with("phpsess.compression", "brotli");
        let (o, notice) = Settings::read(&m).store_options(60);
        assert_eq!(o.max_session_bytes, DEFAULT_MAX_SESSION_BYTES);
        assert_eq!(
            notice.as_deref(),
            Some(
                "phpsess: phpsess.compression 'brotli' is not one of none, lzf, zstd, lz4; storing \
                 uncompressed; phpsess: phpsess.max_session_bytes '0' is not a positive size; using \
                 16777216 bytes"
            )
        );
    }

    #[test]
    fn booleans_follow_zend_ini_parse_bool() {
        let table = [
            ("1", true),
            ("0", false),
            ("", false),
            ("On", true),
            ("off", false),
            ("YES", true),
            ("no", false),
            ("TRUE", true),
            ("false", false),
            ("2", true),
            (" 1", true),
            ("-1", true),
            ("1abc", true),
            ("abc", false),
            ("on ", false),
        ];
        for (value, want) in table {
            assert_eq!(parse_bool(value), want, "{value:?}");
        }
    }

    #[test]
    fn ttl_follows_phpredis() {
        assert_eq!(ttl(0), Duration::from_secs(1440));
        assert_eq!(ttl(-1), Duration::from_secs(1440));
        assert_eq!(ttl(1), Duration::from_secs(1));
        assert_eq!(ttl(i64::MAX), Duration::from_secs(i32::MAX as u64));
    }
}
