//! Shared helpers for the compat suite: locating fixtures and running real PHP.

pub mod artifacts;
pub mod cli;
pub mod fixtures;
pub mod php;
pub mod process_group;
pub mod rng;
pub mod servers;
pub mod web;
