//! The async store's Sentinel place (feature `tokio`): the master the sentinels name, followed
//! through failovers. Every decision is the blocking store's ([`MasterWatch`], [`Plan`] and the
//! helpers of [`super::sentinel`]: which sentinel first, when to ask again, `ROLE` on a new
//! master, `WAIT` after session writes, what a refusal means); this file only does the I/O, over
//! redis-rs's async connections: one kept multiplexed connection to the sentinel that answered
//! last, one [`super::async_store`] host connection to the master (replaced when the master
//! moves), short-lived connections to replicas when a write was not confirmed.
//!
//! Tasks share the place: the watch sits behind a plain mutex that is never held across an
//! `.await`, and the kept sentinel connection behind an async one, so that one task asks the
//! sentinels while the others wait for its answer instead of asking too.

use std::sync::{Arc, Mutex, MutexGuard};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Pipeline, Value};

use super::async_store::AsyncHost;
use super::sentinel::{
    master_addr_cmd, master_label, promoted_from, replica_addrs, replicas_cmd, replication_ids,
    replication_pipeline, sentinel_connection_info, server_endpoint, side_timeout, writes_data,
    Judged, MasterWatch, Plan, SentinelSpec, NOT_MASTER,
};

/// Why a pipeline could not be run at the master.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The exchange failed (connect, I/O, timeout).
    Io(redis::RedisError),
    /// No sentinel named a master (what the last one tried answered).
    NoMaster(String),
    /// The server at `host` refused or did not secure the write: not the master any more, or
    /// too few replicas confirmed it while one of them was being promoted.
    Refused { host: String, detail: String },
}

impl From<redis::RedisError> for Failure {
    fn from(e: redis::RedisError) -> Self {
        Failure::Io(e)
    }
}

/// A master found through Sentinel, for the async store.
pub(crate) struct AsyncSentinel {
    pub spec: SentinelSpec,
    state: Mutex<State>,
    /// The kept connection to the sentinel that answered last, with its index in
    /// `spec.sentinels`. Held while asking: one task asks at a time.
    sentinel: tokio::sync::Mutex<Option<(usize, MultiplexedConnection)>>,
}

struct State {
    watch: MasterWatch,
    /// The connection to the master the watch knows.
    master: Option<Arc<AsyncHost>>,
}

impl AsyncSentinel {
    pub fn new(spec: SentinelSpec) -> Self {
        AsyncSentinel {
            spec,
            state: Mutex::new(State {
                watch: MasterWatch::default(),
                master: None,
            }),
            sentinel: tokio::sync::Mutex::new(None),
        }
    }

    // Nothing in the state can be left half-changed by a panic: a poisoned lock is still good.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current master's label, or the sentinel label before discovery.
    pub fn label(&self) -> String {
        master_label(&self.spec, self.state().watch.master())
    }

    /// Run `p` at the master, asking the sentinels first when the last answer is too old, and
    /// once more when the master turns out to have moved (only for a pipeline that writes no
    /// session data: a write that may have landed is not sent twice).
    pub async fn run(&self, p: &Pipeline) -> Result<Vec<Value>, Failure> {
        let retry_safe = !p.cmd_iter().any(writes_data);
        for attempt in 0..2 {
            let (host, plan) = self.master_for(p).await?;
            let sent = plan.pipeline(p);
            let result = match host.connection().await {
                Ok(mut conn) => sent.query_async(&mut conn).await,
                Err(e) => Err(e),
            };
            // Every failed exchange may mean the master died: error replies come back as values.
            let stale = match plan.judge(result, |_| true) {
                Judged::Done {
                    replies,
                    unconfirmed,
                } => {
                    if plan.check_role {
                        self.if_current(&host, |s| s.watch.role_confirmed());
                    }
                    if let Some(confirmed) = unconfirmed {
                        if !self.unreplicated_is_safe(&host).await {
                            // One of the replicas was promoted (or the sentinels name another
                            // master): what this master just accepted is about to be dropped.
                            let label = self.label();
                            self.forget(&host);
                            return Err(Failure::Refused {
                                host: label,
                                detail: plan.unconfirmed_text(confirmed),
                            });
                        }
                    }
                    return Ok(replies);
                }
                Judged::Stale(e) => e,
                Judged::Failed(e) => return Err(Failure::Io(e)),
            };
            // The master moved (or died): forget it and ask the sentinels again.
            let label = self.label();
            self.forget(&host);
            if attempt == 1 || !retry_safe {
                return Err(match stale {
                    Some(e) => Failure::Io(e),
                    None => Failure::Refused {
                        host: label,
                        detail: NOT_MASTER.into(),
                    },
                });
            }
        }
        Err(Failure::NoMaster(
            "master unavailable after rediscovery".into(),
        ))
    }

    /// The master's connection and how to send `p` there, asking the sentinels first if need be.
    async fn master_for(&self, p: &Pipeline) -> Result<(Arc<AsyncHost>, Plan), Failure> {
        if let Some(found) = self.known(p) {
            return Ok(found);
        }
        self.discover(false).await?;
        self.known(p)
            .ok_or_else(|| Failure::NoMaster("the master was forgotten meanwhile".into()))
    }

    fn known(&self, p: &Pipeline) -> Option<(Arc<AsyncHost>, Plan)> {
        let state = self.state();
        if state.watch.needs_asking() {
            return None;
        }
        let host = state.master.clone()?;
        Some((host, state.watch.plan(&self.spec, p)))
    }

    /// Apply `f` to the state while `host` is still the master's connection (another task may
    /// have moved on meanwhile).
    fn if_current(&self, host: &Arc<AsyncHost>, f: impl FnOnce(&mut State)) {
        let mut state = self.state();
        if state.master.as_ref().is_some_and(|m| Arc::ptr_eq(m, host)) {
            f(&mut state);
        }
    }

    fn forget(&self, host: &Arc<AsyncHost>) {
        self.if_current(host, |s| {
            s.watch.forget_master();
            s.master = None;
        });
    }

    /// Ask the sentinels where the master is (the one that answered last first); switch to it
    /// if it moved. Unless `always`, a task that waited while another asked takes that answer.
    async fn discover(&self, always: bool) -> Result<(), Failure> {
        let mut kept = self.sentinel.lock().await;
        let order: Vec<usize> = {
            let state = self.state();
            if !always && state.master.is_some() && !state.watch.needs_asking() {
                return Ok(());
            }
            state.watch.ask_order(self.spec.sentinels.len()).collect()
        };
        let mut last = String::from("no sentinels configured");
        for n in order {
            let (host, port) = &self.spec.sentinels[n];
            let conn = match kept.take() {
                Some((i, conn)) if i == n => Some(conn),
                _ => None,
            };
            let had_kept = conn.is_some();
            let mut answer = self.ask(host, *port, conn).await;
            if had_kept && answer.is_err() {
                // The kept connection may have died while idle (a restarted sentinel): one new one.
                answer = self.ask(host, *port, None).await;
            }
            match answer {
                Ok(((mhost, mport), conn)) => {
                    *kept = Some((n, conn));
                    let mut state = self.state();
                    if state.watch.named(n, mhost.clone(), mport) || state.master.is_none() {
                        let endpoint = server_endpoint(&self.spec, mhost, mport);
                        state.master =
                            Some(Arc::new(AsyncHost::new(endpoint, self.spec.prefix.clone())));
                    }
                    return Ok(());
                }
                Err(e) => last = format!("{host}:{port}: {e}"),
            }
        }
        Err(Failure::NoMaster(format!(
            "no sentinel named a master: {last}"
        )))
    }

    /// One sentinel's answer to `get-master-addr-by-name`, over `kept` or a new connection.
    async fn ask(
        &self,
        host: &str,
        port: u16,
        kept: Option<MultiplexedConnection>,
    ) -> redis::RedisResult<((String, u16), MultiplexedConnection)> {
        let mut conn = match kept {
            Some(conn) => conn,
            None => {
                let info = sentinel_connection_info(&self.spec, host, port)?;
                redis::Client::open(info)?
                    .get_multiplexed_async_connection_with_config(&side_config(&self.spec))
                    .await?
            }
        };
        let addr: (String, u16) = master_addr_cmd(&self.spec).query_async(&mut conn).await?;
        Ok((addr, conn))
    }

    /// Too few replicas confirmed a write: is that because they are gone (the write stands) or
    /// because a failover is under way (it will be dropped)? As the blocking store decides it:
    /// true when a sentinel still names this master and none of the replicas it knows was
    /// promoted from it ([`promoted_from`]); then `WAIT` is skipped for a while.
    async fn unreplicated_is_safe(&self, host: &Arc<AsyncHost>) -> bool {
        let Some(before) = self.state().watch.master().cloned() else {
            return false;
        };
        if self.discover(true).await.is_err() {
            return false;
        }
        {
            let state = self.state();
            let same = state.watch.master() == Some(&before)
                && state.master.as_ref().is_some_and(|m| Arc::ptr_eq(m, host));
            if !same {
                return false;
            }
        }
        let replicas: Vec<Vec<String>> = {
            let mut kept = self.sentinel.lock().await;
            let Some((_, conn)) = kept.as_mut() else {
                return false;
            };
            match replicas_cmd(&self.spec).query_async(conn).await {
                Ok(r) => r,
                Err(_) => return false,
            }
        };
        // Our master's replication id, which a replica promoted from it keeps as
        // `master_replid2`.
        let ours = match host.connection().await {
            Ok(mut conn) => match replication_pipeline()
                .query_async::<Vec<Value>>(&mut conn)
                .await
            {
                Ok(replies) => match replication_ids(&replies) {
                    (true, Some(replid), _) => replid,
                    _ => return false,
                },
                Err(_) => return false,
            },
            Err(_) => return false,
        };
        for (ip, port) in replica_addrs(&replicas) {
            let endpoint = server_endpoint(&self.spec, ip, port);
            let Ok(client) = super::async_store::client_for(&endpoint) else {
                continue;
            };
            // A replica that is down or silent is no threat to the write.
            let Ok(mut conn) = client
                .get_multiplexed_async_connection_with_config(&side_config(&self.spec))
                .await
            else {
                continue;
            };
            if let Ok(replies) = replication_pipeline()
                .query_async::<Vec<Value>>(&mut conn)
                .await
            {
                if promoted_from(&ours, &replication_ids(&replies)) {
                    return false;
                }
            }
        }
        self.if_current(host, |s| s.watch.unreplicated());
        true
    }
}

/// Connect and reply timeouts for a sentinel or a replica: the connect timeout.
fn side_config(spec: &SentinelSpec) -> AsyncConnectionConfig {
    let timeout = side_timeout(spec);
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}
