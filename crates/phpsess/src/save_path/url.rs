//! PHP's URL splitter (`php_url_parse_ex2` in `ext/standard/url.c`, what `parse_url()` and
//! phpredis use), reproduced so each save_path entry is cut into the same pieces phpredis sees.
//!
//! It is not an RFC 3986 parser and does not decode anything. The rules that matter here, each
//! checked against real PHP by `tests/save_path_php.rs`:
//! - `<scheme>:` needs a scheme of ASCII letters, digits, `+`, `-`, `.`; otherwise the colon may
//!   start a port or the string is a path.
//! - `host:6379` (at most 5 digits after the colon, then the end or `/`) is a host and port with
//!   no scheme; `host:6379?x` is the scheme `host` with the path `6379`.
//! - After `scheme://` the authority runs to the first `/`, `?` or `#`: user info up to the last
//!   `@` (user and password split at the first `:`), then the host, then `:port` (1 to 5 digits,
//!   at most 65535, read with `strtol`), except for a `[...]` IPv6 host, which keeps its brackets.
//!   An empty host, a port over 65535 or longer than 5 characters fails the whole parse.
//! - `file:///path` keeps the path (`file:///c:/x` drops the first `/`).
//! - The fragment is everything after the first `#`, the query everything between the first `?`
//!   before it and the `#`; each may be empty but present.
//! - Every ASCII control byte in every piece becomes `_`.

/// The pieces of a URL as PHP's `parse_url()` returns them (`None` = the key is absent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhpUrl {
    /// `scheme`
    pub scheme: Option<Vec<u8>>,
    /// `host` (an IPv6 host keeps its brackets)
    pub host: Option<Vec<u8>>,
    /// `port`
    pub port: Option<u16>,
    /// `user`
    pub user: Option<Vec<u8>>,
    /// `pass`
    pub pass: Option<Vec<u8>>,
    /// `path`
    pub path: Option<Vec<u8>>,
    /// `query`, without the `?`
    pub query: Option<Vec<u8>>,
    /// `fragment`, without the `#`
    pub fragment: Option<Vec<u8>>,
}

fn find(s: &[u8], from: usize, to: usize, b: u8) -> Option<usize> {
    s[from..to].iter().position(|&c| c == b).map(|i| from + i)
}

fn rfind(s: &[u8], from: usize, to: usize, b: u8) -> Option<usize> {
    s[from..to].iter().rposition(|&c| c == b).map(|i| from + i)
}

/// First of any of `set` in `s[from..]`, or the end.
fn cspn(s: &[u8], from: usize, set: &[u8]) -> usize {
    s[from..]
        .iter()
        .position(|c| set.contains(c))
        .map_or(s.len(), |i| from + i)
}

/// A piece of the input with control bytes turned into `_`, as PHP stores it.
fn piece(s: &[u8]) -> Vec<u8> {
    s.iter()
        .map(|&b| if b < 0x20 || b == 0x7f { b'_' } else { b })
        .collect()
}

/// C `strtol(s, &end, 10)` for the at most 5 bytes PHP hands it: `None` when no digit was read.
fn strtol(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut n: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        n = n * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    Some(if neg { -n } else { n })
}

fn starts_with_slashes(s: &[u8], at: usize) -> bool {
    at + 1 < s.len() && s[at] == b'/' && s[at + 1] == b'/'
}

enum Next {
    /// Read a port after the colon at this index, then the authority.
    Port(usize),
    /// Read the authority from `s`.
    Host,
    /// Everything from `s` is path, query and fragment.
    Path,
}

/// Split `input` as PHP's `parse_url()` does; `None` where it returns `false`.
///
/// ```
/// use phpsess::save_path::php::parse_url;
/// let url = parse_url(b"tcp://[::1]:6379?weight=2#x").expect("parses");
/// assert_eq!(url.host.as_deref(), Some(&b"[::1]"[..]));
/// assert_eq!(url.port, Some(6379));
/// assert_eq!(url.query.as_deref(), Some(&b"weight=2"[..]));
/// assert_eq!(url.fragment.as_deref(), Some(&b"x"[..]));
/// // Without a scheme, a query turns "host:port" into scheme and path.
/// let odd = parse_url(b"localhost:6379?weight=2").expect("parses");
/// assert_eq!(odd.scheme.as_deref(), Some(&b"localhost"[..]));
/// assert_eq!(odd.path.as_deref(), Some(&b"6379"[..]));
/// ```
pub fn parse_url(input: &[u8]) -> Option<PhpUrl> {
    let ue = input.len();
    let mut url = PhpUrl::default();
    // PHP keeps the port number and "a port was given" apart: a port of 0 counts as none when the
    // authority is read, but is still reported.
    let mut port: u16 = 0;
    let mut has_port = false;
    let mut s = 0;

    let next = match find(input, 0, ue, b':') {
        Some(e) if e != 0 => {
            let scheme_ok = input[..e]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'));
            if !scheme_ok {
                if e + 1 < ue && e < cspn(input, 0, b"?#") {
                    Next::Port(e)
                } else if starts_with_slashes(input, 0) {
                    s = 2;
                    Next::Host
                } else {
                    Next::Path
                }
            } else if e + 1 == ue {
                url.scheme = Some(piece(&input[..e]));
                return Some(url);
            } else if input[e + 1] != b'/' {
                // "a.com:80" is a host and port, "mailto:x" a scheme and path.
                let mut p = e + 1;
                while p < ue && input[p].is_ascii_digit() {
                    p += 1;
                }
                if (p == ue || input[p] == b'/') && p - e < 7 {
                    Next::Port(e)
                } else {
                    url.scheme = Some(piece(&input[..e]));
                    s = e + 1;
                    Next::Path
                }
            } else {
                url.scheme = Some(piece(&input[..e]));
                if e + 2 < ue && input[e + 2] == b'/' {
                    s = e + 3;
                    if input[..e].eq_ignore_ascii_case(b"file")
                        && e + 3 < ue
                        && input[e + 3] == b'/'
                    {
                        // file:///c:/dir keeps "c:/dir" (Windows drive letters).
                        if e + 5 < ue && input[e + 5] == b':' {
                            s = e + 4;
                        }
                        Next::Path
                    } else {
                        Next::Host
                    }
                } else {
                    s = e + 1;
                    Next::Path
                }
            }
        }
        Some(e) => Next::Port(e),
        None if starts_with_slashes(input, 0) => {
            s = 2;
            Next::Host
        }
        None => Next::Path,
    };

    let next = match next {
        Next::Port(e) => {
            let p = e + 1;
            let mut pp = p;
            while pp < ue && pp - p < 6 && input[pp].is_ascii_digit() {
                pp += 1;
            }
            if pp - p > 0 && pp - p < 6 && (pp == ue || input[pp] == b'/') {
                match strtol(&input[p..pp]) {
                    Some(n @ 0..=65535) => {
                        has_port = true;
                        port = n as u16;
                        if starts_with_slashes(input, s) {
                            s += 2;
                        }
                    }
                    _ => return None,
                }
                Next::Host
            } else if p == pp && pp == ue {
                return None;
            } else if starts_with_slashes(input, s) {
                s += 2;
                Next::Host
            } else {
                Next::Path
            }
        }
        other => other,
    };

    if let Next::Host = next {
        let e = cspn(input, s, b"/?#");
        if let Some(at) = rfind(input, s, e, b'@') {
            match find(input, s, at, b':') {
                Some(colon) => {
                    url.user = Some(piece(&input[s..colon]));
                    url.pass = Some(piece(&input[colon + 1..at]));
                }
                None => url.user = Some(piece(&input[s..at])),
            }
            s = at + 1;
        }
        let ipv6 = s < ue && input[s] == b'[' && e > 0 && input[e - 1] == b']';
        let mut host_end = e;
        if !ipv6 {
            if let Some(colon) = rfind(input, s, e, b':') {
                if port == 0 {
                    let digits = &input[colon + 1..e];
                    if digits.len() > 5 {
                        return None;
                    }
                    if !digits.is_empty() {
                        match strtol(digits) {
                            Some(n @ 0..=65535) => {
                                has_port = true;
                                port = n as u16;
                            }
                            _ => return None,
                        }
                    }
                }
                host_end = colon;
            }
        }
        if host_end <= s {
            return None;
        }
        url.host = Some(piece(&input[s..host_end]));
        if e == ue {
            url.port = has_port.then_some(port);
            return Some(url);
        }
        s = e;
    }

    // The path, query and fragment.
    let mut e = ue;
    if let Some(hash) = find(input, s, e, b'#') {
        url.fragment = Some(piece(&input[hash + 1..e]));
        e = hash;
    }
    if let Some(q) = find(input, s, e, b'?') {
        url.query = Some(piece(&input[q + 1..e]));
        e = q;
    }
    if s < e || s == ue {
        url.path = Some(piece(&input[s..e]));
    }
    url.port = has_port.then_some(port);
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(u: &PhpUrl) -> String {
        let f = |name: &str, v: &Option<Vec<u8>>| {
            v.as_ref()
                .map(|v| format!("{name}={} ", String::from_utf8_lossy(v)))
                .unwrap_or_default()
        };
        format!(
            "{}{}{}{}{}{}{}{}",
            f("scheme", &u.scheme),
            f("host", &u.host),
            u.port.map(|p| format!("port={p} ")).unwrap_or_default(),
            f("user", &u.user),
            f("pass", &u.pass),
            f("path", &u.path),
            f("query", &u.query),
            f("fragment", &u.fragment),
        )
        .trim_end()
        .to_string()
    }

    #[test]
    fn splits_like_php() {
        // Expected values printed by PHP 8.2's parse_url().
        let cases: &[(&str, Option<&str>)] = &[
            (
                "host:6379?weight=2",
                Some("scheme=host path=6379 query=weight=2"),
            ),
            (
                "file:///tmp/x.sock?x=1",
                Some("scheme=file path=/tmp/x.sock query=x=1"),
            ),
            ("file:relative.sock", Some("scheme=file path=relative.sock")),
            ("tcp://[::1]:6379", Some("scheme=tcp host=[::1] port=6379")),
            ("tcp://host:99999", None),
            ("localhost:6379", Some("host=localhost port=6379")),
            ("localhost", Some("path=localhost")),
            (
                "tcp://u:p@h:1/x?q#f",
                Some("scheme=tcp host=h port=1 user=u pass=p path=/x query=q fragment=f"),
            ),
            ("tcp://:6379", None),
            ("?weight=1", Some("query=weight=1")),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_url(input.as_bytes()).as_ref().map(parts).as_deref(),
                *want,
                "{input}"
            );
        }
    }
}
