//! The panic boundary and the only doors into PHP. Every `extern "C"` entry point runs its Rust
//! work through [`guard`]: a panic becomes the callback's failure value plus a warning, never an
//! unwind into C (which would abort the whole FPM worker). Calls back into PHP (warnings, request
//! strings, phpinfo rows) go through [`php_call`], which catches a PHP bailout (a fatal error's
//! longjmp), drops what Rust owns and only then lets the bailout continue.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
#[cfg(feature = "test-panic")]
use std::sync::OnceLock;

use ext_php_rs::error::php_error;
use ext_php_rs::flags::ErrorType;
use ext_php_rs::zend::{bailout, try_catch, CatchError};

thread_local! {
    /// How many guards are active on this thread: the panic hook stays quiet inside them.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Where the last caught panic happened, for the warning.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Install, once per process, a panic hook that records the location of panics inside [`guard`]
/// instead of printing them to stderr (which php-fpm forwards to its log without context), and
/// passes every other panic to the hook that was there before.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) > 0 {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                LOCATION.with(|cell| *cell.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `work`; if it panics, counts the panic, warns `phpsess: internal error in <callback>: ...`
/// and returns `on_panic`. `work` must not call into PHP: a bailout would longjmp over the
/// `catch_unwind` frame. It returns plain Rust values; the caller talks to PHP afterwards.
pub fn guard<R>(callback: &'static str, on_panic: R, work: impl FnOnce() -> R) -> R {
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        inject_panic(callback);
        work()
    }));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    match result {
        Ok(value) => value,
        Err(payload) => {
            crate::worker::count_panic();
            let at = LOCATION.with(|cell| cell.borrow_mut().take());
            let mut message = format!(
                "phpsess: internal error in {callback}: {}",
                panic_text(payload.as_ref())
            );
            if let Some(at) = at {
                message.push_str(&format!(" (at {at})"));
            }
            message.push_str("; please report this bug");
            warn(&message);
            on_panic
        }
    }
}

/// Test hook, only in builds with the `test-panic` feature (the compat suite builds the extension
/// with it; `make ext` and release builds do not, so an environment variable cannot make a
/// production worker panic): with `PHPSESS_TEST_PANIC=<callback>` in the environment (`read`,
/// `write`, `open`, ...), that callback panics inside its guard, so the compat suite can show on
/// the real binary that a panic ends as a warning and a failed callback, not a dead process. Read
/// once per process.
#[cfg(feature = "test-panic")]
fn inject_panic(callback: &str) {
    static TARGET: OnceLock<Option<String>> = OnceLock::new();
    let target = TARGET.get_or_init(|| std::env::var("PHPSESS_TEST_PANIC").ok());
    if target.as_deref() == Some(callback) {
        panic!("injected by PHPSESS_TEST_PANIC");
    }
}

/// Without the `test-panic` feature, `PHPSESS_TEST_PANIC` means nothing.
#[cfg(not(feature = "test-panic"))]
fn inject_panic(_callback: &str) {}

/// The panic's message when it is a fixed text (`panic!("literal")`). A formatted message is not
/// shown: it may quote user input (the standard library's "byte index 11 is not a char boundary
/// ... of `tcp://h:12é?auth=…`" quotes the whole save_path, password included), and warnings end up
/// in logs. The location still points at the bug.
fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else {
        "a panic whose message is not shown (it may quote the save_path or session data)"
    }
}

/// Runs `f`, which calls into PHP, on `owned` (the Rust data it needs). If PHP bails out (a fatal
/// error, e.g. memory_limit hit while allocating), `owned` is dropped and then the bailout continues
/// to PHP's own handler, so nothing of ours leaks or stays locked. A panic inside `f` (none of ours
/// panic) yields `None`.
///
/// Callers call this last, after releasing locks: the frames between here and PHP then hold
/// nothing else with a destructor.
pub fn php_call<T, R>(owned: T, f: impl FnOnce(&T) -> R) -> Option<R> {
    let result = try_catch(AssertUnwindSafe(|| f(&owned)));
    match result {
        Ok(value) => Some(value),
        Err(CatchError::Bailout) => {
            drop(owned);
            // SAFETY: re-raises the bailout PHP started; see above for what the skipped frames hold.
            unsafe { bailout() }
        }
        Err(_) => None,
    }
}

/// How loud a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// E_WARNING.
    Warning,
    /// E_NOTICE.
    Notice,
}

/// Messages collected during a callback's Rust work, raised in PHP by [`raise`] afterwards.
#[derive(Debug, Default)]
pub struct Messages(pub Vec<(Level, String)>);

impl Messages {
    /// A warning; counts as an error in the worker's counters.
    pub fn warn(&mut self, text: String) {
        crate::worker::count_error();
        self.0.push((Level::Warning, text));
    }

    /// A warning about the configuration that does not stop the callback (an unknown save_path
    /// parameter); not counted as a failed callback.
    pub fn config_warning(&mut self, text: String) {
        self.0.push((Level::Warning, text));
    }

    /// A notice (a setting refused and replaced by its default).
    pub fn notice(&mut self, text: String) {
        self.0.push((Level::Notice, text));
    }
}

/// Raises every message (PHP prefixes each with the running function, e.g. `session_start(): `).
pub fn raise(messages: Messages) {
    if messages.0.is_empty() {
        return;
    }
    php_call(messages, |m| {
        for (level, text) in &m.0 {
            let kind = match level {
                Level::Warning => ErrorType::Warning,
                Level::Notice => ErrorType::Notice,
            };
            // A NUL would make ext-php-rs drop the message; show it instead.
            php_error(&kind, &text.replace('\0', "\\0"));
        }
    });
}

/// Emits one E_WARNING now.
pub fn warn(message: &str) {
    let mut m = Messages::default();
    m.warn(message.to_owned());
    raise(m);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_panic_messages_are_not_shown() {
        let fixed: Box<dyn Any + Send> = Box::new("injected by PHPSESS_TEST_PANIC");
        assert_eq!(panic_text(fixed.as_ref()), "injected by PHPSESS_TEST_PANIC");
        // What `&"tcp://h:1?auth=s3cret"[..12]`-style slicing panics carry: the input itself.
        let formatted: Box<dyn Any + Send> = Box::new(String::from(
            "byte index 11 is not a char boundary of `tcp://h?auth=s3cret`",
        ));
        assert_eq!(
            panic_text(formatted.as_ref()),
            "a panic whose message is not shown (it may quote the save_path or session data)"
        );
    }

    /// A build without the `test-panic` feature (the default, and `make ext`) ignores
    /// `PHPSESS_TEST_PANIC`: the injection point compiles to nothing.
    #[cfg(not(feature = "test-panic"))]
    #[test]
    fn the_panic_injection_is_not_in_default_builds() {
        std::env::set_var("PHPSESS_TEST_PANIC", "read");
        let outcome = panic::catch_unwind(|| inject_panic("read"));
        std::env::remove_var("PHPSESS_TEST_PANIC");
        assert!(outcome.is_ok());
    }
}
