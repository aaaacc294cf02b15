//! Encryption at rest of stored sessions (`phpsess.encryption`, feature `encryption`): the
//! envelope, its keys and what a read makes of a stored value.
//!
//! Envelope, written after compression (compress then encrypt: ciphertext does not compress):
//!
//! | bytes | meaning |
//! |---|---|
//! | 4 | magic `FF 50 53 45` (`\xFFPSE`) |
//! | 1 | version, `01` |
//! | 4 | key id: the first 4 bytes of SHA-256(`"phpsess at-rest key id\0"` ‖ key) |
//! | 12 | random nonce |
//! | n + 16 | AES-256-GCM ciphertext and tag |
//!
//! The associated data is the 9 header bytes followed by the session's Redis data key, so a value
//! copied under another session's key, or with its header edited, does not decrypt.
//!
//! Why the magic cannot be mistaken for plaintext: a raw LZF stream cannot start with `FF` (a
//! back-reference with nothing before it), a zstd frame starts `28 B5 2F FD`, `php_serialize`
//! data starts `a:`, and the `php`/`php_binary` encodings would need a variable name starting with
//! byte `FF`. phpredis's LZ4 header starts with a CRC-8 that can be `FF`, but then its length
//! field would be `PSE\x01`, 21 MB, over the default size limit anyway.
//!
//! The key id is a hash of the key with a label of its own, so it names the key (phpinfo, warnings,
//! `phpsess show`) without being a hash of the bare key that another system (Laravel's APP_KEY)
//! might also publish.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use sha2::{Digest, Sha256};

/// First bytes of every encrypted value.
pub const MAGIC: &[u8; 4] = b"\xFFPSE";
/// The envelope version this build writes and reads.
pub const VERSION: u8 = 1;
/// Length of a key id in bytes.
pub const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = MAGIC.len() + 1 + KEY_ID_LEN;
/// Bytes an envelope adds to the (compressed) session.
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Length of an at-rest key: AES-256.
pub const KEY_LEN: usize = 32;

const KEY_ID_LABEL: &[u8] = b"phpsess at-rest key id\0";

/// Why a key setting was refused. Never contains key material, not even a prefix of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Neither `base64:` nor `file:`.
    #[error("a key is given as base64:<32 bytes in base64> or file:<path>")]
    UnknownForm,
    /// The text after `base64:` is not base64.
    #[error("the text after base64: is not valid base64")]
    NotBase64,
    /// The key does not have 32 bytes.
    #[error("the key has {len} bytes; AES-256 needs exactly 32")]
    WrongLength {
        /// The decoded length.
        len: usize,
    },
    /// The key file could not be read.
    #[error("cannot read key file {path}: {reason}")]
    File {
        /// The path given after `file:`.
        path: String,
        /// The OS error.
        reason: String,
    },
}

/// A key's public name: 4 bytes of a labelled SHA-256 of it, shown as 8 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A 32-byte at-rest key. Its `Debug` shows the key id only, so the key never reaches a log.
#[derive(Clone)]
pub struct AtRestKey {
    key: [u8; KEY_LEN],
    id: KeyId,
    /// The AES-256-GCM instance of `key` (round keys and GHASH key computed once, not per
    /// session read or written).
    cipher: Aes256Gcm,
}

impl PartialEq for AtRestKey {
    fn eq(&self, other: &AtRestKey) -> bool {
        self.key == other.key
    }
}

impl Eq for AtRestKey {}

impl fmt::Debug for AtRestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AtRestKey {{ id: {} }}", self.id)
    }
}

impl AtRestKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(key: [u8; KEY_LEN]) -> AtRestKey {
        let mut h = Sha256::new();
        h.update(KEY_ID_LABEL);
        h.update(key);
        let digest = h.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        AtRestKey {
            key,
            id: KeyId(id),
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// A key from a setting: `base64:<base64 of 32 bytes>` (Laravel's APP_KEY form) or
    /// `file:<path>`, the file holding either that `base64:` text or the 32 raw bytes.
    pub fn parse(spec: &str) -> Result<AtRestKey, KeyError> {
        let spec = spec.trim();
        if let Some(b64) = spec.strip_prefix("base64:") {
            return Self::from_base64(b64);
        }
        if let Some(path) = spec.strip_prefix("file:") {
            let bytes = std::fs::read(path).map_err(|e| KeyError::File {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
            if let Ok(key) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) {
                return Ok(Self::from_bytes(key));
            }
            let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::UnknownForm)?;
            return match text.trim().strip_prefix("base64:") {
                Some(b64) => Self::from_base64(b64),
                None => Err(KeyError::UnknownForm),
            };
        }
        Err(KeyError::UnknownForm)
    }

    /// Keys from a comma-separated list of settings (`phpsess.previous_keys`); empty items are skipped.
    pub fn parse_list(list: &str) -> Result<Vec<AtRestKey>, KeyError> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Self::parse)
            .collect()
    }

    fn from_base64(b64: &str) -> Result<AtRestKey, KeyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| KeyError::NotBase64)?;
        let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
            .map_err(|_| KeyError::WrongLength { len: bytes.len() })?;
        Ok(Self::from_bytes(key))
    }

    /// The key's public name.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// A key for another use, derived from this one: HMAC-SHA256(this key, `label`), as HKDF's
    /// expand step with one block. Different labels give independent keys, and none reveals this
    /// one (the id hash of [`super::IdHasher`] uses it, so that it never hashes with the AES key).
    pub fn derive(&self, label: &[u8]) -> [u8; KEY_LEN] {
        use hmac::Mac;
        // Invariant: HMAC accepts keys of any length.
        let mut mac = <hmac::Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes any key length");
        mac.update(label);
        mac.finalize().into_bytes().into()
    }
}

/// What a store does with plaintext values once a key is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncryptionMode {
    /// Reads accept plaintext and encrypted values; writes encrypt (`phpsess.encryption=migrate`).
    Migrate,
    /// Reads refuse plaintext (treated as absent); writes encrypt (`phpsess.encryption=on`).
    On,
}

/// Keys and mode of encryption at rest: writes use `current`; reads pick the key by the
/// envelope's key id among `current` and `previous`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    mode: EncryptionMode,
    current: AtRestKey,
    previous: Arc<[AtRestKey]>,
}

/// Why a stored value was not accepted; the read treats the session as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Plaintext under `phpsess.encryption=on`.
    Plaintext,
    /// An envelope under a key id that none of the configured keys has.
    UnknownKey(KeyId),
    /// An envelope that does not authenticate under the key of its id (tampered, moved to another
    /// key, or truncated).
    NotAuthentic(KeyId),
    /// Starts like an envelope but is too short or of another version.
    Malformed,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Plaintext => {
                f.write_str("it is stored unencrypted and phpsess.encryption=on")
            }
            Rejection::UnknownKey(id) => write!(
                f,
                "it is encrypted under key id {id}, which is neither phpsess.encryption_key nor in \
                 phpsess.previous_keys"
            ),
            Rejection::NotAuthentic(id) => write!(
                f,
                "it does not authenticate under key id {id} (altered, or copied from another key)"
            ),
            Rejection::Malformed => f.write_str("it is a truncated or unknown-version envelope"),
        }
    }
}

/// What [`Encryption::open`] made of a stored value.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// Plaintext accepted (mode `migrate`): the stored bytes are the (maybe compressed) session.
    Plain,
    /// Decrypted with the key of this id; `current` says whether it is the current key.
    Decrypted {
        /// The (maybe compressed) session bytes.
        data: Vec<u8>,
        /// The key that opened it.
        key_id: KeyId,
        /// Whether that is the current key (otherwise the next write re-encrypts it).
        current: bool,
    },
    /// Not accepted: the session is treated as absent.
    Rejected(Rejection),
}

/// Encrypting failed: the OS had no randomness for a nonce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no OS randomness for an encryption nonce: {0}")]
pub struct SealError(String);

/// Whether stored bytes start like an envelope (any version).
pub fn is_envelope(stored: &[u8]) -> bool {
    stored.starts_with(MAGIC)
}

/// The key id of an envelope, if `stored` is one of this version.
pub fn envelope_key_id(stored: &[u8]) -> Option<KeyId> {
    if stored.len() < HEADER_LEN || !is_envelope(stored) || stored[MAGIC.len()] != VERSION {
        return None;
    }
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&stored[MAGIC.len() + 1..HEADER_LEN]);
    Some(KeyId(id))
}

impl Encryption {
    /// Encryption with `current` for writes and reads, in `mode`.
    pub fn new(mode: EncryptionMode, current: AtRestKey) -> Encryption {
        Encryption {
            mode,
            current,
            previous: Arc::from(Vec::new()),
        }
    }

    /// With `previous` keys accepted on read (rotation).
    #[must_use]
    pub fn with_previous(mut self, previous: Vec<AtRestKey>) -> Encryption {
        self.previous = Arc::from(previous);
        self
    }

    /// The mode.
    pub fn mode(&self) -> EncryptionMode {
        self.mode
    }

    /// The current key's id.
    pub fn key_id(&self) -> KeyId {
        self.current.id
    }

    /// The previous keys' ids.
    pub fn previous_ids(&self) -> Vec<KeyId> {
        self.previous.iter().map(AtRestKey::id).collect()
    }

    /// Encrypts `plain` for the Redis key `redis_key` with the current key and a fresh nonce.
    pub fn seal(&self, redis_key: &[u8], plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| SealError(e.to_string()))?;
        Ok(seal_with(&self.current, &nonce, redis_key, plain))
    }

    /// Makes sense of a stored value read from `redis_key`; never returns partly decrypted data.
    pub fn open(&self, redis_key: &[u8], stored: &[u8]) -> Opened {
        if !is_envelope(stored) {
            return match self.mode {
                EncryptionMode::Migrate => Opened::Plain,
                EncryptionMode::On => Opened::Rejected(Rejection::Plaintext),
            };
        }
        let Some(key_id) = envelope_key_id(stored) else {
            return Opened::Rejected(Rejection::Malformed);
        };
        if stored.len() < OVERHEAD {
            return Opened::Rejected(Rejection::Malformed);
        }
        let mut known = false;
        // Two keys may share a 4-byte id (1 in 4 billion): try each that does.
        let keys = std::iter::once(&self.current).chain(self.previous.iter());
        for key in keys.filter(|k| k.id == key_id) {
            known = true;
            if let Some(data) = open_with(key, redis_key, stored) {
                return Opened::Decrypted {
                    data,
                    key_id,
                    current: key.id == self.current.id && key.key == self.current.key,
                };
            }
        }
        Opened::Rejected(if known {
            Rejection::NotAuthentic(key_id)
        } else {
            Rejection::UnknownKey(key_id)
        })
    }
}

fn aad(header: &[u8], redis_key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + redis_key.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(redis_key);
    aad
}

fn seal_with(key: &AtRestKey, nonce: &[u8; NONCE_LEN], redis_key: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(OVERHEAD + plain.len());
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&key.id.0);
    let aad = aad(&out, redis_key);
    out.extend_from_slice(nonce);
    let body = out.len();
    out.extend_from_slice(plain);
    let aead = &key.cipher;
    // AES-GCM refuses only messages over 64 GB, far over any session size limit; a session that
    // big could not have been read from Redis (512 MB values at most).
    let tag = match aead.encrypt_inout_detached(&(*nonce).into(), &aad, (&mut out[body..]).into()) {
        Ok(tag) => tag,
        Err(_) => unreachable!("AES-GCM message limit is 64 GB"),
    };
    out.extend_from_slice(&tag);
    out
}

fn open_with(key: &AtRestKey, redis_key: &[u8], stored: &[u8]) -> Option<Vec<u8>> {
    let (header, rest) = stored.split_at(HEADER_LEN);
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let aad = aad(header, redis_key);
    let nonce = <[u8; NONCE_LEN]>::try_from(nonce).ok()?;
    let tag = <[u8; TAG_LEN]>::try_from(tag).ok()?;
    let mut buf = ciphertext.to_vec();
    let aead = &key.cipher;
    aead.decrypt_inout_detached(&nonce.into(), &aad, buf.as_mut_slice().into(), &tag.into())
        .ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> AtRestKey {
        AtRestKey::from_bytes([b; KEY_LEN])
    }

    #[test]
    fn round_trip_and_header() {
        let enc = Encryption::new(EncryptionMode::On, key(1));
        let sealed = enc
            .seal(b"PHPREDIS_SESSION:abc", b"secret|s:3:\"xyz\";")
            .unwrap();
        assert!(sealed.starts_with(MAGIC));
        assert_eq!(sealed.len(), OVERHEAD + 17);
        assert_eq!(envelope_key_id(&sealed), Some(key(1).id()));
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        match enc.open(b"PHPREDIS_SESSION:abc", &sealed) {
            Opened::Decrypted { data, current, .. } => {
                assert_eq!(data, b"secret|s:3:\"xyz\";");
                assert!(current);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nonces_differ() {
        let enc = Encryption::new(EncryptionMode::On, key(1));
        assert_ne!(enc.seal(b"k", b"x").unwrap(), enc.seal(b"k", b"x").unwrap());
    }

    #[test]
    fn another_redis_key_fails() {
        let enc = Encryption::new(EncryptionMode::On, key(1));
        let sealed = enc.seal(b"PHPREDIS_SESSION:a", b"x").unwrap();
        assert_eq!(
            enc.open(b"PHPREDIS_SESSION:b", &sealed),
            Opened::Rejected(Rejection::NotAuthentic(key(1).id()))
        );
    }

    #[test]
    fn every_flipped_bit_fails() {
        let enc = Encryption::new(EncryptionMode::On, key(1));
        let migrate = Encryption::new(EncryptionMode::Migrate, key(1));
        let sealed = enc.seal(b"k", b"a|i:1;").unwrap();
        for byte in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[byte] ^= 1 << bit;
                let opened = enc.open(b"k", &bad);
                assert!(
                    matches!(opened, Opened::Rejected(_)),
                    "byte {byte} bit {bit}: {opened:?}"
                );
                // A flip in the magic makes it plaintext to `migrate` (the magic must stay exact
                // for phpredis's LZ4 values, whose first byte is a CRC): handed on as the bytes
                // they are, which PHP's decoder refuses, never as the session that was sealed.
                let opened = migrate.open(b"k", &bad);
                let ok = matches!(opened, Opened::Rejected(_))
                    || (byte < MAGIC.len() && opened == Opened::Plain);
                assert!(ok, "migrate: byte {byte} bit {bit}: {opened:?}");
            }
        }
        for len in 0..sealed.len() {
            let opened = enc.open(b"k", &sealed[..len]);
            assert!(!matches!(opened, Opened::Decrypted { .. }), "{len}");
        }
    }

    #[test]
    fn rotation_and_modes() {
        let old = Encryption::new(EncryptionMode::On, key(1));
        let sealed = old.seal(b"k", b"x").unwrap();
        let new = Encryption::new(EncryptionMode::On, key(2)).with_previous(vec![key(1)]);
        assert!(matches!(
            new.open(b"k", &sealed),
            Opened::Decrypted { current: false, .. }
        ));
        let without = Encryption::new(EncryptionMode::On, key(2));
        assert_eq!(
            without.open(b"k", &sealed),
            Opened::Rejected(Rejection::UnknownKey(key(1).id()))
        );
        assert_eq!(
            without.open(b"k", b"a|i:1;"),
            Opened::Rejected(Rejection::Plaintext)
        );
        let migrate = Encryption::new(EncryptionMode::Migrate, key(2));
        assert_eq!(migrate.open(b"k", b"a|i:1;"), Opened::Plain);
    }

    #[test]
    fn parse_forms_and_errors_never_show_the_key() {
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let k = AtRestKey::parse(&format!("base64:{b64}")).unwrap();
        assert_eq!(k, key(7));
        assert!(!format!("{k:?}").contains(&b64));
        let dir = std::env::temp_dir().join(format!("phpsess-key-{}", std::process::id()));
        std::fs::write(&dir, format!("base64:{b64}\n")).unwrap();
        assert_eq!(
            AtRestKey::parse(&format!("file:{}", dir.display())).unwrap(),
            key(7)
        );
        std::fs::write(&dir, [7u8; 32]).unwrap();
        assert_eq!(
            AtRestKey::parse(&format!("file:{}", dir.display())).unwrap(),
            key(7)
        );
        std::fs::remove_file(&dir).unwrap();
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let e = AtRestKey::parse(&format!("base64:{short}")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the key has 16 bytes; AES-256 needs exactly 32"
        );
        assert!(!e.to_string().contains(&short));
        assert_eq!(AtRestKey::parse(&b64).unwrap_err(), KeyError::UnknownForm);
        assert_eq!(
            AtRestKey::parse_list(&format!(" base64:{b64} ,, base64:{b64}"))
                .unwrap()
                .len(),
            2
        );
    }
}
