//! The PostgreSQL store's schema: `migrations/postgres/NNNN_*.sql`, applied in order in
//! one transaction under an advisory lock (nodes starting together migrate once), each
//! recorded in `schema_version`. A schema newer than this build knows is refused.

use super::super::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

/// The migrations, in order: (version, name, SQL).
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "step_stamps",
        include_str!("../migrations/postgres/0002_step_stamps.sql"),
    ),
    (
        3,
        "idempotency_per_workflow",
        include_str!("../migrations/postgres/0003_idempotency_per_workflow.sql"),
    ),
    (
        4,
        "call_progress",
        include_str!("../migrations/postgres/0004_call_progress.sql"),
    ),
    (
        5,
        "workers",
        include_str!("../migrations/postgres/0005_workers.sql"),
    ),
    (
        6,
        "schedules",
        include_str!("../migrations/postgres/0006_schedules.sql"),
    ),
    (
        7,
        "waiting_exclusive",
        include_str!("../migrations/postgres/0007_waiting_exclusive.sql"),
    ),
];

/// The schema version this build writes.
pub const POSTGRES_SCHEMA_VERSION: i32 = 7;

/// Brings the schema of the database `client` is connected to up to date.
pub(super) fn migrate(client: &mut postgres::Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(
             'cosmos' || chr(31) || 'migrate' || chr(31) || COALESCE(current_schema(), ''), 0));
         CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER NOT NULL PRIMARY KEY,
             name    TEXT    NOT NULL
         );",
    )?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .get(0);
    if current > POSTGRES_SCHEMA_VERSION {
        return Err(StoreError::Migration(format!(
            "the database has schema version {current}, newer than the \
             {POSTGRES_SCHEMA_VERSION} this build of Cosmos knows; use a newer Cosmos"
        )));
    }
    for &(version, name, sql) in MIGRATIONS {
        if version <= current {
            continue;
        }
        tx.batch_execute(sql)
            .map_err(|e| StoreError::Migration(format!("migration {version} ({name}): {e}")))?;
        tx.execute(
            "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
            &[&version, &name],
        )?;
        tracing::info!(version, name, "applied PostgreSQL store migration");
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_in_order_and_end_at_the_schema_version() {
        let versions: Vec<i32> = MIGRATIONS.iter().map(|m| m.0).collect();
        let expected: Vec<i32> = (1..=POSTGRES_SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
    }
}
