//! SQLite's own schema and settings: migrations from older schemas, a schema too new
//! to open, the `synchronous` pragma. (PostgreSQL's are in `store_postgres.rs`.)

use cosmos_runtime::store::{
    Created, NewInstance, NewMessage, SqliteOptions, SqliteStore, Store, StoreError, Synchronous,
};
use rusqlite::OptionalExtension;
use serde_json::json;

use crate::{T0, first_step, msg, payloads, request, stamp, stats, step, temp};

#[test]
fn migrations_apply_once_and_reopen_works() {
    let (_dir, path) = temp();
    {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 9);
        store.put_bundle("h", b"x", T0).unwrap();
    }
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), 9);
        assert_eq!(store.bundle("h").unwrap().as_deref(), Some(&b"x"[..]));
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 9);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A database written by schema 1 (ready/leased/dead only, idempotency on
/// `idempotency_key`, unstamped history) keeps its messages, their ids, its id counter
/// and its history through migrations 2 to 5, and its instance keeps its idempotency
/// key, now scoped to its workflow.
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
        conn.execute_batch(include_str!("../../src/store/migrations/0001_init.sql"))
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
                 '{}', 1, 0, 0, 'order-1');
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
    assert_eq!(store.schema_version().unwrap(), 9);
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
    // The key still finds its instance in its workflow, and only there.
    let again = |id: &str, workflow: &str| NewInstance {
        id: id.into(),
        workflow: workflow.into(),
        bundle: "b".into(),
        input: json!({}),
        idempotency_key: Some("order-1".into()),
        created_at: T0,
    };
    assert_eq!(
        store
            .create_instance(again("new-w", "w"), first_step("new-w"))
            .unwrap(),
        Created::Existing("old".into())
    );
    assert_eq!(
        store
            .create_instance(again("new-v", "v"), first_step("new-v"))
            .unwrap(),
        Created::New
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let foreign: Option<String> = conn
        .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
        .optional()
        .unwrap();
    assert_eq!(foreign, None);
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
