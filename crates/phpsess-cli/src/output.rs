//! Writing results to stdout: JSON documents (floats spelled as PHP spells them) and raw bytes.
//! Errors, including a reader that went away (EPIPE), are returned, never panicked on.

use std::io::{self, Write};

use anyhow::{Context, Result};

/// Documents nested deeper than this are printed on one line even when indenting was asked for:
/// indentation grows with depth on every line, so a 4096-level value (80 KB of PHP bytes) would
/// print as 400 MB of mostly spaces.
pub const MAX_INDENTED_DEPTH: usize = 64;

/// Write `json` and a newline to stdout; `pretty` indents by two spaces (up to
/// [`MAX_INDENTED_DEPTH`]).
pub fn json(json: &serde_json::Value, pretty: bool) -> Result<()> {
    let pretty = pretty && !deeper_than(json, MAX_INDENTED_DEPTH);
    let mut text = Vec::with_capacity(4096);
    phpsess::json::write_json(&mut text, json, pretty).context("cannot format JSON")?;
    text.push(b'\n');
    bytes(&text)
}

/// Write `bytes` to stdout as they are.
pub fn bytes(bytes: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// Does `json` nest arrays or objects more than `limit` levels deep? Stops at the first path
/// that does, so the walk never goes deeper than `limit + 1`.
fn deeper_than(json: &serde_json::Value, limit: usize) -> bool {
    let children: Box<dyn Iterator<Item = &serde_json::Value>> = match json {
        serde_json::Value::Array(items) => Box::new(items.iter()),
        serde_json::Value::Object(map) => Box::new(map.values()),
        _ => return false,
    };
    if limit == 0 {
        return true;
    }
    children
        .into_iter()
        .any(|child| deeper_than(child, limit - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_check_counts_containers() {
        let json: serde_json::Value = serde_json::from_str(r#"[1, {"a": [[]]}]"#).unwrap();
        assert!(deeper_than(&json, 3));
        assert!(!deeper_than(&json, 4));
        assert!(!deeper_than(&serde_json::json!(5), 0));
        assert!(deeper_than(&serde_json::json!([]), 0));
    }
}
