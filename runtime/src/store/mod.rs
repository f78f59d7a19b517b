//! The store: instances, their history, compiled bundles and the durable queue, all
//! in one transactional database (DESIGN.md, "The runtime", **Queue** and **Store**).
//!
//! [`Store`] is the interface the engine, the executor and the API program against;
//! [`SqliteStore`] implements it on one SQLite file, and [`PostgresStore`] on a
//! PostgreSQL database that several runtime processes share; nothing here names a
//! backend's type (except the [`StoreError::Sqlite`] and [`StoreError::Postgres`]
//! wrappers). `runtime/tests/store/` runs the same scenarios on both.
//!
//! # Time
//!
//! Every time is an `i64` count of milliseconds since the Unix epoch, passed in by
//! the caller (`now`, `visible_at`, `lease_until`, ...). The store never reads the
//! clock, so tests drive it on a virtual clock and are deterministic.
//!
//! # The queue
//!
//! The model is Netflix Timestone. A message lives in a named queue and is in one of
//! three states ([`MessageState`], which also keeps *scheduled* apart from ready):
//!
//! - **ready**: waiting. It may be leased once `visible_at <= now`. A message
//!   enqueued (or released) with a `visible_at` after the `now` of that call is
//!   *scheduled* (*delayed* in [`QueueStats`]): this is how timers are stored; it is
//!   kept apart from the ready messages until [`Store::lease`] finds it due.
//! - **leased**: held by an `owner` until `lease_until`. The owner finishes with
//!   [`Store::ack`] (the message is deleted), [`Store::release`] (back to ready, a
//!   nack), [`Store::dead_letter`], or keeps it with [`Store::extend`]. A lease whose
//!   `lease_until <= now` is *expired* and counts as not held: the next
//!   [`Store::lease`] on that queue takes the message back (ready again, or dead when
//!   `max_attempts` is reached) and redelivers it with `attempts + 1`. Delivery is
//!   therefore at least once.
//! - **dead**: parked with a reason, never delivered again ([`Store::dead_letters`]).
//!
//! [`Store::lease`] hands out visible ready messages by highest `priority`, then
//! earliest `deadline` (messages without one after all that have one), then oldest
//! (lowest id). With an `exclusivity` value, at most one message per (queue, value)
//! is leased at any time: a message whose value already has a live lease is skipped,
//! and one lease call takes at most one message per value. `filter` selects messages
//! whose metadata has the given key/value pairs.
//!
//! An `idempotency_key` is unique per queue among live (ready or leased) messages:
//! enqueueing a duplicate writes nothing and returns the existing message's id.
//!
//! Operations taking `now` ([`Store::ack`], [`Store::ack_and_enqueue`], the `ack` of
//! a [`StepCommit`]) refuse an expired lease even when nobody took the message yet.
//! [`Store::release`], [`Store::extend`] and [`Store::dead_letter`] have no `now` and
//! accept a lease that is expired but not yet taken back (which is safe: no other
//! lease of the message or of its exclusivity value can exist until it is).
//!
//! # Instances
//!
//! An instance row holds what the engine needs to resume it (its opaque `state`), what
//! the API shows (`status`, `facts`, `output`, `failure`), and a `version` for
//! optimistic concurrency: every [`StepCommit`] names the version it read and writes
//! version + 1, or fails with [`StoreError::Conflict`] and writes nothing. A step's
//! instance update, history rows, enqueued messages and the ack of the message it
//! consumed are one transaction: after a `kill -9` at any moment either all of a step
//! is there or none of it.

mod call_step;
mod instance;
mod postgres;
mod schedule;
mod sqlite;
mod worker;

pub(crate) use call_step::fill_request;
pub use call_step::{CallStep, CallStepped, OwnCalls};
pub use instance::{
    CallProgress, HistoryRow, InstanceFilter, InstanceRecord, InstanceSummary, NewChild,
    NewHistory, NewInstance, StepCommit, StepStamp,
};
pub use postgres::{POSTGRES_SCHEMA_VERSION, PostgresOptions, PostgresStore};
pub use schedule::{ScheduleRow, ScheduleSpec};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use worker::{WORKER_ALIVE_BEATS, WorkerKind, WorkerRecord, WorkerReport};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::engine::Status;
use crate::names::UnknownName;

/// A message's id: unique in the store and never reused.
pub type MessageId = i64;

crate::names::named_enum! {
    /// Where a message of the queue is (the module documentation says what each
    /// state means). Both stores keep it in `messages.state` as [`MessageState::code`].
    pub enum MessageState("message state") {
        /// Waiting, and leasable once `visible_at <= now`.
        Ready = "ready",
        /// Held by an owner until `lease_until`.
        Leased = "leased",
        /// Parked with a reason, never delivered again.
        Dead = "dead",
        /// Ready, but enqueued (or released) with a `visible_at` after the `now` of
        /// that call: a timer. A lease makes it ready once it is due.
        Scheduled = "scheduled",
    }
}

/// A `messages.state` value that is no [`MessageState`]'s code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown message state code {0}; expected 0 (ready), 1 (leased), 2 (dead) or 3 (scheduled)"
)]
pub struct UnknownStateCode(pub i64);

impl MessageState {
    /// The state's value in the `messages.state` column of both stores (the
    /// migrations' `CHECK (state BETWEEN 0 AND 3)`).
    pub fn code(self) -> i16 {
        match self {
            MessageState::Ready => 0,
            MessageState::Leased => 1,
            MessageState::Dead => 2,
            MessageState::Scheduled => 3,
        }
    }

    /// The state whose [`MessageState::code`] is `code`.
    pub fn from_code(code: i64) -> Result<MessageState, UnknownStateCode> {
        MessageState::ALL
            .iter()
            .copied()
            .find(|s| i64::from(s.code()) == code)
            .ok_or(UnknownStateCode(code))
    }

    /// `template` with each `{ready}`, `{leased}`, `{dead}` and `{scheduled}` replaced
    /// by that state's code: how both stores write a statement that names a state.
    /// The code goes into the SQL as a literal rather than a parameter, so that the
    /// planners can use the partial indexes (`WHERE state = 0`, ...) it matches.
    pub(crate) fn sql(template: &str) -> String {
        MessageState::ALL
            .iter()
            .fold(template.to_string(), |sql, state| {
                sql.replace(
                    &format!("{{{}}}", state.as_str()),
                    &state.code().to_string(),
                )
            })
    }
}

/// A statement of the queue naming message states (see [`MessageState::sql`]), built
/// once and kept for the life of the process: `queue_sql!("… WHERE state = {leased}")`
/// is a `&'static str`.
macro_rules! queue_sql {
    ($template:expr) => {{
        static SQL: ::std::sync::LazyLock<String> =
            ::std::sync::LazyLock::new(|| $crate::store::MessageState::sql($template));
        SQL.as_str()
    }};
}

use queue_sql;

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    pub queue: String,
    /// Higher first.
    pub priority: i64,
    /// Earliest first within a priority; `None` after all `Some`.
    pub deadline: Option<i64>,
    /// Not leasable before this time.
    pub visible_at: i64,
    /// At most one leased message per (queue, value).
    pub exclusivity: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub payload: Json,
    /// Unique per queue among live (ready or leased) messages: enqueueing a duplicate
    /// is a no-op returning the existing id.
    pub idempotency_key: Option<String>,
    /// After this many leases, the next expiry or release moves the message to the
    /// dead letters.
    pub max_attempts: Option<u32>,
}

impl NewMessage {
    /// A message with priority 0, no deadline, visible at `visible_at`, and nothing
    /// else set.
    pub fn new(queue: impl Into<String>, payload: Json, visible_at: i64) -> Self {
        NewMessage {
            queue: queue.into(),
            priority: 0,
            deadline: None,
            visible_at,
            exclusivity: None,
            metadata: BTreeMap::new(),
            payload,
            idempotency_key: None,
            max_attempts: None,
        }
    }
}

/// A message handed out by [`Store::lease`].
#[derive(Debug, Clone, PartialEq)]
pub struct Leased {
    pub id: MessageId,
    pub queue: String,
    pub priority: i64,
    pub payload: Json,
    pub metadata: BTreeMap<String, String>,
    pub exclusivity: Option<String>,
    /// Including this lease.
    pub attempts: u32,
    pub lease_until: i64,
    pub idempotency_key: Option<String>,
}

impl Leased {
    /// `message`, inserted as `id` already leased until `lease_until` (its first
    /// lease): a step's own call (see [`OwnCalls`]).
    pub(crate) fn inserted(id: MessageId, message: &NewMessage, lease_until: i64) -> Leased {
        Leased {
            id,
            queue: message.queue.clone(),
            priority: message.priority,
            payload: message.payload.clone(),
            metadata: message.metadata.clone(),
            exclusivity: message.exclusivity.clone(),
            attempts: 1,
            lease_until,
            idempotency_key: message.idempotency_key.clone(),
        }
    }
}

/// What [`Store::lease`] takes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeaseRequest {
    pub queue: String,
    pub owner: String,
    pub now: i64,
    /// The lease lasts until `now + lease_ms`.
    pub lease_ms: i64,
    /// At most this many messages (0 leases nothing).
    pub limit: usize,
    /// The message's metadata must have each of these keys with one of the given
    /// values (a key with no values matches nothing): `{"pool": ["a", "b"]}` leases
    /// the calls of pools `a` and `b`.
    pub filter: BTreeMap<String, Vec<String>>,
}

/// A leased message as [`Store::held`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub payload: Json,
    /// Including the lease held.
    pub attempts: u32,
    pub lease_until: i64,
}

/// Live leases of one owner (a node) on one queue, at a time `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerLeases {
    pub owner: String,
    pub queue: String,
    pub leases: u64,
}

/// Message counts of one queue at a time `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    pub queue: String,
    /// Ready and visible, plus leased with an expired lease (both can be leased now).
    pub ready: u64,
    /// Ready but not visible before a later time.
    pub delayed: u64,
    /// Held by a live lease.
    pub leased: u64,
    pub dead: u64,
}

impl QueueStats {
    /// Each count with its name (the name of its field in JSON): `ready`, `delayed`,
    /// `leased`, `dead`.
    pub fn counts(&self) -> [(&'static str, u64); 4] {
        [
            ("ready", self.ready),
            ("delayed", self.delayed),
            ("leased", self.leased),
            ("dead", self.dead),
        ]
    }
}

/// A name read back from `column` of row `id` of `table` (an instance's status, a
/// history row's kind); one that names nothing is [`StoreError::Corrupt`].
pub(crate) fn parse_name<T: std::str::FromStr<Err = UnknownName>>(
    text: &str,
    table: &str,
    id: &dyn std::fmt::Display,
    column: &str,
) -> Result<T, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{table} {id}: column {column}: {e}")))
}

/// What [`Store::create_instance`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Created {
    /// The instance was created.
    New,
    /// The idempotency key was already used by this instance; nothing was written.
    Existing(String),
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The instance's version is not the one the step was computed from.
    #[error(
        "instance {instance} changed concurrently: expected version {expected}, found {actual}"
    )]
    Conflict {
        instance: String,
        expected: i64,
        actual: i64,
    },
    /// The lease on a message is no longer held by this owner.
    #[error("lease on message {id} is no longer held by {owner}")]
    LeaseLost { id: MessageId, owner: String },
    /// No such instance.
    #[error("not found: {0}")]
    NotFound(String),
    /// An instance with this id already exists.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The database schema cannot be brought to this build's version.
    #[error("store schema: {0}")]
    Migration(String),
    /// A stored row cannot be read back (bad JSON, out-of-range number, ...).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The caller passed something the store cannot accept.
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {}", postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The database could not be reached (after retrying), or could not say whether a
    /// transaction committed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The store. Methods block (on disk I/O and on other processes' locks): call them
/// from `tokio::task::spawn_blocking` or a dedicated thread, never directly on an
/// async worker thread. Every method's writes are one transaction.
pub trait Store: Send + Sync {
    // ---- instances ----

    /// Inserts the instance and its first step atomically (`first.instance` must be
    /// `new.id` and `first.expected_version` 0; the instance's version becomes 1).
    /// With an idempotency key already used by an instance of the same workflow (keys
    /// are scoped to their workflow), returns
    /// `Ok(Created::Existing(id))` and writes nothing. An id already in use is
    /// [`StoreError::Duplicate`].
    fn create_instance(&self, new: NewInstance, first: StepCommit) -> Result<Created, StoreError> {
        self.create_instance_leasing(new, first, None)
            .map(|(created, _)| created)
    }
    /// [`Store::create_instance`], with the messages of the first step that `own`
    /// picks (see [`OwnCalls`]) leased to `own`'s owner in the same transaction, in the
    /// step's order: a node that starts an instance runs its first calls without a
    /// lease of their own. An instance that existed already leases nothing.
    fn create_instance_leasing(
        &self,
        new: NewInstance,
        first: StepCommit,
        own: Option<(&OwnCalls, &str)>,
    ) -> Result<(Created, Vec<Leased>), StoreError>;
    fn instance(&self, id: &str) -> Result<Option<InstanceRecord>, StoreError>;
    /// The instance's status alone (`None` for an unknown instance): what the call
    /// loop asks before running a call, so that a finished instance's calls never run.
    fn instance_status(&self, id: &str) -> Result<Option<Status>, StoreError> {
        Ok(self.instance(id)?.map(|r| r.status))
    }
    fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>, StoreError>;
    /// The instance's history events with `seq > after_seq`, in order (empty for an
    /// unknown instance).
    fn history(&self, id: &str, after_seq: i64) -> Result<Vec<HistoryRow>, StoreError>;
    /// At most `limit` of the history events with `seq > after`, in order: a page of
    /// a long history (the console's timeline).
    fn history_page(
        &self,
        id: &str,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let mut rows = self.history(id, after_seq)?;
        rows.truncate(limit);
        Ok(rows)
    }
    /// How many history events the instance has (its last `seq`; 0 for an unknown
    /// instance).
    fn history_len(&self, id: &str) -> Result<i64, StoreError> {
        Ok(self.history(id, 0)?.last().map_or(0, |row| row.seq))
    }
    /// How many instances there are of each status (of `workflow`, when given), in
    /// status order; statuses with none are left out.
    fn count_instances(&self, workflow: Option<&str>) -> Result<Vec<(Status, u64)>, StoreError>;
    /// Applies one step; the version goes up by one. See [`StepCommit`].
    fn commit_step(&self, commit: StepCommit) -> Result<(), StoreError>;
    /// Ids of the instances with status [`Status::Running`], in id order.
    fn unfinished_instances(&self) -> Result<Vec<String>, StoreError>;

    // ---- bundles: compiled programs by content hash, so that running instances
    // keep their bundle after a redeploy ----

    /// Stores a bundle; storing a hash again is a no-op.
    fn put_bundle(&self, hash: &str, bytes: &[u8], now: i64) -> Result<(), StoreError>;
    fn bundle(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError>;

    // ---- progress: the latest report of each running call (LANGUAGE.md 10.4) ----

    /// Keeps `report` as the latest progress of the call with idempotency key `key`
    /// of `instance`, replacing the one before.
    fn record_progress(
        &self,
        instance: &str,
        key: &str,
        report: &Json,
        now: i64,
    ) -> Result<(), StoreError>;
    /// The latest progress of each call of `instance` that reported any, by key.
    fn call_progress(&self, instance: &str) -> Result<Vec<CallProgress>, StoreError>;
    /// Forgets the progress of the call with idempotency key `key` (it ended).
    fn clear_progress(&self, key: &str) -> Result<(), StoreError>;

    // ---- schedules (LANGUAGE.md 10.7) ----

    /// Makes the stored schedules those of `specs` (the deployed bundle's), in one
    /// transaction: a new one is stored with `since = now`; an existing one keeps its
    /// state and takes the new definition (a changed trigger also sets `since = now`,
    /// so that the new trigger's past ticks start nothing); one not in `specs` is
    /// deleted.
    fn sync_schedules(&self, specs: &[ScheduleSpec], now: i64) -> Result<(), StoreError>;
    /// Every stored schedule, by name.
    fn schedules(&self) -> Result<Vec<ScheduleRow>, StoreError>;
    /// Pauses or resumes a schedule; resuming sets `since = now`, so that ticks
    /// missed while paused start nothing. `None` for an unknown schedule.
    fn set_schedule_paused(
        &self,
        name: &str,
        paused: bool,
        now: i64,
    ) -> Result<Option<ScheduleRow>, StoreError>;
    /// Records that `tick` was handled: `last_tick = tick`, and with `instance`,
    /// `last_instance = instance`. Only moves forward: false, and nothing written,
    /// when a later tick was recorded already (or, without `instance`, this one).
    fn record_schedule_tick(
        &self,
        name: &str,
        tick: i64,
        instance: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError>;

    // ---- queue ----

    /// Enqueues the messages in one transaction, returning their ids in order (for a
    /// duplicate idempotency key, the existing live message's id).
    fn enqueue(&self, messages: &[NewMessage], now: i64) -> Result<Vec<MessageId>, StoreError>;
    /// Leases up to `limit` visible messages: highest priority, then earliest
    /// deadline, then oldest; skipping exclusivity values that already have a live
    /// lease (and taking at most one per value). An expired lease counts as not held:
    /// such messages are redelivered with attempts+1 (or dead-lettered when
    /// max_attempts is reached).
    fn lease(&self, request: &LeaseRequest) -> Result<Vec<Leased>, StoreError>;
    /// Deletes a leased message; false if the lease was lost (or expired at `now`).
    fn ack(&self, id: MessageId, owner: &str, now: i64) -> Result<bool, StoreError>;
    /// Acks several messages leased by `owner` in one transaction (a worker that
    /// finished a batch): for each id, whether its lease was still held.
    fn ack_many(&self, ids: &[MessageId], owner: &str, now: i64) -> Result<Vec<bool>, StoreError>;
    /// Atomically acks one message and enqueues others (how a finished call becomes
    /// an engine event without being lost or doubled). False, and nothing enqueued,
    /// if the lease was lost.
    fn ack_and_enqueue(
        &self,
        id: MessageId,
        owner: &str,
        messages: &[NewMessage],
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Acknowledges a call and commits the step its completion triggers, in one
    /// transaction, when the instance's events are neither held nor waiting and the
    /// instance is still at the step's expected version; otherwise acknowledges the
    /// call and enqueues its event, as [`Store::ack_and_enqueue`] (see [`CallStep`]).
    fn complete_call_with_step(&self, step: CallStep) -> Result<CallStepped, StoreError>;
    /// Nack: back to ready, visible at `visible_at` (or dead when max_attempts is
    /// reached). False if the lease was lost.
    fn release(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool, StoreError>;
    /// Gives a leased message back, visible at `visible_at` (scheduled), with the
    /// attempt its lease counted given back: its work never began (a function process
    /// that could not be started for lack of descriptors or memory). False if the
    /// lease was lost.
    fn retry_later(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool, StoreError>;
    /// Moves the lease's end to `lease_until`. False if the lease was lost: taken by
    /// another owner, acked, or expired at `now` (an expired lease is not renewed even
    /// while no one has taken the message again: its call may already run elsewhere).
    fn extend(
        &self,
        id: MessageId,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError>;
    /// The message `id` as it is stored, if `owner` holds an unexpired lease on it at
    /// `now`: what a node answering a remote worker reads, rather than trusting the
    /// worker with the call it completes.
    fn held(&self, id: MessageId, owner: &str, now: i64) -> Result<Option<Held>, StoreError>;
    /// Moves a leased message to the dead letters. False if the lease was lost.
    fn dead_letter(&self, id: MessageId, owner: &str, reason: &str) -> Result<bool, StoreError>;
    /// Graceful shutdown: every lease of `owner` goes back to ready, immediately
    /// visible, and the attempt it counted is given back (the owner never worked on
    /// it to the end). Returns how many.
    fn release_owner(&self, owner: &str) -> Result<u64, StoreError>;
    /// Restart after a crash of the only process using the store (SQLite): every
    /// lease is treated as expired now (the attempt counts; dead when max_attempts is
    /// reached, so a message that crashes the runtime cannot loop forever). Returns
    /// how many leases were ended.
    fn release_all_leases(&self) -> Result<u64, StoreError>;
    /// The earliest `visible_at` after `now` of a ready message of `queue` (the next
    /// timer), so a worker can sleep until then.
    fn next_visible_at(&self, queue: &str, now: i64) -> Result<Option<i64>, StoreError>;
    /// The earliest `lease_until` after `now` of a leased message of `queue`: when an
    /// expired lease may make a message leasable again.
    fn next_lease_expiry(&self, queue: &str, now: i64) -> Result<Option<i64>, StoreError>;
    /// Counts per queue, in queue-name order.
    fn queue_stats(&self, now: i64) -> Result<Vec<QueueStats>, StoreError>;
    /// Live leases (`lease_until > now`) per owner and queue, in (owner, queue) order:
    /// what each node sharing the store holds.
    fn leases_by_owner(&self, now: i64) -> Result<Vec<OwnerLeases>, StoreError>;
    /// The oldest dead letters of `queue`: (id, payload, reason); `limit` 0 means all.
    fn dead_letters(
        &self,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<(MessageId, Json, String)>, StoreError>;

    // ---- the registry of workers ----

    /// Writes `worker`'s row (inserted, or replaced whole under its name).
    fn record_worker(&self, worker: &WorkerRecord) -> Result<(), StoreError>;
    /// Adds `report` to its worker's row in one statement, so that reports arriving
    /// at once — on one node or on several — are all counted (see [`WorkerReport`]).
    fn count_worker(&self, report: &WorkerReport) -> Result<(), StoreError>;
    /// Every worker ever recorded, by name.
    fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError>;

    // ---- health ----

    /// Why this store can take no new work until the node restarts, if it cannot:
    /// for SQLite, the file at the store's path is no longer the one open (deleted,
    /// moved or replaced), or a write failed because the disk is read-only, full or
    /// failing. Once a store has a fault it keeps it. Cheap enough to ask before each
    /// piece of new work (one `stat`).
    fn fault(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_states_round_trip_through_their_strings_and_codes() {
        crate::names::tests::round_trip(
            MessageState::ALL,
            &["ready", "leased", "dead", "scheduled"],
            MessageState::as_str,
            "message state",
            &["delayed", "acked", "live"],
        );
        let codes: Vec<i16> = MessageState::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3], "the codes the migrations document");
        for &state in MessageState::ALL {
            assert_eq!(MessageState::from_code(i64::from(state.code())), Ok(state));
        }
        for code in [-1, 4, 255, i64::MAX] {
            assert_eq!(MessageState::from_code(code), Err(UnknownStateCode(code)));
        }
    }

    #[test]
    fn queue_statements_name_states_by_their_codes() {
        assert_eq!(
            MessageState::sql(
                "UPDATE messages SET state = CASE WHEN x THEN {dead} ELSE {ready} END \
                 WHERE state IN ({leased}, {scheduled}) AND metadata = '{}'"
            ),
            "UPDATE messages SET state = CASE WHEN x THEN 2 ELSE 0 END \
             WHERE state IN (1, 3) AND metadata = '{}'"
        );
        assert_eq!(
            queue_sql!("DELETE FROM messages WHERE state = {leased}"),
            "DELETE FROM messages WHERE state = 1"
        );
    }

    #[test]
    fn queue_counts_are_named_like_their_json_fields() {
        let stats = QueueStats {
            queue: "q".into(),
            ready: 1,
            delayed: 2,
            leased: 3,
            dead: 4,
        };
        let json = serde_json::to_value(&stats).unwrap();
        for (name, count) in stats.counts() {
            assert_eq!(json[name], serde_json::json!(count), "{name}");
        }
        assert_eq!(json.as_object().map(|o| o.len()), Some(5));
    }

    #[test]
    fn unreadable_names_are_corrupt_rows() {
        assert_eq!(
            parse_name::<Status>("COMPLETED", "instances", &"i1", "status").ok(),
            Some(Status::Completed)
        );
        match parse_name::<Status>("DONE", "instances", &"i1", "status") {
            Err(StoreError::Corrupt(message)) => assert_eq!(
                message,
                "instances i1: column status: unknown status \"DONE\"; expected one of \
                 RUNNING, STALLED, COMPLETED, FAILED, CANCELLED"
            ),
            other => panic!("expected a corrupt row, got {other:?}"),
        }
    }
}
