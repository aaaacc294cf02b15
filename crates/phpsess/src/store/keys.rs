//! Redis key names, exactly as phpredis spells them: `<prefix><id>` for data and `<prefix><id>_LOCK`
//! for the lock. On Redis Cluster the lock key carries a hash tag so it lives in the data key's slot.

pub use crate::save_path::{DEFAULT_CLUSTER_PREFIX, DEFAULT_PREFIX};
/// Suffix phpredis appends to the data key to name the lock.
pub const LOCK_SUFFIX: &[u8] = b"_LOCK";

/// The longest session id accepted, as PHP's files handler (`PS_MAX_SID_LENGTH`).
pub const MAX_ID_LEN: usize = 256;

/// Why `id` cannot name a session, or `None` when it can. The rule is PHP's files handler's
/// (`ps_files_valid_key`): 1 to 256 bytes of `[A-Za-z0-9,-]`, which is every id PHP itself makes
/// at any `session.sid_bits_per_character`. PHP strips only `\r\n\t <>'"\` from a cookie, so
/// without this a cookie could name any key under the prefix (`cache:config`), a lock key
/// (`<id>_LOCK`) or a hash tag (`{`) on a cluster. There is no minimum beyond one byte: PHP's own
/// tests and many apps set short ids with `session_id()`, and the files handler accepts them.
pub fn invalid_id_reason(id: &[u8]) -> Option<&'static str> {
    if id.is_empty() {
        return Some("it is empty");
    }
    if id.len() > MAX_ID_LEN {
        return Some("it is longer than 256 bytes");
    }
    if !id
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b',' || b == b'-')
    {
        return Some("only A-Z, a-z, 0-9, \"-\" and \",\" are allowed");
    }
    None
}

/// The keys one session lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// `<prefix><id>`
    pub data: Vec<u8>,
    /// `<prefix><id>_LOCK` (standalone, shared with phpredis) or a slot-sharing variant (cluster).
    pub lock: Vec<u8>,
}

impl SessionKey {
    /// Keys for a standalone or sharded Redis: byte-identical to phpredis, so locks interoperate.
    pub fn standalone(prefix: &[u8], id: &[u8]) -> Self {
        let mut data = Vec::with_capacity(prefix.len() + id.len());
        data.extend_from_slice(prefix);
        data.extend_from_slice(id);
        let mut lock = data.clone();
        lock.extend_from_slice(LOCK_SUFFIX);
        SessionKey { data, lock }
    }

    /// Keys for Redis Cluster. The data key is phpredis's; the lock key must hash to the same slot
    /// so that "write only while we hold the lock" can run as one script. phpredis's cluster handler
    /// takes no locks at all, so no peer depends on the lock key's name: we wrap the data key in a
    /// hash tag (`{<prefix><id>}_LOCK`), or reuse the data key's own tag if it already has one.
    pub fn cluster(prefix: &[u8], id: &[u8]) -> Self {
        let SessionKey { data, .. } = SessionKey::standalone(prefix, id);
        let mut lock = Vec::with_capacity(data.len() + 8);
        if hash_tag(&data).is_some() {
            lock.extend_from_slice(&data);
        } else {
            lock.push(b'{');
            lock.extend_from_slice(&data);
            lock.push(b'}');
        }
        lock.extend_from_slice(LOCK_SUFFIX);
        SessionKey { data, lock }
    }

    /// The data key for messages (lossy UTF-8).
    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The lock key for messages (lossy UTF-8).
    pub fn display_lock(&self) -> String {
        String::from_utf8_lossy(&self.lock).into_owned()
    }
}

/// Redis Cluster's hash tag: the bytes between the first `{` and the next `}`, if non-empty.
pub fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let close = key[open + 1..].iter().position(|&b| b == b'}')?;
    (close > 0).then(|| &key[open + 1..open + 1 + close])
}

/// The cluster slot of a key (CRC16/XMODEM of the key or its hash tag, mod 16384).
pub fn slot(key: &[u8]) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16_xmodem(hashed) % 16384
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_files_handler() {
        for ok in ["a", "abc,def-GHI012", &"x".repeat(MAX_ID_LEN)] {
            assert_eq!(invalid_id_reason(ok.as_bytes()), None, "{ok}");
        }
        let alphabet = Some("only A-Z, a-z, 0-9, \"-\" and \",\" are allowed");
        let table: [(&[u8], Option<&str>); 10] = [
            (b"", Some("it is empty")),
            (&[b'a'; MAX_ID_LEN + 1], Some("it is longer than 256 bytes")),
            (b"cache:config", alphabet),
            (b"abc_LOCK", alphabet),
            (b"_", alphabet),
            (b"{tag}abc", alphabet),
            (b"abc def", alphabet),
            (b"abc\0", alphabet),
            (b"abc*", alphabet),
            ("\u{e9}t\u{e9}".as_bytes(), alphabet),
        ];
        for (id, want) in table {
            assert_eq!(
                invalid_id_reason(id),
                want,
                "{:?}",
                String::from_utf8_lossy(id)
            );
        }
    }

    #[test]
    fn standalone_keys_match_phpredis() {
        let k = SessionKey::standalone(DEFAULT_PREFIX.as_bytes(), b"abc123");
        assert_eq!(k.data, b"PHPREDIS_SESSION:abc123");
        assert_eq!(k.lock, b"PHPREDIS_SESSION:abc123_LOCK");
    }

    #[test]
    fn cluster_lock_key_shares_the_data_slot() {
        let k = SessionKey::cluster(DEFAULT_CLUSTER_PREFIX.as_bytes(), b"q1w2e3");
        assert_eq!(k.data, b"PHPREDIS_CLUSTER_SESSION:q1w2e3");
        assert_eq!(k.lock, b"{PHPREDIS_CLUSTER_SESSION:q1w2e3}_LOCK");
        assert_eq!(slot(&k.data), slot(&k.lock));
        let tagged = SessionKey::cluster(b"{app}:", b"q1w2e3");
        assert_eq!(tagged.lock, b"{app}:q1w2e3_LOCK");
        assert_eq!(slot(&tagged.data), slot(&tagged.lock));
    }

    #[test]
    fn slots_match_redis() {
        // Values from `CLUSTER KEYSLOT` on redis-server 7.0.
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"123456789"), 12739);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"foo{}{bar}"), slot(b"foo{}{bar}"));
        assert_eq!(hash_tag(b"foo{}{bar}"), None);
    }
}
