//! What only PostgreSQL has: several stores (processes) on one database leasing at
//! once, leases expiring from one store to another, connection loss, lost commit
//! answers, concurrent migrations. Each test runs in a fresh schema of the server
//! `COSMOS_TEST_POSTGRES` names, and is skipped (with a message) without it. The
//! behaviour both backends share is tested by `store.rs`, on both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use cosmos_runtime::engine::{HistoryKind, Status};
use cosmos_runtime::store::{
    Created, LeaseRequest, NewHistory, NewInstance, NewMessage, POSTGRES_SCHEMA_VERSION,
    PostgresOptions, PostgresStore, StepCommit, Store, StoreError,
};
use serde_json::json;

const T0: i64 = 1_767_225_600_000;

fn now_ms() -> i64 {
    cosmos_runtime::node::now_ms()
}

fn request(queue: &str, owner: &str, now: i64, limit: usize, lease_ms: i64) -> LeaseRequest {
    LeaseRequest {
        queue: queue.into(),
        owner: owner.into(),
        now,
        lease_ms,
        limit,
        filter: BTreeMap::new(),
    }
}

fn new_instance(id: &str) -> NewInstance {
    NewInstance {
        id: id.into(),
        workflow: "w".into(),
        bundle: "b".into(),
        input: json!({}),
        idempotency_key: None,
        created_at: T0,
    }
}

fn step(instance: &str, expected_version: i64, now: i64) -> StepCommit {
    StepCommit {
        instance: instance.into(),
        expected_version,
        status: Status::Running,
        facts: json!({"version": expected_version + 1}),
        output: None,
        failure: None,
        state: json!({}),
        now,
        history: vec![NewHistory {
            at: now,
            kind: HistoryKind::Fired,
            text: format!("step from {expected_version}"),
            data: json!(expected_version),
        }],
        enqueue: Vec::new(),
        ack: None,
        stamp: None,
        children: Vec::new(),
    }
}

#[test]
fn migrations_apply_once_and_a_too_new_schema_is_refused() {
    let Some(schema) = pg::schema("migrations_apply_once_and_a_too_new_schema_is_refused") else {
        return;
    };
    for _ in 0..2 {
        let store = PostgresStore::open(&schema.url).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            i64::from(POSTGRES_SCHEMA_VERSION)
        );
    }
    let mut client = schema.client();
    let rows: i64 = client
        .query_one("SELECT count(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, i64::from(POSTGRES_SCHEMA_VERSION));
    client
        .execute("INSERT INTO schema_version VALUES (999, 'future')", &[])
        .unwrap();
    match PostgresStore::open(&schema.url) {
        Err(StoreError::Migration(message)) => assert!(message.contains("999"), "{message}"),
        other => panic!("expected a migration error, got {other:?}"),
    }
}

#[test]
fn nodes_starting_together_migrate_once() {
    let Some(schema) = pg::schema("nodes_starting_together_migrate_once") else {
        return;
    };
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = schema.url.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                PostgresStore::open(&url).map(|s| s.schema_version().unwrap())
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(
            handle.join().unwrap().unwrap(),
            i64::from(POSTGRES_SCHEMA_VERSION)
        );
    }
}

/// Four stores (as four processes would have), two threads each, lease one queue of
/// messages spread over a few exclusivity values: no value is ever held twice, and
/// every message is delivered exactly once (the leases never expire here).
#[test]
fn concurrent_leasing_never_hands_out_two_leases_of_one_value() {
    let Some(schema) = pg::schema("concurrent_leasing_never_hands_out_two_leases_of_one_value")
    else {
        return;
    };
    const VALUES: usize = 12;
    const PER_VALUE: usize = 15;
    let stores: Vec<Arc<PostgresStore>> = (0..4)
        .map(|_| Arc::new(PostgresStore::open(&schema.url).unwrap()))
        .collect();
    let messages: Vec<NewMessage> = (0..VALUES * PER_VALUE)
        .map(|n| NewMessage {
            exclusivity: Some(format!("i{}", n % VALUES)),
            // Some plain messages too, which may go to anyone at any time.
            ..NewMessage::new("engine", json!(n), T0)
        })
        .chain((0..30).map(|n| NewMessage::new("engine", json!(10_000 + n), T0)))
        .collect();
    let total = messages.len();
    stores[0].enqueue(&messages, T0).unwrap();

    let held = Arc::new(Mutex::new(HashSet::<String>::new()));
    let seen = Arc::new(Mutex::new(Vec::<i64>::new()));
    let max_parallel = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for t in 0..2 {
            let store = Arc::clone(store);
            let (held, seen, max_parallel) = (held.clone(), seen.clone(), max_parallel.clone());
            workers.push(std::thread::spawn(move || {
                let owner = format!("node{s}-{t}");
                let started = Instant::now();
                loop {
                    assert!(started.elapsed() < Duration::from_secs(60), "too slow");
                    if seen.lock().unwrap().len() >= total {
                        break;
                    }
                    let leased = store
                        .lease(&request("engine", &owner, now_ms(), 4, 600_000))
                        .unwrap();
                    if leased.is_empty() {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                    {
                        let mut held = held.lock().unwrap();
                        for message in &leased {
                            if let Some(value) = &message.exclusivity {
                                assert!(held.insert(value.clone()), "{value} leased twice");
                            }
                        }
                        max_parallel.fetch_max(held.len(), Ordering::SeqCst);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    for message in &leased {
                        // Forget the value before the ack: until the ack the database
                        // still holds the lease, so nobody else can have it yet.
                        if let Some(value) = &message.exclusivity {
                            held.lock().unwrap().remove(value);
                        }
                        assert!(store.ack(message.id, &owner, now_ms()).unwrap());
                        seen.lock().unwrap().push(message.payload.as_i64().unwrap());
                    }
                }
            }));
        }
    }
    // Meanwhile the database never holds two leases of one value.
    let checker = {
        let done = Arc::clone(&done);
        let mut client = schema.client();
        std::thread::spawn(move || {
            let mut checks = 0;
            while !done.load(Ordering::SeqCst) {
                let doubled = client
                    .query(
                        "SELECT queue, exclusivity FROM messages WHERE state = 1
                         AND exclusivity IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1",
                        &[],
                    )
                    .unwrap();
                assert!(doubled.is_empty(), "two leases of one value");
                checks += 1;
            }
            checks
        })
    };
    for worker in workers {
        worker.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    assert!(checker.join().unwrap() > 0);
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    let mut expected: Vec<i64> = (0..(VALUES * PER_VALUE) as i64).collect();
    expected.extend(10_000..10_030);
    assert_eq!(seen, expected, "each message exactly once");
    assert!(
        max_parallel.load(Ordering::SeqCst) > 1,
        "values were leased in parallel"
    );
}

/// Timers (messages visible later) due at once, leased by four stores from eight
/// threads: each is delivered exactly once, and none before it is due.
#[test]
fn a_timer_fires_once_across_stores() {
    let Some(schema) = pg::schema("a_timer_fires_once_across_stores") else {
        return;
    };
    let stores: Vec<Arc<PostgresStore>> = (0..4)
        .map(|_| Arc::new(PostgresStore::open(&schema.url).unwrap()))
        .collect();
    let timers: Vec<NewMessage> = (0..60)
        .map(|n| NewMessage {
            exclusivity: Some(format!("i{}", n % 20)),
            ..NewMessage::new("engine", json!(n), T0 + 1_000 + n)
        })
        .collect();
    stores[0].enqueue(&timers, T0).unwrap();
    assert!(
        stores[1]
            .lease(&request("engine", "early", T0 + 999, 100, 60_000))
            .unwrap()
            .is_empty(),
        "nothing is due yet"
    );
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&stores[t % 4]);
            let (delivered, barrier) = (Arc::clone(&delivered), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let owner = format!("t{t}");
                barrier.wait();
                for round in 0..200 {
                    if delivered.lock().unwrap().len() >= 60 {
                        break;
                    }
                    let now = T0 + 1_000 + round;
                    for message in store
                        .lease(&request("engine", &owner, now, 3, 60_000))
                        .unwrap()
                    {
                        let n = message.payload.as_i64().unwrap();
                        assert!(T0 + 1_000 + n <= now, "timer {n} fired early");
                        assert_eq!(message.attempts, 1);
                        delivered.lock().unwrap().push(n);
                        assert!(store.ack(message.id, &owner, now).unwrap());
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut delivered = delivered.lock().unwrap().clone();
    delivered.sort_unstable();
    assert_eq!(delivered, (0..60).collect::<Vec<i64>>(), "each timer once");
}

/// A lease taken by one store (a node that then dies) expires and is taken by another
/// store with attempts + 1; the first owner's ack is refused; max_attempts dead-letters.
#[test]
fn leases_expire_from_one_store_to_another() {
    let Some(schema) = pg::schema("leases_expire_from_one_store_to_another") else {
        return;
    };
    let a = PostgresStore::open(&schema.url).unwrap();
    let b = PostgresStore::open(&schema.url).unwrap();
    let m = |n: i64| NewMessage {
        exclusivity: Some("i1".into()),
        max_attempts: Some(3),
        ..NewMessage::new("engine", json!(n), T0)
    };
    let ids = a.enqueue(&[m(1), m(2)], T0).unwrap();
    let first = a.lease(&request("engine", "a", T0, 10, 1_000)).unwrap();
    assert_eq!(first.len(), 1, "one per value");
    assert_eq!((first[0].id, first[0].attempts), (ids[0], 1));
    assert!(
        b.lease(&request("engine", "b", T0 + 999, 10, 1_000))
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.next_lease_expiry("engine", T0).unwrap(), Some(T0 + 1_000));
    let again = b
        .lease(&request("engine", "b", T0 + 1_000, 10, 1_000))
        .unwrap();
    assert_eq!((again[0].id, again[0].attempts), (ids[0], 2));
    assert!(!a.ack(ids[0], "a", T0 + 1_001).unwrap());
    // b dies too; a third lease is the last attempt, and its expiry dead-letters it.
    let third = a
        .lease(&request("engine", "a", T0 + 2_000, 10, 1_000))
        .unwrap();
    assert_eq!((third[0].id, third[0].attempts), (ids[0], 3));
    let after = b
        .lease(&request("engine", "b", T0 + 3_000, 10, 1_000))
        .unwrap();
    assert_eq!((after[0].id, after[0].attempts), (ids[1], 1));
    let dead = a.dead_letters("engine", 0).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0, ids[0]);
    assert!(dead[0].2.contains("expired after 3"), "{}", dead[0].2);
    let held = b.leases_by_owner(T0 + 3_000).unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (held[0].owner.as_str(), held[0].queue.as_str()),
        ("b", "engine")
    );
    assert_eq!(held[0].leases, 1);
    assert!(a.leases_by_owner(T0 + 4_000).unwrap().is_empty(), "expired");
}

/// Backends killed by the server (`pg_terminate_backend`) every few milliseconds while
/// a store works: every operation still succeeds, and every step is there once.
#[test]
fn terminated_connections_are_retried_and_nothing_is_applied_twice() {
    let Some(schema) =
        pg::schema("terminated_connections_are_retried_and_nothing_is_applied_twice")
    else {
        return;
    };
    let app = format!("cosmos_{}", schema.name);
    let url = pg::with_param(&schema.url, &format!("application_name={app}"));
    let options = PostgresOptions {
        pool_size: 3,
        retries: 30,
        ..PostgresOptions::default()
    };
    let store = Arc::new(PostgresStore::open_with(&url, &options).unwrap());
    let mut first = step("i1", 0, T0);
    first.history.clear();
    first.enqueue = vec![NewMessage {
        exclusivity: Some("i1".into()),
        ..NewMessage::new("engine", json!(1), T0)
    }];
    store.create_instance(new_instance("i1"), first).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (done, killed) = (Arc::clone(&done), Arc::clone(&killed));
        let mut admin = schema.admin();
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let rows = admin
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE application_name = $1",
                        &[&app],
                    )
                    .unwrap();
                killed.fetch_add(rows.len(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(40));
            }
        })
    };
    // At least 100 steps, and on until the connections were killed 20 times.
    let started = Instant::now();
    let mut steps = 0;
    while steps < 100 || killed.load(Ordering::SeqCst) < 20 {
        assert!(started.elapsed() < Duration::from_secs(120), "too slow");
        let now = T0 + steps;
        let record = store.instance("i1").unwrap().unwrap();
        let leased = store
            .lease(&request("engine", "w", now, 1, 60_000))
            .unwrap();
        assert_eq!(leased.len(), 1, "step {steps}: the instance's one message");
        let mut commit = step("i1", record.version, now);
        commit.ack = Some((leased[0].id, "w".into()));
        commit.enqueue = vec![NewMessage {
            exclusivity: Some("i1".into()),
            ..NewMessage::new("engine", json!(record.version + 1), now)
        }];
        store.commit_step(commit).unwrap();
        steps += 1;
    }
    done.store(true, Ordering::SeqCst);
    killer.join().unwrap();

    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 1 + steps);
    let history = store.history("i1", 0).unwrap();
    assert_eq!(history.len() as i64, steps);
    assert!(history.iter().zip(1..).all(|(h, seq)| h.seq == seq));
    let mut client = schema.client();
    let live: Vec<String> = client
        .query("SELECT payload FROM messages WHERE state IN (0, 1)", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(live, vec![(1 + steps).to_string()]);
}

/// A commit whose answer never arrived (the connection broke during `COMMIT`) is
/// looked up by its transaction id: it is reported as done, not applied again.
#[test]
fn a_lost_commit_answer_is_resolved_not_repeated() {
    let Some(schema) = pg::schema("a_lost_commit_answer_is_resolved_not_repeated") else {
        return;
    };
    let store = PostgresStore::open(&schema.url).unwrap();
    let mut first = step("i1", 0, T0);
    first.history.clear();
    store.lose_commit_answers(1);
    assert_eq!(
        store.create_instance(new_instance("i1"), first).unwrap(),
        Created::New
    );
    store.lose_commit_answers(1);
    store.commit_step(step("i1", 1, T0 + 1)).unwrap();
    store.lose_commit_answers(1);
    let ids = store
        .enqueue(&[NewMessage::new("q", json!("once"), T0)], T0)
        .unwrap();
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!(record.version, 2);
    assert_eq!(store.history("i1", 0).unwrap().len(), 1);
    let leased = store.lease(&request("q", "w", T0, 10, 1_000)).unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].id, ids[0]);
    store.lose_commit_answers(1);
    assert!(
        store.ack(ids[0], "w", T0 + 1).unwrap(),
        "acked once, reported as acked"
    );
}

#[test]
fn open_store_takes_postgres_urls() {
    let Some(schema) = pg::schema("open_store_takes_postgres_urls") else {
        return;
    };
    let store =
        cosmos_runtime::connect::open_store(&schema.url, std::path::Path::new(".")).unwrap();
    store.put_bundle("h", b"bytes", T0).unwrap();
    assert_eq!(store.bundle("h").unwrap(), Some(b"bytes".to_vec()));
}

#[test]
fn schedules_are_stored_paused_resumed_and_ticked_like_on_sqlite() {
    use cosmos_ir::{Overlap, Trigger};
    use cosmos_runtime::store::ScheduleSpec;
    let Some(schema) = pg::schema("schedules_are_stored_paused_resumed_and_ticked_like_on_sqlite")
    else {
        return;
    };
    let store = PostgresStore::open(&schema.url).unwrap();
    let spec = |name: &str, ms: i64| ScheduleSpec {
        name: name.into(),
        workflow: "W".into(),
        trigger: Trigger::Every { ms },
        overlap: Overlap::Skip,
    };
    store
        .sync_schedules(&[spec("a", 1_000), spec("b", 2_000)], T0)
        .unwrap();
    assert!(
        store
            .record_schedule_tick("a", T0 + 1_000, Some("i1"), T0 + 1_000)
            .unwrap()
    );
    assert!(
        !store
            .record_schedule_tick("a", T0 + 1_000, None, T0 + 1_000)
            .unwrap(),
        "once"
    );
    assert!(
        !store
            .record_schedule_tick("a", T0, Some("i0"), T0 + 1_000)
            .unwrap(),
        "only forward"
    );
    // Redeployed: `a` changed its trigger, `b` is gone, `c` is new.
    store
        .sync_schedules(&[spec("a", 5_000), spec("c", 1_000)], T0 + 1_500)
        .unwrap();
    let rows = store.schedules().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.spec.name.as_str()).collect();
    assert_eq!(names, ["a", "c"]);
    assert_eq!(rows[0].since, T0 + 1_500);
    assert_eq!(rows[0].last_tick, Some(T0 + 1_000));
    assert_eq!(rows[0].last_instance.as_deref(), Some("i1"));
    assert_eq!(rows[0].spec.trigger, Trigger::Every { ms: 5_000 });
    assert_eq!(rows[1].since, T0 + 1_500);
    let paused = store
        .set_schedule_paused("c", true, T0 + 2_000)
        .unwrap()
        .unwrap();
    assert!(paused.paused && paused.since == T0 + 1_500);
    let resumed = store
        .set_schedule_paused("c", false, T0 + 9_000)
        .unwrap()
        .unwrap();
    assert!(!resumed.paused);
    assert_eq!(
        resumed.since,
        T0 + 9_000,
        "resuming skips the ticks missed while paused"
    );
    assert_eq!(store.set_schedule_paused("b", true, T0).unwrap(), None);
}

/// Two stores (nodes) on one instance: one leases its events and takes steps the usual
/// way, the other completes calls with the step they trigger. A step taken under an
/// event lease never loses to a completion's step (the lease holds the instance), and
/// each completion is either its step or its event, never both and never neither.
#[test]
fn a_completion_never_steps_an_instance_whose_event_is_leased() {
    let Some(schema) = pg::schema("a_completion_never_steps_an_instance_whose_event_is_leased")
    else {
        return;
    };
    use cosmos_runtime::store::{CallStep, CallStepped};
    let engine = Arc::new(PostgresStore::open(&schema.url).unwrap());
    let caller = Arc::new(PostgresStore::open(&schema.url).unwrap());
    engine
        .create_instance(new_instance("i1"), step("i1", 0, T0))
        .unwrap();
    let event = |payload: &str| NewMessage {
        exclusivity: Some("i1".into()),
        ..NewMessage::new("events", json!(payload), T0)
    };
    const ROUNDS: usize = 60;
    let done = Arc::new(AtomicBool::new(false));
    // The engine: leases an event of i1 (a signal's, or a completion's that went
    // through the queue), holds it a moment, steps on the version it read.
    let engine_loop = {
        let (store, done) = (Arc::clone(&engine), Arc::clone(&done));
        std::thread::spawn(move || {
            let (mut steps, mut signals) = (0, 0);
            let started = Instant::now();
            loop {
                assert!(started.elapsed() < Duration::from_secs(60), "too slow");
                // Read before leasing: once done, an empty lease means nothing is left.
                let finished = done.load(Ordering::SeqCst);
                let leased = store
                    .lease(&request("events", "engine", now_ms(), 1, 600_000))
                    .unwrap();
                let Some(message) = leased.into_iter().next() else {
                    if finished {
                        break;
                    }
                    // Idle: now and then a signal arrives, which the next round takes.
                    if signals < ROUNDS / 4 {
                        store.enqueue(&[event("signal")], now_ms()).unwrap();
                        signals += 1;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let version = store.instance("i1").unwrap().unwrap().version;
                std::thread::sleep(Duration::from_millis(1));
                let mut commit = step("i1", version, now_ms());
                commit.ack = Some((message.id, "engine".into()));
                match store.commit_step(commit) {
                    Ok(()) => steps += 1,
                    Err(error) => panic!("a step under an event lease failed: {error}"),
                }
            }
            (steps, signals)
        })
    };
    let mut direct = 0;
    let mut enqueued = 0;
    for n in 0..ROUNDS {
        let call = NewMessage {
            idempotency_key: Some(format!("call-{n}")),
            ..NewMessage::new("calls", json!(n), T0)
        };
        caller.enqueue(&[call], now_ms()).unwrap();
        let id = caller
            .lease(&request("calls", "caller", now_ms(), 1, 600_000))
            .unwrap()[0]
            .id;
        let version = caller.instance("i1").unwrap().unwrap().version;
        let now = now_ms();
        let outcome = caller
            .complete_call_with_step(CallStep {
                call: id,
                owner: "caller".into(),
                event: NewMessage {
                    visible_at: now,
                    ..event("completed")
                },
                step: step("i1", version, now),
                own: None,
                fill: false,
            })
            .unwrap();
        match outcome {
            CallStepped::Stepped { .. } => direct += 1,
            CallStepped::Enqueued => enqueued += 1,
            CallStepped::LeaseLost => panic!("the call's lease was lost"),
        }
        // The engine catches up: some completions find the instance free.
        std::thread::sleep(Duration::from_millis(7));
    }
    done.store(true, Ordering::SeqCst);
    let (engine_steps, signals) = engine_loop.join().unwrap();
    // Every step is in the history once: the engine's, and the direct ones.
    let record = engine.instance("i1").unwrap().unwrap();
    assert_eq!(record.version as usize, 1 + engine_steps + direct);
    assert_eq!(direct + enqueued, ROUNDS);
    assert_eq!(engine_steps, signals + enqueued, "each event taken once");
    assert!(direct > 0, "some completions took their step");
    eprintln!("{direct} completions stepped directly, {enqueued} through the queue");
    let live = engine.queue_stats(now_ms()).unwrap();
    assert!(
        live.iter().all(|q| q.leased == 0 && q.ready == 0),
        "every event and call was taken: {live:?}"
    );
}
