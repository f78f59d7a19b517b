//! A worker: a process that runs functions and nothing else (`cosmosc worker`). It
//! leases the calls of the pools it serves from the store, runs them on its executor
//! (the same as a node's: one-shot and warm processes, batches, progress, heartbeats,
//! timeouts, the clean environment), renews their leases while they run and completes
//! them exactly as a node does ([`crate::calls`]). It takes no engine steps and
//! answers no API; it records itself in the registry of workers.
//!
//! A graceful stop stops leasing, lets the running calls finish for a grace period and
//! gives the leases of the rest back at once (not charged an attempt). A worker that
//! dies loses nothing: its leases expire and others lease the calls again.

use crate::calls::{CallSource, Runner, RunnerConfig, StoreSource, StoredPrograms};
use crate::executor::Executor;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// `--pools` named a pool the project has not.
    #[error("the project has no pool {pool:?}; its pools are: {known}")]
    UnknownPool { pool: String, known: String },
    #[error("a worker serves at least one pool")]
    NoPools,
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Its name: unique among the processes sharing the store; its leases' owner.
    pub name: String,
    /// The pools whose calls it leases; empty: every pool of its executor.
    pub pools: Vec<String>,
    /// How long a call's lease lasts without renewal (renewed every third of it while
    /// the call runs): how soon others take the calls of a worker that died.
    pub lease_ms: i64,
    /// How often an idle worker looks at the store when nothing woke it.
    pub poll: Duration,
}

/// The default name of a worker: `HOSTNAME-PID`.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_string());
    format!("{host}-{}", std::process::id())
}

/// What a graceful stop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Calls still running when the grace period ended.
    pub unfinished: usize,
    /// Leases given back.
    pub released: u64,
}

/// A running worker, leasing from a store ([`StoreSource`]) or any other
/// [`CallSource`] (a node's API, for `cosmosc worker --server`).
pub struct Worker<S: CallSource = StoreSource> {
    runner: Arc<Runner<S>>,
    executor: Executor,
    pools: Vec<String>,
}

/// The pools a worker serves: `config.pools` (sorted, each known to `executor`), or
/// every pool of `executor`.
pub fn served_pools(
    executor: &Executor,
    config: &WorkerConfig,
) -> Result<Vec<String>, WorkerError> {
    let known = executor.pool_names();
    let pools = if config.pools.is_empty() {
        known.clone()
    } else {
        let mut pools = config.pools.clone();
        pools.sort();
        pools.dedup();
        pools
    };
    if pools.is_empty() {
        return Err(WorkerError::NoPools);
    }
    if let Some(pool) = pools.iter().find(|p| !known.contains(p)) {
        return Err(WorkerError::UnknownPool {
            pool: pool.clone(),
            known: known.join(", "),
        });
    }
    Ok(pools)
}

impl Worker<StoreSource> {
    /// Starts a worker's loops on the current tokio runtime, leasing from `store`.
    pub fn start(
        store: Arc<dyn Store>,
        executor: Executor,
        config: WorkerConfig,
    ) -> Result<Worker, WorkerError> {
        let pools = served_pools(&executor, &config)?;
        let filter = BTreeMap::from([("pool".to_string(), pools.clone())]);
        let source = StoreSource::new(
            store,
            Arc::new(StoredPrograms::default()),
            config.name.clone(),
            config.lease_ms,
            filter,
        );
        Ok(Worker::start_on(source, executor, &config, pools))
    }
}

impl<S: CallSource> Worker<S> {
    /// Starts a worker's loops on the current tokio runtime, leasing the calls of
    /// `pools` (see [`served_pools`]) from `source`.
    pub fn start_on(
        source: S,
        executor: Executor,
        config: &WorkerConfig,
        pools: Vec<String>,
    ) -> Worker<S> {
        // A call's outcome recorded wakes the worker's lease loop: the call that
        // follows it in its instance is enqueued a moment later, by a node.
        let wake = Arc::new(Notify::new());
        let runner = Runner::start(
            Arc::new(source),
            executor.clone(),
            RunnerConfig {
                kind: crate::store::WorkerKind::Worker,
                pools: pools.clone(),
                max_calls: executor.capacity_of(&pools).max(1),
                poll: config.poll,
                register: true,
            },
            Arc::clone(&wake),
            wake,
        );
        Worker {
            runner,
            executor,
            pools,
        }
    }

    /// The name its leases are held under.
    pub fn name(&self) -> &str {
        self.runner.name()
    }

    /// The pools it serves.
    pub fn pools(&self) -> &[String] {
        &self.pools
    }

    /// Its call runner (counters, calls running).
    pub fn runner(&self) -> &Arc<Runner<S>> {
        &self.runner
    }

    /// Stops leasing, lets running calls finish for up to `grace`, gives back the
    /// leases of the rest, marks the worker stopped in the registry, and stops the
    /// warm processes.
    pub async fn stop(self, grace: Duration) -> Stopped {
        let unfinished = self.runner.drain(grace).await;
        let released = self.runner.finish().await;
        self.executor.shutdown().await;
        Stopped {
            unfinished,
            released,
        }
    }
}
