//! Where Laravel keeps a session in Redis: `<connection prefix><cache store prefix><id>`, with the
//! `:` that `RedisStore` appends to a non-empty store prefix up to Laravel 10 and not from 11, and
//! the skeleton defaults derived from `APP_NAME` per Laravel version (the `prefix` entries of
//! laravel/laravel's `config/database.php` and `config/cache.php`; the `:` is
//! `Illuminate\Cache\RedisStore::setPrefix`).
//!
//! | skeleton | connection prefix | store prefix | key for APP_NAME=Laravel |
//! |---|---|---|---|
//! | 8.x | `laravel_database_` | `laravel_cache` + `:` | `laravel_database_laravel_cache:<id>` |
//! | 9.x, 10.x | `laravel_database_` | `laravel_cache_` + `:` | `laravel_database_laravel_cache_:<id>` |
//! | 11.x, 12.x before v12.1.0 | `laravel_database_` | `laravel_cache_` | `laravel_database_laravel_cache_<id>` |
//! | 12.1+ skeleton, 13.x | `laravel-database-` | `laravel-cache-` | `laravel-database-laravel-cache-<id>` |
//!
//! These are the defaults of a *new* app of that version; an app keeps what its `config/*.php` and
//! `.env` say, so explicit prefixes ([`KeyLayout::new`], [`KeyLayout::from_full_prefix`]) always win.

use std::fmt;
use std::str::FromStr;

use super::error::LaravelError;

/// The laravel/laravel skeleton an app was created from: it decides the default prefixes and
/// cookie name (the framework major decides the `:` rule, and matches the skeleton here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Skeleton {
    /// 8.x (and laravel/laravel v9.0.0).
    L8,
    /// 9.x from v9.0.1.
    L9,
    /// 10.x.
    L10,
    /// 11.x.
    L11,
    /// 12.x created before laravel/laravel v12.1.0 (2025-07-03).
    L12,
    /// 12.x created from laravel/laravel v12.1.0 on (slugs with `-`).
    L12_1,
    /// 13.x.
    L13,
}

impl Skeleton {
    /// Every skeleton, oldest first.
    pub const ALL: [Skeleton; 7] = [
        Skeleton::L8,
        Skeleton::L9,
        Skeleton::L10,
        Skeleton::L11,
        Skeleton::L12,
        Skeleton::L12_1,
        Skeleton::L13,
    ];

    /// The version text this skeleton parses from (`8` ... `12`, `12.1`, `13`).
    pub fn name(self) -> &'static str {
        match self {
            Skeleton::L8 => "8",
            Skeleton::L9 => "9",
            Skeleton::L10 => "10",
            Skeleton::L11 => "11",
            Skeleton::L12 => "12",
            Skeleton::L12_1 => "12.1",
            Skeleton::L13 => "13",
        }
    }

    /// The framework major version.
    pub fn major(self) -> u32 {
        match self {
            Skeleton::L8 => 8,
            Skeleton::L9 => 9,
            Skeleton::L10 => 10,
            Skeleton::L11 => 11,
            Skeleton::L12 | Skeleton::L12_1 => 12,
            Skeleton::L13 => 13,
        }
    }

    /// Does `RedisStore` append `:` to a non-empty store prefix (Laravel ≤ 10)?
    pub fn store_prefix_colon(self) -> bool {
        self.major() <= 10
    }

    fn dashes(self) -> bool {
        matches!(self, Skeleton::L12_1 | Skeleton::L13)
    }

    /// The skeleton's `session.cookie` for `app_name`: `laravel_session` (8–12.0) or
    /// `laravel-session` (12.1+, 13).
    pub fn default_cookie_name(self, app_name: &str) -> Result<String, LaravelError> {
        Ok(if self.dashes() {
            format!("{}-session", slug(app_name, '-')?)
        } else {
            format!("{}_session", slug(app_name, '_')?)
        })
    }

    /// The skeleton's prefixes for `app_name` (`REDIS_PREFIX`, `CACHE_PREFIX` defaults).
    pub fn default_layout(self, app_name: &str) -> Result<KeyLayout, LaravelError> {
        let (connection, store) = match self {
            Skeleton::L8 => {
                let s = slug(app_name, '_')?;
                (format!("{s}_database_"), format!("{s}_cache"))
            }
            Skeleton::L9 | Skeleton::L10 | Skeleton::L11 | Skeleton::L12 => {
                let s = slug(app_name, '_')?;
                (format!("{s}_database_"), format!("{s}_cache_"))
            }
            Skeleton::L12_1 | Skeleton::L13 => {
                let s = slug(app_name, '-')?;
                (format!("{s}-database-"), format!("{s}-cache-"))
            }
        };
        Ok(KeyLayout::new(
            connection.as_bytes(),
            store.as_bytes(),
            self.store_prefix_colon(),
        ))
    }
}

impl fmt::Display for Skeleton {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Skeleton {
    type Err = LaravelError;

    /// `8`, `9`, `10`, `11`, `12` (an app created before v12.1.0), `12.1` (or any `12.N` with
    /// N ≥ 1), `13`; an `.x` or `.0` suffix is allowed (`9.x`, `11.0`).
    fn from_str(s: &str) -> Result<Skeleton, LaravelError> {
        let text = s.trim().trim_start_matches(['v', 'V']);
        let (major, minor) = text.split_once('.').unwrap_or((text, "0"));
        let minor = if minor.eq_ignore_ascii_case("x") {
            "0"
        } else {
            minor.split('.').next().unwrap_or("0")
        };
        let bad = || LaravelError::Unsupported {
            what: format!(
                "Laravel version {s:?}: use 8, 9, 10, 11, 12 (created before v12.1.0), 12.1 or 13"
            ),
        };
        let minor: u32 = minor.parse().map_err(|_| bad())?;
        Ok(match major.parse::<u32>().map_err(|_| bad())? {
            8 => Skeleton::L8,
            9 => Skeleton::L9,
            10 => Skeleton::L10,
            11 => Skeleton::L11,
            12 if minor == 0 => Skeleton::L12,
            12 => Skeleton::L12_1,
            13 => Skeleton::L13,
            _ => return Err(bad()),
        })
    }
}

/// How session ids map to Redis keys: one full prefix (connection prefix + store prefix, with the
/// `:` where Laravel adds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    prefix: Vec<u8>,
}

impl KeyLayout {
    /// From `database.redis.options.prefix` (the connection prefix), the cache store prefix and
    /// whether `RedisStore` appends `:` to a non-empty store prefix (Laravel ≤ 10, see
    /// [`Skeleton::store_prefix_colon`]). With Laravel 13.20+ `session.prefix`, pass it as the store
    /// prefix (it replaces the cache prefix for sessions) with `colon = false`.
    pub fn new(connection_prefix: &[u8], store_prefix: &[u8], colon: bool) -> KeyLayout {
        let mut prefix = connection_prefix.to_vec();
        prefix.extend_from_slice(store_prefix);
        if colon && !store_prefix.is_empty() {
            prefix.push(b':');
        }
        KeyLayout { prefix }
    }

    /// From the whole prefix as it appears in Redis (`laravel_database_laravel_cache:`).
    pub fn from_full_prefix(prefix: impl Into<Vec<u8>>) -> KeyLayout {
        KeyLayout {
            prefix: prefix.into(),
        }
    }

    /// The full prefix.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The Redis key of session `id`.
    pub fn key(&self, id: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + id.len());
        k.extend_from_slice(&self.prefix);
        k.extend_from_slice(id.as_bytes());
        k
    }

    /// The part of `key` after the prefix, if `key` has the prefix.
    pub fn id_of<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        key.strip_prefix(self.prefix.as_slice())
    }

    /// A `SCAN ... MATCH` pattern for every key under the prefix (glob characters in the prefix
    /// escaped).
    pub fn scan_pattern(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(self.prefix.len() + 4);
        for &b in &self.prefix {
            if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
                p.push(b'\\');
            }
            p.push(b);
        }
        p.push(b'*');
        p
    }
}

/// Laravel's `Str::slug($title, $separator)` for ASCII titles. Names with other characters are
/// refused: Laravel transliterates them with voku/portable-ascii first, which is not reproduced
/// here, so the prefixes must then be given explicitly.
pub fn slug(title: &str, separator: char) -> Result<String, LaravelError> {
    if let Some(c) = title
        .chars()
        .find(|c| !(c.is_ascii_graphic() || *c == ' ' || *c == '\t'))
    {
        return Err(LaravelError::Unsupported {
            what: format!(
                "APP_NAME {title:?} has {c:?}: Laravel transliterates such characters \
                 (voku/portable-ascii), so give the prefixes explicitly"
            ),
        });
    }
    let flip = if separator == '-' { '_' } else { '-' };
    let sep = separator.to_string();
    // Runs of the other separator become one separator; '@' becomes "<sep>at<sep>".
    let mut s = String::with_capacity(title.len() + 8);
    let mut prev_flip = false;
    for c in title.chars() {
        if c == flip {
            if !prev_flip {
                s.push(separator);
            }
            prev_flip = true;
            continue;
        }
        prev_flip = false;
        if c == '@' {
            s.push_str(&sep);
            s.push_str("at");
            s.push_str(&sep);
        } else {
            s.push(c);
        }
    }
    // Lowercase, keep separator, letters, digits and whitespace; runs of separators/whitespace
    // become one separator; trim separators.
    let mut out = String::with_capacity(s.len());
    let mut pending = false;
    for c in s.chars().map(|c| c.to_ascii_lowercase()) {
        if c == separator || c.is_ascii_whitespace() || c == '\u{0b}' {
            pending = true;
        } else if c.is_ascii_alphanumeric() {
            if pending && !out.is_empty() {
                out.push(separator);
            }
            pending = false;
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_keys_per_skeleton() {
        // Keys measured with real Laravel (fixtures/laravel/laravel-vectors.json).
        let id = "gAnNdfhqyqyf9NOtRP0iKkcD8Oy4ATbXmOy4ZSQy";
        let cases = [
            ("8", "laravel_database_laravel_cache:", "laravel_session"),
            ("9", "laravel_database_laravel_cache_:", "laravel_session"),
            ("10", "laravel_database_laravel_cache_:", "laravel_session"),
            ("11", "laravel_database_laravel_cache_", "laravel_session"),
            ("12", "laravel_database_laravel_cache_", "laravel_session"),
            ("12.1", "laravel-database-laravel-cache-", "laravel-session"),
            ("13", "laravel-database-laravel-cache-", "laravel-session"),
        ];
        for (version, prefix, cookie) in cases {
            let sk: Skeleton = version.parse().unwrap();
            let layout = sk.default_layout("Laravel").unwrap();
            assert_eq!(layout.prefix(), prefix.as_bytes(), "{version}");
            assert_eq!(layout.key(id), format!("{prefix}{id}").into_bytes());
            assert_eq!(layout.id_of(&layout.key(id)), Some(id.as_bytes()));
            assert_eq!(sk.default_cookie_name("Laravel").unwrap(), cookie);
        }
        let sk: Skeleton = "8".parse().unwrap();
        assert_eq!(
            sk.default_layout("My App").unwrap().prefix(),
            b"my_app_database_my_app_cache:"
        );
    }

    #[test]
    fn version_texts() {
        let cases = [
            ("8", Skeleton::L8),
            ("9.x", Skeleton::L9),
            ("v10", Skeleton::L10),
            ("11.0", Skeleton::L11),
            ("12", Skeleton::L12),
            ("12.0.3", Skeleton::L12),
            ("12.1", Skeleton::L12_1),
            ("12.7", Skeleton::L12_1),
            ("13", Skeleton::L13),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Skeleton>().unwrap(), want, "{text}");
        }
        assert_eq!(
            "7".parse::<Skeleton>().unwrap_err().to_string(),
            "unsupported: Laravel version \"7\": use 8, 9, 10, 11, 12 (created before v12.1.0), 12.1 or 13"
        );
    }

    #[test]
    fn explicit_prefixes_and_colon_rule() {
        assert_eq!(KeyLayout::new(b"", b"", true).prefix(), b"");
        assert_eq!(KeyLayout::new(b"db_", b"", true).prefix(), b"db_");
        assert_eq!(KeyLayout::new(b"db_", b"c", true).prefix(), b"db_c:");
        assert_eq!(KeyLayout::new(b"db_", b"c", false).prefix(), b"db_c");
        assert_eq!(
            KeyLayout::from_full_prefix("a*b[c]:").scan_pattern(),
            b"a\\*b\\[c\\]:*"
        );
    }

    #[test]
    fn slug_matches_laravel_on_ascii() {
        // Str::slug() results measured with Laravel 8.83 (also checked by tests/tests/format/laravel_vectors.rs).
        let cases = [
            ("Laravel", '_', "laravel"),
            ("My App", '_', "my_app"),
            ("My App", '-', "my-app"),
            ("Acme Shop 2", '_', "acme_shop_2"),
            ("  --a__b--  ", '_', "a_b"),
            ("foo@bar.com", '-', "foo-at-barcom"),
            ("", '_', ""),
        ];
        for (title, sep, want) in cases {
            assert_eq!(slug(title, sep).unwrap(), want, "{title:?} {sep}");
        }
        assert!(slug("café", '_').is_err());
    }
}
