//! Redis key names, exactly as phpredis spells them: `<prefix><id>` for data and `<prefix><id>_LOCK`
//! for the lock. On Redis Cluster the lock key carries a hash tag so it lives in the data key's slot.
//!
//! With hashed ids (`phpsess.hash_ids`, [`IdHasher`]) the id in every key name is replaced by its
//! *stored id*, `h.` and 32 hex digits of a keyed hash of the id: the only place where a session
//! id becomes a name in Redis is [`IdHasher::stored_id`], and everything after it (data, lock,
//! binding, lock queue keys, host choice, cluster slot, index entries) is derived from the stored
//! id exactly as from a plain one.

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

/// What a stored (hashed) id starts with. The `.` is in no session id ([`invalid_id_reason`]), so
/// a stored id can never be mistaken for a cookie value, nor a cookie value for a stored id.
pub const HASHED_ID_MARK: &str = "h.";

/// Hex digits of the keyed hash in a stored id (128 bits).
pub const HASHED_ID_HEX: usize = 32;

/// Whether `id` is a stored (hashed) id: `h.` and 32 lowercase hex digits.
pub fn is_hashed_id(id: &[u8]) -> bool {
    id.len() == HASHED_ID_MARK.len() + HASHED_ID_HEX
        && id.starts_with(HASHED_ID_MARK.as_bytes())
        && id[HASHED_ID_MARK.len()..]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Why `id` names no session in Redis, or `None` when it does: a session id (as
/// [`invalid_id_reason`]) or a stored, hashed id ([`is_hashed_id`]). For key names read back from
/// Redis (scans, the user index) and admin commands; a cookie is checked with
/// [`invalid_id_reason`] alone, so a stored id from a Redis dump is never accepted as a cookie.
pub fn invalid_stored_id_reason(id: &[u8]) -> Option<&'static str> {
    if is_hashed_id(id) {
        None
    } else {
        invalid_id_reason(id)
    }
}

/// The keyed hash that turns session ids into stored ids (`phpsess.hash_ids`), so that a Redis
/// dump, `SCAN` or `MONITOR` yields no value that works as a cookie. HMAC-SHA256 under a key of its
/// own, derived from an at-rest key (see [`super::AtRestKey::derive`]): never the AES key itself,
/// so the two uses cannot interact. Its `Debug` shows nothing of the key.
#[cfg(feature = "encryption")]
#[derive(Clone)]
pub struct IdHasher {
    key: [u8; 32],
    /// HMAC keyed with `key`, its inner and outer pads already hashed: each id then costs two
    /// SHA-256 blocks, not four.
    keyed: hmac::Hmac<sha2::Sha256>,
}

#[cfg(feature = "encryption")]
impl PartialEq for IdHasher {
    fn eq(&self, other: &IdHasher) -> bool {
        self.key == other.key
    }
}

#[cfg(feature = "encryption")]
impl Eq for IdHasher {}

#[cfg(feature = "encryption")]
impl std::fmt::Debug for IdHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdHasher { .. }")
    }
}

/// The label of the id-hash key's derivation: HMAC-SHA256(at-rest key, label).
#[cfg(feature = "encryption")]
pub const ID_HASH_LABEL: &[u8] = b"phpsess session id hash v1\0";

#[cfg(feature = "encryption")]
impl IdHasher {
    /// The id hash of an at-rest key (`phpsess.encryption_key`): its key is derived from it with a
    /// label of its own.
    pub fn new(key: &super::AtRestKey) -> IdHasher {
        let key = key.derive(ID_HASH_LABEL);
        // Invariant: HMAC accepts keys of any length.
        let keyed = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&key)
            .expect("HMAC takes any key length");
        IdHasher { key, keyed }
    }

    /// The stored id of session `id`: `h.` and the first 16 bytes of HMAC-SHA256(hash key, id) as
    /// hex. `id` should be valid ([`invalid_id_reason`]); this does not check.
    pub fn stored_id(&self, id: &str) -> String {
        use hmac::Mac;
        let mut mac = self.keyed.clone();
        mac.update(id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(HASHED_ID_MARK.len() + HASHED_ID_HEX);
        out.push_str(HASHED_ID_MARK);
        for b in &digest[..HASHED_ID_HEX / 2] {
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        out
    }
}

/// The keys one session lives under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    fn stored_ids_are_told_from_session_ids() {
        let hashed = format!("h.{}", "0a".repeat(16));
        assert!(is_hashed_id(hashed.as_bytes()));
        assert_eq!(invalid_stored_id_reason(hashed.as_bytes()), None);
        // Never a cookie value: the `.` is refused there.
        assert!(invalid_id_reason(hashed.as_bytes()).is_some());
        for bad in [
            "h.",
            "h.0A0a",
            &format!("h.{}", "0".repeat(33)),
            &format!("x.{}", "0".repeat(32)),
        ] {
            assert!(!is_hashed_id(bad.as_bytes()), "{bad}");
            assert!(invalid_stored_id_reason(bad.as_bytes()).is_some(), "{bad}");
        }
        assert_eq!(invalid_stored_id_reason(b"abc"), None);
    }

    #[cfg(feature = "encryption")]
    #[test]
    fn id_hashes_are_keyed_and_stable() {
        let a = super::super::AtRestKey::from_bytes([1; 32]);
        let b = super::super::AtRestKey::from_bytes([2; 32]);
        let h = IdHasher::new(&a);
        let id = h.stored_id("k3vq5ctk0nb0gq3s6bqvkbmc4m");
        assert!(is_hashed_id(id.as_bytes()), "{id}");
        assert_eq!(
            id,
            IdHasher::new(&a).stored_id("k3vq5ctk0nb0gq3s6bqvkbmc4m")
        );
        assert_ne!(id, h.stored_id("k3vq5ctk0nb0gq3s6bqvkbmc4n"));
        assert_ne!(
            id,
            IdHasher::new(&b).stored_id("k3vq5ctk0nb0gq3s6bqvkbmc4m")
        );
        assert!(!id.contains("k3vq5ctk"));
        assert_eq!(format!("{h:?}"), "IdHasher { .. }");
        // The derivation, spelled out: HMAC(HMAC(key, label), id), truncated to 16 bytes.
        use hmac::Mac;
        let mut k = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&[1; 32]).unwrap();
        k.update(ID_HASH_LABEL);
        let derived = k.finalize().into_bytes();
        let mut m = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&derived).unwrap();
        m.update(b"k3vq5ctk0nb0gq3s6bqvkbmc4m");
        let want: String = m.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(id, format!("h.{want}"));
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
