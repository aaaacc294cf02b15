//! An r2d2 pool of [`SessionStore`]s for multi-threaded Rust programs (an API server reading PHP
//! sessions). Each pooled store keeps its own connections; checkout does not ping.

use std::sync::Arc;

use super::session_store::{SessionStore, StoreOptions};
use super::topology::Topology;
use crate::error::{Error, Result};

/// A pool of stores over one topology.
pub type StorePool = r2d2::Pool<StoreManager>;

/// Makes [`SessionStore`]s for [`StorePool`].
pub struct StoreManager {
    make_topology: Arc<dyn Fn() -> Result<Topology> + Send + Sync>,
    options: StoreOptions,
}

impl StoreManager {
    /// A manager that builds each store's topology with `make_topology` (cheap: no I/O happens
    /// until a store is used).
    pub fn new(
        make_topology: impl Fn() -> Result<Topology> + Send + Sync + 'static,
        options: StoreOptions,
    ) -> Self {
        StoreManager {
            make_topology: Arc::new(make_topology),
            options,
        }
    }

    /// A pool of up to `max_size` stores, without a liveness ping on checkout: a broken connection is
    /// found on use and, where safe, retried once by the store itself.
    pub fn pool(self, max_size: u32) -> Result<StorePool> {
        r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(0))
            .test_on_check_out(false)
            .build(self)
            .map_err(|e| Error::Connect {
                host: "pool".into(),
                timeout_secs: 0.0,
                id: String::new(),
                detail: e.to_string(),
                source: None,
            })
    }
}

impl r2d2::ManageConnection for StoreManager {
    type Connection = SessionStore;
    type Error = Error;

    fn connect(&self) -> Result<SessionStore> {
        Ok(SessionStore::new(
            (self.make_topology)()?,
            self.options.clone(),
        ))
    }

    fn is_valid(&self, _store: &mut SessionStore) -> Result<()> {
        Ok(())
    }

    fn has_broken(&self, store: &mut SessionStore) -> bool {
        // A store returned while holding a lock would leak it to the next borrower: release it.
        store.close().is_err()
    }
}
