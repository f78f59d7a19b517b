//! The registry of workers on PostgreSQL: rows written whole by the processes that run
//! functions, and counted into by a node answering HTTP workers.

use super::conn::Conn;
use super::{Result, count, to_i64};
use crate::store::{StoreError, WorkerRecord, WorkerReport, parse_name};

pub(super) fn write(conn: &mut Conn, worker: &WorkerRecord) -> Result<()> {
    let pools = serde_json::to_string(&worker.pools)
        .map_err(|e| StoreError::Invalid(format!("unserializable pools: {e}")))?;
    let counters = [
        to_i64(worker.leased),
        to_i64(worker.completed),
        to_i64(worker.failed),
    ];
    conn.execute(
        "INSERT INTO workers (name, kind, pools, version, started_at, last_seen,
             heartbeat_ms, stopped_at, leased, completed, failed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (name) DO UPDATE SET kind = excluded.kind,
             pools = excluded.pools, version = excluded.version,
             started_at = excluded.started_at, last_seen = excluded.last_seen,
             heartbeat_ms = excluded.heartbeat_ms, stopped_at = excluded.stopped_at,
             leased = excluded.leased, completed = excluded.completed,
             failed = excluded.failed",
        &[
            &worker.name,
            &worker.kind.as_str(),
            &pools,
            &worker.version,
            &worker.started_at,
            &worker.last_seen,
            &worker.heartbeat_ms,
            &worker.stopped_at,
            &counters[0],
            &counters[1],
            &counters[2],
        ],
    )?;
    Ok(())
}

/// One upsert: the counts are added in SQL, so no report is lost to another, on this
/// node or on any other.
pub(super) fn add(conn: &mut Conn, report: &WorkerReport) -> Result<()> {
    let pools = report
        .pools
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Invalid(format!("unserializable pools: {e}")))?;
    let counters = [
        to_i64(report.leased),
        to_i64(report.completed),
        to_i64(report.failed),
    ];
    conn.execute(
        "INSERT INTO workers (name, kind, pools, version, started_at, last_seen,
             heartbeat_ms, stopped_at, leased, completed, failed)
         VALUES ($1, $2, coalesce($3::text, '[]'), '', $4, $4, coalesce($5::bigint, 1000),
             NULL, $6, $7, $8)
         ON CONFLICT (name) DO UPDATE SET
             started_at = CASE WHEN workers.kind = excluded.kind
                 AND workers.stopped_at IS NULL
                 THEN workers.started_at ELSE excluded.started_at END,
             pools = CASE WHEN $3::text IS NULL AND workers.kind = excluded.kind
                 AND workers.stopped_at IS NULL
                 THEN workers.pools ELSE excluded.pools END,
             heartbeat_ms = CASE WHEN $5::bigint IS NULL AND workers.kind = excluded.kind
                 AND workers.stopped_at IS NULL
                 THEN workers.heartbeat_ms ELSE excluded.heartbeat_ms END,
             leased = CASE WHEN workers.kind = excluded.kind
                 AND workers.stopped_at IS NULL
                 THEN workers.leased + excluded.leased ELSE excluded.leased END,
             completed = CASE WHEN workers.kind = excluded.kind
                 AND workers.stopped_at IS NULL
                 THEN workers.completed + excluded.completed ELSE excluded.completed END,
             failed = CASE WHEN workers.kind = excluded.kind
                 AND workers.stopped_at IS NULL
                 THEN workers.failed + excluded.failed ELSE excluded.failed END,
             kind = excluded.kind, version = excluded.version,
             last_seen = greatest(workers.last_seen, excluded.last_seen), stopped_at = NULL",
        &[
            &report.name,
            &report.kind.as_str(),
            &pools,
            &report.now,
            &report.heartbeat_ms,
            &counters[0],
            &counters[1],
            &counters[2],
        ],
    )?;
    Ok(())
}

pub(super) fn all(conn: &mut Conn) -> Result<Vec<WorkerRecord>> {
    let rows = conn.query(
        "SELECT name, kind, pools, version, started_at, last_seen, heartbeat_ms,
             stopped_at, leased, completed, failed
         FROM workers ORDER BY name",
        &[],
    )?;
    rows.iter()
        .map(|row| {
            let name: String = row.get(0);
            let pools: String = row.get(2);
            let pools = serde_json::from_str(&pools)
                .map_err(|e| StoreError::Corrupt(format!("workers {name}: column pools: {e}")))?;
            let kind: String = row.get(1);
            let kind = parse_name(&kind, "workers", &name, "kind")?;
            Ok(WorkerRecord {
                name,
                kind,
                pools,
                version: row.get(3),
                started_at: row.get(4),
                last_seen: row.get(5),
                heartbeat_ms: row.get(6),
                stopped_at: row.get(7),
                leased: count(row.get(8)),
                completed: count(row.get(9)),
                failed: count(row.get(10)),
            })
        })
        .collect()
}
