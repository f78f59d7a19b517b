//! [`PostgresStore`]: the [`Store`] on PostgreSQL, for several runtime processes
//! (nodes) sharing one database. Nodes need no configuration of each other: pointing
//! them at the same database is enough.
//!
//! # Connections
//!
//! The synchronous `postgres` client behind an `r2d2` pool ([`PostgresOptions`]);
//! statements are prepared once per connection. Every method blocks, like the SQLite
//! store's: call it from `tokio::task::spawn_blocking`. Writes are read-committed
//! transactions; connection loss is retried with backoff, and a commit whose answer
//! was lost is resolved with `txid_status` so that nothing is applied twice (see
//! `conn.rs`). TLS with rustls, as libpq's `sslmode` and `sslrootcert` say (`tls.rs`).
//!
//! # Leases across nodes
//!
//! See `queue.rs`: `FOR UPDATE SKIP LOCKED` to pick messages, an advisory lock per
//! exclusivity value, and a unique partial index so that the database itself refuses
//! two live leases of one (queue, value). Leases held by a node that died expire and
//! are taken back by the next lease on the queue, from any node, exactly as on SQLite;
//! [`Store::release_all_leases`] exists but a runtime never calls it on PostgreSQL
//! (other nodes' leases are alive).
//!
//! # Schema
//!
//! `migrations/postgres/NNNN_*.sql`, applied in order in one transaction under an
//! advisory lock (nodes starting together migrate once), each recorded in
//! `schema_version`. A schema newer than this build knows is refused. The tables live
//! in the connection's current schema: put `options=-c search_path=NAME` in the URL to
//! use another one than `public`.

mod call_step;
mod conn;
mod instances;
mod migrations;
mod queue;
mod schedules;
mod tls;
mod workers;

use std::str::FromStr;

use postgres::types::ToSql;
use serde_json::Value as Json;

use super::{
    CallProgress, Created, Held, HistoryRow, InstanceFilter, InstanceRecord, InstanceSummary,
    LeaseRequest, Leased, MessageId, MessageState, NewInstance, NewMessage, OwnCalls, OwnerLeases,
    QueueStats, StepCommit, StepStamp, Store, StoreError, WorkerRecord, WorkerReport, parse_name,
    queue_sql,
};
use crate::engine::Status;
pub use conn::PostgresOptions;
use conn::{Db, Finish, Manager};
pub use migrations::POSTGRES_SCHEMA_VERSION;
use migrations::migrate;

type Result<T> = std::result::Result<T, StoreError>;

/// The [`Store`] on PostgreSQL.
pub struct PostgresStore {
    db: Db,
    /// Where it connects, without the password.
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user@host:port/db?…`, or a
    /// libpq key/value string) with the default options, bringing its schema up to date.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_with(url, &PostgresOptions::default())
    }

    pub fn open_with(url: &str, options: &PostgresOptions) -> Result<Self> {
        let (url, ssl_mode, tls) = tls::split(url)?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| StoreError::Invalid(format!("bad PostgreSQL URL: {e}")))?;
        if let Some(mode) = ssl_mode {
            config.ssl_mode(mode);
        }
        let tls = tls::connector(&tls)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("cosmos");
        }
        let target = format!(
            "{:?}/{}",
            config.get_hosts(),
            config.get_dbname().unwrap_or_default()
        );
        let manager = Manager { config, tls };
        let mut client = manager.connect_client()?;
        let migrated = migrate(&mut client);
        conn::drop_outside_runtime(client);
        migrated?;
        Ok(PostgresStore {
            db: Db::new(manager, options.clone()),
            target,
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64> {
        self.db.read("schema_version", |conn| {
            let row =
                conn.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?;
            Ok(i64::from(row.get::<_, i32>(0)))
        })
    }

    /// Test hook: the next `n` commits behave as if the connection broke while the
    /// answer to `COMMIT` was on its way (they did commit; the store must find out).
    #[doc(hidden)]
    pub fn lose_commit_answers(&self, n: u32) {
        self.db.lose_commit_answers(n);
    }
}

/// A PostgreSQL error with its causes (the client's own message is only its kind,
/// such as "db error").
pub(super) fn describe(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

// ---- conversions ----

pub(super) fn json_text(value: &Json) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("unserializable JSON: {e}")))
}

pub(super) fn parse_json(
    text: &str,
    table: &str,
    id: &dyn std::fmt::Display,
    column: &str,
) -> Result<Json> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("{table} {id}: column {column}: {e}")))
}

pub(super) fn to_u32(
    value: i64,
    table: &str,
    id: &dyn std::fmt::Display,
    column: &str,
) -> Result<u32> {
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

/// `LIMIT $n`: NULL is no limit.
fn sql_limit(limit: usize) -> Option<i64> {
    (limit > 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX))
}

pub(super) fn optional_json(value: Option<&Json>) -> Result<Option<String>> {
    value.map(json_text).transpose()
}

/// `UPDATE … SET` expressions that end a lease as expired: back to `back_to` (ready,
/// or scheduled), or dead with `reason` when the message has had `max_attempts` leases.
fn end_lease(back_to: MessageState, reason: &str) -> String {
    let (dead, back_to) = (MessageState::Dead.code(), back_to.code());
    format!(
        "state = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                      THEN {dead} ELSE {back_to} END,
         dead_reason = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                      THEN '{reason} ' || attempts || ' attempt(s)' ELSE NULL END,
         live_key = CASE WHEN max_attempts IS NOT NULL AND attempts >= max_attempts
                      THEN NULL ELSE live_key END,
         owner = NULL,
         lease_until = NULL"
    )
}

impl PostgresStore {
    /// The history rows of instance `id` after `after_seq`, at most `limit` of them.
    fn history_rows(
        &self,
        id: &str,
        after_seq: i64,
        limit: Option<i64>,
    ) -> Result<Vec<HistoryRow>> {
        self.db.read("history", |conn| {
            let rows = conn.query(
                "SELECT seq, at, kind, text, data, node, started_us, finished_us FROM history
                 WHERE instance = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                &[&id, &after_seq, &limit],
            )?;
            rows.iter()
                .map(|row| {
                    let seq: i64 = row.get(0);
                    let kind: String = row.get(2);
                    let data: String = row.get(4);
                    let step = StepStamp::from_columns(row.get(5), row.get(6), row.get(7));
                    let row_id = format!("{id}#{seq}");
                    Ok(HistoryRow {
                        step,
                        seq,
                        at: row.get(1),
                        kind: parse_name(&kind, "history", &row_id, "kind")?,
                        text: row.get(3),
                        data: parse_json(&data, "history", &row_id, "data")?,
                    })
                })
                .collect()
        })
    }
}

impl Store for PostgresStore {
    fn create_instance_leasing(
        &self,
        new: NewInstance,
        first: StepCommit,
        own: Option<(&OwnCalls, &str)>,
    ) -> Result<(Created, Vec<Leased>)> {
        new.check_first(&first)?;
        self.db.write("create_instance", |conn| {
            instances::create_in(conn, &new, &first, own)
        })
    }

    fn instance(&self, id: &str) -> Result<Option<InstanceRecord>> {
        self.db.read("instance", |conn| {
            conn.query_opt(
                "SELECT id, workflow, bundle, status, input, facts, output, failure, state,
                        version, created_at, updated_at, idempotency_key
                 FROM instances WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(instances::decode_instance)
            .transpose()
        })
    }

    fn instance_status(&self, id: &str) -> Result<Option<Status>> {
        self.db.read("instance status", |conn| {
            conn.query_opt("SELECT status FROM instances WHERE id = $1", &[&id])?
                .map(|row| {
                    let status: String = row.get(0);
                    super::parse_name(&status, "instances", &id, "status")
                })
                .transpose()
        })
    }

    fn list_instances(&self, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
        let mut sql = String::from(
            "SELECT id, workflow, status, created_at, updated_at FROM instances WHERE TRUE",
        );
        let conditions = [
            ("workflow = ", filter.workflow.as_deref()),
            ("status = ", filter.status.map(Status::as_str)),
            ("id > ", filter.after.as_deref()),
            ("id < ", filter.before.as_deref()),
            ("starts_with(id, ", filter.id_prefix.as_deref()),
        ];
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for (column, value) in &conditions {
            if let Some(value) = value {
                values.push(value);
                let close = if column.contains('(') { ")" } else { "" };
                sql.push_str(&format!(" AND {column}${}{close}", values.len()));
            }
        }
        let times = [
            ("created_at >= ", filter.created_from),
            ("created_at < ", filter.created_until),
        ];
        for (column, value) in &times {
            if let Some(value) = value {
                values.push(value);
                sql.push_str(&format!(" AND {column}${}", values.len()));
            }
        }
        let limit = sql_limit(filter.limit);
        values.push(&limit);
        let order = if filter.newest_first { "DESC" } else { "ASC" };
        sql.push_str(&format!(" ORDER BY id {order} LIMIT ${}", values.len()));
        self.db.read("list_instances", |conn| {
            conn.query(&sql, &values)?
                .iter()
                .map(|row| {
                    let id: String = row.get(0);
                    let status: String = row.get(2);
                    Ok(InstanceSummary {
                        status: parse_name(&status, "instances", &id, "status")?,
                        id,
                        workflow: row.get(1),
                        created_at: row.get(3),
                        updated_at: row.get(4),
                    })
                })
                .collect()
        })
    }

    fn history_page(&self, id: &str, after_seq: i64, limit: usize) -> Result<Vec<HistoryRow>> {
        self.history_rows(id, after_seq, sql_limit(limit))
    }

    fn history(&self, id: &str, after_seq: i64) -> Result<Vec<HistoryRow>> {
        self.history_rows(id, after_seq, None)
    }

    fn history_len(&self, id: &str) -> Result<i64> {
        self.db.read("history_len", |conn| {
            Ok(conn
                .query_one(
                    "SELECT coalesce(max(seq), 0)::BIGINT FROM history WHERE instance = $1",
                    &[&id],
                )?
                .get(0))
        })
    }

    fn count_instances(&self, workflow: Option<&str>) -> Result<Vec<(Status, u64)>> {
        self.db.read("count_instances", |conn| {
            let rows = match workflow {
                Some(name) => conn.query(
                    "SELECT status, count(*)::BIGINT FROM instances WHERE workflow = $1
                     GROUP BY status",
                    &[&name],
                )?,
                None => conn.query(
                    "SELECT status, count(*)::BIGINT FROM instances GROUP BY status",
                    &[],
                )?,
            };
            let mut counts = Vec::new();
            for row in rows {
                let status: String = row.get(0);
                let n: i64 = row.get(1);
                let status: Status = parse_name(&status, "instances", &"(count)", "status")?;
                counts.push((status, u64::try_from(n).unwrap_or(0)));
            }
            counts.sort_by_key(|(status, _)| Status::ALL.iter().position(|s| s == status));
            Ok(counts)
        })
    }

    fn commit_step(&self, commit: StepCommit) -> Result<()> {
        self.db.write("commit_step", |conn| {
            instances::commit_in(conn, &commit).map(Finish::Commit)
        })
    }

    fn unfinished_instances(&self) -> Result<Vec<String>> {
        self.db.read("unfinished_instances", |conn| {
            Ok(conn
                .query(
                    "SELECT id FROM instances WHERE status = $1 ORDER BY id",
                    &[&Status::Running.as_str()],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect())
        })
    }

    fn put_bundle(&self, hash: &str, bytes: &[u8], now: i64) -> Result<()> {
        // One idempotent statement (see `extend`).
        self.db.read("put_bundle", |conn| {
            conn.execute(
                "INSERT INTO bundles (hash, bytes, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (hash) DO NOTHING",
                &[&hash, &bytes, &now],
            )?;
            Ok(())
        })
    }

    fn record_progress(&self, instance: &str, key: &str, report: &Json, now: i64) -> Result<()> {
        // One idempotent statement (see `extend`).
        let report = report.to_string();
        self.db.read("record_progress", |conn| {
            conn.execute(
                "INSERT INTO call_progress (key, instance, report, at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET report = excluded.report, at = excluded.at",
                &[&key, &instance, &report, &now],
            )?;
            Ok(())
        })
    }

    fn call_progress(&self, instance: &str) -> Result<Vec<CallProgress>> {
        self.db.read("call_progress", |conn| {
            let rows = conn.query(
                "SELECT key, report, at FROM call_progress WHERE instance = $1 ORDER BY key",
                &[&instance],
            )?;
            rows.iter()
                .map(|row| {
                    let key: String = row.get(0);
                    let report: String = row.get(1);
                    let report = serde_json::from_str(&report)
                        .map_err(|e| StoreError::Corrupt(format!("call_progress {key}: {e}")))?;
                    Ok(CallProgress {
                        key,
                        report,
                        at: row.get(2),
                    })
                })
                .collect()
        })
    }

    fn clear_progress(&self, key: &str) -> Result<()> {
        self.db.read("clear_progress", |conn| {
            conn.execute("DELETE FROM call_progress WHERE key = $1", &[&key])?;
            Ok(())
        })
    }

    fn record_worker(&self, worker: &WorkerRecord) -> Result<()> {
        // One idempotent statement (see `extend`).
        self.db
            .read("record_worker", |conn| workers::write(conn, worker))
    }

    fn count_worker(&self, report: &WorkerReport) -> Result<()> {
        // Not idempotent: in a transaction, whose outcome is known before a retry.
        self.db.write("count_worker", |conn| {
            workers::add(conn, report).map(Finish::Commit)
        })
    }

    fn workers(&self) -> Result<Vec<WorkerRecord>> {
        self.db.read("workers", workers::all)
    }

    fn bundle(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        self.db.read("bundle", |conn| {
            Ok(conn
                .query_opt("SELECT bytes FROM bundles WHERE hash = $1", &[&hash])?
                .map(|row| row.get(0)))
        })
    }

    fn sync_schedules(&self, specs: &[super::ScheduleSpec], now: i64) -> Result<()> {
        self.db.write("sync_schedules", |conn| {
            schedules::sync_in(conn, specs, now)
        })
    }

    fn schedules(&self) -> Result<Vec<super::ScheduleRow>> {
        self.db.read("schedules", schedules::all)
    }

    fn set_schedule_paused(
        &self,
        name: &str,
        paused: bool,
        now: i64,
    ) -> Result<Option<super::ScheduleRow>> {
        self.db.write("set_schedule_paused", |conn| {
            schedules::pause_in(conn, name, paused, now)
        })
    }

    fn record_schedule_tick(
        &self,
        name: &str,
        tick: i64,
        instance: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        self.db.write("record_schedule_tick", |conn| {
            schedules::tick_in(conn, name, tick, instance, now)
        })
    }

    fn enqueue(&self, messages: &[NewMessage], now: i64) -> Result<Vec<MessageId>> {
        self.db.write("enqueue", |conn| {
            queue::enqueue_in(conn, messages, now).map(Finish::Commit)
        })
    }

    fn lease(&self, request: &LeaseRequest) -> Result<Vec<Leased>> {
        self.db.write("lease", |conn| {
            match queue::lease_in(conn, request) {
                // The unique index caught two leases of one exclusivity value (it cannot
                // with the advisory locks; should it, the lease is simply taken again).
                Err(StoreError::Postgres(e))
                    if e.as_db_error()
                        .and_then(|d| d.constraint())
                        .is_some_and(|c| c == "messages_leased_exclusive") =>
                {
                    tracing::warn!(error = %e, "PostgreSQL store: exclusivity collision");
                    Ok(Finish::Rollback(Vec::new()))
                }
                other => other,
            }
        })
    }

    fn ack(&self, id: MessageId, owner: &str, now: i64) -> Result<bool> {
        self.db.write("ack", |conn| {
            queue::ack_in(conn, id, owner, now).map(Finish::Commit)
        })
    }

    fn ack_many(&self, ids: &[MessageId], owner: &str, now: i64) -> Result<Vec<bool>> {
        self.db.write("ack_many", |conn| {
            let acked = ids
                .iter()
                .map(|&id| queue::ack_in(conn, id, owner, now))
                .collect::<Result<Vec<bool>>>()?;
            Ok(Finish::Commit(acked))
        })
    }

    fn ack_and_enqueue(
        &self,
        id: MessageId,
        owner: &str,
        messages: &[NewMessage],
        now: i64,
    ) -> Result<bool> {
        if let [message] = messages
            && message.idempotency_key.is_none()
        {
            return self.db.write("ack_and_enqueue", |conn| {
                queue::ack_and_enqueue_one(conn, id, owner, message, now).map(Finish::Commit)
            });
        }
        self.db.write("ack_and_enqueue", |conn| {
            if !queue::ack_in(conn, id, owner, now)? {
                return Ok(Finish::Rollback(false));
            }
            queue::enqueue_in(conn, messages, now)?;
            Ok(Finish::Commit(true))
        })
    }

    fn complete_call_with_step(&self, step: super::CallStep) -> Result<super::CallStepped> {
        self.db.write("complete_call_with_step", |conn| {
            call_step::complete_in(conn, &step)
        })
    }

    fn release(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool> {
        let sql = format!(
            "UPDATE messages SET {}, visible_at = $3
             WHERE id = $1 AND state = {} AND owner = $2",
            end_lease(MessageState::Scheduled, "released after"),
            MessageState::Leased.code()
        );
        self.db.write("release", |conn| {
            let changed = conn.execute(&sql, &[&id, &owner, &visible_at])?;
            Ok(Finish::Commit(changed == 1))
        })
    }

    fn retry_later(&self, id: MessageId, owner: &str, visible_at: i64) -> Result<bool> {
        self.db.write("retry_later", |conn| {
            let changed = conn.execute(
                queue_sql!(
                    "UPDATE messages SET state = {scheduled}, visible_at = $3, owner = NULL,
                         lease_until = NULL, attempts = GREATEST(attempts - 1, 0)
                     WHERE id = $1 AND state = {leased} AND owner = $2"
                ),
                &[&id, &owner, &visible_at],
            )?;
            Ok(Finish::Commit(changed == 1))
        })
    }

    fn extend(&self, id: MessageId, owner: &str, now: i64, lease_until: i64) -> Result<bool> {
        // One statement, and idempotent: if its answer is lost, doing it again sets the
        // same end and gives the same answer, so it needs no transaction of its own.
        self.db.read("extend", |conn| {
            let changed = conn.execute(
                queue_sql!(
                    "UPDATE messages SET lease_until = $4
                     WHERE id = $1 AND state = {leased} AND owner = $2 AND lease_until > $3"
                ),
                &[&id, &owner, &now, &lease_until],
            )?;
            Ok(changed == 1)
        })
    }

    fn held(&self, id: MessageId, owner: &str, now: i64) -> Result<Option<Held>> {
        self.db
            .read("held", |conn| queue::held_in(conn, id, owner, now))
    }

    fn dead_letter(&self, id: MessageId, owner: &str, reason: &str) -> Result<bool> {
        self.db.write("dead_letter", |conn| {
            let changed = conn.execute(
                queue_sql!(
                    "UPDATE messages SET state = {dead}, dead_reason = $3, live_key = NULL,
                         owner = NULL, lease_until = NULL
                     WHERE id = $1 AND state = {leased} AND owner = $2"
                ),
                &[&id, &owner, &reason],
            )?;
            Ok(Finish::Commit(changed == 1))
        })
    }

    fn release_owner(&self, owner: &str) -> Result<u64> {
        self.db.write("release_owner", |conn| {
            let changed = conn.execute(
                queue_sql!(
                    "UPDATE messages SET state = {ready}, owner = NULL, lease_until = NULL,
                         attempts = GREATEST(attempts - 1, 0)
                     WHERE state = {leased} AND owner = $1"
                ),
                &[&owner],
            )?;
            Ok(Finish::Commit(changed))
        })
    }

    fn release_all_leases(&self) -> Result<u64> {
        let sql = format!(
            "UPDATE messages SET {} WHERE state = {}",
            end_lease(MessageState::Ready, "lease ended by a restart after"),
            MessageState::Leased.code()
        );
        self.db.write("release_all_leases", |conn| {
            Ok(Finish::Commit(conn.execute(&sql, &[])?))
        })
    }

    fn next_visible_at(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        self.db.read("next_visible_at", |conn| {
            Ok(conn
                .query_one(
                    queue_sql!(
                        "SELECT MIN(visible_at) FROM messages
                         WHERE queue = $1 AND state = {scheduled} AND visible_at > $2"
                    ),
                    &[&queue, &now],
                )?
                .get(0))
        })
    }

    fn next_lease_expiry(&self, queue: &str, now: i64) -> Result<Option<i64>> {
        self.db.read("next_lease_expiry", |conn| {
            Ok(conn
                .query_one(
                    queue_sql!(
                        "SELECT MIN(lease_until) FROM messages
                         WHERE queue = $1 AND state = {leased} AND lease_until > $2"
                    ),
                    &[&queue, &now],
                )?
                .get(0))
        })
    }

    fn queue_stats(&self, now: i64) -> Result<Vec<QueueStats>> {
        self.db.read("queue_stats", |conn| {
            let rows = conn.query(
                queue_sql!(
                    "SELECT queue,
                         count(*) FILTER (WHERE (state IN ({ready}, {scheduled})
                                                 AND visible_at <= $1)
                                             OR (state = {leased} AND lease_until <= $1)),
                         count(*) FILTER (WHERE state IN ({ready}, {scheduled})
                                            AND visible_at > $1),
                         count(*) FILTER (WHERE state = {leased} AND lease_until > $1),
                         count(*) FILTER (WHERE state = {dead})
                     FROM messages GROUP BY queue ORDER BY queue"
                ),
                &[&now],
            )?;
            Ok(rows
                .iter()
                .map(|row| QueueStats {
                    queue: row.get(0),
                    ready: count(row.get(1)),
                    delayed: count(row.get(2)),
                    leased: count(row.get(3)),
                    dead: count(row.get(4)),
                })
                .collect())
        })
    }

    fn leases_by_owner(&self, now: i64) -> Result<Vec<OwnerLeases>> {
        self.db.read("leases_by_owner", |conn| {
            let rows = conn.query(
                queue_sql!(
                    "SELECT owner, queue, count(*) FROM messages
                     WHERE state = {leased} AND lease_until > $1 AND owner IS NOT NULL
                     GROUP BY owner, queue ORDER BY owner, queue"
                ),
                &[&now],
            )?;
            Ok(rows
                .iter()
                .map(|row| OwnerLeases {
                    owner: row.get(0),
                    queue: row.get(1),
                    leases: count(row.get(2)),
                })
                .collect())
        })
    }

    fn dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<(MessageId, Json, String)>> {
        let limit = sql_limit(limit);
        self.db.read("dead_letters", |conn| {
            let rows = conn.query(
                queue_sql!(
                    "SELECT id, payload, COALESCE(dead_reason, '') FROM messages
                     WHERE queue = $1 AND state = {dead} ORDER BY id LIMIT $2"
                ),
                &[&queue, &limit],
            )?;
            rows.iter()
                .map(|row| {
                    let id: MessageId = row.get(0);
                    let payload: String = row.get(1);
                    Ok((
                        id,
                        parse_json(&payload, "messages", &id, "payload")?,
                        row.get(2),
                    ))
                })
                .collect()
        })
    }
}
