//! The schedules table on SQLite (see `Store::sync_schedules` and the methods after
//! it).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Db, Result, WriteTx};
use crate::store::schedule::{row_of, trigger_text};
use crate::store::{ScheduleRow, ScheduleSpec};

const COLUMNS: &str =
    "name, workflow, trigger_spec, overlap, paused, since, last_tick, last_instance, updated_at";

fn decode(row: &Row<'_>) -> rusqlite::Result<Columns> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
    ))
}

type Columns = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    i64,
);

fn into_row(c: Columns) -> Result<ScheduleRow> {
    row_of(c.0, c.1, &c.2, &c.3, c.4 != 0, c.5, c.6, c.7, c.8)
}

fn one(conn: &Connection, name: &str) -> Result<Option<ScheduleRow>> {
    let columns = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM schedules WHERE name = ?1"))?
        .query_row(params![name], decode)
        .optional()?;
    columns.map(into_row).transpose()
}

impl Db {
    pub(super) fn put_schedules(&self, specs: &[ScheduleSpec], now: i64) -> Result<()> {
        let conn = self.conn();
        let tx = WriteTx::begin(&conn)?;
        for spec in specs {
            tx.prepare_cached(
                "INSERT INTO schedules (name, workflow, trigger_spec, overlap, paused, since,
                     last_tick, last_instance, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, NULL, NULL, ?5)
                 ON CONFLICT (name) DO UPDATE SET
                     workflow = excluded.workflow,
                     overlap = excluded.overlap,
                     since = CASE WHEN trigger_spec = excluded.trigger_spec THEN since
                                  ELSE excluded.since END,
                     trigger_spec = excluded.trigger_spec,
                     updated_at = excluded.updated_at
                 WHERE workflow <> excluded.workflow OR overlap <> excluded.overlap
                       OR trigger_spec <> excluded.trigger_spec",
            )?
            .execute(params![
                spec.name,
                spec.workflow,
                trigger_text(&spec.trigger)?,
                spec.overlap.as_str(),
                now
            ])?;
        }
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        let names = serde_json::to_string(&names)
            .map_err(|e| crate::store::StoreError::Invalid(format!("schedule names: {e}")))?;
        tx.prepare_cached(
            "DELETE FROM schedules WHERE name NOT IN (SELECT value FROM json_each(?1))",
        )?
        .execute(params![names])?;
        tx.commit()
    }

    pub(super) fn read_schedules(&self) -> Result<Vec<ScheduleRow>> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"))?;
        let rows = statement.query_map([], decode)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(into_row(row?)?);
        }
        Ok(out)
    }

    pub(super) fn pause_schedule(
        &self,
        name: &str,
        paused: bool,
        now: i64,
    ) -> Result<Option<ScheduleRow>> {
        let conn = self.conn();
        let tx = WriteTx::begin(&conn)?;
        tx.prepare_cached(
            "UPDATE schedules SET
                 since = CASE WHEN paused = 1 AND ?2 = 0 THEN ?3 ELSE since END,
                 paused = ?2,
                 updated_at = ?3
             WHERE name = ?1",
        )?
        .execute(params![name, i64::from(paused), now])?;
        let row = one(&tx, name)?;
        tx.commit()?;
        Ok(row)
    }

    pub(super) fn mark_schedule_tick(
        &self,
        name: &str,
        tick: i64,
        instance: Option<&str>,
        now: i64,
    ) -> Result<bool> {
        let conn = self.conn();
        let changed = conn
            .prepare_cached(
                "UPDATE schedules SET
                     last_tick = ?2,
                     last_instance = COALESCE(?3, last_instance),
                     updated_at = ?4
                 WHERE name = ?1
                   AND (last_tick IS NULL OR last_tick < ?2
                        OR (?3 IS NOT NULL AND last_tick = ?2))",
            )?
            .execute(params![name, tick, instance, now])?;
        Ok(changed > 0)
    }
}
