//! The store and the durable queue (runtime/src/store). Every scenario is a function
//! over a [`Db`] and runs twice, as `NAME::sqlite` on a real SQLite file and as
//! `NAME::postgres` in a fresh schema of the PostgreSQL server `COSMOS_TEST_POSTGRES`
//! names (skipped, with a message, without it); what only one backend has (SQLite's
//! migrations and pragmas here, PostgreSQL's concurrency in `store_postgres.rs`) is
//! tested on that one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cosmos_runtime::store::{
    Created, InstanceFilter, LeaseRequest, Leased, NewHistory, NewInstance, NewMessage,
    PostgresStore, SqliteOptions, SqliteStore, StepCommit, StepStamp, Store, StoreError,
    Synchronous,
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
        status: "RUNNING".into(),
        facts: json!({"step": expected_version}),
        output: None,
        failure: None,
        state: json!({"v": expected_version}),
        now,
        history: vec![NewHistory {
            at: now,
            kind: "step".into(),
            text: format!("step from version {expected_version}"),
            data: json!({"from": expected_version}),
        }],
        enqueue: Vec::new(),
        ack: None,
        stamp: Some(stamp(now)),
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

// ---- schema ----

#[test]
fn migrations_apply_once_and_reopen_works() {
    let (_dir, path) = temp();
    {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        store.put_bundle("h", b"x", T0).unwrap();
    }
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 3);
        assert_eq!(store.bundle("h").unwrap().as_deref(), Some(&b"x"[..]));
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A database written by schema 1 (ready/leased/dead only, idempotency on
/// `idempotency_key`, unstamped history) keeps its messages, their ids, its id counter
/// and its history through migrations 2 and 3.
#[test]
fn schema_1_databases_are_migrated() {
    let (_dir, path) = temp();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY,
                 name TEXT NOT NULL) STRICT;
             INSERT INTO schema_version VALUES (1, 'init');",
        )
        .unwrap();
        conn.execute_batch(include_str!("../src/store/migrations/0001_init.sql"))
            .unwrap();
        let insert = "INSERT INTO messages (id, queue, state, priority, deadline_ord, visible_at,
                          metadata, payload, idempotency_key, attempts, owner, lease_until,
                          enqueued_at, dead_reason)
                      VALUES (?1, 'q', ?2, 0, 9223372036854775807, ?3, '{}', ?4, ?5, ?6, ?7, ?8,
                          ?9, ?10)";
        let execute = |params: &[&dyn rusqlite::ToSql]| conn.execute(insert, params).unwrap();
        let none: Option<&str> = None;
        let no_lease: Option<i64> = None;
        execute(&[
            &3,
            &0,
            &T0,
            &"\"ready\"",
            &"k-ready",
            &0,
            &none,
            &no_lease,
            &T0,
            &none,
        ]);
        execute(&[
            &5,
            &0,
            &(T0 + 500),
            &"\"timer\"",
            &none,
            &0,
            &none,
            &no_lease,
            &T0,
            &none,
        ]);
        execute(&[
            &8,
            &1,
            &T0,
            &"\"leased\"",
            &"k-leased",
            &1,
            &"w",
            &(T0 + 1_000),
            &T0,
            &none,
        ]);
        execute(&[
            &9,
            &2,
            &T0,
            &"\"dead\"",
            &"k-dead",
            &3,
            &none,
            &no_lease,
            &T0,
            &"gave up",
        ]);
        // An instance with one history row, written before steps were stamped.
        conn.execute_batch(
            "INSERT INTO instances VALUES ('old', 'w', 'b', 'RUNNING', '{}', '{}', NULL, NULL,
                 '{}', 1, 0, 0, NULL);
             INSERT INTO history VALUES ('old', 1, 0, 'started', 'started', '{}');",
        )
        .unwrap();
        // Messages up to 20 existed once (acked since).
        conn.execute(
            "UPDATE sqlite_sequence SET seq = 20 WHERE name = 'messages'",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    assert_eq!(stats(&store, "q", T0), (1, 1, 1, 1));
    assert_eq!(store.next_visible_at("q", T0).unwrap(), Some(T0 + 500));
    // Live keys still deduplicate; the dead one is free again.
    let m = |key: &str| NewMessage {
        idempotency_key: Some(key.into()),
        ..msg("q", json!(key))
    };
    let ids = store
        .enqueue(&[m("k-ready"), m("k-leased"), m("k-dead")], T0)
        .unwrap();
    assert_eq!(&ids[..2], &[3, 8]);
    assert_eq!(ids[2], 21, "ids continue after the old counter");
    assert!(store.ack(8, "w", T0 + 1).unwrap());
    let leased = store.lease(&request("q", "w", T0 + 500, 10)).unwrap();
    assert_eq!(
        payloads(&leased),
        vec![json!("ready"), json!("timer"), json!("k-dead")]
    );
    assert_eq!(store.dead_letters("q", 0).unwrap()[0].2, "gave up");
    // Old history rows read back without a step stamp; new ones get theirs.
    assert_eq!(store.history("old", 0).unwrap()[0].step, None);
    store.commit_step(step("old", 1, T0)).unwrap();
    let rows = store.history("old", 0).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].step, Some(stamp(T0)));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn too_new_schema_is_refused() {
    let (_dir, path) = temp();
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_version (version, name) VALUES (999, 'future')",
        [],
    )
    .unwrap();
    drop(conn);
    match SqliteStore::open(&path) {
        Err(StoreError::Migration(message)) => assert!(message.contains("999"), "{message}"),
        other => panic!("expected a migration error, got {other:?}"),
    }
}

#[test]
fn full_synchronous_is_selectable() {
    let (_dir, path) = temp();
    let options = SqliteOptions {
        synchronous: Synchronous::Full,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, &options).unwrap();
    let ids = store.enqueue(&[msg("q", json!(1))], T0).unwrap();
    assert_eq!(ids.len(), 1);
}

// ---- queue ordering, delays, filters ----

fn priority_then_earliest_deadline_then_oldest(db: &Db) {
    let store = db.open();
    let m = |name: &str, priority: i64, deadline: Option<i64>| NewMessage {
        priority,
        deadline,
        ..msg("q", json!(name))
    };
    store
        .enqueue(
            &[
                m("low-none", 0, None),
                m("high-none", 5, None),
                m("high-50", 5, Some(T0 + 50)),
                m("low-5", 0, Some(T0 + 5)),
                m("high-10", 5, Some(T0 + 10)),
                m("high-10-later", 5, Some(T0 + 10)),
                m("mid-none", 1, None),
            ],
            T0,
        )
        .unwrap();
    let leased = store.lease(&request("q", "w", T0, 100)).unwrap();
    assert_eq!(
        payloads(&leased),
        vec![
            json!("high-10"),
            json!("high-10-later"),
            json!("high-50"),
            json!("high-none"),
            json!("mid-none"),
            json!("low-5"),
            json!("low-none"),
        ]
    );
    // One at a time gives the same order.
    let m = |name: &str, priority: i64, deadline: Option<i64>| NewMessage {
        queue: "q2".into(),
        ..m(name, priority, deadline)
    };
    store
        .enqueue(
            &[
                m("a", 0, None),
                m("b", 1, Some(T0 + 9)),
                m("c", 1, Some(T0 + 3)),
            ],
            T0,
        )
        .unwrap();
    let mut order = Vec::new();
    while let Some(l) = store.lease(&request("q2", "w", T0, 1)).unwrap().pop() {
        order.push(l.payload);
    }
    assert_eq!(order, vec![json!("c"), json!("b"), json!("a")]);
}

fn visible_at_delays_delivery(db: &Db) {
    let store = db.open();
    store
        .enqueue(
            &[
                NewMessage::new("timers", json!("later"), T0 + 100),
                NewMessage::new("timers", json!("much later"), T0 + 500),
            ],
            T0,
        )
        .unwrap();
    assert!(
        store
            .lease(&request("timers", "w", T0, 10))
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_visible_at("timers", T0).unwrap(), Some(T0 + 100));
    assert_eq!(store.next_visible_at("other", T0).unwrap(), None);
    assert_eq!(stats(&*store, "timers", T0), (0, 2, 0, 0));
    assert!(
        store
            .lease(&request("timers", "w", T0 + 99, 10))
            .unwrap()
            .is_empty()
    );
    let leased = store.lease(&request("timers", "w", T0 + 100, 10)).unwrap();
    assert_eq!(payloads(&leased), vec![json!("later")]);
    assert_eq!(
        store.next_visible_at("timers", T0 + 100).unwrap(),
        Some(T0 + 500)
    );
    assert_eq!(
        store.next_lease_expiry("timers", T0 + 100).unwrap(),
        Some(T0 + 1_100)
    );
    assert_eq!(stats(&*store, "timers", T0 + 100), (0, 1, 1, 0));
}

fn a_release_into_the_future_is_a_timer(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("q", json!("retry me"))], T0).unwrap()[0];
    store.lease(&request("q", "w", T0, 1)).unwrap();
    assert!(store.release(id, "w", T0 + 5_000).unwrap());
    assert_eq!(stats(&*store, "q", T0 + 1), (0, 1, 0, 0));
    assert_eq!(
        store.next_visible_at("q", T0 + 1).unwrap(),
        Some(T0 + 5_000)
    );
    assert!(
        store
            .lease(&request("q", "w", T0 + 4_999, 1))
            .unwrap()
            .is_empty()
    );
    let again = store.lease(&request("q", "w", T0 + 5_000, 1)).unwrap();
    assert_eq!((again[0].id, again[0].attempts), (id, 2));
    // Released "now": leasable at once.
    assert!(store.release(id, "w", T0 + 5_000).unwrap());
    assert_eq!(
        store
            .lease(&request("q", "w", T0 + 5_000, 1))
            .unwrap()
            .len(),
        1
    );
}

fn metadata_filters(db: &Db) {
    let store = db.open();
    let m = |name: &str, metadata: &[(&str, &str)]| NewMessage {
        metadata: metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..msg("calls", json!(name))
    };
    store
        .enqueue(
            &[
                m("a", &[("pool", "py")]),
                m("b", &[("pool", "sh")]),
                m("c", &[("pool", "py"), ("kind", "batch")]),
                m("d", &[("we\"ird.key", "v")]),
                m("e", &[]),
            ],
            T0,
        )
        .unwrap();
    let lease = |filter: &[(&str, &str)]| {
        let mut r = request("calls", "w", T0, 10);
        r.filter = filter
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let leased = store.lease(&r).unwrap();
        for l in &leased {
            store.release(l.id, "w", T0).unwrap();
        }
        payloads(&leased)
    };
    assert_eq!(lease(&[("pool", "py")]), vec![json!("a"), json!("c")]);
    assert_eq!(
        lease(&[("pool", "py"), ("kind", "batch")]),
        vec![json!("c")]
    );
    assert_eq!(lease(&[("pool", "rb")]), Vec::<Json>::new());
    assert_eq!(lease(&[("missing", "x")]), Vec::<Json>::new());
    assert_eq!(lease(&[("we\"ird.key", "v")]), vec![json!("d")]);
    assert_eq!(lease(&[]).len(), 5);
    let leased = store.lease(&request("calls", "w", T0, 1)).unwrap();
    assert_eq!(
        leased[0].metadata,
        BTreeMap::from([("pool".to_string(), "py".to_string())])
    );
}

// ---- exclusivity ----

fn exclusivity_one_lease_per_value(db: &Db) {
    let store = db.open();
    let m = |name: &str, value: &str| NewMessage {
        exclusivity: Some(value.into()),
        ..msg("engine", json!(name))
    };
    store
        .enqueue(&[m("i1-a", "i1"), m("i1-b", "i1"), m("i2-a", "i2")], T0)
        .unwrap();
    // Different values are both leasable; the same value only once.
    let first = store.lease(&request("engine", "w1", T0, 10)).unwrap();
    assert_eq!(payloads(&first), vec![json!("i1-a"), json!("i2-a")]);
    assert_eq!(first[0].exclusivity.as_deref(), Some("i1"));
    // The second i1 message is not leasable while the first is held.
    assert!(
        store
            .lease(&request("engine", "w2", T0 + 1, 10))
            .unwrap()
            .is_empty()
    );
    assert!(store.ack(first[0].id, "w1", T0 + 2).unwrap());
    let second = store.lease(&request("engine", "w2", T0 + 3, 10)).unwrap();
    assert_eq!(payloads(&second), vec![json!("i1-b")]);
    // Exclusivity is per queue.
    store
        .enqueue(
            &[NewMessage {
                exclusivity: Some("i1".into()),
                ..msg("other", json!("x"))
            }],
            T0,
        )
        .unwrap();
    assert_eq!(
        store
            .lease(&request("other", "w", T0 + 3, 10))
            .unwrap()
            .len(),
        1
    );
}

fn exclusivity_is_freed_by_lease_expiry(db: &Db) {
    let store = db.open();
    let m = |name: &str| NewMessage {
        exclusivity: Some("i1".into()),
        ..msg("engine", json!(name))
    };
    store.enqueue(&[m("a"), m("b")], T0).unwrap();
    let first = store.lease(&request("engine", "w1", T0, 10)).unwrap();
    assert_eq!(payloads(&first), vec![json!("a")]);
    assert!(
        store
            .lease(&request("engine", "w2", T0 + 999, 10))
            .unwrap()
            .is_empty()
    );
    // Expired: "a" is redelivered first (it is older), still one per value.
    let again = store
        .lease(&request("engine", "w2", T0 + 1_000, 10))
        .unwrap();
    assert_eq!(payloads(&again), vec![json!("a")]);
    assert_eq!(again[0].attempts, 2);
    assert!(!store.ack(first[0].id, "w1", T0 + 1_001).unwrap());
    assert!(store.ack(again[0].id, "w2", T0 + 1_001).unwrap());
    let last = store
        .lease(&request("engine", "w2", T0 + 1_002, 10))
        .unwrap();
    assert_eq!(payloads(&last), vec![json!("b")]);
}

// ---- leases, attempts, dead letters ----

fn lease_expiry_redelivers_with_attempts_plus_one(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("q", json!("m"))], T0).unwrap()[0];
    let mut r = request("q", "w1", T0, 1);
    r.lease_ms = 100;
    let first = store.lease(&r).unwrap();
    assert_eq!(
        (first[0].id, first[0].attempts, first[0].lease_until),
        (id, 1, T0 + 100)
    );
    r.now = T0 + 99;
    assert!(store.lease(&r).unwrap().is_empty());
    r.now = T0 + 100;
    r.owner = "w2".into();
    let second = store.lease(&r).unwrap();
    assert_eq!((second[0].id, second[0].attempts), (id, 2));
    // Extending keeps the lease alive.
    assert!(store.extend(id, "w2", T0 + 10_000).unwrap());
    r.now = T0 + 5_000;
    assert!(store.lease(&r).unwrap().is_empty());
    assert!(store.ack(id, "w2", T0 + 5_000).unwrap());
}

fn max_attempts_moves_to_dead_letters(db: &Db) {
    let store = db.open();
    let id = store
        .enqueue(
            &[NewMessage {
                max_attempts: Some(2),
                ..msg("q", json!("poison"))
            }],
            T0,
        )
        .unwrap()[0];
    let mut r = request("q", "w", T0, 1);
    r.lease_ms = 10;
    assert_eq!(store.lease(&r).unwrap()[0].attempts, 1);
    r.now += 10;
    assert_eq!(store.lease(&r).unwrap()[0].attempts, 2);
    r.now += 10;
    assert!(store.lease(&r).unwrap().is_empty());
    let dead = store.dead_letters("q", 10).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].0, &dead[0].1), (id, &json!("poison")));
    assert!(dead[0].2.contains("expired"), "{}", dead[0].2);
    assert_eq!(stats(&*store, "q", r.now), (0, 0, 0, 1));

    // A release after the last attempt dead-letters too; before it, it retries.
    let id = store
        .enqueue(
            &[NewMessage {
                max_attempts: Some(2),
                ..msg("r", json!("flaky"))
            }],
            T0,
        )
        .unwrap()[0];
    let mut r = request("r", "w", T0, 1);
    store.lease(&r).unwrap();
    assert!(store.release(id, "w", T0 + 50).unwrap());
    assert!(store.lease(&r).unwrap().is_empty()); // not visible before T0 + 50
    r.now = T0 + 50;
    assert_eq!(store.lease(&r).unwrap()[0].attempts, 2);
    assert!(store.release(id, "w", T0 + 60).unwrap());
    r.now = T0 + 100;
    assert!(store.lease(&r).unwrap().is_empty());
    assert_eq!(store.dead_letters("r", 0).unwrap()[0].0, id);

    // An explicit dead letter keeps the reason.
    let id = store.enqueue(&[msg("s", json!("bad"))], T0).unwrap()[0];
    store.lease(&request("s", "w", T0, 1)).unwrap();
    assert!(store.dead_letter(id, "w", "result does not match").unwrap());
    assert_eq!(
        store.dead_letters("s", 10).unwrap(),
        vec![(id, json!("bad"), "result does not match".to_string())]
    );
}

fn idempotency_key_dedupes_live_messages(db: &Db) {
    let store = db.open();
    let m = |queue: &str, key: &str, payload: i64| NewMessage {
        idempotency_key: Some(key.into()),
        ..msg(queue, json!(payload))
    };
    let ids = store
        .enqueue(&[m("q", "k", 1), m("q", "k", 2)], T0)
        .unwrap();
    assert_eq!(ids[0], ids[1]);
    let again = store.enqueue(&[m("q", "k", 3)], T0).unwrap();
    assert_eq!(again, vec![ids[0]]);
    let other_queue = store.enqueue(&[m("p", "k", 4)], T0).unwrap();
    assert_ne!(other_queue[0], ids[0]);
    // Still deduplicated while leased.
    let leased = store.lease(&request("q", "w", T0, 10)).unwrap();
    assert_eq!(payloads(&leased), vec![json!(1)]);
    assert_eq!(leased[0].idempotency_key.as_deref(), Some("k"));
    assert_eq!(store.enqueue(&[m("q", "k", 5)], T0).unwrap(), vec![ids[0]]);
    // Once acked, the key can be used again.
    assert!(store.ack(ids[0], "w", T0).unwrap());
    let fresh = store.enqueue(&[m("q", "k", 6)], T0).unwrap();
    assert_ne!(fresh[0], ids[0]);
}

fn lost_leases_are_refused(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("q", json!("m"))], T0).unwrap()[0];
    store.lease(&request("q", "a", T0, 1)).unwrap();
    // Expired at T0 + 1000: refused even before anyone else takes it.
    assert!(!store.ack(id, "a", T0 + 1_000).unwrap());
    store.lease(&request("q", "b", T0 + 1_000, 1)).unwrap();
    assert!(!store.ack(id, "a", T0 + 1_001).unwrap());
    assert!(!store.release(id, "a", T0).unwrap());
    assert!(!store.extend(id, "a", T0 + 9_999).unwrap());
    assert!(!store.dead_letter(id, "a", "no").unwrap());
    assert!(
        !store
            .ack_and_enqueue(id, "a", &[msg("q", json!("x"))], T0 + 1_001)
            .unwrap()
    );
    assert_eq!(stats(&*store, "q", T0 + 1_001), (0, 0, 1, 0));
    assert!(store.ack(id, "b", T0 + 1_001).unwrap());
    assert!(!store.ack(id, "b", T0 + 1_001).unwrap());
    assert!(!store.ack(12_345, "b", T0).unwrap());
}

fn ack_many_reports_each_lease(db: &Db) {
    let store = db.open();
    let ids = store
        .enqueue(
            &[msg("q", json!(1)), msg("q", json!(2)), msg("q", json!(3))],
            T0,
        )
        .unwrap();
    store.lease(&request("q", "a", T0, 2)).unwrap();
    store.lease(&request("q", "b", T0, 1)).unwrap();
    assert_eq!(
        store
            .ack_many(&[ids[0], ids[2], ids[1], 999], "a", T0 + 1)
            .unwrap(),
        vec![true, false, true, false]
    );
    assert_eq!(stats(&*store, "q", T0 + 1), (0, 0, 1, 0));
}

fn ack_and_enqueue_is_atomic(db: &Db) {
    let store = db.open();
    let id = store.enqueue(&[msg("calls", json!("call"))], T0).unwrap()[0];
    store.lease(&request("calls", "w", T0, 1)).unwrap();
    let event = NewMessage {
        exclusivity: Some("i1".into()),
        ..msg("engine", json!("result"))
    };
    assert!(
        store
            .ack_and_enqueue(id, "w", std::slice::from_ref(&event), T0 + 1)
            .unwrap()
    );
    assert_eq!(stats(&*store, "calls", T0 + 1), (0, 0, 0, 0));
    assert_eq!(stats(&*store, "engine", T0 + 1), (1, 0, 0, 0));
    // Done twice (a retried completion): the second is refused and enqueues nothing.
    assert!(!store.ack_and_enqueue(id, "w", &[event], T0 + 2).unwrap());
    assert_eq!(stats(&*store, "engine", T0 + 2), (1, 0, 0, 0));
}

fn release_owner_and_release_all_leases(db: &Db) {
    let store = db.open();
    store
        .enqueue(
            &[
                msg("q", json!(1)),
                msg("q", json!(2)),
                NewMessage {
                    max_attempts: Some(1),
                    ..msg("q", json!(3))
                },
            ],
            T0,
        )
        .unwrap();
    store.lease(&request("q", "a", T0, 2)).unwrap();
    store.lease(&request("q", "b", T0, 1)).unwrap();
    // Graceful: a's leases go back and their attempt is given back.
    assert_eq!(store.release_owner("a").unwrap(), 2);
    assert_eq!(stats(&*store, "q", T0), (2, 0, 1, 0));
    let again = store.lease(&request("q", "c", T0, 2)).unwrap();
    assert_eq!(
        again.iter().map(|l| l.attempts).collect::<Vec<_>>(),
        vec![1, 1]
    );
    // After a crash: every lease ends as if expired; max_attempts applies.
    assert_eq!(store.release_all_leases().unwrap(), 3);
    assert_eq!(stats(&*store, "q", T0), (2, 0, 0, 1));
    assert_eq!(store.dead_letters("q", 10).unwrap()[0].1, json!(3));
}

fn leases_by_owner_counts_live_leases(db: &Db) {
    let store = db.open();
    store
        .enqueue(
            &[
                msg("q", json!(1)),
                msg("q", json!(2)),
                msg("q", json!(3)),
                msg("p", json!(4)),
            ],
            T0,
        )
        .unwrap();
    store.lease(&request("q", "b", T0, 2)).unwrap();
    store.lease(&request("q", "a", T0 + 500, 1)).unwrap();
    store.lease(&request("p", "a", T0 + 500, 1)).unwrap();
    let held = |now| {
        store
            .leases_by_owner(now)
            .unwrap()
            .into_iter()
            .map(|l| (l.owner, l.queue, l.leases))
            .collect::<Vec<_>>()
    };
    let row = |owner: &str, queue: &str, n| (owner.to_string(), queue.to_string(), n);
    assert_eq!(
        held(T0 + 999),
        vec![row("a", "p", 1), row("a", "q", 1), row("b", "q", 2)]
    );
    // b's leases have expired: not held any more, even before anyone takes them.
    assert_eq!(held(T0 + 1_000), vec![row("a", "p", 1), row("a", "q", 1)]);
    assert!(held(T0 + 1_500).is_empty());
}

// ---- instances ----

fn create_instance_and_idempotency(db: &Db) {
    let store = db.open();
    let mut first = first_step("i1");
    first.enqueue = vec![msg("calls", json!("first call"))];
    first.history = vec![NewHistory {
        at: T0,
        kind: "started".into(),
        text: "started".into(),
        data: json!(null),
    }];
    assert_eq!(
        store
            .create_instance(new_instance("i1", Some("key-1")), first)
            .unwrap(),
        Created::New
    );
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 1);
    assert_eq!(record.status, "RUNNING");
    assert_eq!(record.input, json!({"id": "i1"}));
    assert_eq!(record.idempotency_key.as_deref(), Some("key-1"));
    assert_eq!(store.history("i1", 0).unwrap().len(), 1);
    // Same key, another id: the existing instance, and nothing written.
    let mut again = first_step("i2");
    again.enqueue = vec![msg("calls", json!("second call"))];
    assert_eq!(
        store
            .create_instance(new_instance("i2", Some("key-1")), again)
            .unwrap(),
        Created::Existing("i1".into())
    );
    assert!(store.instance("i2").unwrap().is_none());
    assert_eq!(stats(&*store, "calls", T0), (1, 0, 0, 0));
    // Same id, no key.
    assert!(matches!(
        store.create_instance(new_instance("i1", None), first_step("i1")),
        Err(StoreError::Duplicate(_))
    ));
    assert!(store.instance("nope").unwrap().is_none());
}

fn commit_step_applies_everything(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let event = store
        .enqueue(
            &[NewMessage {
                exclusivity: Some("i1".into()),
                ..msg("engine", json!("event"))
            }],
            T0,
        )
        .unwrap()[0];
    store.lease(&request("engine", "w", T0, 1)).unwrap();
    let mut commit = step("i1", 1, T0 + 5);
    commit.status = "COMPLETED".into();
    commit.output = Some(json!({"total": 3}));
    commit.ack = Some((event, "w".into()));
    commit.enqueue = vec![msg("calls", json!("next"))];
    store.commit_step(commit).unwrap();
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 2);
    assert_eq!(record.status, "COMPLETED");
    assert_eq!(record.output, Some(json!({"total": 3})));
    assert_eq!(record.facts, json!({"step": 1}));
    assert_eq!(record.updated_at, T0 + 5);
    assert_eq!(stats(&*store, "engine", T0 + 5), (0, 0, 0, 0));
    assert_eq!(stats(&*store, "calls", T0 + 5), (1, 0, 0, 0));
    assert!(store.unfinished_instances().unwrap().is_empty());
    assert!(matches!(
        store.commit_step(step("ghost", 1, T0)),
        Err(StoreError::NotFound(_))
    ));
}

/// What a rejected step must not have touched.
fn assert_untouched(store: &dyn Store) {
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 1);
    assert_eq!(record.facts, json!({"step": 0}));
    assert!(store.history("i1", 0).unwrap().is_empty());
    assert_eq!(stats(store, "calls", T0), (0, 0, 0, 0));
}

fn commit_step_conflict_writes_nothing(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let event = store.enqueue(&[msg("engine", json!("e"))], T0).unwrap()[0];
    store.lease(&request("engine", "w", T0, 1)).unwrap();
    let mut commit = step("i1", 7, T0 + 1);
    commit.ack = Some((event, "w".into()));
    commit.enqueue = vec![msg("calls", json!("x"))];
    match store.commit_step(commit) {
        Err(StoreError::Conflict {
            instance,
            expected,
            actual,
        }) => assert_eq!((instance.as_str(), expected, actual), ("i1", 7, 1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_untouched(store.as_ref());
    // The event is still leased by w: the ack was rolled back.
    assert!(store.ack(event, "w", T0 + 2).unwrap());
}

fn commit_step_lease_lost_writes_nothing(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let event = store.enqueue(&[msg("engine", json!("e"))], T0).unwrap()[0];
    store.lease(&request("engine", "w1", T0, 1)).unwrap();
    store
        .lease(&request("engine", "w2", T0 + 1_000, 1))
        .unwrap();
    let mut commit = step("i1", 1, T0 + 1_001);
    commit.ack = Some((event, "w1".into()));
    commit.enqueue = vec![msg("calls", json!("x"))];
    match store.commit_step(commit) {
        Err(StoreError::LeaseLost { id, owner }) => assert_eq!((id, owner.as_str()), (event, "w1")),
        other => panic!("expected a lost lease, got {other:?}"),
    }
    assert_untouched(store.as_ref());
    assert_eq!(stats(&*store, "engine", T0 + 1_001), (0, 0, 1, 0));
}

fn history_order_and_paging(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    store
        .create_instance(new_instance("i2", None), first_step("i2"))
        .unwrap();
    for version in 1..=4 {
        let mut commit = step("i1", version, T0 + version);
        if version == 2 {
            commit.history.push(NewHistory {
                at: T0 + 2,
                kind: "fact".into(),
                text: "second event of the step".into(),
                data: json!([1, 2]),
            });
        }
        store.commit_step(commit).unwrap();
        store
            .commit_step(step("i2", version, T0 + version))
            .unwrap();
    }
    let all = store.history("i1", 0).unwrap();
    assert_eq!(
        all.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(all[2].kind, "fact");
    assert_eq!(all[2].data, json!([1, 2]));
    // Both rows of the step taken from version 2 carry its stamp.
    assert_eq!(all[1].step, Some(stamp(T0 + 2)));
    assert_eq!(all[2].step, Some(stamp(T0 + 2)));
    assert_eq!(all[4].step, Some(stamp(T0 + 4)));
    let unstamped = StepCommit {
        stamp: None,
        ..step("i2", 5, T0 + 5)
    };
    store.commit_step(unstamped).unwrap();
    assert_eq!(store.history("i2", 4).unwrap()[0].step, None);
    assert_eq!(all[1].text, "step from version 2");
    let page = store.history("i1", 3).unwrap();
    assert_eq!(page.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(page[1].data, json!({"from": 4}));
    assert!(store.history("i1", 5).unwrap().is_empty());
    assert_eq!(store.history("i2", 0).unwrap().len(), 5);
    assert!(store.history("nope", 0).unwrap().is_empty());
}

fn list_and_unfinished_instances(db: &Db) {
    let store = db.open();
    for (id, workflow, status) in [
        ("a", "order", "RUNNING"),
        ("b", "refund", "RUNNING"),
        ("c", "order", "COMPLETED"),
        ("d", "order", "RUNNING"),
    ] {
        let new = NewInstance {
            workflow: workflow.into(),
            ..new_instance(id, None)
        };
        let first = StepCommit {
            status: status.into(),
            ..first_step(id)
        };
        store.create_instance(new, first).unwrap();
    }
    let ids = |filter: InstanceFilter| {
        store
            .list_instances(&filter)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(InstanceFilter::default()), vec!["a", "b", "c", "d"]);
    assert_eq!(
        ids(InstanceFilter {
            workflow: Some("order".into()),
            ..InstanceFilter::default()
        }),
        vec!["a", "c", "d"]
    );
    assert_eq!(
        ids(InstanceFilter {
            workflow: Some("order".into()),
            status: Some("RUNNING".into()),
            limit: 1,
            after: Some("a".into()),
        }),
        vec!["d"]
    );
    assert_eq!(
        ids(InstanceFilter {
            limit: 2,
            after: Some("b".into()),
            ..InstanceFilter::default()
        }),
        vec!["c", "d"]
    );
    let summary = &store.list_instances(&InstanceFilter::default()).unwrap()[1];
    assert_eq!(
        (summary.workflow.as_str(), summary.status.as_str()),
        ("refund", "RUNNING")
    );
    assert_eq!(store.unfinished_instances().unwrap(), vec!["a", "b", "d"]);
}

fn bundles_by_hash(db: &Db) {
    let store = db.open();
    assert!(store.bundle("h1").unwrap().is_none());
    store.put_bundle("h1", &[0, 1, 2, 255], T0).unwrap();
    store.put_bundle("h1", &[0, 1, 2, 255], T0 + 1).unwrap();
    assert_eq!(store.bundle("h1").unwrap(), Some(vec![0, 1, 2, 255]));
}

fn corrupt_rows_are_reported_with_their_id(db: &Db) {
    let store = db.open();
    store
        .create_instance(new_instance("i1", None), first_step("i1"))
        .unwrap();
    let id = store.enqueue(&[msg("q", json!(1))], T0).unwrap()[0];
    db.exec("UPDATE instances SET facts = '{not json' WHERE id = 'i1'");
    db.exec("UPDATE messages SET payload = 'nope'");
    match store.instance("i1") {
        Err(StoreError::Corrupt(message)) => {
            assert!(
                message.contains("i1") && message.contains("facts"),
                "{message}"
            )
        }
        other => panic!("expected a corrupt row, got {other:?}"),
    }
    match store.lease(&request("q", "w", T0, 1)) {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains(&id.to_string()), "{message}")
        }
        other => panic!("expected a corrupt row, got {other:?}"),
    }
}

// ---- durability ----

fn everything_survives_a_reopen(db: &Db) {
    let (event, timer) = {
        let store = db.open();
        let mut first = first_step("i1");
        first.enqueue = vec![msg("calls", json!("call"))];
        store
            .create_instance(new_instance("i1", Some("k")), first)
            .unwrap();
        store.commit_step(step("i1", 1, T0 + 1)).unwrap();
        store.put_bundle("h", b"bundle", T0).unwrap();
        let event = store.enqueue(&[msg("engine", json!("e"))], T0).unwrap()[0];
        store.lease(&request("engine", "w", T0, 1)).unwrap();
        let timer = store
            .enqueue(&[NewMessage::new("timers", json!("t"), T0 + 60_000)], T0)
            .unwrap()[0];
        (event, timer)
    };
    let store = db.open();
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!((record.version, record.facts), (2, json!({"step": 1})));
    assert_eq!(store.history("i1", 0).unwrap().len(), 1);
    assert_eq!(store.bundle("h").unwrap(), Some(b"bundle".to_vec()));
    assert_eq!(stats(&*store, "calls", T0), (1, 0, 0, 0));
    assert_eq!(stats(&*store, "engine", T0), (0, 0, 1, 0));
    assert_eq!(
        store.next_visible_at("timers", T0).unwrap(),
        Some(T0 + 60_000)
    );
    // The lease survived too: the owner can still ack.
    assert!(store.ack(event, "w", T0 + 1).unwrap());
    let leased = store
        .lease(&request("timers", "w", T0 + 60_000, 1))
        .unwrap();
    assert_eq!(leased[0].id, timer);
}

const CRASH_ENV: &str = "COSMOS_STORE_CRASH_CHILD";
const CRASH_INSTANCES: usize = 4;

/// Not a test on its own: the child process of `kill_9_leaves_no_partial_step`. Each
/// step of instance `c{i}` leases the one message of queue `crash-{i}`, and commits
/// (1 history row, version + 1, the ack of that message, one new message whose
/// payload is the new version) in one transaction, then prints "committed ID V".
#[test]
fn crash_child_writer() {
    let Ok(target) = std::env::var(CRASH_ENV) else {
        return;
    };
    let store = cosmos_runtime::connect::open_store(&target, Path::new(".")).unwrap();
    store.release_all_leases().unwrap();
    for i in 0..CRASH_INSTANCES {
        let id = format!("c{i}");
        let mut first = first_step(&id);
        first.enqueue = vec![msg(&format!("crash-{i}"), json!(1))];
        store
            .create_instance(new_instance(&id, Some(&id)), first)
            .unwrap();
    }
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    for n in 0.. {
        if started.elapsed() > Duration::from_secs(60) {
            break; // the parent is gone
        }
        let i = n % CRASH_INSTANCES;
        let id = format!("c{i}");
        let version = store.instance(&id).unwrap().unwrap().version;
        let leased = store
            .lease(&request(&format!("crash-{i}"), "child", T0 + n as i64, 1))
            .unwrap();
        assert_eq!(leased.len(), 1, "instance {id} has no message");
        let mut commit = step(&id, version, T0 + n as i64);
        commit.facts = json!({"version": version + 1, "padding": "x".repeat(n % 3000)});
        commit.ack = Some((leased[0].id, "child".into()));
        commit.enqueue = vec![msg(&format!("crash-{i}"), json!(version + 1))];
        store.commit_step(commit).unwrap();
        writeln!(stdout, "committed {id} {}", version + 1).unwrap();
        stdout.flush().unwrap();
    }
}

fn check_crash_invariants(db: &Db, reported: &BTreeMap<String, i64>) {
    let store = db.open();
    db.check_integrity();
    for i in 0..CRASH_INSTANCES {
        let id = format!("c{i}");
        let Some(record) = store.instance(&id).unwrap() else {
            assert!(!reported.contains_key(&id));
            continue;
        };
        let history = store.history(&id, 0).unwrap();
        // Each step wrote exactly one history row and one version: all or nothing.
        assert_eq!(history.len() as i64, record.version - 1, "instance {id}");
        assert!(history.iter().zip(1..).all(|(h, seq)| h.seq == seq));
        if record.version > 1 {
            assert_eq!(record.facts["version"], json!(record.version));
        }
        // Every step the child reported as committed is there.
        assert!(
            record.version >= reported.get(&id).copied().unwrap_or(0),
            "instance {id}: version {} but {:?} was reported",
            record.version,
            reported.get(&id)
        );
        // Exactly one live message per instance, produced by the latest step.
        let live = db.live_messages(&format!("crash-{i}"));
        assert_eq!(live.len(), 1, "instance {id}: {live:?}");
        assert_eq!(live[0].0, record.version.to_string(), "instance {id}");
    }
}

fn kill_9_leaves_no_partial_step(db: &Db) {
    let exe = std::env::current_exe().unwrap();
    let mut reported = BTreeMap::new();
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_ENV, db.target())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        let wanted = 40 + round * 37;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("committed ") {
                let (id, version) = rest.split_once(' ').unwrap();
                reported.insert(id.to_string(), version.parse::<i64>().unwrap());
                seen += 1;
                if seen >= wanted {
                    break;
                }
            }
        }
        assert!(seen >= wanted, "the child stopped early (round {round})");
        // Land the kill at a different point of a step each round.
        std::thread::sleep(Duration::from_micros(round * 150));
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines printed before the kill report commits too.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("committed ") {
                let (id, version) = rest.split_once(' ').unwrap();
                reported.insert(id.to_string(), version.parse::<i64>().unwrap());
            }
        }
        check_crash_invariants(db, &reported);
    }
    assert!(reported.values().all(|&v| v > 10), "{reported:?}");
}

on_both_backends!(
    leases_by_owner_counts_live_leases,
    priority_then_earliest_deadline_then_oldest,
    visible_at_delays_delivery,
    a_release_into_the_future_is_a_timer,
    metadata_filters,
    exclusivity_one_lease_per_value,
    exclusivity_is_freed_by_lease_expiry,
    lease_expiry_redelivers_with_attempts_plus_one,
    max_attempts_moves_to_dead_letters,
    idempotency_key_dedupes_live_messages,
    lost_leases_are_refused,
    ack_many_reports_each_lease,
    ack_and_enqueue_is_atomic,
    release_owner_and_release_all_leases,
    create_instance_and_idempotency,
    commit_step_applies_everything,
    commit_step_conflict_writes_nothing,
    commit_step_lease_lost_writes_nothing,
    history_order_and_paging,
    list_and_unfinished_instances,
    bundles_by_hash,
    corrupt_rows_are_reported_with_their_id,
    everything_survives_a_reopen,
    kill_9_leaves_no_partial_step,
);
