//! phpredis's query parameters, read out of a decoded query with phpredis's meaning and our checks
//! (see the table in the `save_path` docs for every place we refuse what phpredis would accept).

use std::collections::BTreeMap;
use std::ops::Range;

use super::number::{parse_number, PhpNumber};
use super::query::{QArray, QNode, QValue};
use super::{Auth, Failover};
use crate::value::Key;

/// Largest number of seconds we accept for a timeout (phpredis's cluster limit, `INT_MAX`).
pub(crate) const MAX_SECONDS: f64 = i32::MAX as f64;

/// A parameter that cannot be used: why, and the input range of the pair that gave it.
#[derive(Debug)]
pub(crate) struct Bad {
    pub reason: String,
    pub pair: Range<usize>,
}

pub(crate) type Checked<T> = Result<T, Bad>;

fn bad(node: &QNode, reason: String) -> Bad {
    Bad {
        reason,
        pair: node.pair.clone(),
    }
}

/// A value for an error message: readable, one line, never long.
pub(crate) fn shown(v: &[u8]) -> String {
    let text = String::from_utf8_lossy(v);
    let mut out: String = text.chars().take(64).flat_map(char::escape_debug).collect();
    if text.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// An array key as written between the brackets.
pub(crate) fn key_text(k: &Key) -> String {
    match k {
        Key::Int(i) => i.to_string(),
        Key::Str(s) => shown(s),
    }
}

/// The string value of `name`, refusing `name[...]=` (phpredis would read the word "Array").
fn scalar<'a>(node: &'a QNode, name: &str) -> Checked<&'a [u8]> {
    match &node.value {
        QValue::Str(s) => Ok(s),
        QValue::Array(_) => Err(bad(
            node,
            format!("{name} must be a single value, not an array ({name}[...])"),
        )),
    }
}

/// An integer parameter in `min..=max`. Refuses what PHP does not call numeric, fractions and
/// exponents; `message` says what is expected.
fn integer(arr: &QArray, name: &str, min: i64, max: i64, message: &str) -> Checked<Option<i64>> {
    let Some(node) = arr.get(name.as_bytes()) else {
        return Ok(None);
    };
    let v = scalar(node, name)?;
    match parse_number(v) {
        Some(PhpNumber::Int(n)) if (min..=max).contains(&n) => Ok(Some(n)),
        Some(PhpNumber::Int(n)) if n > max && min > 0 => Err(bad(
            node,
            format!("{name} must be at most {max}, got '{}'", shown(v)),
        )),
        _ => Err(bad(node, format!("{name} {message}, got '{}'", shown(v)))),
    }
}

/// phpredis `weight`: a positive C `int`.
pub(crate) fn weight(arr: &QArray) -> Checked<Option<u32>> {
    let w = integer(
        arr,
        "weight",
        1,
        i64::from(i32::MAX),
        "must be a positive integer",
    )?;
    // In 1..=i32::MAX, so it fits.
    Ok(w.map(|w| w as u32))
}

/// phpredis `database`: `SELECT` number, a C `int`; negative values mean "unset" to phpredis and
/// are refused here.
pub(crate) fn database(arr: &QArray) -> Checked<Option<u32>> {
    let db = integer(
        arr,
        "database",
        0,
        i64::from(i32::MAX),
        "must be an integer from 0 to 2147483647",
    )?;
    Ok(db.map(|d| d as u32))
}

/// A parsed `timeout` as a connect timeout, or [`super::DEFAULT_CONNECT_TIMEOUT`].
pub(crate) fn connect_timeout(timeout: Option<f64>) -> std::time::Duration {
    // Parsing keeps timeouts within 1 µs..=i32::MAX s, which Duration holds.
    timeout.map_or(
        super::DEFAULT_CONNECT_TIMEOUT,
        std::time::Duration::from_secs_f64,
    )
}

/// A parsed `read_timeout`: 0 or absent means [`super::DEFAULT_READ_TIMEOUT`].
pub(crate) fn read_timeout(read_timeout: Option<f64>) -> std::time::Duration {
    match read_timeout {
        Some(t) if t > 0.0 => std::time::Duration::from_secs_f64(t),
        _ => super::DEFAULT_READ_TIMEOUT,
    }
}

/// phpsess's Sentinel `wait_replicas`: replicas that must confirm a session write (0..=100).
pub(crate) fn wait_replicas(arr: &QArray) -> Checked<Option<u32>> {
    let n = integer(
        arr,
        "wait_replicas",
        0,
        100,
        "must be an integer from 0 to 100",
    )?;
    Ok(n.map(|n| n as u32))
}

/// phpredis `retry_interval`, in milliseconds.
pub(crate) fn retry_interval(arr: &QArray) -> Checked<Option<u64>> {
    let ms = integer(
        arr,
        "retry_interval",
        0,
        i64::from(i32::MAX),
        "must be a whole number of milliseconds from 0 to 2147483647",
    )?;
    Ok(ms.map(|m| m as u64))
}

/// A timeout in seconds (PHP float syntax). `allow_zero`: 0 means "unset" (read timeouts,
/// cluster timeouts); otherwise it must be positive (the `redis` handler's connect timeout,
/// where phpredis fails on `<= 0` too).
pub(crate) fn seconds(arr: &QArray, name: &str, allow_zero: bool) -> Checked<Option<f64>> {
    let Some(node) = arr.get(name.as_bytes()) else {
        return Ok(None);
    };
    let v = scalar(node, name)?;
    let Some(n) = parse_number(v) else {
        return Err(bad(
            node,
            format!("{name} must be a number of seconds, got '{}'", shown(v)),
        ));
    };
    let secs = n.as_f64();
    if allow_zero && secs < 0.0 {
        return Err(bad(
            node,
            format!("{name} must not be negative, got '{}'", shown(v)),
        ));
    }
    if !allow_zero && secs <= 0.0 {
        return Err(bad(
            node,
            format!(
                "{name} must be a positive number of seconds, got '{}'",
                shown(v)
            ),
        ));
    }
    if secs > MAX_SECONDS {
        return Err(bad(
            node,
            format!(
                "{name} must be at most 2147483647 seconds, got '{}'",
                shown(v)
            ),
        ));
    }
    // phpredis keeps microseconds; anything smaller would silently mean "no timeout" there.
    if secs > 0.0 && secs < 0.000_001 {
        return Err(bad(
            node,
            format!(
                "{name} must be at least 0.000001 seconds (one microsecond), got '{}'",
                shown(v)
            ),
        ));
    }
    // `-0` is zero.
    Ok(Some(secs.abs()))
}

/// phpredis's `redis_conf_bool`: `1`, `true`, `yes` (any case) are true. We accept `0`, `false`,
/// `no` and the empty string as false and refuse anything else, which phpredis would silently
/// read as false (`on`, `2`, ` 1`).
pub(crate) fn boolean(arr: &QArray, name: &str) -> Checked<Option<bool>> {
    let Some(node) = arr.get(name.as_bytes()) else {
        return Ok(None);
    };
    let v = scalar(node, name)?;
    let is = |w: &str| v.eq_ignore_ascii_case(w.as_bytes());
    if is("1") || is("true") || is("yes") {
        Ok(Some(true))
    } else if v.is_empty() || is("0") || is("false") || is("no") {
        Ok(Some(false))
    } else {
        Err(bad(
            node,
            format!(
                "{name} must be 1, true, yes, 0, false or no, got '{}' (phpredis reads anything but 1, true and yes as false)",
                shown(v)
            ),
        ))
    }
}

/// A byte-string parameter (`prefix`, `persistent_id`), URL-decoded, any bytes.
pub(crate) fn bytes(arr: &QArray, name: &str) -> Checked<Option<Vec<u8>>> {
    match arr.get(name.as_bytes()) {
        None => Ok(None),
        Some(node) => Ok(Some(scalar(node, name)?.to_vec())),
    }
}

/// phpredis `failover` (cluster handler).
pub(crate) fn failover(arr: &QArray) -> Checked<Failover> {
    let Some(node) = arr.get(b"failover") else {
        return Ok(Failover::None);
    };
    let v = scalar(node, "failover")?;
    if v.eq_ignore_ascii_case(b"none") {
        Ok(Failover::None)
    } else if v.eq_ignore_ascii_case(b"error") {
        Ok(Failover::Error)
    } else if v.eq_ignore_ascii_case(b"distribute") {
        Ok(Failover::Distribute)
    } else {
        Err(bad(
            node,
            format!(
                "failover must be none, error or distribute, got '{}' (phpredis's session handler reads anything else as none)",
                shown(v)
            ),
        ))
    }
}

/// `stream[option]=value`: SSL context options, as phpredis hands them to PHP's `ssl` context.
pub(crate) fn stream(arr: &QArray) -> Checked<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(node) = arr.get(b"stream") else {
        return Ok(out);
    };
    let QValue::Array(options) = &node.value else {
        return Err(bad(
            node,
            "stream must be given as stream[option]=value, e.g. stream[verify_peer]=0".into(),
        ));
    };
    for (k, v) in &options.entries {
        let name = match k {
            // phpredis skips options without a name.
            Key::Int(i) => {
                return Err(bad(
                    v,
                    format!(
                        "stream options need a name, as in stream[verify_peer]=0; got stream[{i}]"
                    ),
                ))
            }
            Key::Str(s) => s,
        };
        let QValue::Str(value) = &v.value else {
            return Err(bad(
                v,
                format!(
                    "stream[{}] must be a single value, not an array",
                    key_text(k)
                ),
            ));
        };
        match (std::str::from_utf8(name), std::str::from_utf8(value)) {
            (Ok(n), Ok(val)) => {
                out.insert(n.to_string(), val.to_string());
            }
            _ => {
                return Err(bad(
                    v,
                    format!("stream[{}] is not valid UTF-8", key_text(k)),
                ))
            }
        }
    }
    Ok(out)
}

/// phpredis's `redis_extract_auth_info`, refusing every case where phpredis would silently send
/// no AUTH, a wrong one, or `AUTH ""`. Error texts never contain the credentials.
pub(crate) fn auth(arr: &QArray) -> Checked<Option<Auth>> {
    let Some(node) = arr.get(b"auth") else {
        return Ok(None);
    };
    let elements = match &node.value {
        QValue::Str(password) => {
            if password.is_empty() {
                return Err(bad(
                    node,
                    "auth is empty (phpredis would send AUTH \"\", which a server without a password refuses); remove it or give the password".into(),
                ));
            }
            return Ok(Some(Auth {
                user: None,
                password: password.clone(),
            }));
        }
        QValue::Array(a) => a,
    };
    let element = |key: &str, index: i64| -> Checked<Option<(Key, &[u8])>> {
        let found = elements
            .entries
            .iter()
            .find(|(k, _)| *k == Key::Str(key.into()))
            .or_else(|| elements.entries.iter().find(|(k, _)| *k == Key::Int(index)));
        match found {
            None => Ok(None),
            Some((k, v)) => match &v.value {
                QValue::Str(s) => Ok(Some((k.clone(), s.as_slice()))),
                QValue::Array(_) => Err(bad(
                    v,
                    format!("auth[{}] must be a single value, not an array", key_text(k)),
                )),
            },
        }
    };
    let (user, password) = match elements.len() {
        1 => match element("pass", 0)? {
            Some((_, p)) => (None, p),
            None => {
                let written = elements
                    .entries
                    .first()
                    .map(|(k, _)| key_text(k))
                    .unwrap_or_default();
                return Err(bad(
                    node,
                    format!("auth with one element must be auth[]=PASSWORD or auth[pass]=PASSWORD, got auth[{written}]"),
                ));
            }
        },
        2 => {
            let user = element("user", 0)?;
            let pass = element("pass", 1)?;
            match (user, pass) {
                (_, None) => {
                    return Err(bad(
                        node,
                        "auth with two elements needs the password in auth[pass] or the second auth[]".into(),
                    ))
                }
                (None, Some(_)) => {
                    return Err(bad(
                        node,
                        "auth with two elements needs the user in auth[user] or the first auth[]"
                            .into(),
                    ))
                }
                (Some((_, u)), Some((_, p))) => {
                    if u.is_empty() {
                        return Err(bad(node, "auth user is empty".into()));
                    }
                    (Some(u.to_vec()), p)
                }
            }
        }
        n => {
            return Err(bad(
                node,
                format!("auth as an array must have one element (the password) or two (user and password), got {n}"),
            ))
        }
    };
    if password.is_empty() {
        return Err(bad(
            node,
            "auth password is empty (phpredis would send it, and a server refuses an empty password)"
                .into(),
        ));
    }
    Ok(Some(Auth {
        user,
        password: password.to_vec(),
    }))
}

/// Top-level names phpredis does not read, in the order written (typos such as `db=` show here).
pub(crate) fn ignored(arr: &QArray, known: &[&str]) -> Vec<String> {
    arr.entries
        .iter()
        .filter(|(k, _)| match k {
            Key::Str(s) => !known.iter().any(|n| n.as_bytes() == s.as_bytes()),
            Key::Int(_) => true,
        })
        .map(|(k, _)| key_text(k))
        .collect()
}
