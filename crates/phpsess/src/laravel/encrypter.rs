//! Laravel's `Illuminate\Encryption\Encrypter`, byte for byte: AES-128/256-CBC with an
//! HMAC-SHA256 over the base64 IV and ciphertext, AES-128/256-GCM with its 16-byte tag (and the
//! extra MAC of Laravel 8.54–8.55), `encrypt` (PHP-serialized plaintext) and `encryptString`, and
//! key rotation (decrypt with the current or any previous key, encrypt with the current one).
//!
//! The payload is `base64(json)` with the JSON members in the order `iv`, `value`, `mac`, `tag`,
//! no whitespace, slashes unescaped; `iv` and `value` are base64, `mac` lowercase hex (CBC) or `""`
//! (GCM), `tag` base64 (GCM) or `""` (CBC).

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Aes256Gcm, KeyInit};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::app_key::{b64_decode, b64_encode, AppKey};
use super::error::LaravelError;
use crate::error::{Error, Result};
use crate::value::Value;

/// Length of the AES-GCM tag Laravel writes and requires.
pub const GCM_TAG_LEN: usize = 16;

/// One of the four ciphers Laravel supports (`config('app.cipher')`, compared case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Cipher {
    /// `aes-128-cbc` (the Encrypter constructor's default).
    Aes128Cbc,
    /// `aes-256-cbc` (the skeleton's `config/app.php` in 8.x–13.x).
    #[default]
    Aes256Cbc,
    /// `aes-128-gcm` (8.54+).
    Aes128Gcm,
    /// `aes-256-gcm` (8.54+).
    Aes256Gcm,
}

impl Cipher {
    /// All four, in Laravel's order.
    pub const ALL: [Cipher; 4] = [
        Cipher::Aes128Cbc,
        Cipher::Aes256Cbc,
        Cipher::Aes128Gcm,
        Cipher::Aes256Gcm,
    ];

    /// Laravel's (lowercase) name.
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes128Cbc => "aes-128-cbc",
            Cipher::Aes256Cbc => "aes-256-cbc",
            Cipher::Aes128Gcm => "aes-128-gcm",
            Cipher::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// Key size in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Cbc | Cipher::Aes128Gcm => 16,
            Cipher::Aes256Cbc | Cipher::Aes256Gcm => 32,
        }
    }

    /// IV size in bytes (`openssl_cipher_iv_length`): 16 for CBC, 12 for GCM.
    pub fn iv_len(self) -> usize {
        if self.is_aead() {
            12
        } else {
            16
        }
    }

    /// GCM (authenticated by its tag) rather than CBC (authenticated by the HMAC).
    pub fn is_aead(self) -> bool {
        matches!(self, Cipher::Aes128Gcm | Cipher::Aes256Gcm)
    }
}

impl fmt::Display for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cipher {
    type Err = LaravelError;

    fn from_str(s: &str) -> Result<Cipher, LaravelError> {
        Cipher::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| LaravelError::UnsupportedCipher { name: s.to_owned() })
    }
}

/// The four strings of a payload's JSON envelope, as sent (still base64 / hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Base64 IV.
    pub iv: String,
    /// Base64 ciphertext.
    pub value: String,
    /// Lowercase hex HMAC-SHA256 (CBC), `""` (GCM), or the 8.54–8.55 GCM MAC.
    pub mac: String,
    /// Base64 GCM tag, `""` for CBC; `None` when the member is absent (payloads of Laravel ≤ 8.53).
    pub tag: Option<String>,
}

/// The envelope as Laravel writes it, borrowed from its JSON: `{"iv":"…","value":"…","mac":"…"`
/// then `,"tag":"…"}`, `,"tag":null}` or `}` (Laravel ≤ 8.53), members in that order, each
/// taken up to the next `"`. Building a JSON map for it took a third of a cookie's decryption
/// time once, and serde_json's reader still a tenth (measured under `make bench-axum`);
/// anything else is read by [`Envelope::from_json`], whose messages say what is wrong.
///
/// The members are not checked to be JSON strings here: a payload opens only if they are
/// base64 (IV, value, tag) and the hex MAC, which no escape or control character is, and a
/// payload that does not open this way is read again by [`Envelope::from_json`] for the error.
struct UsualEnvelope<'a> {
    iv: &'a [u8],
    value: &'a [u8],
    mac: &'a [u8],
    tag: Option<&'a [u8]>,
}

impl<'a> UsualEnvelope<'a> {
    /// Members of base64 and hex characters only, what the owned [`Envelope`] may take from
    /// here without the JSON reader's word on them.
    fn is_plain(&self) -> bool {
        let plain = |m: &[u8]| {
            m.iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        };
        plain(self.iv) && plain(self.value) && plain(self.mac) && self.tag.is_none_or(plain)
    }

    fn parse(json: &'a [u8]) -> Option<UsualEnvelope<'a>> {
        let (iv, rest) = member(json.strip_prefix(b"{\"iv\":\"")?)?;
        let (value, rest) = member(rest.strip_prefix(b",\"value\":\"")?)?;
        let (mac, rest) = member(rest.strip_prefix(b",\"mac\":\"")?)?;
        let tag = match rest {
            b"}" | b",\"tag\":null}" => None,
            _ => {
                let (tag, rest) = member(rest.strip_prefix(b",\"tag\":\"")?)?;
                if rest != b"}" {
                    return None;
                }
                Some(tag)
            }
        };
        Some(UsualEnvelope {
            iv,
            value,
            mac,
            tag,
        })
    }
}

/// A member's string up to the next quote, and what follows that quote.
fn member(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(b'"', text)?;
    Some((&text[..end], &text[end + 1..]))
}

/// The JSON inside a payload's outer base64.
fn envelope_json(payload: &[u8]) -> Result<Vec<u8>, LaravelError> {
    b64_decode("payload", trim_ascii(payload), true)
}

impl Envelope {
    /// Read `base64(json)`. The outer base64 and the JSON are checked here; the members' contents
    /// are checked by [`Encrypter::decrypt_string`].
    pub fn parse(payload: &[u8]) -> Result<Envelope, LaravelError> {
        let json = envelope_json(payload)?;
        if let Some(usual) = UsualEnvelope::parse(&json).filter(|u| u.is_plain()) {
            // Checked to be base64 and hex characters: ASCII.
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            return Ok(Envelope {
                iv: text(usual.iv),
                value: text(usual.value),
                mac: text(usual.mac),
                tag: usual.tag.map(text),
            });
        }
        Envelope::from_json(&json)
    }

    /// The envelope's JSON, member by member, with messages that say what is wrong.
    fn from_json(json: &[u8]) -> Result<Envelope, LaravelError> {
        let doc: serde_json::Value = serde_json::from_slice(json).map_err(|e| {
            if e.is_eof() {
                LaravelError::Truncated {
                    what: "payload",
                    detail: format!("its JSON ends early ({e})"),
                }
            } else {
                LaravelError::BadEnvelope {
                    reason: format!("the base64 does not hold JSON: {e}"),
                }
            }
        })?;
        let serde_json::Value::Object(map) = doc else {
            return Err(LaravelError::BadEnvelope {
                reason: "the JSON is not an object".into(),
            });
        };
        let member = |name: &str| -> Result<Option<String>, LaravelError> {
            match map.get(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(LaravelError::BadEnvelope {
                    reason: format!("member {name:?} is {}, not a string", json_type(other)),
                }),
            }
        };
        let required = |name: &str| -> Result<String, LaravelError> {
            member(name)?.ok_or_else(|| LaravelError::BadEnvelope {
                reason: format!("member {name:?} is missing"),
            })
        };
        Ok(Envelope {
            iv: required("iv")?,
            value: required("value")?,
            mac: required("mac")?,
            tag: member("tag")?,
        })
    }

    /// `base64(json)` exactly as Laravel writes it (member order, `JSON_UNESCAPED_SLASHES`).
    pub fn to_payload(&self) -> String {
        let mut json = String::with_capacity(self.value.len() + 96);
        json.push_str("{\"iv\":");
        push_json_str(&mut json, &self.iv);
        json.push_str(",\"value\":");
        push_json_str(&mut json, &self.value);
        json.push_str(",\"mac\":");
        push_json_str(&mut json, &self.mac);
        json.push_str(",\"tag\":");
        push_json_str(&mut json, self.tag.as_deref().unwrap_or(""));
        json.push('}');
        b64_encode(json.as_bytes())
    }
}

/// Laravel's Encrypter: a cipher, the current key and the previous keys.
#[derive(Clone)]
pub struct Encrypter {
    cipher: Cipher,
    key: AppKey,
    previous: Vec<AppKey>,
    gcm_mac: bool,
    /// HMAC-SHA256 keyed with each key, in [`Encrypter::keys`] order: the key's two blocks are
    /// hashed once, not on every payload opened (a cookie per request, in a service).
    macs: Vec<Hmac<Sha256>>,
    /// Each key's AES schedule (and GCM's hash key), expanded once, in the same order.
    ciphers: Vec<KeyCipher>,
}

/// One key's expanded cipher: AES-CBC's block cipher, or the AES-GCM AEAD.
#[derive(Clone)]
enum KeyCipher {
    Cbc128(aes::Aes128),
    Cbc256(aes::Aes256),
    Gcm128(Aes128Gcm),
    Gcm256(Aes256Gcm),
}

impl KeyCipher {
    fn new(key: &AppKey, cipher: Cipher) -> Result<KeyCipher, LaravelError> {
        let k = key.as_bytes();
        // The length was checked against the cipher (`check_len`); this is the type's error.
        let wrong = |_| LaravelError::KeyLength {
            cipher,
            expected: cipher.key_len(),
            found: k.len(),
        };
        Ok(match cipher {
            Cipher::Aes128Cbc => KeyCipher::Cbc128(aes::Aes128::new_from_slice(k).map_err(wrong)?),
            Cipher::Aes256Cbc => KeyCipher::Cbc256(aes::Aes256::new_from_slice(k).map_err(wrong)?),
            Cipher::Aes128Gcm => KeyCipher::Gcm128(Aes128Gcm::new_from_slice(k).map_err(wrong)?),
            Cipher::Aes256Gcm => KeyCipher::Gcm256(Aes256Gcm::new_from_slice(k).map_err(wrong)?),
        })
    }

    /// AES-CBC with PKCS#7 padding, in place (the ciphertext's buffer becomes the plaintext);
    /// `None` when the padding is wrong (or this is a GCM key).
    fn cbc_decrypt(&self, iv: &[u8], mut buf: Vec<u8>) -> Option<Vec<u8>> {
        use cbc::cipher::InnerIvInit;
        let len = match self {
            KeyCipher::Cbc128(c) => {
                cbc::Decryptor::<aes::Aes128>::inner_iv_slice_init(c.clone(), iv)
                    .ok()?
                    .decrypt_padded::<Pkcs7>(&mut buf)
                    .ok()?
                    .len()
            }
            KeyCipher::Cbc256(c) => {
                cbc::Decryptor::<aes::Aes256>::inner_iv_slice_init(c.clone(), iv)
                    .ok()?
                    .decrypt_padded::<Pkcs7>(&mut buf)
                    .ok()?
                    .len()
            }
            _ => return None,
        };
        buf.truncate(len);
        Some(buf)
    }

    /// AES-GCM; `None` when the tag does not verify (or this is a CBC key).
    fn gcm_decrypt(&self, iv: &[u8], ciphertext: &[u8], tag: &[u8]) -> Option<Vec<u8>> {
        match self {
            KeyCipher::Gcm128(aead) => gcm_decrypt(aead, iv, ciphertext, tag),
            KeyCipher::Gcm256(aead) => gcm_decrypt(aead, iv, ciphertext, tag),
            _ => None,
        }
    }
}

impl fmt::Debug for Encrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encrypter")
            .field("cipher", &self.cipher)
            .field("previous_keys", &self.previous.len())
            .field("gcm_mac", &self.gcm_mac)
            .finish()
    }
}

impl Encrypter {
    /// An Encrypter for `cipher` with `key`; fails, as Laravel's constructor does, when the key
    /// length does not fit the cipher.
    pub fn new(key: AppKey, cipher: Cipher) -> Result<Encrypter> {
        check_len(&key, cipher)?;
        Ok(Encrypter {
            cipher,
            previous: Vec::new(),
            gcm_mac: false,
            macs: vec![keyed_mac(&key)?],
            ciphers: vec![KeyCipher::new(&key, cipher)?],
            key,
        })
    }

    /// Also decrypt with these keys (Laravel 11+ `app.previous_keys`), tried after the current one.
    /// Each must fit the cipher, as in Laravel's `previousKeys()`.
    pub fn with_previous_keys(mut self, keys: Vec<AppKey>) -> Result<Encrypter> {
        for k in &keys {
            check_len(k, self.cipher)?;
        }
        let previous = keys.iter().map(keyed_mac).collect::<Result<Vec<_>, _>>()?;
        let ciphers = keys
            .iter()
            .map(|k| KeyCipher::new(k, self.cipher))
            .collect::<Result<Vec<_>, _>>()?;
        self.macs.truncate(1);
        self.macs.extend(previous);
        self.ciphers.truncate(1);
        self.ciphers.extend(ciphers);
        self.previous = keys;
        Ok(self)
    }

    /// Write GCM payloads with the extra `mac` of Laravel 8.54.0–8.55.x
    /// (`HMAC-SHA256(tag_b64 . iv_b64 . value_b64)`), which those versions require on decrypt.
    /// Reading accepts both forms regardless.
    pub fn with_gcm_mac(mut self, on: bool) -> Encrypter {
        self.gcm_mac = on;
        self
    }

    /// The cipher.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The current key (used for encryption and new cookie prefixes).
    pub fn key(&self) -> &AppKey {
        &self.key
    }

    /// The current key, then the previous keys: the order decryption tries them in.
    pub fn keys(&self) -> impl Iterator<Item = &AppKey> {
        std::iter::once(&self.key).chain(self.previous.iter())
    }

    /// Laravel's `encryptString($plaintext)`: encrypt the bytes as they are.
    pub fn encrypt_string(&self, plaintext: &[u8]) -> Result<String> {
        let mut iv = vec![0u8; self.cipher.iv_len()];
        random_bytes(&mut iv)?;
        self.encrypt_string_with_iv(plaintext, &iv)
    }

    /// Laravel's `encrypt($value)`: PHP-`serialize()` the value, then encrypt.
    pub fn encrypt(&self, value: &Value) -> Result<String> {
        self.encrypt_string(&crate::serialize(value))
    }

    /// [`encrypt_string`](Self::encrypt_string) with a given IV, for reproducing known vectors.
    /// Never reuse an IV for real data (with GCM, a repeated IV under one key reveals the key
    /// stream).
    pub fn encrypt_string_with_iv(&self, plaintext: &[u8], iv: &[u8]) -> Result<String> {
        if iv.len() != self.cipher.iv_len() {
            return Err(Error::Encode(format!(
                "{} needs a {}-byte IV, got {}",
                self.cipher,
                self.cipher.iv_len(),
                iv.len()
            )));
        }
        let key = self.key.as_bytes();
        let (ciphertext, tag) = match self.cipher {
            Cipher::Aes128Cbc => (cbc_encrypt::<aes::Aes128>(key, iv, plaintext)?, None),
            Cipher::Aes256Cbc => (cbc_encrypt::<aes::Aes256>(key, iv, plaintext)?, None),
            Cipher::Aes128Gcm => {
                let (c, t) = gcm_encrypt::<Aes128Gcm>(key, iv, plaintext)?;
                (c, Some(t))
            }
            Cipher::Aes256Gcm => {
                let (c, t) = gcm_encrypt::<Aes256Gcm>(key, iv, plaintext)?;
                (c, Some(t))
            }
        };
        let iv = b64_encode(iv);
        let value = b64_encode(&ciphertext);
        let tag = tag.map(|t| b64_encode(&t)).unwrap_or_default();
        let mac = if !self.cipher.is_aead() {
            mac_hex(&self.macs[0], &[iv.as_bytes(), value.as_bytes()])
        } else if self.gcm_mac {
            mac_hex(
                &self.macs[0],
                &[tag.as_bytes(), iv.as_bytes(), value.as_bytes()],
            )
        } else {
            String::new()
        };
        Ok(Envelope {
            iv,
            value,
            mac,
            tag: Some(tag),
        }
        .to_payload())
    }

    /// Laravel's `decryptString($payload)`: the plaintext bytes.
    ///
    /// CBC: the MAC must match (constant-time) under the current or a previous key, then that key
    /// decrypts. GCM: the first key whose tag verifies wins; a non-empty `mac` (8.54–8.55) must
    /// also match under that key. Errors say which check failed ([`LaravelError`]).
    pub fn decrypt_string(&self, payload: &[u8]) -> Result<Vec<u8>> {
        Ok(self.open(payload)?)
    }

    /// Laravel's `decrypt($payload)`: decrypt, then `unserialize()` (strictly: trailing bytes are
    /// an error).
    pub fn decrypt(&self, payload: &[u8]) -> Result<Value> {
        let plain = self.open(payload)?;
        crate::unserialize(&plain)
    }

    fn open(&self, payload: &[u8]) -> Result<Vec<u8>, LaravelError> {
        let json = envelope_json(payload)?;
        if let Some(env) = UsualEnvelope::parse(&json) {
            if let Ok(plain) = self.open_members(env.iv, env.value, env.mac, env.tag) {
                return Ok(plain);
            }
        }
        let env = Envelope::from_json(&json)?;
        self.open_members(
            env.iv.as_bytes(),
            env.value.as_bytes(),
            env.mac.as_bytes(),
            env.tag.as_deref().map(str::as_bytes),
        )
    }

    /// Check and decrypt the envelope's members (still base64 / hex).
    fn open_members(
        &self,
        iv_text: &[u8],
        value_text: &[u8],
        mac_text: &[u8],
        tag_text: Option<&[u8]>,
    ) -> Result<Vec<u8>, LaravelError> {
        let cipher = self.cipher;
        let mismatch = |reason: String| LaravelError::CipherMismatch {
            configured: cipher,
            reason,
        };
        // Strict base64 and the exact IV length, as Laravel's validPayload().
        let iv = b64_decode("iv", iv_text, false)?;
        if iv.len() != cipher.iv_len() {
            let other = if iv.len() == 12 {
                " (an AES-GCM payload)"
            } else if iv.len() == 16 {
                " (an AES-CBC payload)"
            } else {
                ""
            };
            return Err(mismatch(format!(
                "the IV is {} bytes{other}, {cipher} uses {}",
                iv.len(),
                cipher.iv_len()
            )));
        }
        let tag_text = tag_text.unwrap_or(b"");
        if !cipher.is_aead() {
            if !tag_text.is_empty() {
                return Err(mismatch(
                    "it carries a GCM tag, CBC has none (Laravel: \"Unable to use tag\")".into(),
                ));
            }
            let (key, _) = self
                .ciphers
                .iter()
                .zip(&self.macs)
                .find(|(_, mac)| mac_matches(mac, &[iv_text, value_text], mac_text))
                .ok_or(LaravelError::MacMismatch {
                    keys_tried: self.key_count(),
                })?;
            let ciphertext = b64_decode("value", value_text, false)?;
            return key
                .cbc_decrypt(&iv, ciphertext)
                .ok_or(LaravelError::Decrypt {
                    cipher,
                    reason: "bad PKCS#7 padding",
                });
        }
        if tag_text.is_empty() {
            return Err(mismatch("it has no tag (an AES-CBC payload?)".into()));
        }
        let tag = b64_decode("tag", tag_text, false)?;
        let ciphertext = b64_decode("value", value_text, false)?;
        if tag.len() != GCM_TAG_LEN {
            return Err(LaravelError::BadEnvelope {
                reason: format!("the GCM tag is {} bytes, not {GCM_TAG_LEN}", tag.len()),
            });
        }
        for (key, mac) in self.ciphers.iter().zip(&self.macs) {
            if let Some(plain) = key.gcm_decrypt(&iv, &ciphertext, &tag) {
                // 8.54–8.55 also MACed GCM payloads; later versions ignore the member. We check it
                // when present, so an altered `mac` is not silently accepted.
                if !mac_text.is_empty()
                    && !mac_matches(mac, &[tag_text, iv_text, value_text], mac_text)
                {
                    return Err(LaravelError::MacMismatch { keys_tried: 1 });
                }
                return Ok(plain);
            }
        }
        Err(LaravelError::TagMismatch {
            keys_tried: self.key_count(),
        })
    }

    fn key_count(&self) -> usize {
        1 + self.previous.len()
    }
}

fn check_len(key: &AppKey, cipher: Cipher) -> Result<(), LaravelError> {
    if key.len() != cipher.key_len() {
        return Err(LaravelError::KeyLength {
            cipher,
            expected: cipher.key_len(),
            found: key.len(),
        });
    }
    Ok(())
}

/// Fill `buf` from the operating system's CSPRNG.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Encode(format!("no OS randomness for an IV: {e}")))
}

/// HMAC-SHA256 keyed with `key`, ready to be cloned for each message.
fn keyed_mac(key: &AppKey) -> Result<Hmac<Sha256>, LaravelError> {
    // HMAC takes keys of any length, so this does not fail; the error is only the type's.
    <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key.as_bytes()).map_err(|_| {
        LaravelError::KeyLength {
            cipher: Cipher::Aes256Cbc,
            expected: 32,
            found: key.len(),
        }
    })
}

/// HMAC-SHA256 of the concatenated `parts`, as lowercase hex in a buffer on the stack.
fn mac_hex_bytes(keyed: &Hmac<Sha256>, parts: &[&[u8]]) -> [u8; 64] {
    let mut mac = keyed.clone();
    for p in parts {
        mac.update(p);
    }
    let digest = mac.finalize().into_bytes();
    let mut out = [0u8; 64];
    hex_into(&digest, &mut out);
    out
}

/// Lowercase hex of `bytes` into `out` (twice as long).
fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
}

/// Lowercase hex, as PHP's `hash_hmac()` returns.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    hex_into(bytes, &mut out);
    // Hex digits are ASCII.
    String::from_utf8(out).unwrap_or_default()
}

fn mac_hex(keyed: &Hmac<Sha256>, parts: &[&[u8]]) -> String {
    String::from_utf8_lossy(&mac_hex_bytes(keyed, parts)).into_owned()
}

/// `hash_equals(hash_hmac(...), $mac)`: exact, case-sensitive, constant-time in the contents.
fn mac_matches(keyed: &Hmac<Sha256>, parts: &[&[u8]], given: &[u8]) -> bool {
    let want = mac_hex_bytes(keyed, parts);
    want.len() == given.len() && bool::from(want.as_slice().ct_eq(given))
}

fn cbc_encrypt<C>(key: &[u8], iv: &[u8], plain: &[u8]) -> Result<Vec<u8>>
where
    C: cbc::cipher::BlockCipherEncrypt + cbc::cipher::KeyInit,
{
    let enc = cbc::Encryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| Error::Encode("AES-CBC key or IV has the wrong length".into()))?;
    Ok(enc.encrypt_padded_vec::<Pkcs7>(plain))
}

fn gcm_encrypt<A>(key: &[u8], iv: &[u8], plain: &[u8]) -> Result<(Vec<u8>, Vec<u8>)>
where
    A: AeadInOut + KeyInit,
{
    let aead = A::new_from_slice(key)
        .map_err(|_| Error::Encode("AES-GCM key has the wrong length".into()))?;
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(iv)
        .map_err(|_| Error::Encode("AES-GCM IV has the wrong length".into()))?;
    let mut buf = plain.to_vec();
    let tag = aead
        .encrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into())
        .map_err(|_| Error::Encode("AES-GCM refused the plaintext (too long)".into()))?;
    Ok((buf, tag.to_vec()))
}

fn gcm_decrypt<A>(aead: &A, iv: &[u8], ciphertext: &[u8], tag: &[u8]) -> Option<Vec<u8>>
where
    A: AeadInOut,
{
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(iv).ok()?;
    let tag = aes_gcm::aead::Tag::<A>::try_from(tag).ok()?;
    let mut buf = ciphertext.to_vec();
    aead.decrypt_inout_detached(&nonce, b"", buf.as_mut_slice().into(), &tag)
        .ok()?;
    Some(buf)
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A JSON string as PHP's `json_encode(..., JSON_UNESCAPED_SLASHES)` writes it for the envelope's
/// members. They are base64 or hex, so only `"` and `\` could ever need escaping; control and
/// non-ASCII characters are escaped too, for safety, as PHP would.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7f => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
