//! phpsess: PHP sessions from Rust.
//!
//! - [`unserialize`] / [`serialize`]: PHP's `serialize()` format, losslessly, as a [`Value`] tree.
//! - [`Document`]: the same decode without the tree's allocations, for reading (the fastest).
//! - [`serde`]: the same format into and out of typed Rust structs ([`serde::from_bytes`], [`serde::to_bytes`]).
//!
//! ```
//! use phpsess::{serialize, unserialize};
//! let bytes = br#"a:2:{i:0;s:3:"abc";s:1:"f";d:0.5;}"#;
//! let value = unserialize(bytes)?;
//! assert_eq!(serialize(&value), bytes);
//! # Ok::<(), phpsess::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod document;
mod error;
mod hash;
pub mod json;
pub mod laravel;
mod reader;
pub mod save_path;
pub mod serde;
mod serialize;
pub mod session;
pub mod store;
#[cfg(test)]
mod test_rng;
mod unserialize;
pub mod value;

pub use document::Document;
pub use error::{DecodeReason, Error, Result};
pub use reader::MAX_DEPTH;
pub use serialize::{serialize, serialize_into};
pub use unserialize::{unserialize, unserialize_borrowed, unserialize_prefix};
pub use value::{Array, BorrowedKey, BorrowedValue, CustomObject, EnumCase, Key, Object, Value};
