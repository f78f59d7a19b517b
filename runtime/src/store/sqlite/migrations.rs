//! The SQLite store's schema: `migrations/NNNN_*.sql`, embedded in the binary, applied
//! in order in one transaction, each recorded in `schema_version`.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

/// The migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "queue_states",
        include_str!("../migrations/0002_queue_states.sql"),
    ),
    (
        3,
        "step_stamps",
        include_str!("../migrations/0003_step_stamps.sql"),
    ),
    (
        4,
        "queue_check",
        include_str!("../migrations/0004_queue_check.sql"),
    ),
    (
        5,
        "idempotency_per_workflow",
        include_str!("../migrations/0005_idempotency_per_workflow.sql"),
    ),
    (
        6,
        "call_progress",
        include_str!("../migrations/0006_call_progress.sql"),
    ),
    (7, "workers", include_str!("../migrations/0007_workers.sql")),
    (
        8,
        "schedules",
        include_str!("../migrations/0008_schedules.sql"),
    ),
    (
        9,
        "waiting_exclusive",
        include_str!("../migrations/0009_waiting_exclusive.sql"),
    ),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 9;

/// Applies the migrations this database lacks. Foreign keys are off while they run
/// (a migration that rebuilds a table drops the old one, which must not delete the
/// rows that refer to it; SQLite's documented way to change a table's constraints)
/// and checked before the commit; they are on again afterwards, whatever happened.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = migrate_unchecked(conn);
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated
}

fn migrate_unchecked(conn: &mut Connection) -> Result<()> {
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
    let broken: Option<String> = tx
        .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
        .optional()?;
    if let Some(table) = broken {
        return Err(StoreError::Migration(format!(
            "after the migrations, table {table} has rows whose foreign key refers to \
             nothing; the database was not changed"
        )));
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_in_order_and_end_at_the_schema_version() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.0).collect();
        let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
    }
}
