//! Workflow instances, their history and the step that changes them, as the store
//! keeps them.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{MessageId, NewMessage, StoreError};
use crate::engine::{HistoryKind, Status};

/// A new workflow instance (see [`super::Store::create_instance`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewInstance {
    pub id: String,
    pub workflow: String,
    /// The hash of the bundle it starts on.
    pub bundle: String,
    pub input: Json,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
}

impl NewInstance {
    /// Whether `first` is this instance's first step: it must name the instance
    /// ([`StoreError::Invalid`] otherwise, before anything is written).
    pub(crate) fn check_first(&self, first: &StepCommit) -> Result<(), StoreError> {
        if first.instance == self.id {
            return Ok(());
        }
        Err(StoreError::Invalid(format!(
            "the first step of instance {} names instance {}",
            self.id, first.instance
        )))
    }
}

/// One instance as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: String,
    pub workflow: String,
    pub bundle: String,
    pub status: Status,
    pub input: Json,
    pub facts: Json,
    pub output: Option<Json>,
    pub failure: Option<String>,
    /// The engine's opaque serialized state.
    pub state: Json,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub idempotency_key: Option<String>,
}

/// A history event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewHistory {
    pub at: i64,
    pub kind: HistoryKind,
    /// A human-readable line.
    pub text: String,
    pub data: Json,
}

/// A stored history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// 1, 2, ... per instance, in the order the events were committed.
    pub seq: i64,
    pub at: i64,
    pub kind: HistoryKind,
    pub text: String,
    pub data: Json,
    /// The step that wrote this row (the same for every row of one step); absent on
    /// rows written before the store recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<StepStamp>,
}

/// Which node took a step and when, in microseconds since the epoch on that node's
/// clock: `started_us` once it had read the instance, `finished_us` just before it
/// sent the commit. A step only commits on the version it read, so the steps of one
/// instance never overlap: each one's `finished_us` precedes the next one's
/// `started_us` (across nodes, as far as their clocks agree).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStamp {
    pub node: String,
    pub started_us: i64,
    pub finished_us: i64,
}

impl StepStamp {
    /// The stamp stored in a history row's `node`, `started_us` and `finished_us`
    /// columns; `None` for rows written before stamps were (all three NULL).
    pub(crate) fn from_columns(
        node: Option<String>,
        started_us: Option<i64>,
        finished_us: Option<i64>,
    ) -> Option<StepStamp> {
        Some(StepStamp {
            node: node?,
            started_us: started_us?,
            finished_us: finished_us?,
        })
    }
}

/// Everything one engine step changes, committed in ONE transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct StepCommit {
    pub instance: String,
    /// Optimistic check: a mismatch is [`super::StoreError::Conflict`] and nothing is written.
    pub expected_version: i64,
    pub status: Status,
    pub facts: Json,
    pub output: Option<Json>,
    pub failure: Option<String>,
    pub state: Json,
    pub now: i64,
    pub history: Vec<NewHistory>,
    pub enqueue: Vec<NewMessage>,
    /// The leased message this step consumed (id, owner): deleted in the same
    /// transaction. If the lease is no longer held by the owner (taken by another
    /// owner, acked, or expired at `now`), the result is [`super::StoreError::LeaseLost`] and
    /// nothing is written.
    pub ack: Option<(MessageId, String)>,
    /// Written on each of the step's history rows.
    pub stamp: Option<StepStamp>,
    /// Child instances the step starts (LANGUAGE.md 10.6), created in the same
    /// transaction; their first event is among `enqueue`. An id that exists already
    /// is left as it is.
    pub children: Vec<NewChild>,
}

/// A child instance created by its parent's step, at version 1 and not yet started
/// (its `Start` event is queued).
#[derive(Debug, Clone, PartialEq)]
pub struct NewChild {
    pub instance: NewInstance,
    pub status: Status,
    pub facts: Json,
    pub state: Json,
}

/// The latest progress report of a running call ([`super::Store::call_progress`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallProgress {
    /// The call's idempotency key (`instance/rule/firing/index/attempt`).
    pub key: String,
    /// The JSON object the function reported.
    pub report: Json,
    /// When the node running the call recorded it, in milliseconds since the epoch.
    pub at: i64,
}

/// Which instances [`super::Store::list_instances`] returns, in id order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstanceFilter {
    pub workflow: Option<String>,
    pub status: Option<Status>,
    /// At most this many; 0 means no limit.
    pub limit: usize,
    /// Only ids greater than this one (for paging: pass the last id of the page).
    pub after: Option<String>,
    /// Only ids less than this one (for paging newest first: the last id of the page).
    pub before: Option<String>,
    /// Only ids that start with this text (a search by id).
    pub id_prefix: Option<String>,
    /// Only instances created at or after this time (ms since the epoch).
    pub created_from: Option<i64>,
    /// Only instances created before this time (ms since the epoch).
    pub created_until: Option<i64>,
    /// Greatest id (newest) first instead of smallest first.
    pub newest_first: bool,
}

/// One line of [`super::Store::list_instances`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSummary {
    pub id: String,
    pub workflow: String,
    pub status: Status,
    pub created_at: i64,
    pub updated_at: i64,
}
