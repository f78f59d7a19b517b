//! The registry of workers on SQLite: rows written whole by the processes that run
//! functions, and counted into by a node answering HTTP workers.

use rusqlite::params;

use super::{Db, Result, count, to_i64};
use crate::store::{StoreError, WorkerKind, WorkerRecord, WorkerReport, parse_name};

impl Db {
    pub(super) fn write_worker(&self, worker: &WorkerRecord) -> Result<()> {
        let conn = self.conn();
        let pools = serde_json::to_string(&worker.pools)
            .map_err(|e| StoreError::Invalid(format!("unserializable pools: {e}")))?;
        conn.prepare_cached(
            "INSERT INTO workers (name, kind, pools, version, started_at, last_seen,
                 heartbeat_ms, stopped_at, leased, completed, failed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, pools = excluded.pools,
                 version = excluded.version, started_at = excluded.started_at,
                 last_seen = excluded.last_seen, heartbeat_ms = excluded.heartbeat_ms,
                 stopped_at = excluded.stopped_at, leased = excluded.leased,
                 completed = excluded.completed, failed = excluded.failed",
        )?
        .execute(params![
            worker.name,
            worker.kind.as_str(),
            pools,
            worker.version,
            worker.started_at,
            worker.last_seen,
            worker.heartbeat_ms,
            worker.stopped_at,
            to_i64(worker.leased),
            to_i64(worker.completed),
            to_i64(worker.failed),
        ])?;
        Ok(())
    }

    pub(super) fn read_workers(&self) -> Result<Vec<WorkerRecord>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT name, kind, pools, version, started_at, last_seen, heartbeat_ms,
                 stopped_at, leased, completed, failed
             FROM workers ORDER BY name",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                WorkerRecord {
                    name: row.get(0)?,
                    kind: WorkerKind::Worker,
                    pools: Vec::new(),
                    version: row.get(3)?,
                    started_at: row.get(4)?,
                    last_seen: row.get(5)?,
                    heartbeat_ms: row.get(6)?,
                    stopped_at: row.get(7)?,
                    leased: count(row.get(8)?),
                    completed: count(row.get(9)?),
                    failed: count(row.get(10)?),
                },
                row.get::<_, String>(2)?,
                row.get::<_, String>(1)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut worker, pools, kind) = row?;
            worker.kind = parse_name(&kind, "workers", &worker.name, "kind")?;
            worker.pools = serde_json::from_str(&pools).map_err(|e| {
                StoreError::Corrupt(format!("workers {}: column pools: {e}", worker.name))
            })?;
            out.push(worker);
        }
        Ok(out)
    }

    /// One upsert: the counts are added in SQL, so no report is lost to another.
    pub(super) fn add_to_worker(&self, report: &WorkerReport) -> Result<()> {
        let conn = self.conn();
        let pools = report
            .pools
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| StoreError::Invalid(format!("unserializable pools: {e}")))?;
        conn.prepare_cached(
            "INSERT INTO workers (name, kind, pools, version, started_at, last_seen,
                 heartbeat_ms, stopped_at, leased, completed, failed)
             VALUES (?1, ?2, coalesce(?3, '[]'), '', ?4, ?4, coalesce(?5, 1000), NULL,
                 ?6, ?7, ?8)
             ON CONFLICT (name) DO UPDATE SET
                 started_at = CASE WHEN workers.kind = excluded.kind
                     AND workers.stopped_at IS NULL
                     THEN workers.started_at ELSE excluded.started_at END,
                 pools = CASE WHEN ?3 IS NULL AND workers.kind = excluded.kind
                     AND workers.stopped_at IS NULL
                     THEN workers.pools ELSE excluded.pools END,
                 heartbeat_ms = CASE WHEN ?5 IS NULL AND workers.kind = excluded.kind
                     AND workers.stopped_at IS NULL
                     THEN workers.heartbeat_ms ELSE excluded.heartbeat_ms END,
                 leased = CASE WHEN workers.kind = excluded.kind
                     AND workers.stopped_at IS NULL
                     THEN workers.leased + excluded.leased ELSE excluded.leased END,
                 completed = CASE WHEN workers.kind = excluded.kind
                     AND workers.stopped_at IS NULL
                     THEN workers.completed + excluded.completed
                     ELSE excluded.completed END,
                 failed = CASE WHEN workers.kind = excluded.kind
                     AND workers.stopped_at IS NULL
                     THEN workers.failed + excluded.failed ELSE excluded.failed END,
                 kind = excluded.kind, version = excluded.version,
                 last_seen = max(workers.last_seen, excluded.last_seen), stopped_at = NULL",
        )?
        .execute(params![
            report.name,
            report.kind.as_str(),
            pools,
            report.now,
            report.heartbeat_ms,
            to_i64(report.leased),
            to_i64(report.completed),
            to_i64(report.failed),
        ])?;
        Ok(())
    }
}
