//! phpsess: PHP sessions from Rust. One crate, three uses:
//!
//! - **PHP's formats.** [`unserialize`] / [`serialize`]: PHP's `serialize()` format, losslessly, as
//!   a [`Value`] tree. [`Document`]: the same decode without the tree's allocations, for reading
//!   (the fastest). [`php_serde`]: the same format into and out of typed Rust structs
//!   ([`php_serde::from_bytes`], [`php_serde::to_bytes`]). [`session::decode`] / [`session::encode`]:
//!   the three `session.serialize_handler` encodings (`php`, `php_serialize`, `php_binary`).
//!   [`json`] (feature `json`): JSON views of a value, PHP's `json_encode()` and a lossless form.
//! - **A Redis session store** that shares a fleet with phpredis: [`store::SessionStore`] over a
//!   [`store::Topology`] made from a phpredis `save_path` ([`save_path`] parses every form), with
//!   phpredis's keys, host choice and locks; [`store::StoreManager`] gives a pool for threads.
//! - **A Laravel session reader and writer**: [`laravel::LaravelStore`] finds, reads and saves the
//!   session behind a Laravel app's encrypted cookie; [`laravel::Encrypter`], [`laravel::cookie`]
//!   and [`laravel::KeyLayout`] are its pieces, usable without Redis.
//!
//! And for a Rust service beside the PHP app (features, off by default): `tokio` gives
//! `store::AsyncSessionStore` (the same store on shared async connections) and
//! `laravel::AsyncLaravelStore`; `axum` (axum 0.8) gives `phpsess::axum`, extractors that answer
//! "whose session is this request?" in one line.
//!
//! PHP values, losslessly:
//!
//! ```
//! use phpsess::{serialize, unserialize};
//! let bytes = br#"a:2:{i:0;s:3:"abc";s:1:"f";d:0.5;}"#;
//! let value = unserialize(bytes)?;
//! assert_eq!(serialize(&value), bytes);
//! # Ok::<(), phpsess::Error>(())
//! ```
//!
//! A session as PHP's default `php` encoding stores it:
//!
//! ```
//! use phpsess::session::{self, Format};
//! let vars = session::decode(b"user|i:42;cart|a:0:{}", Format::Php)?;
//! assert_eq!(vars.get("user").and_then(|v| v.as_int()), Some(42));
//! assert_eq!(session::encode(&vars, Format::Php)?, b"user|i:42;cart|a:0:{}");
//! # Ok::<(), phpsess::Error>(())
//! ```
//!
//! A PHP request's session cycle against Redis (lock and read, then write and unlock); the
//! [`store`] module says what each call sends:
//!
//! ```no_run
//! use phpsess::store::{SessionStore, StoreOptions, Topology};
//! let topology = Topology::from_save_path("tcp://127.0.0.1:6379?prefix=PHPREDIS_SESSION:")?;
//! let mut store = SessionStore::new(topology, StoreOptions::default());
//! let read = store.read("k3vq5ctk0nb0gq3s6bqvkbmc4m")?;
//! store.write("k3vq5ctk0nb0gq3s6bqvkbmc4m", &read.data.unwrap_or_default())?;
//! # Ok::<(), phpsess::Error>(())
//! ```
//!
//! From a Laravel cookie to the logged-in user: the example on [`laravel`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod decode;
pub mod document;
mod error;
mod hash;
#[cfg(feature = "json")]
pub mod json;
mod key_set;
#[cfg(feature = "laravel")]
pub mod laravel;
mod options;
pub mod php_serde;
mod reader;
pub mod save_path;
mod serialize;
pub mod session;
#[cfg(feature = "store")]
pub mod store;
#[cfg(test)]
mod test_rng;
mod unserialize;
pub mod value;

pub use document::Document;
pub use error::{DecodeReason, Error, Result};
pub use options::DecodeOptions;
pub use reader::MAX_DEPTH;
pub use serialize::{serialize, serialize_into};
pub use unserialize::{unserialize, unserialize_borrowed, unserialize_prefix};
pub use value::{
    Array, BorrowedKey, BorrowedValue, CustomObject, EnumCase, Key, Object, PhpString, Value,
};

/// The README's Rust examples, so that `cargo test --doc` compiles them as written (the ones that
/// need a Redis server are `no_run`: compiled, not run).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
