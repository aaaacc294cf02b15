//! Secrets and hostile bytes in messages: session ids shortened to a recognisable head, passwords
//! shown by length, bytes read from Redis (lock holders, key names) with control characters escaped.
//! Warnings and `Debug` output end up in logs, where a whole id or password is a usable credential,
//! and a newline or an escape sequence written by anyone who can write to Redis would forge a log
//! line or rewrite an operator's terminal.

/// A password in `Debug` output: `Some(<redacted: N bytes>)`, as [`crate::save_path::Auth`] shows
/// it. `Debug` output ends up in logs and panic messages.
pub(crate) struct RedactedPassword<'a>(pub &'a Option<String>);

impl std::fmt::Debug for RedactedPassword<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(p) => write!(f, "Some(<redacted: {} bytes>)", p.len()),
            None => f.write_str("None"),
        }
    }
}

/// A key for an error message, with the session id in it shortened (see [`short_id`]): warnings end
/// up in logs, and a whole id there is a usable credential.
pub(crate) fn redact_key(key: &[u8], id: &str) -> String {
    let text = String::from_utf8_lossy(key);
    if id.len() > 8 {
        text.replace(id, &short_id(id))
    } else {
        text.into_owned()
    }
}

/// Session ids are secrets; messages show enough to find one, not enough to use it.
pub(crate) fn short_id(id: &str) -> String {
    if id.len() > 8 {
        format!("{}…", id.get(..6).unwrap_or(id))
    } else {
        id.to_owned()
    }
}

/// Bytes read from Redis (a lock holder, a key name) as text for a message or a listing: invalid
/// UTF-8 replaced, and every control character (C0, DEL, C1: newlines, ESC, BEL) shown as `\xNN`,
/// so a value written by another program can neither split a log line nor drive a terminal.
pub(crate) fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if !text.chars().any(char::is_control) {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped() {
        for (raw, shown) in [
            (&b"web01|42|abc~30000"[..], "web01|42|abc~30000"),
            (b"a\nFAKE LOG LINE", "a\\x0aFAKE LOG LINE"),
            (b"\x1b[2J\x1b[31mred\x07", "\\x1b[2J\\x1b[31mred\\x07"),
            (b"\x7f\r\t", "\\x7f\\x0d\\x09"),
            ("\u{85}caf\u{e9}".as_bytes(), "\\x85caf\u{e9}"),
            (b"\xff\xfe", "\u{fffd}\u{fffd}"),
        ] {
            assert_eq!(printable(raw), shown, "{raw:?}");
        }
    }
}
