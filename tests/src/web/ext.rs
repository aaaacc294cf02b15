//! The PHP extensions a test process loads: Debian's igbinary and phpredis, and our `phpsess.so`
//! ([`phpsess_extension`], built before the tests: see [`crate::artifacts`]).
//!
//! Every PHP process of the compat suite runs with `-n` (no php.ini, no conf.d), so nothing from
//! the machine's PHP configuration leaks in; the extensions are loaded with `-d extension=...`,
//! igbinary before redis because Debian's phpredis links against it.

pub use crate::artifacts::phpsess_extension;

/// Which save-handler extensions a PHP process loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extensions {
    /// igbinary and phpredis only (the fleet before the migration).
    Phpredis,
    /// igbinary, phpredis and phpsess (a migrating fleet: the INI picks the handler).
    All,
}

impl Extensions {
    /// `extension=` values in load order.
    pub fn load_list(self) -> Vec<String> {
        let mut list = vec!["igbinary".to_owned(), "redis".to_owned()];
        if self == Extensions::All {
            list.push(phpsess_extension().display().to_string());
        }
        list
    }

    /// `-d extension=...` arguments for `php -n` or `php-fpm -n`.
    pub fn args(self) -> Vec<String> {
        self.load_list()
            .into_iter()
            .flat_map(|e| ["-d".to_owned(), format!("extension={e}")])
            .collect()
    }
}
