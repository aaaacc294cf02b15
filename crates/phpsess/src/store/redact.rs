//! Secrets in messages: session ids shortened to a recognisable head, passwords shown by length.
//! Warnings and `Debug` output end up in logs, where a whole id or password is a usable credential.

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
