//! [`AppKey`]: Laravel's `APP_KEY` (and `APP_PREVIOUS_KEYS`) turned into key bytes, the way
//! `EncryptionServiceProvider::parseKey` does it, plus the base64 helper the Encrypter shares.

use std::fmt;

use base64::engine::general_purpose::GeneralPurpose;
use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
use base64::Engine as _;

use super::error::LaravelError;

/// Standard alphabet, padding optional on input (PHP's `base64_decode` does not insist on it),
/// always written on output (PHP's `base64_encode` pads).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The same, also ignoring set bits after the last whole byte, as PHP's non-strict
/// `base64_decode` does: a payload cut short then decodes to the bytes it still holds (so the
/// error says "truncated", from the JSON), not to a base64 error.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Encode as PHP's `base64_encode` does (standard alphabet, padded).
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decode standard base64 (padding optional). With `truncation_likely` (the outer payload of a
/// cookie) stray bits after the last byte are ignored and a length no base64 can have is reported
/// as truncation; otherwise both are bad base64.
pub(crate) fn b64_decode(
    what: &'static str,
    text: &[u8],
    truncation_likely: bool,
) -> Result<Vec<u8>, LaravelError> {
    if let Some(bytes) = canonical_b64(text) {
        return Ok(bytes);
    }
    let engine = if truncation_likely {
        &B64_LENIENT
    } else {
        &B64
    };
    engine.decode(text).map_err(|e| match e {
        base64::DecodeError::InvalidByte(offset, b) => LaravelError::BadBase64 {
            what,
            offset,
            found: crate::value::display_byte(b),
        },
        base64::DecodeError::InvalidLength(len) if truncation_likely => LaravelError::Truncated {
            what,
            detail: format!("{len} base64 characters is not a whole number of bytes"),
        },
        base64::DecodeError::InvalidLength(len) => LaravelError::BadBase64 {
            what,
            offset: len.saturating_sub(1),
            found: "end of input (length is not a whole number of bytes)".into(),
        },
        base64::DecodeError::InvalidLastSymbol(offset, b) => LaravelError::BadBase64 {
            what,
            offset,
            found: crate::value::display_byte(b),
        },
        base64::DecodeError::InvalidPadding => LaravelError::BadBase64 {
            what,
            offset: text.len().saturating_sub(1),
            found: "padding".into(),
        },
    })
}

/// The value of each base64 character, 0xff for anything else.
const B64_VALUES: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Canonical base64 (what PHP's `base64_encode` writes: padded to a multiple of 4, no set bits
/// after the last byte), decoded four characters at a time; `None` for anything else, which the
/// `base64` engines then accept or refuse with a positioned error. Every payload and cookie is
/// canonical, and this is 2–3x fewer instructions than the general engine on them.
fn canonical_b64(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || !text.len().is_multiple_of(4) {
        return None;
    }
    let pad = text
        .iter()
        .rev()
        .take(2)
        .take_while(|&&c| c == b'=')
        .count();
    let (body, tail) = text.split_at(text.len() - 4);
    let whole = body.len() / 4 * 3;
    // The exact length, allocated once: `vec![0; n]` is a calloc, which glibc serves past its
    // thread cache, and growing it by the last 1–3 bytes was a realloc; together they were most
    // of a cookie's allocation cost in `make bench-axum`.
    let mut out = Vec::with_capacity(whole + 3 - pad);
    out.resize(whole, 0);
    // Invalid characters are 0xff: or-ed together, one test at the end finds any of them.
    let value = |c: u8| B64_VALUES[usize::from(c)];
    let mut seen = 0u8;
    for (quad, bytes) in body.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let (a, b, c, d) = (
            value(quad[0]),
            value(quad[1]),
            value(quad[2]),
            value(quad[3]),
        );
        seen |= a | b | c | d;
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        bytes[0] = (n >> 16) as u8;
        bytes[1] = (n >> 8) as u8;
        bytes[2] = n as u8;
    }
    let mut n = 0u32;
    for &c in &tail[..4 - pad] {
        let v = value(c);
        seen |= v;
        n = n << 6 | u32::from(v & 63);
    }
    if seen > 63 {
        return None;
    }
    n <<= 6 * pad;
    let last = n.to_be_bytes();
    // Bits past the last whole byte must be zero, as the strict engine insists.
    match pad {
        0 => out.extend_from_slice(&last[1..]),
        1 if last[3] == 0 => out.extend_from_slice(&last[1..3]),
        2 if last[2] == 0 && last[3] == 0 => out.push(last[1]),
        _ => return None,
    }
    Some(out)
}

/// The prefix that marks a base64-encoded key in `APP_KEY`.
pub const BASE64_PREFIX: &str = "base64:";

/// A Laravel encryption key: the raw bytes used as AES key, HMAC-SHA256 key (payload MAC) and
/// HMAC-SHA1 key (cookie prefix). `Debug` never prints the key.
#[derive(Clone, PartialEq, Eq)]
pub struct AppKey {
    bytes: Vec<u8>,
}

impl AppKey {
    /// Parse an `APP_KEY` value: `base64:<base64>` is decoded, anything else is used as raw bytes
    /// (Laravel 5.2-era keys of 32 plain characters). Surrounding whitespace (a `.env` line end) is
    /// ignored. The length is checked against the cipher later, by [`super::Encrypter::new`].
    pub fn parse(text: &str) -> Result<AppKey, LaravelError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(LaravelError::InvalidKey {
                reason: "empty (Laravel throws MissingAppKeyException)".into(),
            });
        }
        let bytes = match text.strip_prefix(BASE64_PREFIX) {
            Some(b64) => {
                let bytes = b64_decode("APP_KEY", b64.as_bytes(), false).map_err(|e| {
                    LaravelError::InvalidKey {
                        reason: format!("after {BASE64_PREFIX:?}: {e}"),
                    }
                })?;
                if bytes.is_empty() {
                    return Err(LaravelError::InvalidKey {
                        reason: format!("nothing after {BASE64_PREFIX:?}"),
                    });
                }
                bytes
            }
            None => text.as_bytes().to_vec(),
        };
        Ok(AppKey { bytes })
    }

    /// Parse `APP_PREVIOUS_KEYS`: keys separated by `,`, empty entries skipped (Laravel 11+
    /// `array_filter(explode(',', ...))`).
    pub fn parse_list(text: &str) -> Result<Vec<AppKey>, LaravelError> {
        text.split(',')
            .filter(|k| !k.trim().is_empty())
            .map(AppKey::parse)
            .collect()
    }

    /// A key from raw bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> AppKey {
        AppKey {
            bytes: bytes.into(),
        }
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Key length in bytes (16 for AES-128, 32 for AES-256).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true for a parsed key; here for completeness with [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The key as `APP_KEY` text (`base64:...`).
    pub fn to_env_string(&self) -> String {
        format!("{BASE64_PREFIX}{}", b64_encode(&self.bytes))
    }
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are secrets: show only their size.
        write!(f, "AppKey({} bytes)", self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_base64_decodes_as_the_engine_does() {
        let mut rng = crate::test_rng::Rng(0xb64);
        for len in 0..70 {
            for _ in 0..30 {
                let bytes = rng.bytes(len);
                let text = B64.encode(&bytes);
                let want = (!bytes.is_empty()).then_some(bytes);
                assert_eq!(canonical_b64(text.as_bytes()), want, "{text}");
            }
        }
        // Whatever the fast path takes, the strict engine takes, with the same bytes.
        let alphabet = b"AQgw+/=a9-_ \n";
        for _ in 0..50_000 {
            let len = rng.below(13);
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect();
            if let Some(fast) = canonical_b64(&text) {
                assert_eq!(B64.decode(&text).ok(), Some(fast), "{text:?}");
            }
        }
    }

    #[test]
    fn parses_base64_and_raw_keys() {
        let k = AppKey::parse("base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=").unwrap();
        assert_eq!(k.len(), 32);
        assert_eq!(k.as_bytes()[..4], [0x4c, 0x6d, 0xb7, 0x0a]);
        assert_eq!(
            k.to_env_string(),
            "base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI="
        );
        // Padding is optional, a .env line end is ignored.
        let unpadded =
            AppKey::parse("base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI\n").unwrap();
        assert_eq!(unpadded, k);
        let raw = AppKey::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(raw.as_bytes(), b"0123456789abcdef0123456789abcdef");
        assert_eq!(format!("{raw:?}"), "AppKey(32 bytes)");
    }

    #[test]
    fn refuses_bad_keys_with_the_reason() {
        let cases = [
            ("", "invalid APP_KEY: empty (Laravel throws MissingAppKeyException)"),
            ("base64:", "invalid APP_KEY: nothing after \"base64:\""),
            (
                "base64:TG23*jBn",
                "invalid APP_KEY: after \"base64:\": APP_KEY is not base64: unexpected '*' at byte 4",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(
                AppKey::parse(text).unwrap_err().to_string(),
                want,
                "{text:?}"
            );
        }
    }

    #[test]
    fn previous_keys_list() {
        let keys = AppKey::parse_list(
            "base64:IirgctVZW+1jvrRNqS0eosvaOZ1C+MVw+bjbwcvYU5c=,,0123456789abcdef",
        )
        .unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].len(), 32);
        assert_eq!(keys[1].as_bytes(), b"0123456789abcdef");
        assert!(AppKey::parse_list("").unwrap().is_empty());
    }
}
