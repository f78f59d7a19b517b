//! The schedules table on PostgreSQL (see `Store::sync_schedules` and the methods
//! after it).

use postgres::Row;

use super::Result;
use super::conn::{Conn, Finish};
use crate::store::schedule::{row_of, trigger_text};
use crate::store::{ScheduleRow, ScheduleSpec};

pub(super) const COLUMNS: &str =
    "name, workflow, trigger_spec, overlap, paused, since, last_tick, last_instance, updated_at";

pub(super) fn decode(row: &Row) -> Result<ScheduleRow> {
    let trigger: String = row.get(2);
    let overlap: String = row.get(3);
    row_of(
        row.get(0),
        row.get(1),
        &trigger,
        &overlap,
        row.get(4),
        row.get(5),
        row.get(6),
        row.get(7),
        row.get(8),
    )
}

pub(super) fn sync_in(conn: &mut Conn, specs: &[ScheduleSpec], now: i64) -> Result<Finish<()>> {
    for spec in specs {
        let trigger = trigger_text(&spec.trigger)?;
        let overlap = spec.overlap.as_str();
        conn.execute(
            "INSERT INTO schedules AS s (name, workflow, trigger_spec, overlap, paused, since,
                 last_tick, last_instance, updated_at)
             VALUES ($1, $2, $3, $4, FALSE, $5, NULL, NULL, $5)
             ON CONFLICT (name) DO UPDATE SET
                 workflow = excluded.workflow,
                 overlap = excluded.overlap,
                 since = CASE WHEN s.trigger_spec = excluded.trigger_spec THEN s.since
                              ELSE excluded.since END,
                 trigger_spec = excluded.trigger_spec,
                 updated_at = excluded.updated_at
             WHERE s.workflow <> excluded.workflow OR s.overlap <> excluded.overlap
                   OR s.trigger_spec <> excluded.trigger_spec",
            &[&spec.name, &spec.workflow, &trigger, &overlap, &now],
        )?;
    }
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    conn.execute(
        "DELETE FROM schedules WHERE NOT (name = ANY($1))",
        &[&names],
    )?;
    Ok(Finish::Commit(()))
}

pub(super) fn all(conn: &mut Conn) -> Result<Vec<ScheduleRow>> {
    conn.query(
        &format!("SELECT {COLUMNS} FROM schedules ORDER BY name"),
        &[],
    )?
    .iter()
    .map(decode)
    .collect()
}

pub(super) fn pause_in(
    conn: &mut Conn,
    name: &str,
    paused: bool,
    now: i64,
) -> Result<Finish<Option<ScheduleRow>>> {
    let row = conn.query_opt(
        &format!(
            "UPDATE schedules SET
                 since = CASE WHEN paused AND NOT $2 THEN $3 ELSE since END,
                 paused = $2,
                 updated_at = $3
             WHERE name = $1
             RETURNING {COLUMNS}"
        ),
        &[&name, &paused, &now],
    )?;
    Ok(Finish::Commit(row.as_ref().map(decode).transpose()?))
}

pub(super) fn tick_in(
    conn: &mut Conn,
    name: &str,
    tick: i64,
    instance: Option<&str>,
    now: i64,
) -> Result<Finish<bool>> {
    let changed = conn.execute(
        "UPDATE schedules SET
             last_tick = $2,
             last_instance = COALESCE($3, last_instance),
             updated_at = $4
         WHERE name = $1
           AND (last_tick IS NULL OR last_tick < $2
                OR ($3::TEXT IS NOT NULL AND last_tick = $2))",
        &[&name, &tick, &instance, &now],
    )?;
    Ok(Finish::Commit(changed > 0))
}
