//! The store and the durable queue (runtime/src/store). Every scenario is a function
//! over a [`Db`] and runs twice, as `NAME::sqlite` on a real SQLite file and as
//! `NAME::postgres` in a fresh schema of the PostgreSQL server `COSMOS_TEST_POSTGRES`
//! names (skipped, with a message, without it); what only one backend has (SQLite's
//! migrations and pragmas here, PostgreSQL's concurrency in `store_postgres.rs`) is
//! tested on that one.
//!
//! This file is the harness ([`Db`], the scenario helpers, `on_both_backends!`); the
//! scenarios are in modules by topic, so a test is named like
//! `queue::metadata_filters::sqlite`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../pg/mod.rs"]
mod pg;

use std::collections::BTreeMap;
use std::path::PathBuf;

use cosmos_runtime::engine::{HistoryKind, Status};
use cosmos_runtime::store::{
    LeaseRequest, Leased, NewHistory, NewInstance, NewMessage, PostgresStore, SqliteStore,
    StepCommit, StepStamp, Store,
};
use serde_json::{Value as Json, json};

const T0: i64 = 1_767_225_600_000;

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cosmos.db");
    (dir, path)
}

/// The database a scenario runs on; [`Db::open`] opens a store on it (again, for a
/// reopen).
enum Db {
    /// The folder is kept for as long as the file is used.
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres(pg::TestSchema),
}

impl Db {
    fn sqlite() -> Db {
        let (_dir, path) = temp();
        Db::Sqlite { _dir, path }
    }

    fn postgres(test: &str) -> Option<Db> {
        pg::schema(test).map(Db::Postgres)
    }

    fn open(&self) -> Box<dyn Store> {
        match self {
            Db::Sqlite { path, .. } => Box::new(SqliteStore::open(path).unwrap()),
            Db::Postgres(schema) => Box::new(PostgresStore::open(&schema.url).unwrap()),
        }
    }

    /// What `cosmos_runtime::connect::open_store` takes to open this database.
    fn target(&self) -> String {
        match self {
            Db::Sqlite { path, .. } => path.display().to_string(),
            Db::Postgres(schema) => schema.url.clone(),
        }
    }

    /// Runs `sql` (the same text in both dialects) behind the store's back.
    fn exec(&self, sql: &str) {
        match self {
            Db::Sqlite { path, .. } => {
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute(sql, [])
                    .unwrap();
            }
            Db::Postgres(schema) => {
                schema.client().batch_execute(sql).unwrap();
            }
        }
    }

    /// (payload, state) of the live (ready or leased) messages of `queue`.
    fn live_messages(&self, queue: &str) -> Vec<(String, i64)> {
        match self {
            Db::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .unwrap()
                .prepare("SELECT payload, state FROM messages WHERE queue = ?1 AND state IN (0, 1)")
                .unwrap()
                .query_map([queue], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap(),
            Db::Postgres(schema) => schema
                .client()
                .query(
                    "SELECT payload, state::bigint FROM messages
                     WHERE queue = $1 AND state IN (0, 1)",
                    &[&queue],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        }
    }

    /// The database's own consistency check, where there is one (SQLite's).
    fn check_integrity(&self) {
        if let Db::Sqlite { path, .. } = self {
            let integrity: String = rusqlite::Connection::open(path)
                .unwrap()
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(integrity, "ok");
        }
    }
}

/// Runs each scenario on both backends: `NAME::sqlite` and `NAME::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(&super::Db::sqlite());
                }

                #[test]
                fn postgres() {
                    if let Some(db) = super::Db::postgres(concat!(stringify!($name), "::postgres")) {
                        super::$name(&db);
                    }
                }
            }
        )*
    };
}

// The scenarios, by topic; declared after `on_both_backends!`, which they use.
mod call_steps;
mod durability;
mod instances;
mod queue;
mod schema;
mod workers;

fn msg(queue: &str, payload: Json) -> NewMessage {
    NewMessage::new(queue, payload, T0)
}

fn request(queue: &str, owner: &str, now: i64, limit: usize) -> LeaseRequest {
    LeaseRequest {
        queue: queue.into(),
        owner: owner.into(),
        now,
        lease_ms: 1_000,
        limit,
        filter: BTreeMap::new(),
    }
}

fn payloads(leased: &[Leased]) -> Vec<Json> {
    leased.iter().map(|l| l.payload.clone()).collect()
}

fn new_instance(id: &str, key: Option<&str>) -> NewInstance {
    NewInstance {
        id: id.into(),
        workflow: "order".into(),
        bundle: "b1".into(),
        input: json!({"id": id}),
        idempotency_key: key.map(str::to_string),
        created_at: T0,
    }
}

fn step(instance: &str, expected_version: i64, now: i64) -> StepCommit {
    StepCommit {
        instance: instance.into(),
        expected_version,
        status: Status::Running,
        facts: json!({"step": expected_version}),
        output: None,
        failure: None,
        state: json!({"v": expected_version}),
        now,
        history: vec![NewHistory {
            at: now,
            kind: HistoryKind::Fired,
            text: format!("step from version {expected_version}"),
            data: json!({"from": expected_version}),
        }],
        enqueue: Vec::new(),
        ack: None,
        stamp: Some(stamp(now)),
        children: Vec::new(),
    }
}

/// The stamp `step` gives a step taken at `now` (milliseconds).
fn stamp(now: i64) -> StepStamp {
    StepStamp {
        node: "node-a".into(),
        started_us: now * 1000,
        finished_us: now * 1000 + 250,
    }
}

fn first_step(instance: &str) -> StepCommit {
    StepCommit {
        history: Vec::new(),
        ..step(instance, 0, T0)
    }
}

fn stats(store: &dyn Store, queue: &str, now: i64) -> (u64, u64, u64, u64) {
    store
        .queue_stats(now)
        .unwrap()
        .into_iter()
        .find(|s| s.queue == queue)
        .map(|s| (s.ready, s.delayed, s.leased, s.dead))
        .unwrap_or_default()
}
