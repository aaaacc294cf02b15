//! The session protocol's decisions without I/O, shared by the blocking [`super::SessionStore`]
//! and the async [`super::AsyncSessionStore`]: which commands a read, a lock attempt, a queue try,
//! a fenced write, a destroy, an exists or a create id sends (pipelines built with `redis::pipe`), what their replies mean, and how
//! a stored value becomes session bytes and back (size cap, encryption at rest, compression).
//! The stores only send these pipelines over their own connections and count what happened, so
//! the two cannot drift apart on the wire.

use std::borrow::Cow;

use redis::{Pipeline, Value};

use super::codec::TooLarge;
use super::keys::SessionKey;
use super::lock::{wake_key, LockToken, QUEUE_WAIT, UNLOCK};
use super::redact::{printable, short_id};
use super::session_store::StoreOptions;
use super::user_index::{binding_key, index_key, Binding};

/// A pipeline whose error replies come back as values, so one failed command does not hide the
/// replies of the others.
pub(crate) fn pipeline() -> Pipeline {
    let mut p = redis::pipe();
    p.ignore_errors();
    p
}

/// The read of a session: `GET` (or `GETEX … EX ttl` with early refresh), then the binding and
/// its remaining lifetime when the user index is on.
pub(crate) fn push_read(
    p: &mut Pipeline,
    key: &SessionKey,
    ttl: u64,
    getex: bool,
    binding: Option<&[u8]>,
) {
    if getex {
        p.cmd("GETEX").arg(&key.data).arg("EX").arg(ttl);
    } else {
        p.cmd("GET").arg(&key.data);
    }
    if let Some(b) = binding {
        p.cmd("GET").arg(b);
        p.cmd("PTTL").arg(b);
    }
}

/// One try of the lock, phpredis-compatible: `SET <lock> <token> NX PX <ms>`, then `GET <lock>`
/// so a refusal names the holder (and a retried try can see the lock is ours already).
pub(crate) fn push_lock_attempt(
    p: &mut Pipeline,
    key: &SessionKey,
    token: &LockToken,
    expire_ms: u64,
) {
    push_lock_set(p, key, token, expire_ms);
    p.cmd("GET").arg(&key.lock);
}

/// The lock's `SET <lock> <token> NX PX <ms>`, as phpredis takes it.
fn push_lock_set(p: &mut Pipeline, key: &SessionKey, token: &LockToken, expire_ms: u64) {
    p.cmd("SET")
        .arg(&key.lock)
        .arg(token.as_str())
        .arg("NX")
        .arg("PX")
        .arg(expire_ms);
}

/// Did the lock attempt (the first two replies, [`push_lock_attempt`]) give us the lock? Also true
/// when the lock already holds our token: an earlier `SET` landed before the connection broke.
pub(crate) fn lock_acquired(replies: &[Value], token: &LockToken) -> bool {
    matches!(replies.first(), Some(Value::Okay))
        || bulk(replies.get(1)).as_deref() == Some(token.as_str().as_bytes())
}

/// The holder named by a refused lock attempt, for messages ("unknown" when it was released in
/// between).
pub(crate) fn attempt_holder(replies: &[Value]) -> String {
    bulk(replies.get(1))
        .map(|h| printable(&h))
        .unwrap_or_else(|| "unknown".into())
}

/// A script call: sent as `EVALSHA` (the body is sent once more with `EVAL` on `NOSCRIPT`).
pub(crate) struct ScriptPipeline {
    pub(crate) pipe: Pipeline,
    pub(crate) source: &'static str,
    pub(crate) keys: Vec<Vec<u8>>,
    pub(crate) args: Vec<Vec<u8>>,
}

impl ScriptPipeline {
    /// The same call with the body (`EVAL`), for a server that answered `NOSCRIPT`.
    pub(crate) fn eval(&self) -> Pipeline {
        let mut fallback = pipeline();
        let c = fallback.cmd("EVAL").arg(self.source).arg(self.keys.len());
        for k in &self.keys {
            c.arg(k.as_slice());
        }
        for a in &self.args {
            c.arg(a.as_slice());
        }
        fallback
    }
}

/// `p` followed by `EVALSHA <sha of source> keys args`.
pub(crate) fn push_script(
    mut p: Pipeline,
    source: &'static str,
    keys: &[&[u8]],
    args: &[&[u8]],
) -> ScriptPipeline {
    let sha = super::lock::script_sha(source);
    let c = p.cmd("EVALSHA").arg(sha).arg(keys.len());
    for k in keys {
        c.arg(*k);
    }
    for a in args {
        c.arg(*a);
    }
    ScriptPipeline {
        pipe: p,
        source,
        keys: keys.iter().map(|k| k.to_vec()).collect(),
        args: args.iter().map(|a| a.to_vec()).collect(),
    }
}

/// A waiter's try in the lock queue ([`QUEUE_WAIT`]): the lock is ours if it was handed to us or
/// is free, else we are queued (once) and our live marker renewed.
pub(crate) fn queue_try(
    key: &SessionKey,
    token: &LockToken,
    expire_ms: u64,
    alive_ms: u64,
) -> ScriptPipeline {
    let expire = expire_ms.to_string();
    let alive = alive_ms.to_string();
    push_script(
        pipeline(),
        QUEUE_WAIT,
        &[&key.lock],
        &[
            token.as_str().as_bytes(),
            expire.as_bytes(),
            alive.as_bytes(),
        ],
    )
}

/// What a queue script ([`QUEUE_WAIT`], `QUEUE_LEAVE`) answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QueueReply {
    /// The lock is ours.
    Ours,
    /// Still held, by this holder.
    HeldBy(Vec<u8>),
    /// Anything else (an error reply), for the message.
    Unexpected(String),
}

/// Read a queue script's reply.
pub(crate) fn queue_reply(reply: Option<&Value>) -> QueueReply {
    match reply {
        Some(Value::Int(1)) => QueueReply::Ours,
        Some(Value::BulkString(h)) => QueueReply::HeldBy(h.clone()),
        other => QueueReply::Unexpected(reply_text(other)),
    }
}

/// The wake key a queued waiter blocks on (the blocking store's `BLPOP`).
pub(crate) fn waiter_wake_key(key: &SessionKey, token: &LockToken) -> Vec<u8> {
    wake_key(&key.lock, token)
}

/// What a write, refresh or unlock script answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScriptReply {
    /// Done; a user-index script also says how many stale index entries it dropped.
    Done { dropped: u64 },
    /// Refused: the lock is held by this value (another request's token).
    HeldBy(Vec<u8>),
    /// Refused: nobody holds the lock any more (expired, deleted, lost in a failover).
    NoHolder,
    /// Anything else (an error reply), for the message.
    Unexpected(String),
}

/// Read a write/refresh/unlock script's reply (`1`, `{1, dropped}`, the holder, or nil/0).
pub(crate) fn script_reply(reply: Option<&Value>) -> ScriptReply {
    match reply {
        Some(Value::Int(1)) => ScriptReply::Done { dropped: 0 },
        Some(Value::Array(done)) => match done.as_slice() {
            [Value::Int(1), Value::Int(dropped)] => ScriptReply::Done {
                dropped: (*dropped).max(0) as u64,
            },
            _ => ScriptReply::Unexpected(reply_text(reply)),
        },
        Some(Value::BulkString(holder)) => ScriptReply::HeldBy(holder.clone()),
        Some(Value::Nil) | Some(Value::Int(0)) => ScriptReply::NoHolder,
        other => ScriptReply::Unexpected(reply_text(other)),
    }
}

/// The holder text of a lost lock whose key is gone: the reply cannot tell why.
pub(crate) const NO_HOLDER: &str = "nobody (it expired or was deleted)";

/// What a stored value decodes to.
pub(crate) enum Decoded {
    /// The session bytes, and the id of the key they were encrypted under.
    Session {
        data: Vec<u8>,
        key_id: Option<String>,
    },
    /// Refused by encryption at rest; why, naming the key id.
    #[cfg_attr(not(feature = "encryption"), allow(dead_code))]
    Unreadable(String),
}

/// The session bytes of a value stored under data key `key`: within `max_session_bytes` as
/// stored (checked before decrypting), decrypted when encryption at rest is on, decompressed
/// within the same cap.
pub(crate) fn decode_stored(
    options: &StoreOptions,
    key: &[u8],
    stored: &[u8],
) -> Result<Decoded, TooLarge> {
    if stored.len() > options.max_session_bytes {
        return Err(TooLarge::Stored {
            stored: stored.len(),
            limit: options.max_session_bytes,
        });
    }
    #[allow(unused_mut)]
    let mut key_id = None;
    #[cfg(feature = "encryption")]
    let opened;
    #[cfg(feature = "encryption")]
    let stored: &[u8] = match &options.encryption {
        None => stored,
        Some(enc) => {
            use super::envelope::Opened;
            opened = enc.open(key, stored);
            match &opened {
                Opened::Plain => stored,
                Opened::Decrypted {
                    data, key_id: k, ..
                } => {
                    key_id = Some(k.to_string());
                    data
                }
                Opened::Rejected(why) => return Ok(Decoded::Unreadable(why.to_string())),
            }
        }
    };
    let _ = key;
    options
        .compression
        .decompress(stored, options.max_session_bytes)
        .map(|data| Decoded::Session {
            data: data.into_owned(),
            key_id,
        })
}

/// The value to store under data key `key` for session bytes `data`: compressed as configured,
/// then sealed under the current key when encryption at rest is on.
pub(crate) fn encode_for_store<'a>(
    options: &StoreOptions,
    key: &[u8],
    data: &'a [u8],
) -> Result<Cow<'a, [u8]>, String> {
    let data = options.compression.compress(data);
    seal(options, key, data)
}

/// `data` (already compressed) sealed under the current key when encryption is on.
pub(crate) fn seal<'a>(
    options: &StoreOptions,
    key: &[u8],
    data: Cow<'a, [u8]>,
) -> Result<Cow<'a, [u8]>, String> {
    #[cfg(feature = "encryption")]
    if let Some(enc) = &options.encryption {
        return enc
            .seal(key, &data)
            .map(Cow::Owned)
            .map_err(|e| e.to_string());
    }
    let _ = (options, key);
    Ok(data)
}

/// The name session `id` has in Redis: `id` itself, or its stored id with hashed ids
/// ([`StoreOptions::hash_ids`](super::StoreOptions)). Refuses an id that is not a session id
/// ([`super::invalid_id_reason`]) before any command, a stored id too.
pub(crate) fn stored_id<'a>(options: &StoreOptions, id: &'a str) -> crate::Result<Cow<'a, str>> {
    if let Some(reason) = super::keys::invalid_id_reason(id.as_bytes()) {
        return Err(crate::Error::InvalidId {
            id: super::session_store::printable_head(id),
            reason,
        });
    }
    #[cfg(feature = "encryption")]
    if let Some(hasher) = &options.hash_ids {
        return Ok(Cow::Owned(hasher.stored_id(id)));
    }
    let _ = options;
    Ok(Cow::Borrowed(id))
}

/// `p` followed by the release of our lock (`UNLOCK`: compare-and-delete by token, handing the
/// lock to the next queued waiter).
pub(crate) fn push_unlock(p: Pipeline, key: &SessionKey, token: &LockToken) -> ScriptPipeline {
    push_script(p, UNLOCK, &[&key.lock], &[token.as_str().as_bytes()])
}

/// Does a session exist (PHP's strict mode `validate_sid`): one `EXISTS` of its data key.
pub(crate) fn push_exists(p: &mut Pipeline, key: &SessionKey) {
    p.cmd("EXISTS").arg(&key.data);
}

/// What the `EXISTS` of [`push_exists`] answered.
pub(crate) fn exists_reply(reply: Option<&Value>) -> bool {
    matches!(reply, Some(Value::Int(1)))
}

/// What ending a session (PHP's `session_destroy`) sends, before the release of the lock when
/// the caller holds it ([`push_unlock`], appended by the store).
pub(crate) struct DestroyPlan {
    /// `DEL` of the data; with the user index on, of the binding too, and on a host list the
    /// `ZREM` of the id from its user's index (that index lives on the session's host).
    pub(crate) pipe: Pipeline,
    /// On a cluster, the user's index to remove the id from afterwards: it lives in a slot of
    /// its own. Best effort: listings skip entries whose session is gone.
    pub(crate) unindex: Option<Vec<u8>>,
}

/// The commands that end stored id `id` under `key`. `binding` is the binding read with the
/// session (user index on): its index entry goes too. A session destroyed without its binding
/// read leaves its entry to the index's own expiry check. `prefix` is that of the place holding
/// the session.
pub(crate) fn destroy_plan(
    options: &StoreOptions,
    cluster: bool,
    id: &str,
    key: &SessionKey,
    binding: Option<&Binding>,
    prefix: &[u8],
) -> DestroyPlan {
    let mut pipe = pipeline();
    pipe.cmd("DEL").arg(&key.data);
    let mut unindex = None;
    if options.user_index {
        pipe.cmd("DEL").arg(binding_key(key));
        if let Some(b) = binding {
            let ikey = index_key(prefix, &b.user);
            if cluster {
                unindex = Some(ikey);
            } else {
                pipe.cmd("ZREM").arg(ikey).arg(id);
            }
        }
    }
    DestroyPlan { pipe, unindex }
}

/// The follow-up of a [`DestroyPlan`] on a cluster: `ZREM` of `id` from index `ikey`.
pub(crate) fn unindex_pipeline(ikey: &[u8], id: &str) -> Pipeline {
    let mut p = pipeline();
    p.cmd("ZREM").arg(ikey).arg(id);
    p
}

/// How many generated ids a create id tries before giving up (each one collided with a session).
pub(crate) const CREATE_ID_ATTEMPTS: usize = 3;

/// One try of a new id: `EXISTS` of its data key and, when `lock` is set (its expiry in ms), the
/// `SET NX PX` of its lock in the same round trip.
pub(crate) fn push_create_id_attempt(
    p: &mut Pipeline,
    key: &SessionKey,
    token: &LockToken,
    lock: Option<u64>,
) {
    push_exists(p, key);
    if let Some(expire_ms) = lock {
        push_lock_set(p, key, token, expire_ms);
    }
}

/// What a try of [`push_create_id_attempt`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NewIdReply {
    /// A session of that id exists.
    pub(crate) exists: bool,
    /// Our `SET NX` took its lock.
    pub(crate) locked: bool,
}

impl NewIdReply {
    /// Read the replies of [`push_create_id_attempt`].
    pub(crate) fn read(replies: &[Value]) -> Self {
        NewIdReply {
            exists: exists_reply(replies.first()),
            locked: matches!(replies.get(1), Some(Value::Okay)),
        }
    }

    /// We locked an id that is taken: the lock must be given back at once.
    pub(crate) fn must_release(&self) -> bool {
        self.locked && self.exists
    }

    /// The id is free, and ours when a lock was asked for (`locking`); else try another.
    pub(crate) fn is_fresh(&self, locking: bool) -> bool {
        !self.exists && (!locking || self.locked)
    }
}

/// Every generated id collided ([`CREATE_ID_ATTEMPTS`] of them); `last` is shown shortened.
pub(crate) fn ids_collided(last: &str) -> crate::Error {
    crate::Error::InvalidId {
        id: short_id(last),
        reason: "three generated ids in a row collided with existing sessions",
    }
}

/// A bulk string reply's bytes.
pub(crate) fn bulk(v: Option<&Value>) -> Option<Vec<u8>> {
    match v {
        Some(Value::BulkString(b)) => Some(b.clone()),
        _ => None,
    }
}

/// A Redis error reply as Redis wrote it: `NOAUTH Authentication required.`
pub(crate) fn server_error_text(e: &redis::ServerError) -> String {
    match e.details() {
        Some(detail) => format!("{} {detail}", e.code()),
        None => e.code().to_owned(),
    }
}

/// What the last reply of a pipeline ending in EVALSHA says.
pub(crate) enum EvalshaReply {
    /// The script ran (or the pipeline was empty).
    Ran,
    /// NOSCRIPT: the server lost its script cache (restarted, flushed); send the body with EVAL.
    NotCached,
    /// The server refused it, in its own words.
    Failed(String),
}

/// Read the last reply of a script pipeline; both stores then do what it says.
pub(crate) fn evalsha_reply(replies: &[Value]) -> EvalshaReply {
    match replies.last() {
        Some(Value::ServerError(e)) if e.code() == "NOSCRIPT" => EvalshaReply::NotCached,
        Some(Value::ServerError(e)) => EvalshaReply::Failed(server_error_text(e)),
        _ => EvalshaReply::Ran,
    }
}

/// The replies of a pipeline whose EVALSHA was NOSCRIPT, with that reply replaced by what the
/// pipeline sent again with EVAL answered.
pub(crate) fn with_eval_replies(mut replies: Vec<Value>, mut again: Vec<Value>) -> Vec<Value> {
    replies.pop();
    replies.append(&mut again);
    replies
}

/// A reply the store did not expect, for a message: error replies as Redis wrote them.
pub(crate) fn reply_text(reply: Option<&Value>) -> String {
    match reply {
        Some(Value::ServerError(e)) => server_error_text(e),
        other => format!("unexpected reply {other:?}"),
    }
}

/// Redis < 6.2 answers GETEX with `ERR unknown command 'GETEX', …` (read from the reply's own
/// code and text, as Redis wrote them).
pub(crate) fn is_unknown_command(e: &redis::ServerError) -> bool {
    server_error_text(e)
        .to_ascii_lowercase()
        .contains("unknown command")
}

/// A reply Redis refused, for session `id` on `host`: the key shown with the id shortened.
pub(crate) fn redis_error(
    host: String,
    id: &str,
    op: &'static str,
    key: &[u8],
    detail: String,
    retry_safe: bool,
) -> crate::Error {
    crate::Error::Redis {
        host,
        key: super::redact::redact_key(key, id),
        op,
        detail,
        retry_safe,
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey::standalone(b"PHPREDIS_SESSION:", b"abc")
    }

    #[test]
    fn lock_attempt_is_set_nx_px_then_get() {
        let token = LockToken::new();
        let mut p = pipeline();
        push_lock_attempt(&mut p, &key(), &token, 1500);
        let packed = String::from_utf8_lossy(&p.get_packed_pipeline()).into_owned();
        assert!(
            packed.contains("SET\r\n$25\r\nPHPREDIS_SESSION:abc_LOCK"),
            "{packed}"
        );
        assert!(packed.contains("NX\r\n$2\r\nPX\r\n$4\r\n1500"), "{packed}");
        assert!(
            packed.ends_with("GET\r\n$25\r\nPHPREDIS_SESSION:abc_LOCK\r\n"),
            "{packed}"
        );
    }

    #[test]
    fn lock_replies_read_as_ours_or_held() {
        let token = LockToken::new();
        assert!(lock_acquired(&[Value::Okay, Value::Nil], &token));
        let ours = Value::BulkString(token.as_str().as_bytes().to_vec());
        assert!(lock_acquired(&[Value::Nil, ours], &token));
        let other = vec![Value::Nil, Value::BulkString(b"web1|42".to_vec())];
        assert!(!lock_acquired(&other, &token));
        assert_eq!(attempt_holder(&other), "web1|42");
        assert_eq!(attempt_holder(&[Value::Nil, Value::Nil]), "unknown");
    }

    #[test]
    fn script_replies_read_as_done_held_or_gone() {
        assert_eq!(
            script_reply(Some(&Value::Int(1))),
            ScriptReply::Done { dropped: 0 }
        );
        assert_eq!(
            script_reply(Some(&Value::Array(vec![Value::Int(1), Value::Int(3)]))),
            ScriptReply::Done { dropped: 3 }
        );
        assert_eq!(
            script_reply(Some(&Value::BulkString(b"h|1|2".to_vec()))),
            ScriptReply::HeldBy(b"h|1|2".to_vec())
        );
        assert_eq!(script_reply(Some(&Value::Nil)), ScriptReply::NoHolder);
        assert!(matches!(script_reply(None), ScriptReply::Unexpected(_)));
        assert_eq!(queue_reply(Some(&Value::Int(1))), QueueReply::Ours);
        assert_eq!(
            queue_reply(Some(&Value::BulkString(b"x".to_vec()))),
            QueueReply::HeldBy(b"x".to_vec())
        );
    }

    fn packed(p: &Pipeline) -> String {
        String::from_utf8_lossy(&p.get_packed_pipeline()).into_owned()
    }

    #[test]
    fn destroy_unindexes_in_the_pipeline_on_hosts_and_after_it_on_a_cluster() {
        let user = Binding::from_data(*b"42");
        let plain = destroy_plan(
            &StoreOptions::default(),
            false,
            "abc",
            &key(),
            Some(&user),
            b"p:",
        );
        assert_eq!(plain.pipe.len(), 1, "only the data without the index");
        assert_eq!(plain.unindex, None);
        let indexed = StoreOptions::default().with_user_index(true);
        let hosts = destroy_plan(&indexed, false, "abc", &key(), Some(&user), b"p:");
        let sent = packed(&hosts.pipe);
        assert!(sent.contains("PHPREDIS_SESSION:abc_USER"), "{sent}");
        assert!(
            sent.contains("ZREM\r\n$10\r\np:_user:42\r\n$3\r\nabc"),
            "{sent}"
        );
        assert_eq!(hosts.unindex, None);
        let cluster = destroy_plan(&indexed, true, "abc", &key(), Some(&user), b"p:");
        assert_eq!(cluster.pipe.len(), 2, "DEL data, DEL binding: one slot");
        assert_eq!(cluster.unindex.as_deref(), Some(&b"p:_user:42"[..]));
        let unread = destroy_plan(&indexed, false, "abc", &key(), None, b"p:");
        assert_eq!((unread.pipe.len(), unread.unindex), (2, None));
    }

    #[test]
    fn a_new_id_is_fresh_only_when_free_and_locked_as_asked() {
        let token = LockToken::new();
        let mut p = pipeline();
        push_create_id_attempt(&mut p, &key(), &token, Some(1500));
        let sent = packed(&p);
        assert!(sent.starts_with("*2\r\n$6\r\nEXISTS"), "{sent}");
        assert!(sent.contains("NX\r\n$2\r\nPX\r\n$4\r\n1500"), "{sent}");
        let read = |r: &[Value]| NewIdReply::read(r);
        let free = read(&[Value::Int(0), Value::Okay]);
        assert!(free.is_fresh(true) && !free.must_release());
        let taken = read(&[Value::Int(1), Value::Okay]);
        assert!(!taken.is_fresh(true) && taken.must_release());
        let lock_held = read(&[Value::Int(0), Value::Nil]);
        assert!(!lock_held.is_fresh(true) && lock_held.is_fresh(false));
        assert!(read(&[Value::Int(0)]).is_fresh(false));
    }

    #[test]
    fn stored_values_are_capped_before_decoding() {
        let options = StoreOptions::default().with_max_session_bytes(4);
        assert!(matches!(
            decode_stored(&options, b"k", b"12345"),
            Err(TooLarge::Stored {
                stored: 5,
                limit: 4
            })
        ));
        match decode_stored(&options, b"k", b"1234") {
            Ok(Decoded::Session { data, key_id }) => {
                assert_eq!(data, b"1234");
                assert_eq!(key_id, None);
            }
            _ => panic!("plain value within the cap must decode"),
        }
    }
}
