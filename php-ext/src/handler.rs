//! The safe adapter between PHP's session callbacks and the core [`SessionStore`]: per-request
//! state (kept in PHP's `mod_data` from open to close), the session semantics PHP expects (a
//! missing session reads as empty, gc is Redis's TTL, create_sid falls back to a plain id when
//! Redis is down so `session_start()` fails softly instead of throwing), and the warnings.
//!
//! Nothing here touches PHP memory or raises PHP errors: results and messages go back to the
//! callback layer, which talks to PHP after every lock here has been released.

use phpsess::store::{SessionStore, StoreOptions};
use phpsess::Error;

use crate::boundary::Messages;
use crate::ini::{self, PhpIni, Settings};
use crate::worker::{self, HandlerKind, SharedStore};

/// One request's session state, from open to close.
pub struct Request {
    kind: HandlerKind,
    save_path: String,
    store: SharedStore,
    pid: u32,
    options: StoreOptions,
    /// The id whose read failed: its write and touch are refused for the rest of the request, so
    /// a failed read can never lead to an empty (or partial) session overwriting the stored one.
    failed_read: Option<String>,
    /// Redis could not be reached earlier in this request (a connect failure, or a failed
    /// collision check or existence check, which only fail when the server is unavailable); the
    /// warning was raised then. Later callbacks fail at once instead of waiting out the timeouts
    /// again, so `session_start()` returns within one timeout.
    unavailable: bool,
    /// The session ids this request has handed to the store. They are credentials: warnings end
    /// up in logs, so every message shows them shortened (`7b0dcc…`), as the store's own
    /// connect errors do.
    ids: Vec<String>,
    /// `phpsess.user_key` (empty: the user comes from `phpsess_set_user()` only).
    user_key: String,
}

fn warning(e: &Error) -> String {
    format!("phpsess: {e}")
}

/// open: resolve the save_path to this worker's store (no network I/O) and apply the INI settings.
pub fn open(kind: HandlerKind, save_path: &[u8], msgs: &mut Messages) -> Option<Box<Request>> {
    worker::count_request();
    let Ok(save_path) = std::str::from_utf8(save_path) else {
        msgs.warn(format!(
            "phpsess: session.save_path is not valid UTF-8 (handler {})",
            kind.name()
        ));
        return None;
    };
    let settings = Settings::read(&PhpIni);
    let (options, notice) = settings.store_options(settings.gc_maxlifetime);
    if let Some(n) = notice {
        msgs.notice(n);
    }
    let options = match settings.with_at_rest(options) {
        Ok(options) => options,
        Err(message) => {
            msgs.warn(message);
            return None;
        }
    };
    let store = match worker::store_for(kind, save_path, options.clone()) {
        Ok(store) => {
            // A warning, not an error: phpredis ignores unknown parameters, and a fleet sharing
            // one save_path between both must keep working (see the README's save_path section).
            for w in kind.unknown_parameters(save_path) {
                msgs.config_warning(w);
            }
            store
        }
        Err(e) => {
            msgs.warn(format!("phpsess: {} (handler {})", e, kind.name()));
            return None;
        }
    };
    {
        let mut s = worker::lock(&store);
        // A previous request that died inside a callback (fatal error) may have left its lock
        // held; release it before serving a new one. Costs nothing when nothing is held.
        if let Err(e) = s.close() {
            // The error names the lock key, so the id of a session we no longer know: leave it out.
            msgs.warn(match e {
                Error::Redis { host, detail, .. } => format!(
                    "phpsess: releasing a session lock left by an earlier request failed on {host}: {detail}"
                ),
                other => warning(&other),
            });
        }
        s.set_options(options.clone());
        let every = (settings.stats_interval > 0)
            .then(|| std::time::Duration::from_secs(settings.stats_interval.unsigned_abs()));
        s.publish_stats(every, &phpsess::store::host_name());
    }
    worker::count_open_request(true);
    Some(Box::new(Request {
        kind,
        save_path: save_path.to_owned(),
        store,
        pid: std::process::id(),
        options,
        failed_read: None,
        unavailable: false,
        ids: Vec::new(),
        user_key: settings.user_key.clone(),
    }))
}

impl Drop for Request {
    fn drop(&mut self) {
        worker::count_open_request(false);
    }
}

impl Request {
    /// Whether this state serves `kind` with `save_path`: PHP opens the handler again without a
    /// close in `session_reset()` (and `session_regenerate_id()` after a failed write), and the
    /// request then goes on with the same session, lock included.
    pub fn serves(&self, kind: HandlerKind, save_path: &[u8]) -> bool {
        self.kind == kind
            && self.save_path.as_bytes() == save_path
            && self.pid == std::process::id()
    }

    /// Runs `f` on this worker's store with the session lifetime `maxlifetime` (when PHP gave one).
    fn with_store<R>(
        &mut self,
        maxlifetime: Option<i64>,
        f: impl FnOnce(&mut SessionStore) -> R,
    ) -> phpsess::Result<R> {
        if self.pid != std::process::id() {
            // The script forked (pcntl_fork) with the session open: the child must not use the
            // parent's connections, nor believe it holds the parent's lock.
            self.store = worker::store_for(self.kind, &self.save_path, self.options.clone())?;
            self.pid = std::process::id();
        }
        if let Some(m) = maxlifetime {
            self.options.ttl = ini::ttl(m);
        }
        let mut store = worker::lock(&self.store);
        if store.options() != &self.options {
            store.set_options(self.options.clone());
        }
        Ok(f(&mut store))
    }

    /// Remembers `id` so that messages shorten it.
    fn note(&mut self, id: &str) {
        if !self.ids.iter().any(|known| known == id) {
            self.ids.push(id.to_owned());
        }
    }

    /// `phpsess: <error>`, with this request's session ids shortened.
    fn say(&self, e: &Error) -> String {
        let mut text = warning(e);
        for id in &self.ids {
            let s = short(id);
            if s != *id {
                text = text.replace(id.as_str(), &s);
            }
        }
        text
    }

    fn failed(&mut self, e: &Error, msgs: &mut Messages) {
        if e.is_unavailable() {
            self.unavailable = true;
        }
        msgs.warn(self.say(e));
    }

    /// read: the stored bytes, or empty for a session that does not exist. `None` = FAILURE.
    pub fn read(&mut self, id: &str, maxlifetime: i64, msgs: &mut Messages) -> Option<Vec<u8>> {
        self.note(id);
        if self.unavailable {
            // Already warned about in this request; fail fast.
            self.failed_read = Some(id.to_owned());
            return None;
        }
        let result = self
            .with_store(Some(maxlifetime), |s| {
                let read = s.read(id);
                if read.is_ok() {
                    crate::user::read(id, s.binding(id));
                }
                read
            })
            .and_then(|r| r);
        match result {
            Ok(outcome) => {
                if self.failed_read.as_deref() == Some(id) {
                    self.failed_read = None;
                }
                if let Some(why) = outcome.unreadable {
                    // Treated as absent, not as a failed read: the user gets a new session (a
                    // failed read would end session_start()), and the store keeps the stored
                    // value until the application writes data for this id.
                    msgs.warn(why);
                }
                Some(outcome.data.unwrap_or_default())
            }
            Err(e) => {
                self.failed_read = Some(id.to_owned());
                self.failed(&e, msgs);
                None
            }
        }
    }

    fn refuse_after_failed_read(&self, id: &str, msgs: &mut Messages) -> bool {
        if self.failed_read.as_deref() == Some(id) {
            msgs.warn(format!(
                "phpsess: write of session {} refused: reading it failed in this request, so the stored session is kept",
                short(id)
            ));
            return true;
        }
        false
    }

    /// write: store `data` (with the lock, only while we still hold it).
    pub fn write(&mut self, id: &str, data: &[u8], maxlifetime: i64, msgs: &mut Messages) -> bool {
        self.note(id);
        if self.refuse_after_failed_read(id, msgs) {
            return false;
        }
        let binding = self.binding_for(data, msgs);
        let result = self.with_store(Some(maxlifetime), |s| {
            if let Some(b) = binding {
                s.bind(id, b);
            }
            s.write(id, data)
        });
        self.report(result, msgs)
    }

    /// The binding to store with `data` when the index is on (see [`crate::user`]).
    fn binding_for(
        &self,
        data: &[u8],
        msgs: &mut Messages,
    ) -> Option<Option<phpsess::store::Binding>> {
        if !self.options.user_index {
            return None;
        }
        crate::user::binding_for(data, &self.user_key, msgs)
    }

    /// update_timestamp (lazy_write, unchanged data): refresh the TTL (and the binding's).
    pub fn touch(&mut self, id: &str, data: &[u8], maxlifetime: i64, msgs: &mut Messages) -> bool {
        self.note(id);
        if self.refuse_after_failed_read(id, msgs) {
            return false;
        }
        let binding = self.binding_for(data, msgs);
        let result = self.with_store(Some(maxlifetime), |s| {
            if let Some(b) = binding {
                s.bind(id, b);
            }
            s.touch(id)
        });
        self.report(result, msgs)
    }

    /// destroy: delete the session and release its lock.
    pub fn destroy(&mut self, id: &str, msgs: &mut Messages) -> bool {
        self.note(id);
        if self.unavailable {
            return false;
        }
        let result = self.with_store(None, |s| s.destroy(id));
        self.report(result, msgs)
    }

    /// validate_sid (strict mode): does the session exist? An error counts as "no", so PHP makes a
    /// new id rather than trusting one it cannot check.
    pub fn exists(&mut self, id: &str, msgs: &mut Messages) -> bool {
        self.note(id);
        if self.unavailable {
            return false;
        }
        match self.with_store(None, |s| s.exists(id)).and_then(|r| r) {
            Ok(found) => found,
            // As the files handler: an id that cannot name a session does not exist, silently;
            // under strict mode PHP then makes a new one.
            Err(Error::InvalidId { .. }) => false,
            Err(e) => {
                self.failed(&e, msgs);
                self.unavailable = true;
                false
            }
        }
    }

    /// create_sid: the first of `candidates` (fresh ids from PHP) that collides with no existing
    /// session, with its lock taken when locking is on. If Redis cannot be asked, the first
    /// candidate unchecked, as phpredis does: then the read fails and `session_start()` returns
    /// false with our warning, instead of PHP throwing "Failed to create session ID".
    pub fn create_id(&mut self, candidates: Vec<String>, msgs: &mut Messages) -> Option<String> {
        let fallback = candidates.first().cloned();
        for id in &candidates {
            self.note(id);
        }
        if self.unavailable {
            return fallback;
        }
        let mut pending = candidates.into_iter();
        let result = self
            .with_store(None, |s| s.create_id(|| pending.next().unwrap_or_default()))
            .and_then(|r| r);
        match result {
            Ok(id) => Some(id),
            Err(e @ Error::InvalidId { .. }) => {
                msgs.warn(self.say(&e));
                None
            }
            Err(e) => {
                self.failed(&e, msgs);
                self.unavailable = true;
                fallback
            }
        }
    }

    /// close: release our lock (no I/O when we hold none, e.g. after a failure). A failure is
    /// reported, but the session is closed anyway: the lock then ends at its expiry.
    pub fn close(mut self, msgs: &mut Messages) {
        if let Err(e) = self.with_store(None, |s| s.close()).and_then(|r| r) {
            msgs.warn(self.say(&e));
        }
    }

    fn report(
        &mut self,
        result: phpsess::Result<phpsess::Result<()>>,
        msgs: &mut Messages,
    ) -> bool {
        match result.and_then(|r| r) {
            Ok(()) => true,
            Err(e) => {
                self.failed(&e, msgs);
                false
            }
        }
    }
}

/// Session ids are secrets: enough to find one in a log, not enough to use it.
fn short(id: &str) -> String {
    match id.get(..6) {
        Some(head) if id.len() > 8 => format!("{head}…"),
        _ => id.to_owned(),
    }
}
