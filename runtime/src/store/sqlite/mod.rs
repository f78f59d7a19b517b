//! [`SqliteStore`]: the [`Store`] on one SQLite file.
//!
//! # Connection and threads
//!
//! One connection behind a [`std::sync::Mutex`] for the writes and the reads that go
//! with them: calls are serialised, which is what SQLite does with writers anyway.
//! Calls' completions and new instances are committed in groups by whoever holds the
//! connection when they arrive (`group_commit.rs`). A second, read-only connection
//! serves the reads made outside any write (an instance, listings, history:
//! `reader.rs`), so that they do not queue behind the writes. Every method blocks
//! (disk I/O, and waiting up to `busy_timeout` for another process's write lock), so
//! async code calls the store from `tokio::task::spawn_blocking` or a dedicated
//! thread. A panic while the lock is held cannot leave a transaction half-applied (an
//! uncommitted transaction rolls back when dropped), so a poisoned lock is simply taken
//! over.
//!
//! Writes use `BEGIN IMMEDIATE`, so when several processes share the file a writer
//! waits for the lock up front instead of failing to upgrade a read lock later.
//! Statements are prepared once per connection (`prepare_cached`), `BEGIN IMMEDIATE`
//! and `COMMIT` included ([`WriteTx`]).
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

mod call_step;
#[cfg(test)]
mod fixtures;
mod group_commit;
mod health;
mod instances;
mod migrations;
mod queue;
mod reader;
mod reads;
mod schedules;
mod watched;
mod workers;

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value as Json;

use super::{
    CallProgress, CallStep, CallStepped, Created, Held, HistoryRow, InstanceFilter, InstanceRecord,
    InstanceSummary, LeaseRequest, Leased, MessageId, NewInstance, NewMessage, OwnCalls,
    OwnerLeases, QueueStats, StepCommit, Store, StoreError, WorkerRecord, WorkerReport, queue_sql,
};
use crate::engine::Status;
use group_commit::ConnGuard;
use health::Health;
use instances::{commit_in, instance_in};
use migrations::migrate;
use queue::{ack_in, enqueue_in, lease_in};

type Result<T> = std::result::Result<T, StoreError>;

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

/// The [`Store`] on SQLite: the database ([`Db`]) and the watch on its file
/// ([`Health`]) that notices when it can no longer be written (`watched.rs`).
#[derive(Debug)]
pub struct SqliteStore {
    db: Db,
    health: Health,
}

/// The connection; the [`Store`] methods as SQL.
#[derive(Debug)]
struct Db {
    conn: Mutex<Connection>,
    /// Completions waiting for their group commit (`group_commit.rs`).
    waiting: Mutex<Vec<group_commit::Waiting>>,
    /// A read-only connection to the same file for reads of an instance, which then
    /// do not wait for the writer's transactions (a reader of the write-ahead log
    /// sees every transaction committed before its read began); none for an
    /// in-memory database, which no other connection can open.
    reader: Option<Mutex<Connection>>,
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
        let mut db = Db::init(conn, options, true)?;
        db.reader = Some(Mutex::new(reader::open(path, options)?));
        // After `init` wrote the schema: the file and its write-ahead log exist.
        let health = Health::of_file(path)?;
        Ok(SqliteStore { db, health })
    }

    /// A private in-memory database (tests, simulations).
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        Ok(SqliteStore {
            db: Db::init(conn, &SqliteOptions::default(), false)?,
            health: Health::in_memory(),
        })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        self.db.schema_version()
    }

    #[cfg(test)]
    fn conn(&self) -> ConnGuard<'_> {
        self.db.conn()
    }
}

impl Db {
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
        Ok(Db {
            conn: Mutex::new(conn),
            waiting: Mutex::new(Vec::new()),
            reader: None,
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

    /// The connection, held until the guard is dropped (which then commits the
    /// completions that waited meanwhile: `group_commit.rs`).
    fn conn(&self) -> ConnGuard<'_> {
        ConnGuard::new(
            self,
            self.conn.lock().unwrap_or_else(PoisonError::into_inner),
        )
    }
}

/// A write transaction (`BEGIN IMMEDIATE`) through statements kept in the
/// connection's cache: rusqlite's `Transaction` parses `BEGIN` and `COMMIT` anew
/// each time, which showed in the queue's profile (a message takes up to three
/// transactions). Rolled back when dropped uncommitted (an error, or a panic).
struct WriteTx<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> WriteTx<'c> {
    fn begin(conn: &'c Connection) -> Result<Self> {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        Ok(WriteTx { conn, open: true })
    }

    fn commit(mut self) -> Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl Deref for WriteTx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for WriteTx<'_> {
    fn drop(&mut self) {
        if self.open && !self.conn.is_autocommit() {
            // Nothing to report to: the caller already has the error that got here.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
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

/// A counter as a column value (a counter past `i64::MAX` stays there).
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        -1 // SQLite: a negative LIMIT means none
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

fn optional_json(value: Option<&Json>) -> Result<Option<String>> {
    value.map(json_text).transpose()
}

impl Store for Db {
    fn create_instance_leasing(
        &self,
        new: NewInstance,
        first: StepCommit,
        own: Option<(&OwnCalls, &str)>,
    ) -> Result<(Created, Vec<Leased>)> {
        new.check_first(&first)?;
        let own = own.map(|(own, owner)| (own.clone(), owner.to_string()));
        self.create_in_group(new, first, own)
    }

    fn instance(&self, id: &str) -> Result<Option<InstanceRecord>> {
        let conn = self.read();
        instance_in(&conn, id)
    }

    fn instance_status(&self, id: &str) -> Result<Option<Status>> {
        let conn = self.read();
        let status: Option<String> = conn
            .prepare_cached("SELECT status FROM instances WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?;
        status
            .map(|s| super::parse_name(&s, "instances", &id, "status"))
            .transpose()
    }

    fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
        reads::list_in(&self.read(), filter)
    }

    fn count_instances(&self, workflow: Option<&str>) -> Result<Vec<(Status, u64)>> {
        reads::count_in(&self.read(), workflow)
    }

    fn history_page(&self, id: &str, after_seq: i64, limit: usize) -> Result<Vec<HistoryRow>> {
        reads::history_in(&self.read(), id, after_seq, sql_limit(limit))
    }

    fn history_len(&self, id: &str) -> Result<i64> {
        reads::history_len_in(&self.read(), id)
    }

    fn history(&self, id: &str, after_seq: i64) -> Result<Vec<HistoryRow>> {
        reads::history_in(&self.read(), id, after_seq, -1)
    }

    fn commit_step(&self, commit: StepCommit) -> Result<()> {
        let conn = self.conn();
        let tx = WriteTx::begin(&conn)?;
        commit_in(&tx, &commit, None)?;
        tx.commit()?;
        Ok(())
    }

    fn unfinished_instances(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached("SELECT id FROM instances WHERE status = ?1 ORDER BY id")?;
        let rows = statement.query_map(params![Status::Running.as_str()], |row| row.get(0))?;
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

    fn record_progress(&self, instance: &str, key: &str, report: &Json, now: i64) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO call_progress (key, instance, report, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET report = excluded.report, at = excluded.at",
        )?
        .execute(params![key, instance, report.to_string(), now])?;
        Ok(())
    }

    fn call_progress(&self, instance: &str) -> Result<Vec<CallProgress>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT key, report, at FROM call_progress WHERE instance = ?1 ORDER BY key",
        )?;
        let rows = statement.query_map(params![instance], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (key, report, at) = row?;
            let report = serde_json::from_str(&report)
                .map_err(|e| StoreError::Corrupt(format!("call_progress {key}: {e}")))?;
            out.push(CallProgress { key, report, at });
        }
        Ok(out)
    }

    fn clear_progress(&self, key: &str) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached("DELETE FROM call_progress WHERE key = ?1")?
            .execute(params![key])?;
        Ok(())
    }

    fn record_worker(&self, worker: &WorkerRecord) -> Result<()> {
        self.write_worker(worker)
    }

    fn count_worker(&self, report: &WorkerReport) -> Result<()> {
        self.add_to_worker(report)
    }

    fn workers(&self) -> Result<Vec<WorkerRecord>> {
        self.read_workers()
    }

    fn bundle(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached("SELECT bytes FROM bundles WHERE hash = ?1")?
            .query_row(params![hash], |row| row.get(0))
            .optional()?)
    }

    fn sync_schedules(&self, specs: &[super::ScheduleSpec], now: i64) -> Result<()> {
        self.put_schedules(specs, now)
    }

    fn schedules(&self) -> Result<Vec<super::ScheduleRow>> {
        self.read_schedules()
    }

    fn set_schedule_paused(
        &self,
        name: &str,
        paused: bool,
        now: i64,
    ) -> Result<Option<super::ScheduleRow>> {
        self.pause_schedule(name, paused, now)
    }

    fn record_schedule_tick(
        &self,
        name: &str,
        tick: i64,
        instance: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        self.mark_schedule_tick(name, tick, instance, now)
    }

    fn enqueue(&self, messages: &[NewMessage], now: i64) -> Result<Vec<MessageId>> {
        let conn = self.conn();
        let tx = WriteTx::begin(&conn)?;
        let ids = enqueue_in(&tx, messages, now)?;
        tx.commit()?;
        Ok(ids)
    }

    fn lease(&self, request: &LeaseRequest) -> Result<Vec<Leased>> {
        let conn = self.conn();
        let tx = WriteTx::begin(&conn)?;
        let leased = lease_in(&tx, request)?;
        tx.commit()?;
        Ok(leased)
    }

    fn ack(&self, id: MessageId, owner: &str, now: i64) -> Result<bool> {
        let conn = self.conn();
        ack_in(&conn, id, owner, now)
    }

    fn ack_many(&self, ids: &[MessageId], owner: &str, now: i64) -> Result<Vec<bool>> {
        let conn = self.conn();
        let tx = WriteTx::begin(&conn)?;
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
        let conn = self.conn();
        let tx = WriteTx::begin(&conn)?;
        if !ack_in(&tx, id, owner, now)? {
            return Ok(false);
        }
        enqueue_in(&tx, messages, now)?;
        tx.commit()?;
        Ok(true)
    }

    fn complete_call_with_step(&self, step: CallStep) -> Result<CallStepped> {
        self.complete_in_group(step)
    }

    fn release(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(queue_sql!(
                "UPDATE messages SET
                     state = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN {dead} ELSE {scheduled} END,
                     dead_reason = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN 'released after ' || attempts || ' attempt(s)'
                                  ELSE NULL END,
                     live_key = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN NULL ELSE live_key END,
                     visible_at = ?3,
                     owner = NULL,
                     lease_until = NULL
                 WHERE id = ?1 AND state = {leased} AND owner = ?2"
            ))?
            .execute(params![id, owner, visible_at])?;
        Ok(changed == 1)
    }

    fn retry_later(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(queue_sql!(
                "UPDATE messages SET state = {scheduled}, visible_at = ?3, owner = NULL,
                     lease_until = NULL, attempts = MAX(attempts - 1, 0)
                 WHERE id = ?1 AND state = {leased} AND owner = ?2"
            ))?
            .execute(params![id, owner, visible_at])?;
        Ok(changed == 1)
    }

    fn extend(&self, id: MessageId, owner: &str, now: i64, lease_until: i64) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(queue_sql!(
                "UPDATE messages SET lease_until = ?4
                 WHERE id = ?1 AND state = {leased} AND owner = ?2 AND lease_until > ?3"
            ))?
            .execute(params![id, owner, now, lease_until])?;
        Ok(changed == 1)
    }

    fn held(&self, id: MessageId, owner: &str, now: i64) -> Result<Option<Held>> {
        queue::held_in(&self.conn(), id, owner, now)
    }

    fn dead_letter(&self, id: MessageId, owner: &str, reason: &str) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(queue_sql!(
                "UPDATE messages SET state = {dead}, dead_reason = ?3, live_key = NULL,
                     owner = NULL, lease_until = NULL
                 WHERE id = ?1 AND state = {leased} AND owner = ?2"
            ))?
            .execute(params![id, owner, reason])?;
        Ok(changed == 1)
    }

    fn release_owner(&self, owner: &str) -> Result<u64> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(queue_sql!(
                "UPDATE messages SET state = {ready}, owner = NULL, lease_until = NULL,
                     attempts = MAX(attempts - 1, 0)
                 WHERE state = {leased} AND owner = ?1"
            ))?
            .execute(params![owner])?;
        Ok(changed as u64)
    }

    fn release_all_leases(&self) -> Result<u64> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(queue_sql!(
                "UPDATE messages SET
                     state = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN {dead} ELSE {ready} END,
                     dead_reason = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN 'lease ended by a restart after ' || attempts
                                       || ' attempt(s)'
                                  ELSE NULL END,
                     live_key = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                                  THEN NULL ELSE live_key END,
                     owner = NULL,
                     lease_until = NULL
                 WHERE state = {leased}"
            ))?
            .execute([])?;
        Ok(changed as u64)
    }

    fn next_visible_at(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(queue_sql!(
                "SELECT MIN(visible_at) FROM messages
                 WHERE queue = ?1 AND state = {scheduled} AND visible_at > ?2"
            ))?
            .query_row(params![queue, now], |row| row.get(0))?)
    }

    fn next_lease_expiry(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached(queue_sql!(
                "SELECT MIN(lease_until) FROM messages
                 WHERE queue = ?1 AND state = {leased} AND lease_until > ?2"
            ))?
            .query_row(params![queue, now], |row| row.get(0))?)
    }

    fn queue_stats(&self, now: i64) -> Result<Vec<QueueStats>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(queue_sql!(
            "SELECT queue,
                 SUM(CASE WHEN (state IN ({ready}, {scheduled}) AND visible_at <= ?1)
                            OR (state = {leased} AND lease_until <= ?1)
                          THEN 1 ELSE 0 END),
                 SUM(CASE WHEN state IN ({ready}, {scheduled}) AND visible_at > ?1
                          THEN 1 ELSE 0 END),
                 SUM(CASE WHEN state = {leased} AND lease_until > ?1 THEN 1 ELSE 0 END),
                 SUM(CASE WHEN state = {dead} THEN 1 ELSE 0 END)
             FROM messages GROUP BY queue ORDER BY queue"
        ))?;
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
        let mut statement = conn.prepare_cached(queue_sql!(
            "SELECT owner, queue, COUNT(*) FROM messages
             WHERE state = {leased} AND lease_until > ?1 AND owner IS NOT NULL
             GROUP BY owner, queue ORDER BY owner, queue"
        ))?;
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
        let mut statement = conn.prepare_cached(queue_sql!(
            "SELECT id, payload, COALESCE(dead_reason, '') FROM messages
             WHERE queue = ?1 AND state = {dead} ORDER BY id LIMIT ?2"
        ))?;
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
    use super::migrations::SCHEMA_VERSION;
    use super::*;
    use serde_json::json;

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
    fn sql_limit_zero_means_none() {
        assert_eq!(sql_limit(0), -1);
        assert_eq!(sql_limit(7), 7);
    }
}
