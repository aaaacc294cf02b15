//! The `phpsess` command.
fn main() {}
