//! Table tests for both save_path syntaxes: exact structs for every accepted form, exact error
//! texts for every refused one.

use super::*;
