//! [`SqliteStore`]: the [`Store`] on one SQLite file.
//!
//! # Connection and threads
//!
//! One connection behind a [`std::sync::Mutex`]: calls are serialised, which is what
//! SQLite does with writers anyway. Every method blocks (disk I/O, and waiting up to
//! `busy_timeout` for another process's write lock), so async code calls the store
//! from `tokio::task::spawn_blocking` or a dedicated thread. A panic while the lock
//! is held cannot leave a transaction half-applied (an uncommitted transaction rolls
//! back when dropped), so a poisoned lock is simply taken over.
//!
//! Writes use `BEGIN IMMEDIATE`, so when several processes share the file a writer
//! waits for the lock up front instead of failing to upgrade a read lock later.
//! Statements are prepared once per connection (`prepare_cached`).
//!
//! # Durability
//!
//! The journal is a write-ahead log (`journal_mode=WAL`: readers do not block the
//! writer). By default `synchronous=NORMAL`: a commit writes the log but does not
//! fsync it; the log is synced at checkpoints. A killed *process* (`kill -9`, a
//! panic, an OOM kill) loses nothing that was committed, because the data is in the
//! operating system's page cache. A crash of the *machine* or a power loss can lose
//! the last transactions committed before it, but never corrupts the database or
//! keeps part of a transaction: after a restart the store is as of some earlier
//! commit, and the engine resumes from there (a lost step is recomputed; a lost ack
//! means a message is delivered again, which at-least-once delivery allows). With
//! [`Synchronous::Full`] every commit is fsynced before it returns, which survives a
//! power loss at the price of one fsync per transaction (on the order of a
//! millisecond on an SSD, far more on network disks).
//!
//! # Schema
//!
//! `migrations/NNNN_*.sql`, embedded in the binary, applied in order in one
//! transaction, each recorded in `schema_version`. A database whose schema is newer
//! than this build knows is refused with [`StoreError::Migration`] rather than
//! written to.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use serde_json::Value as Json;

use super::{
    Created, HistoryRow, InstanceFilter, InstanceRecord, InstanceSummary, LeaseRequest, Leased,
    MessageId, NewInstance, NewMessage, OwnerLeases, QueueStats, StepCommit, StepStamp, Store,
    StoreError,
};

type Result<T> = std::result::Result<T, StoreError>;

/// `messages.state` of a message enqueued ready, or scheduled (a timer).
const READY: i64 = 0;
const SCHEDULED: i64 = 3;

/// The migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "queue_states",
        include_str!("migrations/0002_queue_states.sql"),
    ),
    (
        3,
        "step_stamps",
        include_str!("migrations/0003_step_stamps.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 3;

/// How hard a commit waits for the disk (SQLite's `synchronous` pragma).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// No fsync at commit (see the module documentation): survives a killed process,
    /// may lose the last commits on a power loss.
    #[default]
    Normal,
    /// fsync at every commit: survives a power loss.
    Full,
}

/// How [`SqliteStore::open_with`] sets up the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    /// How long a write waits for another process holding the write lock.
    pub busy_timeout: Duration,
    /// Write-ahead log pages after which a commit copies the log back into the
    /// database (a checkpoint, with an fsync of each file even under
    /// [`Synchronous::Normal`]). SQLite's default is 1,000 (4 MB): on a busy queue
    /// that is a checkpoint every hundred messages, and the fsyncs dominate. The
    /// default here, 10,000 pages, lets the log grow to about 40 MB between
    /// checkpoints (the queue's hot pages are rewritten many times in the log but
    /// copied back once).
    pub wal_autocheckpoint: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            wal_autocheckpoint: 10_000,
        }
    }
}

/// The [`Store`] on SQLite.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with the default
    /// options, bringing its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens the database file at `path` with `options`.
    pub fn open_with(path: &Path, options: &SqliteOptions) -> Result<Self> {
        let conn = Connection::open(path)?;
        Self::init(conn, options, true)
    }

    /// A private in-memory database (tests, simulations).
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        Self::init(conn, &SqliteOptions::default(), false)
    }

    fn init(mut conn: Connection, options: &SqliteOptions, file: bool) -> Result<Self> {
        conn.busy_timeout(options.busy_timeout)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if file && !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(journal_mode = %mode, "SQLite store is not in WAL mode");
        }
        let synchronous = match options.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "wal_autocheckpoint", options.wal_autocheckpoint)?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.conn();
        Ok(conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )?)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER NOT NULL PRIMARY KEY,
            name    TEXT    NOT NULL
        ) STRICT",
    )?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |row| row.get(0),
    )?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Migration(format!(
            "the database has schema version {current}, newer than the {SCHEMA_VERSION} this \
             build of Cosmos knows; use a newer Cosmos"
        )));
    }
    for &(version, name, sql) in MIGRATIONS {
        if version <= current {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Migration(format!("migration {version} ({name}): {e}")))?;
        tx.execute(
            "INSERT INTO schema_version (version, name) VALUES (?1, ?2)",
            params![version, name],
        )?;
        tracing::info!(version, name, "applied store migration");
    }
    tx.commit()?;
    Ok(())
}

// ---- conversions ----

fn json_text(value: &Json) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("unserializable JSON: {e}")))
}

fn parse_json(text: &str, table: &str, id: &dyn std::fmt::Display, column: &str) -> Result<Json> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("{table} {id}: column {column}: {e}")))
}

fn parse_metadata(text: &str, id: MessageId) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("messages {id}: column metadata: {e}")))
}

fn to_u32(value: i64, table: &str, id: &dyn std::fmt::Display, column: &str) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        StoreError::Corrupt(format!(
            "{table} {id}: column {column}: {value} out of range"
        ))
    })
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        -1 // SQLite: a negative LIMIT means none
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

// ---- queue, inside a transaction ----

fn enqueue_in(conn: &Connection, messages: &[NewMessage], now: i64) -> Result<Vec<MessageId>> {
    let mut ids = Vec::with_capacity(messages.len());
    for message in messages {
        if let Some(key) = &message.idempotency_key {
            let existing: Option<MessageId> = conn
                .prepare_cached(
                    "SELECT id FROM messages
                     WHERE queue = ?1 AND live_key = ?2",
                )?
                .query_row(params![message.queue, key], |row| row.get(0))
                .optional()?;
            if let Some(id) = existing {
                ids.push(id);
                continue;
            }
        }
        let metadata = serde_json::to_string(&message.metadata)
            .map_err(|e| StoreError::Invalid(format!("unserializable metadata: {e}")))?;
        let payload = json_text(&message.payload)?;
        let id = conn
            .prepare_cached(
                "INSERT INTO messages (queue, state, priority, deadline, deadline_ord, visible_at,
                     exclusivity, metadata, payload, idempotency_key, live_key, max_attempts,
                     attempts, enqueued_at)
                 VALUES (?1, ?12, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, 0, ?11)",
            )?
            .insert(params![
                message.queue,
                message.priority,
                message.deadline,
                message.deadline.unwrap_or(i64::MAX),
                message.visible_at,
                message.exclusivity,
                metadata,
                payload,
                message.idempotency_key,
                message.max_attempts.map(i64::from),
                now,
                if message.visible_at > now {
                    SCHEDULED
                } else {
                    READY
                },
            ])?;
        ids.push(id);
    }
    Ok(ids)
}

/// Makes the scheduled messages of `queue` that are due at `now` ready, and ends the
/// expired leases: back to ready, or dead when the message has had `max_attempts`
/// leases. When there is nothing to do these are index probes that write nothing.
fn prepare_queue(conn: &Connection, queue: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET state = 0 WHERE queue = ?1 AND state = 3 AND visible_at <= ?2",
    )?
    .execute(params![queue, now])?;
    conn.prepare_cached(
        "UPDATE messages SET state = 2, live_key = NULL, owner = NULL, lease_until = NULL,
             dead_reason = 'lease expired after ' || attempts || ' attempt(s)'
         WHERE queue = ?1 AND state = 1 AND lease_until <= ?2
           AND max_attempts IS NOT NULL AND attempts >= max_attempts",
    )?
    .execute(params![queue, now])?;
    conn.prepare_cached(
        "UPDATE messages SET state = 0, owner = NULL, lease_until = NULL
         WHERE queue = ?1 AND state = 1 AND lease_until <= ?2",
    )?
    .execute(params![queue, now])?;
    Ok(())
}

/// Deletes message `id` if `owner` holds a live lease on it at `now`.
fn ack_in(conn: &Connection, id: MessageId, owner: &str, now: i64) -> Result<bool> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM messages WHERE id = ?1 AND state = 1 AND owner = ?2 AND lease_until > ?3",
        )?
        .execute(params![id, owner, now])?;
    Ok(deleted == 1)
}

/// The query listing the leasable messages of a request in delivery order, and its
/// parameters. It walks `messages_ready` in delivery order and stops as soon as the
/// lease is full (the planner, not knowing that, may prefer to sort every visible
/// message, hence `INDEXED BY`); delayed messages are skipped on the index entry.
fn candidates_query(request: &LeaseRequest) -> (String, Vec<Value>) {
    let mut sql = String::from(
        "SELECT m.id, m.exclusivity FROM messages m INDEXED BY messages_ready
         WHERE m.state = 0 AND m.queue = ?1 AND m.visible_at <= ?2
           AND (m.exclusivity IS NULL OR NOT EXISTS (
                SELECT 1 FROM messages l
                WHERE l.state = 1 AND l.queue = m.queue AND l.exclusivity = m.exclusivity))",
    );
    let mut values = vec![
        Value::Text(request.queue.clone()),
        Value::Integer(request.now),
    ];
    for (key, value) in &request.filter {
        let k = values.len() + 1;
        sql.push_str(&format!(
            "\n           AND EXISTS (SELECT 1 FROM json_each(m.metadata) j \
             WHERE j.key = ?{k} AND j.value = ?{})",
            k + 1
        ));
        values.push(Value::Text(key.clone()));
        values.push(Value::Text(value.clone()));
    }
    sql.push_str("\n         ORDER BY m.priority DESC, m.deadline_ord, m.id");
    (sql, values)
}

fn lease_in(conn: &Connection, request: &LeaseRequest) -> Result<Vec<Leased>> {
    prepare_queue(conn, &request.queue, request.now)?;
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let (sql, values) = candidates_query(request);
    let mut chosen = Vec::new();
    {
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query(params_from_iter(values))?;
        let mut taken_values = HashSet::new();
        while let Some(row) = rows.next()? {
            let id: MessageId = row.get(0)?;
            let exclusivity: Option<String> = row.get(1)?;
            if let Some(value) = exclusivity
                && !taken_values.insert(value)
            {
                continue;
            }
            chosen.push(id);
            if chosen.len() >= request.limit {
                break;
            }
        }
    }

    let lease_until = request.now.saturating_add(request.lease_ms);
    let mut leased = Vec::with_capacity(chosen.len());
    let mut statement = conn.prepare_cached(
        "UPDATE messages SET state = 1, owner = ?2, lease_until = ?3, attempts = attempts + 1
         WHERE id = ?1
         RETURNING id, queue, priority, payload, metadata, exclusivity, attempts, lease_until,
                   idempotency_key",
    )?;
    for id in chosen {
        let raw = statement.query_row(params![id, request.owner, lease_until], |row| {
            Ok(RawLeased {
                id: row.get(0)?,
                queue: row.get(1)?,
                priority: row.get(2)?,
                payload: row.get(3)?,
                metadata: row.get(4)?,
                exclusivity: row.get(5)?,
                attempts: row.get(6)?,
                lease_until: row.get(7)?,
                idempotency_key: row.get(8)?,
            })
        })?;
        leased.push(raw.decode()?);
    }
    Ok(leased)
}

struct RawLeased {
    id: MessageId,
    queue: String,
    priority: i64,
    payload: String,
    metadata: String,
    exclusivity: Option<String>,
    attempts: i64,
    lease_until: i64,
    idempotency_key: Option<String>,
}

impl RawLeased {
    fn decode(self) -> Result<Leased> {
        Ok(Leased {
            payload: parse_json(&self.payload, "messages", &self.id, "payload")?,
            metadata: parse_metadata(&self.metadata, self.id)?,
            attempts: to_u32(self.attempts, "messages", &self.id, "attempts")?,
            id: self.id,
            queue: self.queue,
            priority: self.priority,
            exclusivity: self.exclusivity,
            lease_until: self.lease_until,
            idempotency_key: self.idempotency_key,
        })
    }
}

// ---- instances, inside a transaction ----

/// The ack of a step: checked (and applied) before anything else it writes, so that
/// a lost lease fails first. A lost lease wins over a version conflict, being its
/// cause when exclusivity keeps one step of an instance at a time.
fn step_ack(conn: &Connection, commit: &StepCommit) -> Result<()> {
    if let Some((id, owner)) = &commit.ack
        && !ack_in(conn, *id, owner, commit.now)?
    {
        return Err(StoreError::LeaseLost {
            id: *id,
            owner: owner.clone(),
        });
    }
    Ok(())
}

/// The rest of a step besides the instance row: its history rows and new messages.
fn step_rest(conn: &Connection, commit: &StepCommit) -> Result<()> {
    if !commit.history.is_empty() {
        let last: i64 = conn
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM history WHERE instance = ?1")?
            .query_row(params![commit.instance], |row| row.get(0))?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO history (instance, seq, at, kind, text, data, node, started_us,
                 finished_us)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        let stamp = commit.stamp.as_ref();
        for (seq, event) in (last + 1..).zip(&commit.history) {
            insert.execute(params![
                commit.instance,
                seq,
                event.at,
                event.kind,
                event.text,
                json_text(&event.data)?,
                stamp.map(|s| &s.node),
                stamp.map(|s| s.started_us),
                stamp.map(|s| s.finished_us),
            ])?;
        }
    }
    enqueue_in(conn, &commit.enqueue, commit.now)?;
    Ok(())
}

fn optional_json(value: Option<&Json>) -> Result<Option<String>> {
    value.map(json_text).transpose()
}

struct RawInstance {
    id: String,
    workflow: String,
    bundle: String,
    status: String,
    input: String,
    facts: String,
    output: Option<String>,
    failure: Option<String>,
    state: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
    idempotency_key: Option<String>,
}

impl RawInstance {
    fn decode(self) -> Result<InstanceRecord> {
        let id = &self.id;
        Ok(InstanceRecord {
            input: parse_json(&self.input, "instances", id, "input")?,
            facts: parse_json(&self.facts, "instances", id, "facts")?,
            output: self
                .output
                .as_deref()
                .map(|text| parse_json(text, "instances", id, "output"))
                .transpose()?,
            state: parse_json(&self.state, "instances", id, "state")?,
            id: self.id,
            workflow: self.workflow,
            bundle: self.bundle,
            status: self.status,
            failure: self.failure,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
            idempotency_key: self.idempotency_key,
        })
    }
}

impl Store for SqliteStore {
    fn create_instance(&self, new: NewInstance, first: StepCommit) -> Result<Created> {
        if first.instance != new.id {
            return Err(StoreError::Invalid(format!(
                "the first step of instance {} names instance {}",
                new.id, first.instance
            )));
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(key) = &new.idempotency_key {
            let existing: Option<String> = tx
                .prepare_cached("SELECT id FROM instances WHERE idempotency_key = ?1")?
                .query_row(params![key], |row| row.get(0))
                .optional()?;
            if let Some(id) = existing {
                return Ok(Created::Existing(id));
            }
        }
        if first.expected_version != 0 {
            return Err(StoreError::Conflict {
                instance: new.id,
                expected: first.expected_version,
                actual: 0,
            });
        }
        let exists = tx
            .prepare_cached("SELECT 1 FROM instances WHERE id = ?1")?
            .exists(params![new.id])?;
        if exists {
            return Err(StoreError::Duplicate(format!("instance {}", new.id)));
        }
        step_ack(&tx, &first)?;
        tx.prepare_cached(
            "INSERT INTO instances (id, workflow, bundle, status, input, facts, output, failure,
                 state, version, created_at, updated_at, idempotency_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12)",
        )?
        .execute(params![
            new.id,
            new.workflow,
            new.bundle,
            first.status,
            json_text(&new.input)?,
            json_text(&first.facts)?,
            optional_json(first.output.as_ref())?,
            first.failure,
            json_text(&first.state)?,
            new.created_at,
            first.now,
            new.idempotency_key,
        ])?;
        step_rest(&tx, &first)?;
        tx.commit()?;
        Ok(Created::New)
    }

    fn instance(&self, id: &str) -> Result<Option<InstanceRecord>> {
        let conn = self.conn();
        let raw = conn
            .prepare_cached(
                "SELECT id, workflow, bundle, status, input, facts, output, failure, state,
                        version, created_at, updated_at, idempotency_key
                 FROM instances WHERE id = ?1",
            )?
            .query_row(params![id], |row| {
                Ok(RawInstance {
                    id: row.get(0)?,
                    workflow: row.get(1)?,
                    bundle: row.get(2)?,
                    status: row.get(3)?,
                    input: row.get(4)?,
                    facts: row.get(5)?,
                    output: row.get(6)?,
                    failure: row.get(7)?,
                    state: row.get(8)?,
                    version: row.get(9)?,
                    created_at: row.get(10)?,
                    updated_at: row.get(11)?,
                    idempotency_key: row.get(12)?,
                })
            })
            .optional()?;
        raw.map(RawInstance::decode).transpose()
    }

    fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
        let mut sql = String::from(
            "SELECT id, workflow, status, created_at, updated_at FROM instances WHERE 1 = 1",
        );
        let mut values = Vec::new();
        for (column, value) in [
            ("workflow = ", &filter.workflow),
            ("status = ", &filter.status),
            ("id > ", &filter.after),
        ] {
            if let Some(value) = value {
                values.push(Value::Text(value.clone()));
                sql.push_str(&format!(" AND {column}?{}", values.len()));
            }
        }
        values.push(Value::Integer(sql_limit(filter.limit)));
        sql.push_str(&format!(" ORDER BY id LIMIT ?{}", values.len()));
        let conn = self.conn();
        let mut statement = conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params_from_iter(values), |row| {
            Ok(InstanceSummary {
                id: row.get(0)?,
                workflow: row.get(1)?,
                status: row.get(2)?,
                created_at: row.get(3)?,
                updated_at: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn history(&self, id: &str, after_seq: i64) -> Result<Vec<HistoryRow>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT seq, at, kind, text, data, node, started_us, finished_us FROM history
             WHERE instance = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let rows = statement.query_map(params![id, after_seq], |row| {
            let stamp = match (row.get(5)?, row.get(6)?, row.get(7)?) {
                (Some(node), Some(started_us), Some(finished_us)) => Some(StepStamp {
                    node,
                    started_us,
                    finished_us,
                }),
                _ => None,
            };
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                stamp,
            ))
        })?;
        let mut history = Vec::new();
        for row in rows {
            let (seq, at, kind, text, data, step) = row?;
            let data = parse_json(&data, "history", &format_args!("{id}#{seq}"), "data")?;
            history.push(HistoryRow {
                seq,
                at,
                kind,
                text,
                data,
                step,
            });
        }
        Ok(history)
    }

    fn commit_step(&self, commit: StepCommit) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        step_ack(&tx, &commit)?;
        let updated = tx
            .prepare_cached(
                "UPDATE instances SET status = ?3, facts = ?4, output = ?5, failure = ?6,
                     state = ?7, version = version + 1, updated_at = ?8
                 WHERE id = ?1 AND version = ?2",
            )?
            .execute(params![
                commit.instance,
                commit.expected_version,
                commit.status,
                json_text(&commit.facts)?,
                optional_json(commit.output.as_ref())?,
                commit.failure,
                json_text(&commit.state)?,
                commit.now,
            ])?;
        if updated != 1 {
            let actual: Option<i64> = tx
                .prepare_cached("SELECT version FROM instances WHERE id = ?1")?
                .query_row(params![commit.instance], |row| row.get(0))
                .optional()?;
            return Err(match actual {
                None => StoreError::NotFound(format!("instance {}", commit.instance)),
                Some(actual) => StoreError::Conflict {
                    instance: commit.instance,
                    expected: commit.expected_version,
                    actual,
                },
            });
        }
        step_rest(&tx, &commit)?;
        tx.commit()?;
        Ok(())
    }

    fn unfinished_instances(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached("SELECT id FROM instances WHERE status = 'RUNNING' ORDER BY id")?;
        let rows = statement.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    fn put_bundle(&self, hash: &str, bytes: &[u8], now: i64) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO bundles (hash, bytes, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (hash) DO NOTHING",
        )?
        .execute(params![hash, bytes, now])?;
        Ok(())
    }

    fn bundle(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached("SELECT bytes FROM bundles WHERE hash = ?1")?
            .query_row(params![hash], |row| row.get(0))
            .optional()?)
    }

    fn enqueue(&self, messages: &[NewMessage], now: i64) -> Result<Vec<MessageId>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ids = enqueue_in(&tx, messages, now)?;
        tx.commit()?;
        Ok(ids)
    }

    fn lease(&self, request: &LeaseRequest) -> Result<Vec<Leased>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let leased = lease_in(&tx, request)?;
        tx.commit()?;
        Ok(leased)
    }

    fn ack(&self, id: MessageId, owner: &str, now: i64) -> Result<bool> {
        let conn = self.conn();
        ack_in(&conn, id, owner, now)
    }

    fn ack_many(&self, ids: &[MessageId], owner: &str, now: i64) -> Result<Vec<bool>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let acked = ids
            .iter()
            .map(|&id| ack_in(&tx, id, owner, now))
            .collect::<Result<Vec<bool>>>()?;
        tx.commit()?;
        Ok(acked)
    }

    fn ack_and_enqueue(
        &self,
        id: MessageId,
        owner: &str,
        messages: &[NewMessage],
        now: i64,
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !ack_in(&tx, id, owner, now)? {
            return Ok(false);
        }
        enqueue_in(&tx, messages, now)?;
        tx.commit()?;
        Ok(true)
    }

    fn release(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE messages SET
                     state = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN 2 ELSE 3 END,
                     dead_reason = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN 'released after ' || attempts || ' attempt(s)'
                                  ELSE NULL END,
                     live_key = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN NULL ELSE live_key END,
                     visible_at = ?3,
                     owner = NULL,
                     lease_until = NULL
                 WHERE id = ?1 AND state = 1 AND owner = ?2",
            )?
            .execute(params![id, owner, visible_at])?;
        Ok(changed == 1)
    }

    fn extend(&self, id: MessageId, owner: &str, lease_until: i64) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE messages SET lease_until = ?3 WHERE id = ?1 AND state = 1 AND owner = ?2",
            )?
            .execute(params![id, owner, lease_until])?;
        Ok(changed == 1)
    }

    fn dead_letter(&self, id: MessageId, owner: &str, reason: &str) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE messages SET state = 2, dead_reason = ?3, live_key = NULL, owner = NULL,
                     lease_until = NULL
                 WHERE id = ?1 AND state = 1 AND owner = ?2",
            )?
            .execute(params![id, owner, reason])?;
        Ok(changed == 1)
    }

    fn release_owner(&self, owner: &str) -> Result<u64> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE messages SET state = 0, owner = NULL, lease_until = NULL,
                     attempts = MAX(attempts - 1, 0)
                 WHERE state = 1 AND owner = ?1",
            )?
            .execute(params![owner])?;
        Ok(changed as u64)
    }

    fn release_all_leases(&self) -> Result<u64> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE messages SET
                     state = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN 2 ELSE 0 END,
                     dead_reason = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN 'lease ended by a restart after ' || attempts
                                       || ' attempt(s)'
                                  ELSE NULL END,
                     live_key = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN NULL ELSE live_key END,
                     owner = NULL,
                     lease_until = NULL
                 WHERE state = 1",
            )?
            .execute([])?;
        Ok(changed as u64)
    }

    fn next_visible_at(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(
                "SELECT MIN(visible_at) FROM messages
                 WHERE queue = ?1 AND state = 3 AND visible_at > ?2",
            )?
            .query_row(params![queue, now], |row| row.get(0))?)
    }

    fn next_lease_expiry(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(
                "SELECT MIN(lease_until) FROM messages
                 WHERE queue = ?1 AND state = 1 AND lease_until > ?2",
            )?
            .query_row(params![queue, now], |row| row.get(0))?)
    }

    fn queue_stats(&self, now: i64) -> Result<Vec<QueueStats>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT queue,
                 SUM(CASE WHEN (state IN (0, 3) AND visible_at <= ?1)
                            OR (state = 1 AND lease_until <= ?1)
                          THEN 1 ELSE 0 END),
                 SUM(CASE WHEN state IN (0, 3) AND visible_at > ?1 THEN 1 ELSE 0 END),
                 SUM(CASE WHEN state = 1 AND lease_until > ?1 THEN 1 ELSE 0 END),
                 SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END)
             FROM messages GROUP BY queue ORDER BY queue",
        )?;
        let rows = statement.query_map(params![now], |row| {
            Ok(QueueStats {
                queue: row.get(0)?,
                ready: count(row.get(1)?),
                delayed: count(row.get(2)?),
                leased: count(row.get(3)?),
                dead: count(row.get(4)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn leases_by_owner(&self, now: i64) -> Result<Vec<OwnerLeases>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT owner, queue, COUNT(*) FROM messages
             WHERE state = 1 AND lease_until > ?1 AND owner IS NOT NULL
             GROUP BY owner, queue ORDER BY owner, queue",
        )?;
        let rows = statement.query_map(params![now], |row| {
            Ok(OwnerLeases {
                owner: row.get(0)?,
                queue: row.get(1)?,
                leases: count(row.get(2)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<(MessageId, Json, String)>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT id, payload, COALESCE(dead_reason, '') FROM messages
             WHERE queue = ?1 AND state = 2 ORDER BY id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![queue, sql_limit(limit)], |row| {
            Ok((
                row.get::<_, MessageId>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        let mut dead = Vec::new();
        for row in rows {
            let (id, payload, reason) = row?;
            dead.push((
                id,
                parse_json(&payload, "messages", &id, "payload")?,
                reason,
            ));
        }
        Ok(dead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(conn: &Connection, sql: &str, values: Vec<Value>) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = statement
            .query_map(params_from_iter(values), |row| row.get::<_, String>(3))
            .unwrap();
        rows.map(|row| row.unwrap()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn migrations_are_in_order_and_end_at_the_schema_version() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
    }

    #[test]
    fn in_memory_store_works() {
        let store = SqliteStore::open_in_memory().unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let ids = store
            .enqueue(&[NewMessage::new("q", json!({"a": [1, 2]}), 0)], 0)
            .unwrap();
        let leased = store
            .lease(&LeaseRequest {
                queue: "q".into(),
                owner: "w".into(),
                now: 0,
                lease_ms: 10,
                limit: 5,
                filter: BTreeMap::new(),
            })
            .unwrap();
        assert_eq!(leased.len(), 1);
        assert_eq!(leased[0].id, ids[0]);
        assert_eq!(leased[0].payload, json!({"a": [1, 2]}));
        assert_eq!(leased[0].lease_until, 10);
        assert!(store.ack(ids[0], "w", 9).unwrap());
    }

    #[test]
    fn lease_reads_the_ready_index_in_delivery_order() {
        let store = SqliteStore::open_in_memory().unwrap();
        let conn = store.conn();
        let mut request = LeaseRequest {
            queue: "q".into(),
            ..LeaseRequest::default()
        };
        for filter in [
            BTreeMap::new(),
            BTreeMap::from([("k".to_string(), "v".to_string())]),
        ] {
            request.filter = filter;
            let (sql, values) = candidates_query(&request);
            let plan = plan(&conn, &sql, values);
            assert!(plan.contains("USING INDEX messages_ready"), "{plan}");
            assert!(plan.contains("messages_leased_exclusive"), "{plan}");
            assert!(
                !plan.contains("TEMP B-TREE"),
                "sorts instead of using the index:\n{plan}"
            );
        }
        let plan = plan(
            &conn,
            "UPDATE messages SET state = 0 WHERE queue = ?1 AND state = 1 AND lease_until <= ?2",
            vec![Value::Text("q".into()), Value::Integer(0)],
        );
        assert!(plan.contains("messages_leased"), "{plan}");
    }

    #[test]
    fn sql_limit_zero_means_none() {
        assert_eq!(sql_limit(0), -1);
        assert_eq!(sql_limit(7), 7);
    }
}
