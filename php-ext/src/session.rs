//! The two `ps_module` tables PHP's session engine calls (`phpsess`, `phpsess_cluster`) and their
//! `extern "C"` callbacks. Each callback converts PHP's raw arguments, runs the safe adapter
//! ([`crate::handler`]) inside the panic boundary, and only then talks to PHP: output strings
//! allocated in request memory, warnings raised.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::Once;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::ffi::{zend_long, zend_string};
use ext_php_rs::types::ZendStr;

use crate::boundary::{guard, php_call, raise, Messages};
use crate::ffi::{self, PsModule, StaticPsModule, FAILURE, SUCCESS};
use crate::handler::{self, Request};
use crate::worker::HandlerKind;

/// How many fresh ids create_sid asks PHP for: the store tries up to three against collisions.
const ID_CANDIDATES: usize = 3;

static HOSTS: StaticPsModule = StaticPsModule(PsModule {
    name: c"phpsess".as_ptr(),
    open: Some(open_hosts),
    close: Some(close),
    read: Some(read),
    write: Some(write),
    destroy: Some(destroy),
    gc: Some(gc),
    create_sid: Some(create_sid),
    validate_sid: Some(validate_sid),
    update_timestamp: Some(update_timestamp),
});

static CLUSTER: StaticPsModule = StaticPsModule(PsModule {
    name: c"phpsess_cluster".as_ptr(),
    open: Some(open_cluster),
    close: Some(close),
    read: Some(read),
    write: Some(write),
    destroy: Some(destroy),
    gc: Some(gc),
    create_sid: Some(create_sid),
    validate_sid: Some(validate_sid),
    update_timestamp: Some(update_timestamp),
});

/// Registers both handlers with ext/session, once per process: PHP keeps the pointers in a fixed
/// table with no way to unregister, and a second registration would take a second slot.
pub fn register() -> Result<(), &'static str> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        for (module, name) in [(&HOSTS, "phpsess"), (&CLUSTER, "phpsess_cluster")] {
            // SAFETY: `module` is a `static` with a 'static name and valid callbacks, as
            // php_session_register_module requires (it stores the pointer).
            if unsafe { ffi::php_session_register_module(&module.0) } != SUCCESS {
                result = Err(name);
                return;
            }
        }
    });
    result
}

/// Our request state in `*mod_data`, if open succeeded.
///
/// # Safety
/// `mod_data` is PHP's `&PS(mod_data)`; a non-NULL `*mod_data` was set by our open (PHP resets it
/// per request and our close clears it).
unsafe fn request<'a>(mod_data: *mut *mut c_void) -> Option<&'a mut Request> {
    if mod_data.is_null() {
        return None;
    }
    let p = (*mod_data).cast::<Request>();
    // SAFETY: see above; PHP runs the callbacks of one request one at a time.
    unsafe { p.as_mut() }
}

/// The bytes of a borrowed PHP string (never freed here).
///
/// # Safety
/// `s` is NULL or a valid `zend_string` that outlives the callback.
unsafe fn bytes<'a>(s: *mut zend_string) -> &'a [u8] {
    // SAFETY: see above.
    match unsafe { s.as_ref() } {
        Some(z) => z.as_bytes(),
        None => b"",
    }
}

/// A session id as text; PHP only makes ids from `[a-zA-Z0-9,-]`, other ids come from user code.
fn id_text<'a>(id: &'a [u8], msgs: &mut Messages) -> Option<&'a str> {
    match std::str::from_utf8(id) {
        Ok(s) => Some(s),
        Err(_) => {
            msgs.warn("phpsess: session id is not valid UTF-8".to_owned());
            None
        }
    }
}

fn result(ok: bool) -> c_int {
    if ok {
        SUCCESS
    } else {
        FAILURE
    }
}

unsafe extern "C" fn open_hosts(
    mod_data: *mut *mut c_void,
    save_path: *const c_char,
    _name: *const c_char,
) -> c_int {
    // SAFETY: PHP passes its own arguments through.
    unsafe { open(HandlerKind::Hosts, mod_data, save_path) }
}

unsafe extern "C" fn open_cluster(
    mod_data: *mut *mut c_void,
    save_path: *const c_char,
    _name: *const c_char,
) -> c_int {
    // SAFETY: PHP passes its own arguments through.
    unsafe { open(HandlerKind::Cluster, mod_data, save_path) }
}

/// # Safety
/// `mod_data` is `&PS(mod_data)`; `save_path` is NULL or a NUL-terminated string.
unsafe fn open(kind: HandlerKind, mod_data: *mut *mut c_void, save_path: *const c_char) -> c_int {
    if mod_data.is_null() {
        return FAILURE;
    }
    let path: &[u8] = if save_path.is_null() {
        b""
    } else {
        // SAFETY: PHP's save_path is a NUL-terminated string valid during the call.
        unsafe { CStr::from_ptr(save_path) }.to_bytes()
    };
    // SAFETY: mod_data is valid (checked above); a non-NULL *mod_data is our open's state.
    if let Some(existing) = unsafe { request(mod_data) } {
        // Opened again without a close (session_reset()): the same request goes on. Replacing
        // the state would leak it and give up the session's lock mid-request.
        if existing.serves(kind, path) {
            return SUCCESS;
        }
        // Another handler or save_path: end the old state properly first.
        // SAFETY: as for our close callback.
        unsafe { close(mod_data) };
    }
    let (req, msgs) = guard("open", (None, Messages::default()), || {
        let mut msgs = Messages::default();
        let req = handler::open(kind, path, &mut msgs);
        (req, msgs)
    });
    let rc = match req {
        Some(r) => {
            // SAFETY: mod_data is valid (checked above). Set before raising messages, so a bailout
            // in a warning still leaves the state to our close.
            unsafe { *mod_data = Box::into_raw(r).cast() };
            SUCCESS
        }
        None => FAILURE,
    };
    raise(msgs);
    rc
}

unsafe extern "C" fn close(mod_data: *mut *mut c_void) -> c_int {
    if mod_data.is_null() {
        return SUCCESS;
    }
    // SAFETY: a non-NULL *mod_data is the Box our open leaked into it; taking it back once and
    // clearing the slot means no other callback sees it again.
    let req = unsafe {
        let p = (*mod_data).cast::<Request>();
        *mod_data = std::ptr::null_mut();
        if p.is_null() {
            return SUCCESS;
        }
        Box::from_raw(p)
    };
    let msgs = guard("close", Messages::default(), || {
        let mut msgs = Messages::default();
        (*req).close(&mut msgs);
        msgs
    });
    raise(msgs);
    SUCCESS
}

unsafe extern "C" fn read(
    mod_data: *mut *mut c_void,
    key: *mut zend_string,
    val: *mut *mut zend_string,
    maxlifetime: zend_long,
) -> c_int {
    // SAFETY: PHP's arguments, valid for the call.
    let (Some(req), id) = (unsafe { request(mod_data) }, unsafe { bytes(key) }) else {
        return FAILURE;
    };
    if val.is_null() {
        return FAILURE;
    }
    let (data, msgs) = guard("read", (None, Messages::default()), || {
        let mut msgs = Messages::default();
        let data = id_text(id, &mut msgs).and_then(|id| req.read(id, maxlifetime, &mut msgs));
        (data, msgs)
    });
    let rc = match data {
        Some(data) => {
            // Request memory, as PHP frees it (`ZendStr::new(.., false)`).
            match php_call(data, |d| ZendStr::new(d, false).into_raw()) {
                Some(s) => {
                    // SAFETY: `val` is PHP's out-pointer, checked non-NULL above.
                    unsafe { *val = s };
                    SUCCESS
                }
                None => FAILURE,
            }
        }
        None => FAILURE,
    };
    raise(msgs);
    rc
}

unsafe extern "C" fn write(
    mod_data: *mut *mut c_void,
    key: *mut zend_string,
    val: *mut zend_string,
    maxlifetime: zend_long,
) -> c_int {
    // SAFETY: PHP's arguments, valid for the call.
    let (Some(req), id, data) = (
        unsafe { request(mod_data) },
        unsafe { bytes(key) },
        unsafe { bytes(val) },
    ) else {
        return FAILURE;
    };
    let (ok, msgs) = guard("write", (false, Messages::default()), || {
        let mut msgs = Messages::default();
        let ok =
            id_text(id, &mut msgs).is_some_and(|id| req.write(id, data, maxlifetime, &mut msgs));
        (ok, msgs)
    });
    raise(msgs);
    result(ok)
}

unsafe extern "C" fn update_timestamp(
    mod_data: *mut *mut c_void,
    key: *mut zend_string,
    val: *mut zend_string,
    maxlifetime: zend_long,
) -> c_int {
    // SAFETY: PHP's arguments, valid for the call.
    let (Some(req), id, data) = (
        unsafe { request(mod_data) },
        unsafe { bytes(key) },
        unsafe { bytes(val) },
    ) else {
        return FAILURE;
    };
    let (ok, msgs) = guard("update_timestamp", (false, Messages::default()), || {
        let mut msgs = Messages::default();
        let ok =
            id_text(id, &mut msgs).is_some_and(|id| req.touch(id, data, maxlifetime, &mut msgs));
        (ok, msgs)
    });
    raise(msgs);
    result(ok)
}

unsafe extern "C" fn destroy(mod_data: *mut *mut c_void, key: *mut zend_string) -> c_int {
    // SAFETY: PHP's arguments, valid for the call.
    let (Some(req), id) = (unsafe { request(mod_data) }, unsafe { bytes(key) }) else {
        return FAILURE;
    };
    let (ok, msgs) = guard("destroy", (false, Messages::default()), || {
        let mut msgs = Messages::default();
        let ok = id_text(id, &mut msgs).is_some_and(|id| req.destroy(id, &mut msgs));
        (ok, msgs)
    });
    raise(msgs);
    result(ok)
}

unsafe extern "C" fn validate_sid(mod_data: *mut *mut c_void, key: *mut zend_string) -> c_int {
    // SAFETY: PHP's arguments, valid for the call.
    let (Some(req), id) = (unsafe { request(mod_data) }, unsafe { bytes(key) }) else {
        return FAILURE;
    };
    let (found, msgs) = guard("validate_sid", (false, Messages::default()), || {
        let mut msgs = Messages::default();
        let found = id_text(id, &mut msgs).is_some_and(|id| req.exists(id, &mut msgs));
        (found, msgs)
    });
    raise(msgs);
    result(found)
}

/// Expiry is Redis's TTL: nothing to collect.
unsafe extern "C" fn gc(
    _mod_data: *mut *mut c_void,
    _maxlifetime: zend_long,
    nrdels: *mut zend_long,
) -> zend_long {
    // SAFETY: PHP's out-pointer, NULL or valid for the call.
    if let Some(n) = unsafe { nrdels.as_mut() } {
        *n = 0;
    }
    SUCCESS.into()
}

unsafe extern "C" fn create_sid(mod_data: *mut *mut c_void) -> *mut zend_string {
    let mut candidates = Vec::with_capacity(ID_CANDIDATES);
    for _ in 0..ID_CANDIDATES {
        // PHP's own generator (session.sid_length, session.sid_bits_per_character), called here
        // rather than inside the store so no Rust lock is held while PHP runs.
        // SAFETY: PHP ignores mod_data in php_session_create_id; the result is NULL or a fresh
        // request string that we own and release.
        let made = php_call((), |_| unsafe { ffi::php_session_create_id(mod_data) });
        let Some(raw) = made.filter(|p| !p.is_null()) else {
            break;
        };
        // SAFETY: `raw` is a non-NULL zend_string we own; ZBox releases it on drop.
        let owned = unsafe { ZBox::from_raw(raw) };
        candidates.push(String::from_utf8_lossy(owned.as_bytes()).into_owned());
    }
    if candidates.is_empty() {
        // PHP already raised why (no randomness); it throws "Failed to create session ID".
        return std::ptr::null_mut();
    }
    // SAFETY: PHP's argument.
    let req = unsafe { request(mod_data) };
    let (id, msgs) = guard("create_sid", (None, Messages::default()), || {
        let mut msgs = Messages::default();
        let id = match req {
            Some(req) => req.create_id(candidates, &mut msgs),
            // Not opened through us: a plain id, unchecked.
            None => candidates.into_iter().next(),
        };
        (id, msgs)
    });
    let out = match id {
        Some(id) => {
            php_call(id, |id| ZendStr::new(id, false).into_raw()).unwrap_or(std::ptr::null_mut())
        }
        None => std::ptr::null_mut(),
    };
    raise(msgs);
    out
}
