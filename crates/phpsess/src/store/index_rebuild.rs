//! Filling the per-user index from sessions already stored (`phpsess index rebuild`): sessions
//! written by phpredis, or by phpsess before `phpsess.user_key` was set, are bound to the user
//! their data names, with their remaining TTL. Sessions that already have a binding are left as
//! they are (the extension keeps those current, and an explicit binding must win), so a rebuild
//! can be stopped and run again: it goes on where the index is still missing entries.

use redis::Value;

use super::session_store::{pipeline, SessionStore};
use super::topology::Place;
use super::user_index::{binding_key, index_key, Binding};
use crate::error::Result;
use crate::value::Value as PhpValue;

/// Bind one stored session and index it, on a host (the index lives on the session's host).
/// KEYS data, binding, index; ARGV binding, id, max. 1 = bound now, 0 = gone, without TTL, or
/// already bound.
const BIND_EXISTING: &str = concat!(
    r#"
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SETEX', KEYS[2], ttl + math.floor(ttl / 24), ARGV[1])
local ikey, id, max = KEYS[3], ARGV[2], tonumber(ARGV[3])
local dropped = 0
"#,
    super::user_index::index_add_body!(),
    "return 1\n"
);

/// The same on a cluster, for the session's slot only: KEYS data, binding; ARGV binding.
/// Returns the TTL it bound with (the index entry follows in the index's own slot), else 0.
const BIND_EXISTING_SLOT: &str = r#"
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SETEX', KEYS[2], ttl + math.floor(ttl / 24), ARGV[1])
return ttl
"#;

/// The user a session's data names in its top-level entry `user_key`: an int (in decimal) or a
/// string of 1–256 bytes. `Ok(None)` when there is no such entry or it holds anything else
/// (`null`, `false`: nobody is logged in).
pub fn user_in_session(
    data: &[u8],
    format: crate::session::Format,
    user_key: &str,
) -> Result<Option<Vec<u8>>> {
    Ok(crate::session::find(data, format, user_key.as_bytes())?
        .as_ref()
        .and_then(user_from_value))
}

/// A user id from a session value: an int (decimal) or a non-empty string of at most 256 bytes.
pub fn user_from_value(v: &PhpValue) -> Option<Vec<u8>> {
    let user = match v {
        PhpValue::Int(i) => i.to_string().into_bytes(),
        PhpValue::String(s) => s.to_vec(),
        _ => return None,
    };
    super::user_index::invalid_user_reason(&user)
        .is_none()
        .then_some(user)
}

/// A stored session and the user its data names: `(id, user)`.
pub type Found = (String, Vec<u8>);

impl SessionStore {
    /// Binds each `(id, user)` found in stored data and indexes it with the session's remaining
    /// TTL, unless the session already has a binding. One pipelined round trip per host (on a
    /// cluster: the bindings by slot, then the index entries). Returns how many were bound now.
    pub fn bind_existing(&mut self, sessions: &[Found]) -> Result<usize> {
        let max = self.options().user_index_max.max(1);
        if !self.raw.topology.is_cluster() {
            let mut places: Vec<(Place, Vec<&Found>)> = Vec::new();
            for s in sessions {
                let place = self.raw.topology.place_of(s.0.as_bytes());
                match places.iter_mut().find(|(p, _)| *p == place) {
                    Some((_, v)) => v.push(s),
                    None => places.push((place, vec![s])),
                }
            }
            let mut bound = 0;
            // The script is loaded in front of each batch and run by its hash: EVAL would make
            // Redis hash the script's text again for every session (half its time in a rebuild).
            let sha = redis::Script::new(BIND_EXISTING).get_hash().to_owned();
            for (place, group) in places {
                let mut p = pipeline();
                p.cmd("SCRIPT").arg("LOAD").arg(BIND_EXISTING);
                for (id, user) in &group {
                    let key = self.key(id);
                    let prefix = self.raw.topology.prefix_of(id.as_bytes());
                    p.cmd("EVALSHA")
                        .arg(&sha)
                        .arg(3)
                        .arg(&key.data)
                        .arg(binding_key(&key))
                        .arg(index_key(&prefix, user))
                        .arg(Binding::from_data(user.as_slice()).encode())
                        .arg(id.as_str())
                        .arg(max);
                }
                let first = group[0].0.as_bytes();
                let replies = self.run_at(place, first, &p, true, "index rebuild", b"")?;
                bound += count_ones(&replies);
            }
            return Ok(bound);
        }
        let mut p = pipeline();
        for (id, user) in sessions {
            let key = self.key(id);
            p.cmd("EVAL")
                .arg(BIND_EXISTING_SLOT)
                .arg(2)
                .arg(&key.data)
                .arg(binding_key(&key))
                .arg(Binding::from_data(user.as_slice()).encode());
        }
        let replies = self.run_at(Place::Routed, b"*", &p, true, "index rebuild", b"")?;
        let mut index = pipeline();
        let mut bound = 0;
        for ((id, user), reply) in sessions.iter().zip(&replies) {
            if let Value::Int(ttl) = reply {
                if *ttl > 0 {
                    bound += 1;
                    let prefix = self.raw.topology.prefix_of(id.as_bytes());
                    index
                        .cmd("EVAL")
                        .arg(super::user_index::INDEX_ADD)
                        .arg(1)
                        .arg(index_key(&prefix, user))
                        .arg(id.as_str())
                        .arg(*ttl)
                        .arg(max);
                }
            }
        }
        if bound > 0 {
            self.run_at(Place::Routed, b"*", &index, true, "index rebuild", b"")?;
        }
        Ok(bound)
    }
}

fn count_ones(replies: &[Value]) -> usize {
    replies
        .iter()
        .filter(|r| matches!(r, Value::Int(1)))
        .count()
}
