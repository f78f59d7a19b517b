//! The reads behind listings: instances by filter, counts by status, and pages of
//! an instance's history (`Store::list_instances`, `count_instances`,
//! `history_page`, `history_len`, `history`).

use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::{Result, parse_json, sql_limit};
use crate::engine::Status;
use crate::store::{HistoryRow, InstanceFilter, InstanceSummary, StepStamp, parse_name};

/// The instances `filter` selects, in id order (newest first when it says so).
pub(super) fn list_in(conn: &Connection, filter: &InstanceFilter) -> Result<Vec<InstanceSummary>> {
    let mut sql = String::from(
        "SELECT id, workflow, status, created_at, updated_at FROM instances WHERE 1 = 1",
    );
    let mut values = Vec::new();
    for (column, value) in [
        ("workflow = ", filter.workflow.as_deref()),
        ("status = ", filter.status.map(Status::as_str)),
        ("id > ", filter.after.as_deref()),
        ("id < ", filter.before.as_deref()),
    ] {
        if let Some(value) = value {
            values.push(Value::Text(value.to_string()));
            sql.push_str(&format!(" AND {column}?{}", values.len()));
        }
    }
    if let Some(prefix) = &filter.id_prefix {
        values.push(Value::Text(prefix.clone()));
        let n = values.len();
        sql.push_str(&format!(" AND substr(id, 1, length(?{n})) = ?{n}"));
    }
    for (column, value) in [
        ("created_at >= ", filter.created_from),
        ("created_at < ", filter.created_until),
    ] {
        if let Some(value) = value {
            values.push(Value::Integer(value));
            sql.push_str(&format!(" AND {column}?{}", values.len()));
        }
    }
    values.push(Value::Integer(sql_limit(filter.limit)));
    let order = if filter.newest_first { "DESC" } else { "ASC" };
    sql.push_str(&format!(" ORDER BY id {order} LIMIT ?{}", values.len()));
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params_from_iter(values), |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, i64>(4)?,
        ))
    })?;
    let mut summaries = Vec::new();
    for row in rows {
        let (id, workflow, status, created_at, updated_at) = row?;
        summaries.push(InstanceSummary {
            status: parse_name(&status, "instances", &id, "status")?,
            id,
            workflow,
            created_at,
            updated_at,
        });
    }
    Ok(summaries)
}

/// How many instances (of `workflow`, or of all) have each status, in the order of
/// `Status::ALL`.
pub(super) fn count_in(conn: &Connection, workflow: Option<&str>) -> Result<Vec<(Status, u64)>> {
    // Two statements rather than `?1 IS NULL OR workflow = ?1`, which no index
    // serves: counting all is a scan of `instances_by_status` alone.
    let mut statement = match workflow {
        Some(_) => conn.prepare_cached(
            "SELECT status, count(*) FROM instances WHERE workflow = ?1 GROUP BY status",
        )?,
        None => conn.prepare_cached("SELECT status, count(*) FROM instances GROUP BY status")?,
    };
    let read = |row: &rusqlite::Row<'_>| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?));
    let rows: Vec<(String, i64)> = match workflow {
        Some(name) => statement
            .query_map(params![name], read)?
            .collect::<rusqlite::Result<_>>()?,
        None => statement
            .query_map([], read)?
            .collect::<rusqlite::Result<_>>()?,
    };
    let mut counts = Vec::new();
    for (status, n) in rows {
        let status: Status = parse_name(&status, "instances", &"(count)", "status")?;
        counts.push((status, u64::try_from(n).unwrap_or(0)));
    }
    counts.sort_by_key(|(status, _)| Status::ALL.iter().position(|s| s == status));
    Ok(counts)
}

/// The history rows of instance `id` after `after_seq`, at most `limit` of them (-1:
/// all).
pub(super) fn history_in(
    conn: &Connection,
    id: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<HistoryRow>> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, at, kind, text, data, node, started_us, finished_us FROM history
         WHERE instance = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = statement.query_map(params![id, after_seq, limit], |row| {
        let stamp = StepStamp::from_columns(row.get(5)?, row.get(6)?, row.get(7)?);
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
        let row_id = format!("{id}#{seq}");
        let data = parse_json(&data, "history", &row_id, "data")?;
        history.push(HistoryRow {
            seq,
            at,
            kind: parse_name(&kind, "history", &row_id, "kind")?,
            text,
            data,
            step,
        });
    }
    Ok(history)
}

/// The sequence number of instance `id`'s last history row (0 for none).
pub(super) fn history_len_in(conn: &Connection, id: &str) -> Result<i64> {
    let mut statement =
        conn.prepare_cached("SELECT coalesce(max(seq), 0) FROM history WHERE instance = ?1")?;
    Ok(statement.query_row(params![id], |row| row.get::<_, i64>(0))?)
}
