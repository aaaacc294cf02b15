//! Reading the command's input (a file or stdin) and parsing JSON documents within our limits.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// How deep a JSON document may nest. A lossless document takes up to three JSON levels per PHP
/// level (`{"$object": …, "$props": [[key, value]]}`) plus two for a session envelope, so this
/// admits everything `unserialize()` accepts ([`phpsess::MAX_DEPTH`] levels) and nothing that
/// could exhaust the worker thread's stack.
pub const MAX_JSON_DEPTH: usize = 3 * phpsess::MAX_DEPTH + 2;

/// The bytes of `path`, or of stdin for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("cannot read stdin")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(bytes)
}

/// Parse a JSON document, refusing nesting deeper than [`MAX_JSON_DEPTH`] before serde_json
/// recurses into it.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value> {
    if let Some(offset) = too_deep(bytes, MAX_JSON_DEPTH) {
        bail!("invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels at byte {offset}");
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Depth is bounded by the scan above.
    de.disable_recursion_limit();
    let value = <serde_json::Value as serde::Deserialize>::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    value.map_err(|e| anyhow::anyhow!("invalid JSON: {e}"))
}

/// The offset of the first `[` or `{` that opens level `limit + 1`, ignoring brackets in strings.
/// Malformed JSON is left for the parser to report.
fn too_deep(bytes: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_scan_ignores_strings_and_finds_the_offending_bracket() {
        assert_eq!(too_deep(b"[[1]]", 2), None);
        assert_eq!(too_deep(b"[[[1]]]", 2), Some(2));
        assert_eq!(too_deep(br#"["[[[", {"a\"[[": 1}]"#, 2), None);
        assert_eq!(too_deep(br#"[{"x":[]}]"#, 2), Some(6));
    }

    #[test]
    fn parse_json_reports_depth_and_syntax() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(
            parse_json(deep.as_bytes()).unwrap_err().to_string(),
            format!(
                "invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels at byte {MAX_JSON_DEPTH}"
            )
        );
        assert_eq!(
            parse_json(b"{\"a\": }").unwrap_err().to_string(),
            "invalid JSON: expected value at line 1 column 7"
        );
        assert_eq!(
            parse_json(b"[1] 2").unwrap_err().to_string(),
            "invalid JSON: trailing characters at line 1 column 5"
        );
    }
}
