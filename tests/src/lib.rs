//! Shared helpers for the compat suite: locating fixtures and running real PHP.
