//! Which user the session being written belongs to, for the per-user index: the explicit choice
//! of `phpsess_set_user()`, an explicit binding read with the session (kept through
//! `session_regenerate_id()`, which closes and reopens the handler), or the `phpsess.user_key`
//! entry of the data written. Per request: reset when a request starts (RINIT), not when the
//! handler closes.

use std::cell::RefCell;

use phpsess::session::Format;
use phpsess::store::{user_in_session, Binding};

use crate::boundary::Messages;
use crate::ini::IniSource;

#[derive(Default)]
struct RequestUser {
    /// `Some(user)` / `Some(None)`: an explicit decision (bind / unbind) for this request.
    choice: Option<Option<Vec<u8>>>,
    /// The decision came from `phpsess_set_user()`, so a session read later does not replace it.
    from_call: bool,
    /// The session id this request read last through phpsess (`current` in listings).
    current: Option<String>,
}

thread_local! {
    static REQUEST: RefCell<RequestUser> = RefCell::new(RequestUser::default());
}

/// RINIT: a new request starts with no decision.
pub fn reset() {
    REQUEST.with(|r| *r.borrow_mut() = RequestUser::default());
}

/// `phpsess_set_user()`: bind (`Some`) or unbind (`None`) the session this request writes.
pub fn set(user: Option<Vec<u8>>) {
    REQUEST.with(|r| {
        let mut r = r.borrow_mut();
        r.choice = Some(user);
        r.from_call = true;
    });
}

/// The session `id` was read with `binding`: an explicit one carries over to the rest of the
/// request (a regenerated id is read unbound), one found in the data does not.
pub fn read(id: &str, binding: Option<Option<&Binding>>) {
    REQUEST.with(|r| {
        let mut r = r.borrow_mut();
        r.current = Some(id.to_owned());
        if r.from_call {
            return;
        }
        match binding {
            Some(Some(b)) if b.explicit => r.choice = Some(Some(b.user.clone())),
            Some(Some(_)) => r.choice = None,
            _ => {}
        }
    });
}

/// The session id this request read last (for `current` in `phpsess_user_sessions()`).
pub fn current() -> Option<String> {
    REQUEST.with(|r| r.borrow().current.clone())
}

/// The binding to store with `data`: `None` = leave the stored one as it is (no index in use
/// for this request), `Some(b)` = store `b` (`Some(None)`: unbind).
pub fn binding_for(data: &[u8], user_key: &str, msgs: &mut Messages) -> Option<Option<Binding>> {
    if let Some(choice) = REQUEST.with(|r| r.borrow().choice.clone()) {
        return Some(choice.map(Binding::explicit));
    }
    if user_key.is_empty() {
        return None;
    }
    let handler = crate::ini::PhpIni
        .text(c"session.serialize_handler")
        .unwrap_or_default();
    let Ok(format) = handler.parse::<Format>() else {
        msgs.config_warning(format!(
            "phpsess: phpsess.user_key needs session.serialize_handler php, php_serialize or php_binary, not '{handler}'; the session is not indexed"
        ));
        return None;
    };
    match user_in_session(data, format, user_key) {
        Ok(user) => Some(user.map(Binding::from_data)),
        // PHP wrote these bytes itself; if they cannot be read, keep the binding as it is.
        Err(_) => None,
    }
}
