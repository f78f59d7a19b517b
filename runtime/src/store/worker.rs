//! The registry of workers: the processes that run functions, as the store keeps
//! them ([`super::Store::record_worker`], [`super::Store::count_worker`],
//! [`super::Store::workers`]).

use serde::{Deserialize, Serialize};

crate::names::named_enum! {
    /// What kind of process a row of the registry of workers is.
    pub enum WorkerKind("worker kind") {
        /// A `cosmosc worker`: runs functions only.
        Worker = "worker",
        /// A node that runs functions itself.
        Node = "node",
        /// A worker that leases through the HTTP API (`/v1/worker/…`), in any language.
        Http = "http",
    }
}

/// How many heartbeats a worker may miss before the registry calls it dead.
pub const WORKER_ALIVE_BEATS: i64 = 3;

/// One process that runs functions — a `cosmosc worker`, or a node that runs them
/// itself — as the registry of workers keeps it ([`super::Store::record_worker`]). The row
/// is written again at every heartbeat and stays after the process is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// Unique among the processes sharing the store; the owner of its leases.
    pub name: String,
    pub kind: WorkerKind,
    /// The pools whose calls it leases.
    pub pools: Vec<String>,
    /// The Cosmos version it runs.
    pub version: String,
    pub started_at: i64,
    /// Its latest heartbeat.
    pub last_seen: i64,
    /// How often it beats.
    pub heartbeat_ms: i64,
    /// When it stopped gracefully (`None` while it runs, or when it died).
    pub stopped_at: Option<i64>,
    /// Calls it leased, and of those, how many it recorded as completed (a result)
    /// and as failed (a failure), since it started.
    pub leased: u64,
    pub completed: u64,
    pub failed: u64,
}

/// What a node learned of a worker it answers (an HTTP worker): seen at `now`, with
/// calls it leased, completed and failed since its last report. Added to the worker's
/// row by [`super::Store::count_worker`]; a row of another kind or of a stopped worker starts
/// over (started at `now`, counting from zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    pub name: String,
    pub kind: WorkerKind,
    /// The pools it now serves, when the report says (a lease request does).
    pub pools: Option<Vec<String>>,
    /// How often it is seen at the latest, when the report says.
    pub heartbeat_ms: Option<i64>,
    pub now: i64,
    pub leased: u64,
    pub completed: u64,
    pub failed: u64,
}

impl WorkerRecord {
    /// Whether it is running at `now`: not stopped, and seen within
    /// [`WORKER_ALIVE_BEATS`] heartbeats.
    pub fn alive(&self, now: i64) -> bool {
        self.stopped_at.is_none()
            && now.saturating_sub(self.last_seen)
                <= WORKER_ALIVE_BEATS.saturating_mul(self.heartbeat_ms.max(1))
    }
}
