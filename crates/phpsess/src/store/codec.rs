//! phpredis's session compression framing (`redis.session.compression`, phpredis 6.1+): LZF, zstd and
//! LZ4 exactly as phpredis stores them, so either side reads what the other wrote.
//!
//! The stored formats (phpredis `redis_compress` / `redis_uncompress`, the same bytes as the `Redis`
//! class's `OPT_COMPRESSION`):
//!
//! | algorithm | stored bytes |
//! |---|---|
//! | LZF  | a raw liblzf stream, no header; empty input is stored raw |
//! | zstd | one standard zstd frame with the content size recorded |
//! | LZ4  | CRC-8 of the length bytes, original length as little-endian `i32`, one raw LZ4 *block* |
//!
//! Both directions fail soft, as phpredis does: if compression fails the raw bytes are stored, and
//! stored bytes that do not decode are returned unchanged, so sessions written before compression was
//! switched on stay readable.
//!
//! Implementation choices:
//! - **LZF** is written here, from the format description (a control byte `000LLLLL` starts a run of
//!   `L+1` literals; `LLLooooo` with `L` in 1..=7 is a back-reference of `L+2` bytes, `L == 7` taking
//!   one more length byte, at distance `(ooooo << 8 | next byte) + 1`). The `lzf` crate is deprecated;
//!   `lzf-rust` 0.1.0 was evaluated and not taken: its raw decoder reports a literal run that overruns
//!   the output buffer as `InvalidData` instead of "output too small", so phpredis's decode loop
//!   (retry with a buffer twice as large while the output is too small) cannot be mirrored through
//!   its API: a 17-byte stream phpredis decodes fails that way (test
//!   `lzf_decodes_what_phpredis_grow_loop_decodes`); it is also a first release. Our decoder grows
//!   its output as it goes, which gives the same answer as that loop: a stream decodes if and only
//!   if every token is well formed. Our compressor (greedy, one hash bucket per 3-byte prefix) is
//!   within 1% of liblzf's size on session-like data; its bytes differ from liblzf's, which does
//!   not matter to any decoder.
//! - **zstd** uses the `zstd` crate (libzstd built from source), so frames are bit-for-bit what
//!   libzstd writes for the level.
//! - **LZ4** uses `lz4_flex`'s block format. phpredis compresses with LZ4 HC at
//!   `redis.session.compression_level` (default 3); `lz4_flex` has one (fast) compressor, so our blocks
//!   are larger (measured: 43 KB against phpredis's 38 KB for 90 KB of session text) but decode with
//!   any LZ4 block decoder, including phpredis's `LZ4_decompress_safe` (checked with phpredis 5.3.7).
//!   The level is kept for display and parity only.
//!
//! The length in the LZ4 header is a native C `int` in phpredis; we write and read little-endian,
//! which is what phpredis does on x86-64 and arm64.
//!
//! **Size limit.** Every read takes a limit ([`DEFAULT_MAX_SESSION_BYTES`] unless configured) that
//! bounds both the stored bytes and what they decompress to, so a few KB of hostile stored data
//! cannot make a PHP worker allocate gigabytes outside PHP's `memory_limit` (a 47 KB zstd frame
//! decodes to 1.4 GB). phpredis has no such limit; here a value over it fails the read with
//! [`TooLarge`] rather than passing through, because its bytes may be a valid stream. No decoder
//! allocates more than the limit before it has produced the bytes: headers are only claims.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

/// How session bytes are compressed in Redis: phpredis's `redis.session.compression`.
///
/// `level` is `redis.session.compression_level` (phpredis default 3), kept as given; [`compress`]
/// applies phpredis's rules to it (zstd: `< 1` ⇒ 3, above the maximum ⇒ the maximum).
///
/// [`compress`]: Compression::compress
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Compression {
    /// Stored verbatim (`none`, the default).
    #[default]
    None,
    /// A raw liblzf stream (`lzf`); the level is ignored, as in phpredis.
    Lzf,
    /// One zstd frame with the content size recorded (`zstd`).
    Zstd {
        /// `redis.session.compression_level`.
        level: i32,
    },
    /// phpredis's 5-byte header and one LZ4 block (`lz4`).
    Lz4 {
        /// `redis.session.compression_level` (phpredis: LZ4 HC level; here only recorded).
        level: i32,
    },
}

/// zstd level used when the configured one is below 1 (`ZSTD_CLEVEL_DEFAULT`).
const ZSTD_DEFAULT_LEVEL: i32 = 3;

/// phpredis's LZ4 header: CRC-8 byte plus the 4 length bytes.
const LZ4_HEADER_LEN: usize = 5;

/// The most output one byte of an LZ4 block can stand for: a length-extension byte adds at most 255.
/// A header claiming more than `255 × block length` cannot be honest, so we pass such bytes through
/// instead of allocating what the header claims.
const LZ4_MAX_RATIO: usize = 255;

/// phpredis sizes the LZF output buffer as `len + max(LZF_MARGIN, len / 25)` (PECL lzf's margin);
/// a stream that does not fit is a compression failure and the raw bytes are stored.
const LZF_MARGIN: usize = 128;

/// Upper bound on what the zstd decoder reserves before it has produced anything: the frame header's
/// content size is only a claim until the frame decodes.
const ZSTD_PREALLOC_LIMIT: u64 = 1 << 20;

/// The default limit on a session's size, stored and decompressed (`phpsess.max_session_bytes`):
/// 16 MiB.
///
/// Why this number: a session is held several times over during a request (the bytes from Redis,
/// the decompressed bytes, PHP's string, then the unserialized values, which take a few times the
/// bytes), so 16 MiB already needs most of PHP's default `memory_limit` of 128M; real sessions are
/// a few KB (the largest we measured in the compat suite, a Laravel cart, is 90 KB), so no working
/// application is near it. Redis itself allows 512 MB values, phpredis any size.
pub const DEFAULT_MAX_SESSION_BYTES: usize = 16 * 1024 * 1024;

/// A stored value over the session size limit; the read fails and nothing is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TooLarge {
    /// The bytes in Redis alone are over the limit.
    #[error("{stored} bytes stored, over the limit of {limit} bytes (phpsess.max_session_bytes)")]
    Stored {
        /// Length of the stored value.
        stored: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The stored bytes decompress (or say they decompress) to more than the limit.
    #[error(
        "{algo} data of {stored} bytes decompresses to more than the limit of {limit} bytes \
         (phpsess.max_session_bytes)"
    )]
    Decompressed {
        /// The algorithm's INI name.
        algo: &'static str,
        /// Length of the stored value.
        stored: usize,
        /// The limit in force.
        limit: usize,
    },
}

/// A decoder's answer when its output would pass the limit (the caller knows which limit).
#[derive(Debug, PartialEq, Eq)]
struct OverLimit;

/// What a decoder makes of stored bytes: `Ok(None)` when they are not a stream of its format
/// (passed through, as phpredis does).
type Decoded = Result<Option<Vec<u8>>, OverLimit>;

impl Compression {
    /// phpredis's default `redis.session.compression_level`.
    pub const DEFAULT_LEVEL: i32 = 3;

    /// Compresses session bytes the way phpredis stores them. Returns the input unchanged (borrowed)
    /// for [`Compression::None`], and wherever phpredis stores raw bytes: empty input for LZF and
    /// LZ4, input too long for the format (LZ4: over `i32::MAX`; LZF: over `u32::MAX`), or a failing
    /// compressor.
    pub fn compress<'a>(&self, data: &'a [u8]) -> Cow<'a, [u8]> {
        let compressed = match *self {
            Compression::None => None,
            Compression::Lzf => lzf_compress_framed(data),
            Compression::Zstd { level } => zstd_compress(data, level),
            Compression::Lz4 { .. } => lz4_compress(data),
        };
        match compressed {
            Some(bytes) => Cow::Owned(bytes),
            None => Cow::Borrowed(data),
        }
    }

    /// Decompresses bytes read from Redis, refusing values whose stored bytes or decompressed
    /// bytes are over `limit` ([`DEFAULT_MAX_SESSION_BYTES`] unless configured). Bytes that are not
    /// a valid stream of this algorithm are returned unchanged (borrowed), as phpredis does, so
    /// uncompressed sessions stay readable. Memory stays within about `limit` whatever the
    /// headers claim.
    ///
    /// Differences from phpredis, on corrupt input only: an LZ4 block that decodes to fewer bytes
    /// than its header says is passed through (phpredis returns the header's length with an
    /// uninitialised tail), and a negative LZ4 length is passed through (phpredis fails to allocate).
    pub fn decompress<'a>(
        &self,
        stored: &'a [u8],
        limit: usize,
    ) -> Result<Cow<'a, [u8]>, TooLarge> {
        if stored.len() > limit {
            return Err(TooLarge::Stored {
                stored: stored.len(),
                limit,
            });
        }
        let decoded = match *self {
            Compression::None => Ok(None),
            Compression::Lzf => lzf_decompress_framed(stored, limit),
            Compression::Zstd { .. } => zstd_decompress(stored, limit),
            Compression::Lz4 { .. } => lz4_decompress(stored, limit),
        };
        match decoded {
            Ok(Some(bytes)) => Ok(Cow::Owned(bytes)),
            Ok(None) => Ok(Cow::Borrowed(stored)),
            Err(OverLimit) => Err(TooLarge::Decompressed {
                algo: self.name(),
                stored: stored.len(),
                limit,
            }),
        }
    }

    /// Reads `redis.session.compression` and `redis.session.compression_level` as phpredis does.
    ///
    /// The name is matched case-insensitively by **prefix**, in the order `lzf`, `zstd`, `lz4`, then
    /// empty or `none` (so `"LZ4HC"` means LZ4 and `"nonesuch"` means none). PHP hands the INI value
    /// over as a C string, so anything after a NUL byte is ignored. `None` means phpredis refuses the
    /// value: it emits the notice `redis.session.compression is outside of valid values, disabling`
    /// and stores uncompressed, which the caller should do too.
    ///
    /// phpredis keeps the level in a C `int`; a level outside `i32` is truncated the same way.
    pub fn from_ini(name: &str, level: i64) -> Option<Compression> {
        // PHP's `INI_INT` is a `zend_long`, stored into phpredis's `int compression_level`: the
        // truncating cast is the behaviour being mirrored.
        let level = level as i32;
        let name = match name.find('\0') {
            Some(end) => &name[..end],
            None => name,
        };
        let has_prefix = |prefix: &str| {
            name.len() >= prefix.len()
                && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        };
        if has_prefix("lzf") {
            Some(Compression::Lzf)
        } else if has_prefix("zstd") {
            Some(Compression::Zstd { level })
        } else if has_prefix("lz4") {
            Some(Compression::Lz4 { level })
        } else if name.is_empty() || has_prefix("none") {
            Some(Compression::None)
        } else {
            None
        }
    }

    /// The INI name: `none`, `lzf`, `zstd` or `lz4`.
    pub fn name(&self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lzf => "lzf",
            Compression::Zstd { .. } => "zstd",
            Compression::Lz4 { .. } => "lz4",
        }
    }

    /// The configured level, for the algorithms that take one.
    pub fn level(&self) -> Option<i32> {
        match *self {
            Compression::Zstd { level } | Compression::Lz4 { level } => Some(level),
            Compression::None | Compression::Lzf => None,
        }
    }
}

impl fmt::Display for Compression {
    /// Writes the INI name, which [`Compression::from_ini`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------------------------
// LZF

/// phpredis's LZF write path: empty input and inputs liblzf cannot take (`unsigned int` lengths)
/// are stored raw, as is a stream larger than phpredis's output buffer.
fn lzf_compress_framed(data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() || u32::try_from(data.len()).is_err() {
        return None;
    }
    let out = lzf::compress(data);
    let limit = data.len() + LZF_MARGIN.max(data.len() / 25);
    (out.len() <= limit).then_some(out)
}

/// phpredis's LZF read path: empty bytes are not a stream.
fn lzf_decompress_framed(stored: &[u8], limit: usize) -> Decoded {
    if stored.is_empty() {
        return Ok(None);
    }
    lzf::decompress(stored, limit)
}

/// The LZF token format (liblzf's raw stream), compressor and decompressor.
mod lzf {
    /// Longest literal run one control byte can announce.
    const MAX_LITERAL: usize = 32;
    /// Shortest back-reference the format can encode.
    const MIN_MATCH: usize = 3;
    /// Longest back-reference: 2 + 7 (in the control byte) + 255 (extension byte).
    const MAX_MATCH: usize = 2 + 7 + 255;
    /// Farthest back-reference: 13 offset bits, stored minus one.
    const MAX_DISTANCE: usize = 1 << 13;
    /// Hash table size (log2) for finding 3-byte matches.
    const HASH_BITS: u32 = 14;

    fn hash3(bytes: &[u8]) -> usize {
        let v = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        // Multiplicative hashing; the top HASH_BITS bits are the best mixed.
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    }

    /// Emits `literals` as runs of at most 32 bytes.
    fn push_literals(out: &mut Vec<u8>, literals: &[u8]) {
        for run in literals.chunks(MAX_LITERAL) {
            // A chunk holds 1..=32 bytes, so `len - 1` fits the 5 literal bits.
            out.push((run.len() - 1) as u8);
            out.extend_from_slice(run);
        }
    }

    /// Greedy LZ77 with a one-entry-per-bucket hash table of 3-byte prefixes. Never larger than
    /// `len + ceil(len / 32)`: a match is never longer encoded than its bytes as literals.
    pub(super) fn compress(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() + input.len() / MAX_LITERAL + 1);
        // Positions are stored plus one, so 0 means an empty bucket.
        let mut table = vec![0usize; 1 << HASH_BITS];
        let mut literal_start = 0;
        let mut pos = 0;
        while pos + MIN_MATCH <= input.len() {
            let bucket = hash3(&input[pos..]);
            let candidate = table[bucket];
            table[bucket] = pos + 1;
            let found = candidate != 0 && {
                let cand = candidate - 1;
                pos - cand <= MAX_DISTANCE
                    && input[cand..cand + MIN_MATCH] == input[pos..pos + MIN_MATCH]
            };
            if !found {
                pos += 1;
                continue;
            }
            let cand = candidate - 1;
            let longest = (input.len() - pos).min(MAX_MATCH);
            let mut len = MIN_MATCH;
            while len < longest && input[cand + len] == input[pos + len] {
                len += 1;
            }
            push_literals(&mut out, &input[literal_start..pos]);
            // distance - 1 < 2^13 and len - 2 <= 262: both fit their fields.
            let distance = pos - cand - 1;
            let len_code = len - 2;
            let high = (distance >> 8) as u8;
            if len_code < 7 {
                out.push((len_code as u8) << 5 | high);
            } else {
                out.push(7 << 5 | high);
                out.push((len_code - 7) as u8);
            }
            out.push(distance as u8);
            // Index the positions the match covers, so later repeats of them are found too.
            let end = pos + len;
            for p in pos + 1..end.min(input.len().saturating_sub(MIN_MATCH - 1)) {
                table[hash3(&input[p..])] = p + 1;
            }
            pos = end;
            literal_start = pos;
        }
        push_literals(&mut out, &input[literal_start..]);
        out
    }

    /// Decodes a whole raw stream; `Ok(None)` if any token is cut short or refers before the
    /// start, `Err` as soon as the output would pass `limit` (LZF has no length header, and one
    /// 3-byte token stands for up to 264 bytes, so only the output itself can be checked).
    pub(super) fn decompress(input: &[u8], limit: usize) -> super::Decoded {
        // Most sessions compress 2-4×; the vector grows past that if needed.
        let mut out = Vec::with_capacity(input.len().saturating_mul(3).min(limit));
        let mut pos = 0;
        while pos < input.len() {
            let ctrl = usize::from(input[pos]);
            pos += 1;
            if ctrl < 32 {
                let Some(run) = input.get(pos..pos + ctrl + 1) else {
                    return Ok(None);
                };
                if out.len() + run.len() > limit {
                    return Err(super::OverLimit);
                }
                out.extend_from_slice(run);
                pos += ctrl + 1;
                continue;
            }
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(&extra) = input.get(pos) else {
                    return Ok(None);
                };
                len += usize::from(extra);
                pos += 1;
            }
            let Some(&low) = input.get(pos) else {
                return Ok(None);
            };
            let distance = ((ctrl & 0x1f) << 8 | usize::from(low)) + 1;
            pos += 1;
            let Some(start) = out.len().checked_sub(distance) else {
                return Ok(None);
            };
            if out.len() + len + 2 > limit {
                return Err(super::OverLimit);
            }
            // The source may overlap what is being written (distance < length repeats a pattern),
            // so copy byte by byte.
            for i in start..start + len + 2 {
                let byte = out[i];
                out.push(byte);
            }
        }
        Ok(Some(out))
    }
}

// ---------------------------------------------------------------------------------------------
// zstd

fn zstd_compress(data: &[u8], level: i32) -> Option<Vec<u8>> {
    let level = if level < 1 {
        ZSTD_DEFAULT_LEVEL
    } else {
        level.min(zstd::zstd_safe::max_c_level())
    };
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(data.len()));
    // One-shot ZSTD_compress, as phpredis: the frame records the content size.
    zstd::zstd_safe::compress(&mut out, data, level).ok()?;
    Some(out)
}

/// phpredis's rules: the first frame's content size must be known and at most `i32::MAX`, and
/// decoding all of `stored` must yield exactly that many bytes. A content size over `limit` is
/// refused before decoding; output is cut one byte past the content size, so a frame whose header
/// lies about its size cannot produce more than `limit + 1` bytes either.
fn zstd_decompress(stored: &[u8], limit: usize) -> Decoded {
    let expected = match zstd::zstd_safe::get_frame_content_size(stored) {
        Ok(Some(size)) if size <= i32::MAX as u64 => size,
        _ => return Ok(None),
    };
    if expected > limit as u64 {
        return Err(OverLimit);
    }
    // Streaming, so memory follows what really decodes rather than what the header claims; reading
    // one byte past `expected` detects output that is too long without decoding all of it.
    let Ok(decoder) = zstd::stream::read::Decoder::with_buffer(stored) else {
        return Ok(None);
    };
    let prealloc = expected.min(ZSTD_PREALLOC_LIMIT) as usize;
    let mut out = Vec::with_capacity(prealloc);
    if decoder.take(expected + 1).read_to_end(&mut out).is_err() {
        return Ok(None);
    }
    Ok((out.len() as u64 == expected).then_some(out))
}

// ---------------------------------------------------------------------------------------------
// LZ4

/// CRC-8 with polynomial 0x31, initial value 0xFF, no reflection, no final xor (CRC-8/NRSC-5), the
/// checksum phpredis puts over the LZ4 length bytes.
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0xFFu8;
    for &byte in bytes {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                crc << 1 ^ 0x31
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn lz4_compress(data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() {
        return None;
    }
    // phpredis writes the length as a C int and refuses longer inputs (one block only).
    let len = i32::try_from(data.len()).ok()?.to_le_bytes();
    let bound = lz4_flex::block::get_maximum_output_size(data.len());
    let mut out = vec![0u8; LZ4_HEADER_LEN + bound];
    out[0] = crc8(&len);
    out[1..LZ4_HEADER_LEN].copy_from_slice(&len);
    let written = lz4_flex::block::compress_into(data, &mut out[LZ4_HEADER_LEN..]).ok()?;
    out.truncate(LZ4_HEADER_LEN + written);
    Some(out)
}

/// phpredis's LZ4 read path. A header that passes the CRC and could be honest but announces more
/// than `limit` is refused before anything is allocated; the output buffer is the header's length,
/// so no block can write past it.
fn lz4_decompress(stored: &[u8], limit: usize) -> Decoded {
    let Some((len, block)) = lz4_decode_header(stored) else {
        return Ok(None);
    };
    if len > limit {
        return Err(OverLimit);
    }
    let mut out = vec![0u8; len];
    match lz4_flex::block::decompress_into(block, &mut out) {
        Ok(written) if written == len => Ok(Some(out)),
        _ => Ok(None),
    }
}

/// The announced length and the block, if `stored` starts with a header phpredis would accept.
fn lz4_decode_header(stored: &[u8]) -> Option<(usize, &[u8])> {
    if stored.len() < LZ4_HEADER_LEN || stored.len() - LZ4_HEADER_LEN > i32::MAX as usize {
        return None;
    }
    let (header, block) = stored.split_at(LZ4_HEADER_LEN);
    let len_bytes = [header[1], header[2], header[3], header[4]];
    if crc8(&len_bytes) != header[0] {
        return None;
    }
    // Zero or negative lengths never decode in phpredis (LZ4_decompress_safe must return > 0).
    let len = usize::try_from(i32::from_le_bytes(len_bytes))
        .ok()
        .filter(|&n| n > 0)?;
    if len > block.len().saturating_mul(LZ4_MAX_RATIO) {
        return None;
    }
    Some((len, block))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = DEFAULT_MAX_SESSION_BYTES;

    const SESSION: &[u8] = br#"user|a:3:{s:2:"id";i:42;s:4:"name";s:5:"alice";s:5:"roles";a:2:{i:0;s:5:"admin";i:1;s:6:"editor";}}csrf|s:32:"0123456789abcdef0123456789abcdef";"#;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    use crate::test_rng::Rng;

    /// Text-like data that compresses: repeated session fragments with varying numbers.
    fn text(n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 64);
        let mut i = 0u32;
        while out.len() < n {
            out.extend_from_slice(
                format!("item{i}|s:{}:\"value {}\";", i % 97, i * 7919).as_bytes(),
            );
            i += 1;
        }
        out.truncate(n);
        out
    }

    const ALL: [Compression; 3] = [
        Compression::Lzf,
        Compression::Zstd { level: 3 },
        Compression::Lz4 { level: 3 },
    ];

    #[test]
    fn crc8_check_values() {
        assert_eq!(crc8(b"123456789"), 0xF7);
        assert_eq!(crc8(&5i32.to_le_bytes()), 0x42);
        assert_eq!(crc8(&[]), 0xFF);
    }

    #[test]
    fn round_trips_at_several_sizes() {
        let mut rng = Rng(0x5eed);
        let inputs: Vec<(&str, Vec<u8>)> = vec![
            ("1 byte", b"x".to_vec()),
            ("100 bytes", text(100)),
            ("session", SESSION.to_vec()),
            ("100 KB text", text(100 * 1024)),
            ("100 KB random", rng.bytes(100 * 1024)),
            ("100 KB zeros", vec![0; 100 * 1024]),
            ("8 KiB + 1 repeat distance", {
                let mut v = rng.bytes(8193);
                v.extend_from_within(..300);
                v
            }),
        ];
        for algo in ALL {
            for (what, input) in &inputs {
                let stored = algo.compress(input);
                assert!(
                    matches!(stored, Cow::Owned(_)),
                    "{algo} {what}: not compressed"
                );
                assert_ne!(&stored[..], &input[..], "{algo} {what}");
                let back = algo.decompress(&stored, MAX).unwrap();
                assert!(back[..] == input[..], "{algo} {what}: round trip differs");
            }
        }
    }

    #[test]
    fn compressible_data_shrinks() {
        let input = text(100 * 1024);
        for (algo, at_most) in [
            (Compression::Lzf, 48 * 1024),
            (Compression::Zstd { level: 3 }, 25 * 1024),
            (Compression::Lz4 { level: 3 }, 55 * 1024),
        ] {
            let n = algo.compress(&input).len();
            assert!(n <= at_most, "{algo}: {n} bytes");
        }
    }

    #[test]
    fn empty_input() {
        // LZF and LZ4 store empty data raw; zstd writes an (empty) frame, like ZSTD_compress.
        for algo in [
            Compression::Lzf,
            Compression::Lz4 { level: 3 },
            Compression::None,
        ] {
            assert!(matches!(algo.compress(b""), Cow::Borrowed(b"")), "{algo}");
            assert!(
                matches!(algo.decompress(b"", MAX).unwrap(), Cow::Borrowed(b"")),
                "{algo}"
            );
        }
        let zstd = Compression::Zstd { level: 3 };
        let frame = zstd.compress(b"");
        assert_eq!(&frame[..4], &[0x28, 0xb5, 0x2f, 0xfd]);
        assert!(matches!(zstd.decompress(&frame, MAX).unwrap(), Cow::Owned(v) if v.is_empty()));
        assert!(matches!(
            zstd.decompress(b"", MAX).unwrap(),
            Cow::Borrowed(b"")
        ));
    }

    #[test]
    fn none_is_verbatim() {
        assert!(matches!(Compression::None.compress(SESSION), Cow::Borrowed(s) if s == SESSION));
        let lz4 = Compression::Lz4 { level: 3 }.compress(SESSION);
        assert!(
            matches!(Compression::None.decompress(&lz4, MAX).unwrap(), Cow::Borrowed(s) if s == &lz4[..])
        );
    }

    #[test]
    fn uncompressed_sessions_pass_through() {
        let sessions: [&[u8]; 7] = [
            SESSION,
            br#"a:1:{s:4:"user";s:5:"alice";}"#, // php_serialize
            b"\x84user\x01",                     // php_binary: length byte then name
            b"count|i:3;",
            b"x",
            b"N;",
            b"i:0;",
        ];
        for algo in ALL {
            for s in sessions {
                let out = algo.decompress(s, MAX).unwrap();
                assert!(
                    matches!(out, Cow::Borrowed(b) if b == s),
                    "{algo}: {s:?} -> {out:?}"
                );
            }
        }
    }

    // --- LZ4 ------------------------------------------------------------------------------------

    #[test]
    fn lz4_header_bytes() {
        // Redis::_compress("hello") with COMPRESSION_LZ4 in phpredis 5.3.7 (see the vectors below).
        let stored = Compression::Lz4 { level: 3 }.compress(b"hello");
        assert_eq!(&stored[..], &hex("42 05000000 50 68656c6c6f")[..]);
        let input = text(1000);
        let stored = Compression::Lz4 { level: 3 }.compress(&input);
        assert_eq!(&stored[1..5], &[0xe8, 0x03, 0, 0]);
        assert_eq!(stored[0], crc8(&[0xe8, 0x03, 0, 0]));
    }

    #[test]
    fn lz4_rejects_bad_headers() {
        let good = Compression::Lz4 { level: 3 }.compress(SESSION).into_owned();
        let lz4 = Compression::Lz4 { level: 3 };
        let mut cases: Vec<(&str, Vec<u8>)> = vec![("4 bytes", good[..4].to_vec())];
        let mut bad_crc = good.clone();
        bad_crc[0] ^= 1;
        cases.push(("crc mismatch", bad_crc));
        let with_len = |n: i32| {
            let mut v = good.clone();
            v[1..5].copy_from_slice(&n.to_le_bytes());
            v[0] = crc8(&v[1..5]);
            v
        };
        cases.push(("length 0", with_len(0)));
        cases.push(("negative length", with_len(-1)));
        cases.push(("length one short", with_len(SESSION.len() as i32 - 1)));
        cases.push(("length one long", with_len(SESSION.len() as i32 + 1)));
        cases.push(("length i32::MAX", with_len(i32::MAX)));
        cases.push(("truncated block", good[..good.len() - 1].to_vec()));
        cases.push(("header only", good[..5].to_vec()));
        for (what, stored) in cases {
            assert!(
                matches!(lz4.decompress(&stored, MAX).unwrap(), Cow::Borrowed(_)),
                "{what}"
            );
        }
    }

    // --- zstd -----------------------------------------------------------------------------------

    #[test]
    fn zstd_frame_records_content_size() {
        let frame = Compression::Zstd { level: 3 }.compress(SESSION);
        let size = zstd::zstd_safe::get_frame_content_size(&frame).ok();
        assert_eq!(size, Some(Some(SESSION.len() as u64)));
    }

    #[test]
    fn zstd_levels_are_clamped_like_phpredis() {
        let input = text(20 * 1024);
        let at = |level| Compression::Zstd { level }.compress(&input).into_owned();
        assert_eq!(at(0), at(3));
        assert_eq!(at(-5), at(3));
        assert_eq!(at(100), at(22));
        assert_ne!(at(1), at(19));
    }

    #[test]
    fn zstd_rejects_what_phpredis_rejects() {
        let zstd = Compression::Zstd { level: 3 };
        let frame = zstd.compress(SESSION).into_owned();
        let mut trailing = frame.clone();
        trailing.push(0);
        let mut two_frames = frame.clone();
        two_frames.extend_from_slice(&frame);
        // A streamed frame without a pledged size records no content size.
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.include_contentsize(false).unwrap();
        std::io::Write::write_all(&mut encoder, SESSION).unwrap();
        let unknown_size = encoder.finish().unwrap();
        assert_eq!(
            zstd::stream::decode_all(&unknown_size[..]).unwrap(),
            SESSION
        );
        let mut corrupt = frame.clone();
        let last = corrupt.len() - 3;
        corrupt[last] ^= 0xff;
        let cases = [
            ("trailing byte", trailing),
            ("two frames", two_frames),
            ("truncated", frame[..frame.len() - 1].to_vec()),
            ("magic only", frame[..4].to_vec()),
            ("content size unknown", unknown_size),
            ("corrupt", corrupt),
        ];
        for (what, stored) in cases {
            assert!(
                matches!(zstd.decompress(&stored, MAX).unwrap(), Cow::Borrowed(_)),
                "{what}"
            );
        }
    }

    /// `zstd -d` reads our frames, and frames the CLI writes from a file decode here. Skipped (with a
    /// note) where the `zstd` program is missing; `scripts/install-deps.sh` installs it.
    #[test]
    fn zstd_frames_interoperate_with_the_cli() {
        use std::process::{Command, Stdio};
        if Command::new("zstd").arg("--version").output().is_err() {
            eprintln!("skipped: no `zstd` program on PATH");
            return;
        }
        let dir = std::env::temp_dir().join(format!("phpsess-codec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = text(50 * 1024);
        let ours = dir.join("ours.zst");
        std::fs::write(&ours, Compression::Zstd { level: 3 }.compress(&input)).unwrap();
        let out = Command::new("zstd")
            .args(["-d", "-c", "-q"])
            .arg(&ours)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout == input, "zstd -d output differs");

        let plain = dir.join("plain");
        std::fs::write(&plain, &input).unwrap();
        let out = Command::new("zstd")
            .args(["-c", "-q", "-19"])
            .arg(&plain)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            Compression::Zstd { level: 3 }
                .decompress(&out.stdout, MAX)
                .unwrap()[..]
                == input[..]
        );

        // From a pipe the CLI cannot know the size, so the frame has none: phpredis (and we) pass
        // such bytes through.
        let mut child = Command::new("zstd")
            .args(["-c", "-q"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, SESSION));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let decoded = Compression::Zstd { level: 3 }
            .decompress(&out.stdout, MAX)
            .unwrap();
        assert!(matches!(decoded, Cow::Borrowed(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    // --- LZF ------------------------------------------------------------------------------------

    #[test]
    fn lzf_hand_checked_streams() {
        let cases: [(&str, &[u8], &[u8]); 6] = [
            ("one literal run", b"\x02abc", b"abc"),
            ("run then overlapping reference", b"\x00a\x20\x00", b"aaaa"),
            ("reference at distance 3", b"\x02abc\x40\x02", b"abcabca"),
            (
                "long reference (extension byte)",
                b"\x00z\xe0\x01\x00",
                &[b'z'; 11],
            ),
            (
                "32-byte literal run",
                b"\x1fABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
            ),
            ("longest reference", b"\x00-\xe0\xff\x00", &[b'-'; 265]),
        ];
        for (what, stream, expected) in cases {
            assert_eq!(
                &Compression::Lzf.decompress(stream, MAX).unwrap()[..],
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn lzf_rejects_malformed_streams() {
        let cases: [(&str, &[u8]); 6] = [
            ("reference before start", b"\x20\x00"),
            ("reference too far back", b"\x01ab\x20\x02"),
            ("literal run cut short", b"\x05abc"),
            ("reference missing offset", b"\x00a\x20"),
            ("extension missing", b"\x00a\xe0"),
            ("offset missing after extension", b"\x00a\xe0\x01"),
        ];
        for (what, stream) in cases {
            assert!(lzf::decompress(stream, MAX) == Ok(None), "{what}");
            assert!(
                matches!(Compression::Lzf.decompress(stream, MAX).unwrap(), Cow::Borrowed(s) if s == stream),
                "{what}"
            );
        }
    }

    #[test]
    fn lzf_compressor_output() {
        // "hello " as a 6-byte literal run, then 17 bytes from distance 6: length code 15 ⇒ 7 in the
        // control byte plus extension byte 8; stored distance 5.
        let stored = Compression::Lzf.compress(b"hello hello hello hello");
        assert_eq!(&stored[..], &hex("05 68656c6c6f20 e0 08 05")[..]);
        // Literal runs split at 32 bytes.
        let abc: Vec<u8> = (0u8..40).collect();
        let stored = Compression::Lzf.compress(&abc);
        let mut expected = vec![31];
        expected.extend(0u8..32);
        expected.push(7);
        expected.extend(32u8..40);
        assert_eq!(&stored[..], &expected[..]);
    }

    #[test]
    fn lzf_output_fits_phpredis_buffer() {
        let mut rng = Rng(7);
        for n in [1, 31, 32, 33, 100, 4096, 100 * 1024] {
            let input = rng.bytes(n);
            let out = lzf::compress(&input);
            assert!(out.len() <= n + n.div_ceil(32), "{n}: {}", out.len());
            assert!(
                matches!(Compression::Lzf.compress(&input), Cow::Owned(_)),
                "{n}"
            );
        }
    }

    // --- vectors from real phpredis -------------------------------------------------------------

    /// Produced by phpredis 5.3.7 (Debian php-redis, liblzf/libzstd 1.5.4/liblz4 1.9.4) with
    /// `Redis::_compress()` after `setOption(OPT_COMPRESSION, …)` and `OPT_COMPRESSION_LEVEL` 3;
    /// the session framing in 6.1 is the same code path (`redis_compress`).
    #[test]
    fn decodes_phpredis_vectors() {
        let cases = [
            (
                Compression::Lzf,
                "0668656c6c6f2068e00505016c6f",
                &b"hello hello hello hello"[..],
            ),
            (
                Compression::Zstd { level: 3 },
                "28b52ffd20176500003068656c6c6f200100994b11",
                b"hello hello hello hello",
            ),
            (
                Compression::Lz4 { level: 3 },
                "42050000005068656c6c6f",
                b"hello",
            ),
        ];
        for (algo, stored, expected) in cases {
            assert_eq!(
                &algo.decompress(&hex(stored), MAX).unwrap()[..],
                expected,
                "{algo}"
            );
        }
    }

    /// `"user|" . serialize(["user" => ["id" => 42, "name" => "alice"], "cart" => array_fill(0, 50, "item")])`
    fn cart_session() -> Vec<u8> {
        let mut s = String::from(
            r#"user|a:2:{s:4:"user";a:2:{s:2:"id";i:42;s:4:"name";s:5:"alice";}s:4:"cart";a:50:{"#,
        );
        for i in 0..50 {
            s.push_str(&format!(r#"i:{i};s:4:"item";"#));
        }
        s.push_str("}}");
        s.into_bytes()
    }

    /// phpredis 5.3.7 `Redis::_compress(cart_session())`, level 3 (LZ4 HC 3, zstd 3).
    const CART_LZF: &[&str] = &[
        "0f757365727c613a323a7b733a343a2275200e01223ba00f0b323a226964223b693a34323b601d046e616d65",
        "22200a06353a22616c6963200b007d6017036361727440350635303a7b693a302021204a036974656d403c00",
        "31e0050ea04ac01d0033e0051d0034e0050e0035e0050e0036e0050e0037e0050e0038e0050e0039e0050e00",
        "31e00796e006970031e006980031e006990031e0069a0031e0069b0031e0069c0031e0069d0031e0069e0031",
        "e0069f0032e0069f0032e0069f0032e0069f0032e0069f0032e0069f0032e0069f0032e0069f0032e0069f00",
        "32e0069f0032e0069f0033e0069f0033e0069f0033e0069f0033e0069f0033e0069f0033e0069f0033e0069f",
        "0033e0069f0033e0069f0033e0069f0034e0069f0034e0069fc2c3c2780034e0069f0034e0069f0034e0069f",
        "0034e0069f0034e0069f0034e0069f0034e0049f017d7d",
    ];
    const CART_ZSTD: &[&str] = &[
        "28b52ffd606902fd05005207161790b7399d7703f89c1575bb7b1d91ffff3ba5849daa322c6bfdffffffb66d",
        "db76dbb66d7b7777777703410050ee9e710e44204a90284732c54a3b052a18c3822aed18c6903da23402326c",
        "5a3a0a313caa048be6908e4202372060e34c0787e8ae633ad95dc774d29d8eeda43b1deb44773bd689ee3aa6",
        "93dd754c27dde9d84ebad3b14e7477c746ee44447721750c44271f75e7a1631d75c2a1bb8dbad02057666491",
        "8fcc64215f99812c32e402cf080c34398c5c6d2184a027d377",
    ];
    const CART_LZ4: &[&str] = &[
        "0a69030000f000757365727c613a323a7b733a343a220f0023223b1000c1323a226964223b693a34323b1e00",
        "f1046e616d65223b733a353a22616c696365223b7d1800406361727436007235303a7b693a302d0040697465",
        "6d3d001a310f001a320f001a330f001a340f001a350f001a360f001a370f001a380f001a390f001c3197000b",
        "98001b3199001b319a001b319b001b319c001b319d001b319e001b319f001b31a0001b32a0001c3238010ba0",
        "001b32a0001b32a0001b32a0001b32a0001b32a0001b32a0001b32a0001b33a0001b33a0001c33d9010ba000",
        "1b33a0001b33a0001b33a0001b33a0001b33a0001b33a0001b34a0001b34a0002b343210000c7a020ba0001b",
        "34a0001b34a0001b34a0001b34a0001634a000506d223b7d7d",
    ];

    #[test]
    fn decodes_phpredis_session_vectors() {
        let plain = cart_session();
        assert_eq!(plain.len(), 873);
        let cases = [
            (Compression::Lzf, CART_LZF),
            (Compression::Zstd { level: 3 }, CART_ZSTD),
            (Compression::Lz4 { level: 3 }, CART_LZ4),
        ];
        for (algo, stored) in cases {
            let stored = hex(&stored.concat());
            assert!(
                algo.decompress(&stored, MAX).unwrap()[..] == plain[..],
                "{algo}"
            );
        }
        // phpredis 5.3.7 `_compress("")` with zstd: an empty frame, not raw bytes.
        assert_eq!(
            &Compression::Zstd { level: 3 }.compress(b"")[..],
            &hex("28b52ffd2000010000")[..]
        );
    }

    /// A 17-byte stream whose last literal run crosses the 16× buffer (272 bytes) that phpredis's
    /// grow loop tries: liblzf says "too small", the loop grows to 32× and decodes 276 bytes (measured
    /// with phpredis 5.3.7 `_uncompress`). `lzf-rust` 0.1.0 reports this overrun as invalid data.
    #[test]
    fn lzf_decodes_what_phpredis_grow_loop_decodes() {
        let stored = hex("0061e0ff000a62636465666768696a6b6c");
        let mut expected = vec![b'a'; 265];
        expected.extend_from_slice(b"bcdefghijkl");
        assert_eq!(
            &Compression::Lzf.decompress(&stored, MAX).unwrap()[..],
            &expected[..]
        );
    }

    /// Uncompressed bytes that happen to be a valid LZF stream are decoded, by phpredis too
    /// (measured: 5.3.7 `_uncompress` of six zero bytes gives three), so binary serializers can be
    /// misread under `lzf`; text sessions cannot (they start with a back-reference into nothing).
    #[test]
    fn lzf_decodes_binary_that_looks_like_a_stream() {
        assert_eq!(
            &Compression::Lzf.decompress(&[0; 6], MAX).unwrap()[..],
            &[0, 0, 0]
        );
    }

    // --- hostile input --------------------------------------------------------------------------

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = Rng(0xdead_beef);
        let seeds: Vec<(Compression, Vec<u8>)> = ALL
            .iter()
            .map(|algo| (*algo, algo.compress(&text(600)).into_owned()))
            .collect();
        for round in 0..20_000 {
            for (algo, seed) in &seeds {
                let input = if round % 2 == 0 {
                    let n = rng.below(300);
                    let mut v = rng.bytes(n);
                    // Reach past the cheap checks: a valid LZ4 header, or a zstd magic number.
                    match algo {
                        Compression::Lz4 { .. } if n >= 5 => v[0] = crc8(&v[1..5]),
                        Compression::Zstd { .. } if n >= 4 => v[..4].copy_from_slice(&seed[..4]),
                        _ => {}
                    }
                    v
                } else {
                    let mut v = seed.clone();
                    for _ in 0..1 + rng.below(4) {
                        let i = rng.below(v.len());
                        v[i] = rng.next() as u8;
                    }
                    let cut = rng.below(8).min(v.len());
                    v.truncate(v.len() - cut);
                    v
                };
                // Random zstd headers may announce more than the limit: that is refused, never
                // allocated.
                match algo.decompress(&input, MAX) {
                    Ok(Cow::Borrowed(b)) => assert_eq!(b, &input[..]),
                    Ok(Cow::Owned(out)) => assert!(out.len() <= MAX),
                    Err(TooLarge::Decompressed { .. }) => {}
                    Err(e) => panic!("{algo}: {e}"),
                }
            }
        }
    }

    // --- size limit -----------------------------------------------------------------------------

    /// A value decompressing to exactly the limit reads; one byte less of limit refuses it, for
    /// every algorithm, with the stored size and the limit in the message.
    #[test]
    fn limit_is_exact_for_every_algorithm() {
        let plain = text(100_000);
        for algo in [Compression::None].iter().chain(&ALL) {
            let stored = algo.compress(&plain);
            let n = plain.len();
            assert!(
                algo.decompress(&stored, n).unwrap()[..] == plain[..],
                "{algo}"
            );
            let err = algo.decompress(&stored, n - 1).unwrap_err();
            let expected = if *algo == Compression::None {
                TooLarge::Stored {
                    stored: n,
                    limit: n - 1,
                }
            } else {
                TooLarge::Decompressed {
                    algo: algo.name(),
                    stored: stored.len(),
                    limit: n - 1,
                }
            };
            assert_eq!(err, expected, "{algo}");
        }
        assert_eq!(
            Compression::Lz4 { level: 3 }
                .decompress(&plain, 99)
                .unwrap_err()
                .to_string(),
            "100000 bytes stored, over the limit of 99 bytes (phpsess.max_session_bytes)"
        );
        assert_eq!(
            Compression::Lzf
                .decompress(&Compression::Lzf.compress(&plain), 50_000)
                .unwrap_err()
                .to_string(),
            format!(
                "lzf data of {} bytes decompresses to more than the limit of 50000 bytes \
                 (phpsess.max_session_bytes)",
                Compression::Lzf.compress(&plain).len()
            )
        );
    }

    /// Decompression bombs, made by the encoders themselves: small stored values that expand to
    /// 64 MiB, four times the default limit, are refused.
    #[test]
    fn bombs_are_refused_at_the_default_limit() {
        const BOMB: usize = 64 << 20;
        let zeros = vec![0u8; BOMB];
        // zstd: a streaming encoder told the size records it in the header, as phpredis's frames do.
        let mut zstd_bomb = Vec::new();
        {
            let mut enc = zstd::stream::write::Encoder::new(&mut zstd_bomb, 19).unwrap();
            enc.set_pledged_src_size(Some(BOMB as u64)).unwrap();
            enc.include_contentsize(true).unwrap();
            std::io::Write::write_all(&mut enc, &zeros).unwrap();
            enc.finish().unwrap();
        }
        let cases = [
            (Compression::Zstd { level: 3 }, zstd_bomb),
            (Compression::Lzf, lzf::compress(&zeros)),
            (Compression::Lz4 { level: 3 }, lz4_compress(&zeros).unwrap()),
        ];
        for (algo, bomb) in cases {
            // LZF's best ratio is about 88:1, zstd's and LZ4's far higher.
            assert!(bomb.len() < 1 << 20, "{algo}: {}", bomb.len());
            // The same bytes are a valid stream: under a large enough limit they decode.
            assert_eq!(algo.decompress(&bomb, BOMB).unwrap().len(), BOMB, "{algo}");
            assert_eq!(
                algo.decompress(&bomb, MAX),
                Err(TooLarge::Decompressed {
                    algo: algo.name(),
                    stored: bomb.len(),
                    limit: MAX
                }),
                "{algo}"
            );
        }
    }

    /// A zstd frame whose header announces a small size, followed by a frame without one that
    /// expands to 64 MiB: decoding stops one byte past the announced size (a frame that lies is
    /// passed through, as phpredis does), and never comes near the bomb's size.
    #[test]
    fn zstd_header_that_lies_is_cut_at_the_announced_size() {
        let mut stored = Compression::Zstd { level: 3 }
            .compress(b"hello")
            .into_owned();
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.include_contentsize(false).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            std::io::Write::write_all(&mut enc, &chunk).unwrap();
        }
        stored.extend(enc.finish().unwrap());
        assert!(matches!(zstd_decompress(&stored, MAX), Ok(None)));
        assert!(matches!(
            Compression::Zstd { level: 3 }.decompress(&stored, MAX),
            Ok(Cow::Borrowed(_))
        ));
    }

    /// The LZF decoder grows its output only as tokens decode, so a stream cut short after a long
    /// run of references holds no more than what it produced, and the limit is checked per token.
    #[test]
    fn lzf_limit_is_checked_per_token() {
        // One literal, then references of 264 bytes each: 3 stored bytes per 264 decoded.
        let mut stream = vec![0x00, b'a'];
        for _ in 0..10 {
            stream.extend_from_slice(&[0xe0, 0xff, 0x00]);
        }
        assert_eq!(lzf::decompress(&stream, 2641).unwrap().unwrap().len(), 2641);
        assert_eq!(lzf::decompress(&stream, 2640), Err(OverLimit));
        assert_eq!(lzf::decompress(&stream, 0), Err(OverLimit));
    }

    // --- INI ------------------------------------------------------------------------------------

    #[test]
    fn from_ini_matches_prefixes_like_phpredis() {
        let cases: [(&str, i64, Option<Compression>); 18] = [
            ("lzf", 3, Some(Compression::Lzf)),
            ("LZF", 3, Some(Compression::Lzf)),
            ("lzfoo", 9, Some(Compression::Lzf)),
            ("zstd", 3, Some(Compression::Zstd { level: 3 })),
            ("ZStd-fast", -1, Some(Compression::Zstd { level: -1 })),
            ("lz4", 3, Some(Compression::Lz4 { level: 3 })),
            ("Lz4HC", 12, Some(Compression::Lz4 { level: 12 })),
            ("", 3, Some(Compression::None)),
            ("none", 3, Some(Compression::None)),
            ("NONE", 3, Some(Compression::None)),
            ("nonesuch", 3, Some(Compression::None)),
            ("\0lzf", 3, Some(Compression::None)),
            ("zstd", 4_294_967_299, Some(Compression::Zstd { level: 3 })),
            ("gzip", 3, None),
            ("lz", 3, None),
            (" lzf", 3, None),
            ("non", 3, None),
            ("0", 3, None),
        ];
        for (name, level, expected) in cases {
            assert_eq!(
                Compression::from_ini(name, level),
                expected,
                "{name:?} {level}"
            );
        }
    }

    #[test]
    fn display_is_the_ini_name() {
        let cases = [
            (Compression::None, "none"),
            (Compression::Lzf, "lzf"),
            (Compression::Zstd { level: 7 }, "zstd"),
            (Compression::Lz4 { level: 3 }, "lz4"),
        ];
        for (algo, name) in cases {
            assert_eq!(algo.to_string(), name);
            let level = algo.level().unwrap_or(Compression::DEFAULT_LEVEL);
            assert_eq!(
                Compression::from_ini(&algo.to_string(), level.into()),
                Some(algo)
            );
        }
        assert_eq!(Compression::default(), Compression::None);
    }

    #[test]
    fn serializes_to_json() {
        let cases = [
            (Compression::None, r#""none""#),
            (Compression::Lzf, r#""lzf""#),
            (Compression::Zstd { level: 3 }, r#"{"zstd":{"level":3}}"#),
            (Compression::Lz4 { level: 12 }, r#"{"lz4":{"level":12}}"#),
        ];
        for (algo, json) in cases {
            assert_eq!(serde_json::to_string(&algo).unwrap(), json);
        }
    }
}
