//! The PHP functions of the per-user index: `phpsess_set_user()`, `phpsess_user_sessions()`,
//! `phpsess_destroy_user_sessions()` and `phpsess_destroy_session()`. Each handler parses its
//! arguments, runs the store call inside the panic boundary, then builds its PHP return value
//! (PHP allocations inside [`php_call`], so a bailout there unwinds no Rust frame).

use ext_php_rs::args::Arg;
use ext_php_rs::builders::FunctionBuilder;
use ext_php_rs::flags::DataType;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::ExecuteData;
use phpsess::store::{invalid_user_reason, UserSession};

use crate::boundary::{guard, php_call, raise, Messages};
use crate::ini::{IniSource, PhpIni, Settings};
use crate::worker::{self, HandlerKind, SharedStore};

/// The functions, for the module builder.
pub fn all() -> Vec<FunctionBuilder<'static>> {
    vec![
        FunctionBuilder::new("phpsess_set_user", set_user)
            .arg(Arg::new("user", DataType::Mixed).allow_null())
            .returns(DataType::Void, false, false),
        FunctionBuilder::new("phpsess_user_sessions", user_sessions)
            .arg(Arg::new("user", DataType::Mixed))
            .returns(DataType::Array, false, false),
        FunctionBuilder::new("phpsess_destroy_user_sessions", destroy_user_sessions)
            .arg(Arg::new("user", DataType::Mixed))
            .not_required()
            .arg(Arg::new("except_current", DataType::Bool).default("true"))
            .returns(DataType::Long, false, false),
        FunctionBuilder::new("phpsess_destroy_session", destroy_session)
            .arg(Arg::new("id", DataType::String))
            .returns(DataType::Bool, false, false),
    ]
}

/// A user id argument: an int (as decimal) or a string of 1–256 bytes.
fn user_arg(z: Option<&Zval>, function: &str) -> Result<Vec<u8>, String> {
    let user = match z {
        Some(z) if z.is_long() => z.long().map(|n| n.to_string().into_bytes()),
        Some(z) if z.is_string() => z.zend_str().map(|s| s.as_bytes().to_vec()),
        _ => None,
    }
    .ok_or_else(|| format!("{function}(): the user must be an int or a string"))?;
    match invalid_user_reason(&user) {
        Some(reason) => Err(format!("{function}(): {reason}")),
        None => Ok(user),
    }
}

/// The store of the configured handler (`session.save_handler`, `session.save_path`), shared
/// with this worker's session requests.
fn configured_store(function: &str, need_index: bool) -> Result<SharedStore, String> {
    let handler = PhpIni.text(c"session.save_handler").unwrap_or_default();
    let kind = match handler.as_str() {
        "phpsess" => HandlerKind::Hosts,
        "phpsess_cluster" => HandlerKind::Cluster,
        other => {
            return Err(format!(
                "{function}() works with session.save_handler phpsess or phpsess_cluster, not '{other}'"
            ))
        }
    };
    let settings = Settings::read(&PhpIni);
    if need_index && !settings.index_on() {
        return Err(format!(
            "{function}(): the per-user index is off; set phpsess.user_key (or phpsess.user_index=1)"
        ));
    }
    let (options, _) = settings.store_options(settings.gc_maxlifetime);
    let options = settings.with_at_rest(options)?;
    let save_path = PhpIni.text(c"session.save_path").unwrap_or_default();
    let store = worker::store_for(kind, &save_path, options.clone())
        .map_err(|e| format!("{function}(): phpsess: {e}"))?;
    {
        let mut s = worker::lock(&store);
        if s.options() != &options {
            s.set_options(options);
        }
    }
    Ok(store)
}

/// Parses the arguments (the first `required` of them required); false when PHP's argument
/// parsing failed (it has thrown why).
fn args<'a>(ex: &'a mut ExecuteData, list: &mut [&mut Arg<'a>], required: usize) -> bool {
    let mut parser = ex.parser();
    for (i, a) in list.iter_mut().enumerate() {
        if i == required {
            parser = parser.not_required();
        }
        parser = parser.arg(a);
    }
    parser.parse().is_ok()
}

extern "C" fn set_user(ex: &mut ExecuteData, retval: &mut Zval) {
    let mut user = Arg::new("user", DataType::Mixed).allow_null();
    if !args(ex, &mut [&mut user], 1) {
        return;
    }
    let z = user.zval().map(|z| &**z);
    let msgs = guard("phpsess_set_user", Messages::default(), || {
        let mut msgs = Messages::default();
        if z.is_none_or(|z| z.is_null()) {
            crate::user::set(None);
            return msgs;
        }
        match user_arg(z, "phpsess_set_user") {
            Ok(u) => {
                if !Settings::read(&PhpIni).index_on() {
                    msgs.config_warning(
                        "phpsess_set_user(): the per-user index is off; set phpsess.user_index=1 (or phpsess.user_key)"
                            .to_owned(),
                    );
                }
                crate::user::set(Some(u));
            }
            Err(e) => msgs.warn(e),
        }
        msgs
    });
    retval.set_null();
    raise(msgs);
}

extern "C" fn user_sessions(ex: &mut ExecuteData, retval: &mut Zval) {
    let mut user = Arg::new("user", DataType::Mixed);
    if !args(ex, &mut [&mut user], 1) {
        return;
    }
    let z = user.zval().map(|z| &**z);
    let (found, current, msgs) = guard(
        "phpsess_user_sessions",
        (Vec::new(), None, Messages::default()),
        || {
            let mut msgs = Messages::default();
            let result = user_arg(z, "phpsess_user_sessions").and_then(|u| {
                let store = configured_store("phpsess_user_sessions", true)?;
                let mut s = worker::lock(&store);
                // The index lists stored ids: with phpsess.hash_ids, this request's session is
                // the one listed under its hashed name.
                let current = crate::user::current()
                    .and_then(|c| s.stored_id(&c).ok().map(|c| c.into_owned()));
                s.user_sessions(&u)
                    .map(|found| (found, current))
                    .map_err(|e| format!("phpsess_user_sessions(): phpsess: {e}"))
            });
            match result {
                Ok((found, current)) => (found, current, msgs),
                Err(e) => {
                    msgs.warn(e);
                    (Vec::new(), None, msgs)
                }
            }
        },
    );
    let built = php_call((found, current), |(found, current)| {
        sessions_array(found, current.as_deref())
    });
    match built.flatten() {
        Some(ht) => retval.set_hashtable(ht),
        None => retval.set_null(),
    }
    raise(msgs);
}

fn sessions_array(
    found: &[UserSession],
    current: Option<&str>,
) -> Option<ext_php_rs::boxed::ZBox<ZendHashTable>> {
    let mut list = ZendHashTable::with_capacity(u32::try_from(found.len()).unwrap_or(u32::MAX));
    for s in found {
        let mut entry = ZendHashTable::with_capacity(5);
        entry.insert("id", s.id.as_str()).ok()?;
        entry.insert("ttl", s.ttl).ok()?;
        entry
            .insert("bytes", i64::try_from(s.bytes).unwrap_or(i64::MAX))
            .ok()?;
        entry
            .insert("current", current == Some(s.id.as_str()))
            .ok()?;
        entry.insert("host", s.host.as_str()).ok()?;
        list.push(entry).ok()?;
    }
    Some(list)
}

extern "C" fn destroy_user_sessions(ex: &mut ExecuteData, retval: &mut Zval) {
    let mut user = Arg::new("user", DataType::Mixed);
    let mut except = Arg::new("except_current", DataType::Bool);
    if !args(ex, &mut [&mut user, &mut except], 1) {
        return;
    }
    let except_current = except.zval().and_then(|z| z.bool()).unwrap_or(true);
    let z = user.zval().map(|z| &**z);
    let (n, msgs) = guard(
        "phpsess_destroy_user_sessions",
        (0, Messages::default()),
        || {
            let mut msgs = Messages::default();
            let current = crate::user::current().filter(|_| except_current);
            let result = user_arg(z, "phpsess_destroy_user_sessions").and_then(|u| {
                let store = configured_store("phpsess_destroy_user_sessions", true)?;
                let mut s = worker::lock(&store);
                s.destroy_user_sessions(&u, current.as_deref())
                    .map_err(|e| format!("phpsess_destroy_user_sessions(): phpsess: {e}"))
            });
            match result {
                Ok(ids) => (ids.len(), msgs),
                Err(e) => {
                    msgs.warn(e);
                    (0, msgs)
                }
            }
        },
    );
    retval.set_long(i64::try_from(n).unwrap_or(i64::MAX));
    raise(msgs);
}

extern "C" fn destroy_session(ex: &mut ExecuteData, retval: &mut Zval) {
    let mut id = Arg::new("id", DataType::String);
    if !args(ex, &mut [&mut id], 1) {
        return;
    }
    let id = id
        .zval()
        .and_then(|z| z.zend_str())
        .map(|s| s.as_bytes().to_vec());
    let (gone, msgs) = guard(
        "phpsess_destroy_session",
        (false, Messages::default()),
        || {
            let mut msgs = Messages::default();
            let result = std::str::from_utf8(id.as_deref().unwrap_or_default())
                .map_err(|_| {
                    "phpsess_destroy_session(): the session id is not valid UTF-8".to_owned()
                })
                .and_then(|id| {
                    let store = configured_store("phpsess_destroy_session", false)?;
                    let mut s = worker::lock(&store);
                    s.kill(id)
                        .map_err(|e| format!("phpsess_destroy_session(): phpsess: {e}"))
                });
            match result {
                Ok(gone) => (gone, msgs),
                Err(e) => {
                    msgs.warn(e);
                    (false, msgs)
                }
            }
        },
    );
    retval.set_bool(gone);
    raise(msgs);
}
