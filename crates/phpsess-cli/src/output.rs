//! Writing results to stdout: JSON documents (floats spelled as PHP spells them) and raw bytes.
//! Errors, including a reader that went away (EPIPE), are returned, never panicked on.

use std::io::{self, Write};

use anyhow::{Context, Result};

/// Write `json` and a newline to stdout; `pretty` indents by two spaces.
pub fn json(json: &serde_json::Value, pretty: bool) -> Result<()> {
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
