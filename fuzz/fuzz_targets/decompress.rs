//! Fuzz target: the three decompressors (`Compression::decompress`: LZF, zstd, phpredis's LZ4
//! framing) on arbitrary stored bytes, under a size limit. The first byte picks the algorithm and
//! the limit (1 KiB to 1 MiB), the rest is the stored value.
//!
//! Properties beyond "no panic": output never exceeds the limit; bytes passed through are the
//! input; and any input, compressed, decompresses to itself when the limit allows its size.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use phpsess::store::{Compression, TooLarge};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stored)) = data.split_first() else {
        return;
    };
    let algo = match selector % 3 {
        0 => Compression::Lzf,
        1 => Compression::Zstd { level: 1 },
        _ => Compression::Lz4 { level: 3 },
    };
    let limit = 1024 << (selector / 3 % 11);
    match algo.decompress(stored, limit) {
        Ok(Cow::Borrowed(b)) => assert!(b == stored),
        Ok(Cow::Owned(out)) => assert!(out.len() <= limit, "{algo}: {} > {limit}", out.len()),
        Err(TooLarge::Stored { .. }) => assert!(stored.len() > limit),
        Err(_) => {}
    }
    let packed = algo.compress(stored);
    match algo.decompress(&packed, stored.len().max(packed.len())) {
        Ok(out) => assert!(out == stored, "{algo}: round trip changed the bytes"),
        Err(e) => panic!("{algo}: round trip refused: {e}"),
    }
});
