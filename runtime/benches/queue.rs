//! Queue throughput on a SQLite file: enqueue + lease + ack per second (DESIGN.md
//! target: at least 20,000), against a reference measured in the same run: raw
//! single-row INSERT and DELETE transactions (autocommit, one of each per message) on
//! a connection set up like the store's (WAL, synchronous=NORMAL).
//!
//! `cargo bench -p cosmos-runtime --bench queue` (`COSMOS_BENCH_N` messages per run,
//! default 20,000; `COSMOS_BENCH_RUNS` runs, default 5, the median is reported;
//! `COSMOS_BENCH_CHECKPOINT` overrides `SqliteOptions::wal_autocheckpoint`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use cosmos_runtime::store::{LeaseRequest, NewMessage, SqliteOptions, SqliteStore, Store};
use serde_json::json;

const T0: i64 = 1_767_225_600_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The store's options, with `COSMOS_BENCH_CHECKPOINT` (pages) replacing the default
/// `wal_autocheckpoint`; the reference uses the same.
fn options() -> SqliteOptions {
    let default = SqliteOptions::default();
    SqliteOptions {
        wal_autocheckpoint: env_usize(
            "COSMOS_BENCH_CHECKPOINT",
            default.wal_autocheckpoint as usize,
        ) as u32,
        ..default
    }
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open_with(path, &options()).unwrap()
}

fn message(i: usize) -> NewMessage {
    NewMessage {
        metadata: BTreeMap::from([("pool".to_string(), "default".to_string())]),
        idempotency_key: Some(format!("i-{i}/rule/1/1")),
        ..NewMessage::new(
            "calls",
            json!({"instance": format!("i-{i}"), "function": "charge", "args": {"amount": i, "currency": "EUR"}}),
            T0,
        )
    }
}

fn request(limit: usize, now: i64) -> LeaseRequest {
    LeaseRequest {
        queue: "calls".into(),
        owner: "worker-1".into(),
        now,
        lease_ms: 30_000,
        limit,
        filter: BTreeMap::new(),
    }
}

/// Messages per second through the reference: INSERT one row, then DELETE it, each
/// its own transaction.
fn reference(path: &Path, n: usize) -> f64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    let _: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", options().wal_autocheckpoint)
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, payload TEXT NOT NULL)",
    )
    .unwrap();
    let payload = serde_json::to_string(&message(0).payload).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        let id = conn
            .prepare_cached("INSERT INTO t (queue, payload) VALUES ('calls', ?1)")
            .unwrap()
            .insert([&payload])
            .unwrap();
        conn.prepare_cached("DELETE FROM t WHERE id = ?1")
            .unwrap()
            .execute([id])
            .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// One message at a time: enqueue it, lease it, ack it (three transactions), with
/// `backlog` other ready messages (of lower priority) in the queue.
fn single(path: &Path, n: usize, backlog: usize) -> f64 {
    let store = open(path);
    let waiting: Vec<NewMessage> = (0..backlog)
        .map(|i| NewMessage {
            priority: -1,
            ..message(n + i)
        })
        .collect();
    for chunk in waiting.chunks(1_000) {
        store.enqueue(chunk, T0).unwrap();
    }
    let start = Instant::now();
    for i in 0..n {
        let now = T0 + i as i64;
        store.enqueue(&[message(i)], now).unwrap();
        let leased = store.lease(&request(1, now)).unwrap();
        assert_eq!(leased.len(), 1);
        assert!(store.ack(leased[0].id, "worker-1", now).unwrap());
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Leases of 100: each message enqueued on its own (`batched_enqueue` false) or 100
/// per call, leased 100 per call, and acked one by one (`batched_ack` false) or 100
/// per call (`ack_many`).
fn batched(path: &Path, n: usize, batched_enqueue: bool, batched_ack: bool) -> f64 {
    let store = open(path);
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let now = T0 + i as i64;
        let batch: Vec<NewMessage> = (i..(i + 100).min(n)).map(message).collect();
        if batched_enqueue {
            store.enqueue(&batch, now).unwrap();
        } else {
            for m in &batch {
                store.enqueue(std::slice::from_ref(m), now).unwrap();
            }
        }
        let leased = store.lease(&request(100, now)).unwrap();
        assert_eq!(leased.len(), batch.len());
        if batched_ack {
            let ids: Vec<_> = leased.iter().map(|l| l.id).collect();
            let acked = store.ack_many(&ids, "worker-1", now).unwrap();
            assert!(acked.iter().all(|&a| a));
        } else {
            for l in &leased {
                assert!(store.ack(l.id, "worker-1", now).unwrap());
            }
        }
        i += batch.len();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One measured case: messages per second on a fresh database at the given path.
type Case<'a> = dyn Fn(&Path) -> f64 + 'a;

fn main() {
    let n = env_usize("COSMOS_BENCH_N", 20_000);
    let runs = env_usize("COSMOS_BENCH_RUNS", 5).max(1);
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &Case<'_>); 6] = [
        ("reference: INSERT + DELETE, one transaction each", &|p| {
            reference(p, n)
        }),
        ("one at a time: enqueue 1, lease 1, ack", &|p| {
            single(p, n, 0)
        }),
        ("one at a time, 10,000 ready messages behind", &|p| {
            single(p, n, 10_000)
        }),
        ("enqueue 1 × 100, lease 100, ack 1 × 100", &|p| {
            batched(p, n, false, false)
        }),
        ("enqueue 100, lease 100, ack 1 × 100", &|p| {
            batched(p, n, true, false)
        }),
        ("enqueue 100, lease 100, ack 100 (`ack_many`)", &|p| {
            batched(p, n, true, true)
        }),
    ];
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for run in 0..runs {
        // Interleaved, so that the machine's drift hits every case alike.
        for (c, (_, case)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("run{run}-case{c}.db"));
            results[c].push(case(&path));
        }
    }
    let reference = median(results[0].clone());
    println!(
        "{n} messages per run, median of {runs} runs, wal_autocheckpoint {} pages, \
         ratio against the reference\n",
        options().wal_autocheckpoint
    );
    println!("| case | messages/s | ratio |");
    println!("| --- | ---: | ---: |");
    for ((name, _), values) in cases.iter().zip(results) {
        let rate = median(values);
        println!("| {name} | {rate:.0} | {:.2} |", rate / reference);
    }
}
