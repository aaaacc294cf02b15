//! Unit tests for the session encodings, with bytes measured from PHP 8.2.
