//! The registry of workers: a row per process that runs functions, written again at
//! each heartbeat, kept after the process is gone.

use cosmos_runtime::store::{WORKER_ALIVE_BEATS, WorkerKind, WorkerRecord, WorkerReport};

use crate::{Db, T0};

fn worker(name: &str, last_seen: i64) -> WorkerRecord {
    WorkerRecord {
        name: name.to_string(),
        kind: WorkerKind::Worker,
        pools: vec!["default".to_string(), "transcoders".to_string()],
        version: "0.1.0".to_string(),
        started_at: T0,
        last_seen,
        heartbeat_ms: 2_000,
        stopped_at: None,
        leased: 0,
        completed: 0,
        failed: 0,
    }
}

fn workers_are_recorded_and_replaced_by_name(db: &Db) {
    let store = db.open();
    assert_eq!(store.workers().unwrap(), Vec::new());
    let mut w1 = worker("w1", T0);
    store.record_worker(&w1).unwrap();
    let node = WorkerRecord {
        kind: WorkerKind::Node,
        ..worker("node-a", T0)
    };
    store.record_worker(&node).unwrap();
    // A heartbeat writes the whole row again.
    w1.last_seen = T0 + 2_000;
    w1.leased = 7;
    w1.completed = 5;
    w1.failed = 1;
    w1.pools = vec!["transcoders".to_string()];
    store.record_worker(&w1).unwrap();
    let all = store.workers().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], node);
    assert_eq!(all[1], w1);
    // A graceful stop is kept too.
    w1.stopped_at = Some(T0 + 3_000);
    store.record_worker(&w1).unwrap();
    assert_eq!(store.workers().unwrap()[1].stopped_at, Some(T0 + 3_000));
    // Counters past i64::MAX stay at the largest value a column holds.
    let mut huge = worker("huge", T0);
    huge.leased = u64::MAX;
    store.record_worker(&huge).unwrap();
    let all = store.workers().unwrap();
    assert_eq!(all[0].name, "huge");
    assert_eq!(all[0].leased, i64::MAX as u64);
}

fn a_worker_is_alive_within_its_heartbeats_until_it_stops(db: &Db) {
    let store = db.open();
    let mut w = worker("w", T0);
    store.record_worker(&w).unwrap();
    let read = &store.workers().unwrap()[0];
    let limit = T0 + WORKER_ALIVE_BEATS * 2_000;
    assert!(read.alive(T0));
    assert!(read.alive(limit));
    assert!(!read.alive(limit + 1));
    w.stopped_at = Some(T0 + 1);
    store.record_worker(&w).unwrap();
    assert!(!store.workers().unwrap()[0].alive(T0 + 1));
}

fn report(name: &str, now: i64, counts: (u64, u64, u64)) -> WorkerReport {
    WorkerReport {
        name: name.to_string(),
        kind: WorkerKind::Http,
        pools: None,
        heartbeat_ms: None,
        now,
        leased: counts.0,
        completed: counts.1,
        failed: counts.2,
    }
}

fn reports_are_added_to_a_workers_row(db: &Db) {
    let store = db.open();
    // The first report makes the row; one with pools sets them and the heartbeat.
    store
        .count_worker(&WorkerReport {
            pools: Some(vec!["py".to_string()]),
            heartbeat_ms: Some(10_000),
            ..report("py-1", T0, (3, 0, 0))
        })
        .unwrap();
    store
        .count_worker(&report("py-1", T0 + 5, (0, 1, 0)))
        .unwrap();
    store
        .count_worker(&report("py-1", T0 + 9, (0, 1, 1)))
        .unwrap();
    // A late report does not move `last_seen` back.
    store
        .count_worker(&report("py-1", T0 + 7, (0, 1, 0)))
        .unwrap();
    let row = store.workers().unwrap().remove(0);
    assert_eq!(
        row,
        WorkerRecord {
            name: "py-1".to_string(),
            kind: WorkerKind::Http,
            pools: vec!["py".to_string()],
            version: String::new(),
            started_at: T0,
            last_seen: T0 + 9,
            heartbeat_ms: 10_000,
            stopped_at: None,
            leased: 3,
            completed: 3,
            failed: 1,
        }
    );
    // Reports from several threads at once (several nodes answering one worker) are
    // all counted.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let store = db.open();
            scope.spawn(move || {
                for i in 0..10 {
                    store
                        .count_worker(&report("py-1", T0 + 10 + i, (1, 1, 0)))
                        .unwrap();
                }
            });
        }
    });
    let row = store.workers().unwrap().remove(0);
    assert_eq!((row.leased, row.completed, row.failed), (43, 43, 1));
    // A row of another kind, or of a stopped worker, starts over.
    let mut stopped = row.clone();
    stopped.stopped_at = Some(T0 + 100);
    store.record_worker(&stopped).unwrap();
    store
        .count_worker(&report("py-1", T0 + 200, (1, 0, 0)))
        .unwrap();
    let row = store.workers().unwrap().remove(0);
    assert_eq!(
        (
            row.started_at,
            row.stopped_at,
            row.leased,
            row.completed,
            row.pools
        ),
        (T0 + 200, None, 1, 0, Vec::new())
    );
    store.record_worker(&worker("py-1", T0 + 300)).unwrap();
    store
        .count_worker(&report("py-1", T0 + 400, (0, 2, 0)))
        .unwrap();
    let row = store.workers().unwrap().remove(0);
    assert_eq!(
        (row.kind, row.started_at, row.leased, row.completed),
        (WorkerKind::Http, T0 + 400, 0, 2)
    );
}

on_both_backends!(
    reports_are_added_to_a_workers_row,
    workers_are_recorded_and_replaced_by_name,
    a_worker_is_alive_within_its_heartbeats_until_it_stops,
);
