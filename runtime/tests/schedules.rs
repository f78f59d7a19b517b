//! Schedules (LANGUAGE.md 10.7) on a real SQLite file, driven by a virtual clock:
//! one instance per tick however many nodes handle it, `overlap skip` and `allow`,
//! one catch-up instance for ticks missed while no node ran (across a reopened
//! store), `now()` in `start` as the tick, and pausing and resuming.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_ir::bundle::Bundle;
use cosmos_runtime::deployment::{COMPILER_VERSION, Deployment, Evaluator};
use cosmos_runtime::engine::{Event, Status};
use cosmos_runtime::node::schedules::{Tick, register, run_due, tick_key};
use cosmos_runtime::node::{Node, NodeConfig, executor_for};
use cosmos_runtime::store::{InstanceFilter, SqliteStore, Store};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// `Job` waits for a `finish` signal, so that an instance stays unfinished until the
/// test says otherwise.
const SOURCE: &str = r#"
workflow Job {
    input {
        label: String
        tick: Time
    }
    facts { finished: Bool = false }
    signal finish() { finished = true }
    complete when { finished }
}

schedule "hourly" {
    every 1.h
    start { Job(label: "hourly", tick: now()) }
}

schedule "hourly overlapping" {
    every 1.h
    overlap allow
    start { Job(label: "overlapping", tick: now()) }
}

schedule "quarter past" {
    cron "15 * * * *"
    start {
        def label = "quarter"
        Job(label: label + " past", tick: now())
    }
}
"#;

fn deploy(store: &dyn Store, source: &str) -> Deployment {
    let program = support::program(source);
    let bytes = Bundle::new(COMPILER_VERSION, "schedules", Vec::new(), program)
        .to_bytes()
        .unwrap();
    Deployment::deploy(store, &bytes, T0, Evaluator::Interpreter).unwrap()
}

fn open(root: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&root.join("state.db")).unwrap())
}

/// The instances of `schedule`, oldest first, as (id, input).
fn started(store: &dyn Store, label: &str) -> Vec<(String, serde_json::Value)> {
    store
        .list_instances(&InstanceFilter::default())
        .unwrap()
        .into_iter()
        .map(|s| store.instance(&s.id).unwrap().unwrap())
        .filter(|r| r.input["label"] == label)
        .map(|r| (r.id, r.input))
        .collect()
}

fn only(store: &dyn Store, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for row in store.schedules().unwrap() {
        if names.contains(&row.spec.name.as_str()) {
            out.push(row.spec.name);
        }
    }
    out
}

#[test]
fn each_tick_starts_exactly_one_instance_however_many_nodes_handle_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let deployment = Arc::new(deploy(store.as_ref(), SOURCE));
    register(store.as_ref(), &deployment, T0 + MINUTE).unwrap();
    for hour in 1..=4 {
        // Four nodes reach the tick at (nearly) the same time, each on its own thread.
        let threads: Vec<_> = (0..4)
            .map(|node| {
                let (store, deployment) = (Arc::clone(&store), Arc::clone(&deployment));
                std::thread::spawn(move || {
                    run_due(
                        store.as_ref(),
                        &deployment,
                        &format!("node-{node}"),
                        T0 + hour * HOUR + node,
                    )
                    .unwrap()
                })
            })
            .collect();
        let mut new = 0;
        for thread in threads {
            let (ticks, next) = thread.join().unwrap();
            new += ticks
                .iter()
                .filter(|t| matches!(t, Tick::Started { schedule, new: true, .. } if schedule == "hourly overlapping"))
                .count();
            assert_eq!(
                next,
                Some(T0 + hour * HOUR + 15 * MINUTE),
                "the next tick is the quarter past"
            );
        }
        assert_eq!(new, 1, "hour {hour}: one node started the tick's instance");
        let instances = started(store.as_ref(), "overlapping");
        assert_eq!(instances.len(), hour as usize, "one instance per tick");
        let (id, input) = instances.last().unwrap();
        let record = store.instance(id).unwrap().unwrap();
        assert_eq!(
            record.idempotency_key.as_deref(),
            Some(tick_key("hourly overlapping", T0 + hour * HOUR).as_str())
        );
        assert_eq!(
            input["tick"],
            json!(cosmos_ir::format_time(T0 + hour * HOUR))
        );
    }
    assert_eq!(
        tick_key("hourly overlapping", T0 + HOUR),
        "schedule/hourly overlapping/2026-01-01T01:00:00Z"
    );
}

#[test]
fn overlap_skip_waits_for_the_last_instance_to_finish_and_allow_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let deployment = deploy(store.as_ref(), SOURCE);
    register(store.as_ref(), &deployment, T0).unwrap();
    let (ticks, _) = run_due(store.as_ref(), &deployment, "n", T0 + HOUR).unwrap();
    assert_eq!(ticks.len(), 3, "both hourly ones and 00:15: {ticks:?}");
    let first = started(store.as_ref(), "hourly");
    assert_eq!(first.len(), 1);
    assert_eq!(
        store.instance(&first[0].0).unwrap().unwrap().status,
        Status::Stalled,
        "waiting for its signal: not finished"
    );

    let (ticks, _) = run_due(store.as_ref(), &deployment, "n", T0 + 2 * HOUR).unwrap();
    assert!(
        ticks.contains(&Tick::Skipped {
            schedule: "hourly".into(),
            tick: T0 + 2 * HOUR,
            running: first[0].0.clone(),
        }),
        "{ticks:?}"
    );
    assert_eq!(
        started(store.as_ref(), "hourly").len(),
        1,
        "skip: nothing new"
    );
    assert_eq!(
        started(store.as_ref(), "overlapping").len(),
        2,
        "allow: a second one"
    );
    let row = store
        .schedules()
        .unwrap()
        .into_iter()
        .find(|r| r.spec.name == "hourly")
        .unwrap();
    assert_eq!(
        row.last_tick,
        Some(T0 + 2 * HOUR),
        "a skipped tick is handled"
    );
    assert_eq!(row.last_instance.as_deref(), Some(first[0].0.as_str()));

    // Finish the first instance; the next tick starts a new one.
    finish(dir.path(), &store, &first[0].0);
    assert_eq!(
        store.instance(&first[0].0).unwrap().unwrap().status,
        Status::Completed
    );
    run_due(store.as_ref(), &deployment, "n", T0 + 3 * HOUR).unwrap();
    let hourly = started(store.as_ref(), "hourly");
    assert_eq!(hourly.len(), 2);
    assert_eq!(hourly[1].1["tick"], json!("2026-01-01T03:00:00Z"));
}

/// Sends `finish` to instance `id` through a node that takes no other work.
fn finish(root: &Path, store: &Arc<dyn Store>, id: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let deployment = deploy(store.as_ref(), SOURCE);
        let program = deployment.current().program.clone();
        let executor = executor_for(&program, root.to_path_buf(), &Default::default());
        // Working on one other instance only, the node's loops leave the store and
        // its schedules to the test.
        let config = NodeConfig {
            only_instance: Some("none".into()),
            ..NodeConfig::default()
        };
        let node = Node::start(Arc::clone(store), deployment, executor, config);
        node.send(
            id,
            Event::Signal {
                name: "finish".into(),
                args: json!({}),
            },
        )
        .await
        .unwrap();
        node.stop().await;
    });
}

#[test]
fn ticks_missed_while_no_node_ran_start_one_catch_up_instance() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let deployment = deploy(store.as_ref(), SOURCE);
        register(store.as_ref(), &deployment, T0).unwrap();
        run_due(store.as_ref(), &deployment, "n", T0 + HOUR).unwrap();
        assert_eq!(started(store.as_ref(), "overlapping").len(), 1);
    }
    // Ten hours later, a node starts on the same file.
    let store = open(dir.path());
    let deployment = deploy(store.as_ref(), SOURCE);
    register(store.as_ref(), &deployment, T0 + 11 * HOUR + 20 * MINUTE).unwrap();
    let (ticks, next) = run_due(
        store.as_ref(),
        &deployment,
        "n",
        T0 + 11 * HOUR + 20 * MINUTE,
    )
    .unwrap();
    let overlapping = started(store.as_ref(), "overlapping");
    assert_eq!(overlapping.len(), 2, "one catch-up instance, not ten");
    assert_eq!(
        overlapping[1].1["tick"],
        json!("2026-01-01T11:00:00Z"),
        "the latest missed tick"
    );
    // `quarter past` skips: its 00:15 instance is still waiting. The one tick it
    // handles is the latest it missed.
    let quarter = started(store.as_ref(), "quarter past");
    assert_eq!(quarter.len(), 1, "{ticks:?}");
    assert!(
        ticks.contains(&Tick::Skipped {
            schedule: "quarter past".into(),
            tick: T0 + 11 * HOUR + 15 * MINUTE,
            running: quarter[0].0.clone(),
        }),
        "{ticks:?}"
    );
    assert_eq!(next, Some(T0 + 12 * HOUR));
    // Handled: the same time again starts nothing.
    let (again, _) = run_due(
        store.as_ref(),
        &deployment,
        "n",
        T0 + 11 * HOUR + 30 * MINUTE,
    )
    .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(
        only(
            store.as_ref(),
            &["hourly", "hourly overlapping", "quarter past"]
        )
        .len(),
        3
    );
}

#[test]
fn a_paused_schedule_starts_nothing_and_resuming_skips_the_ticks_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let deployment = deploy(store.as_ref(), SOURCE);
    register(store.as_ref(), &deployment, T0).unwrap();
    let paused = store
        .set_schedule_paused("hourly overlapping", true, T0 + 30 * MINUTE)
        .unwrap()
        .unwrap();
    assert!(paused.paused);
    assert_eq!(paused.next_tick(), None);
    run_due(store.as_ref(), &deployment, "n", T0 + 3 * HOUR).unwrap();
    assert!(started(store.as_ref(), "overlapping").is_empty());
    let resumed = store
        .set_schedule_paused("hourly overlapping", false, T0 + 3 * HOUR + 10 * MINUTE)
        .unwrap()
        .unwrap();
    assert_eq!(
        resumed.next_tick(),
        Some(T0 + 4 * HOUR),
        "from the next tick on"
    );
    run_due(
        store.as_ref(),
        &deployment,
        "n",
        T0 + 3 * HOUR + 50 * MINUTE,
    )
    .unwrap();
    assert!(
        started(store.as_ref(), "overlapping").is_empty(),
        "missed ticks stay missed"
    );
    run_due(store.as_ref(), &deployment, "n", T0 + 4 * HOUR).unwrap();
    assert_eq!(started(store.as_ref(), "overlapping").len(), 1);
    assert_eq!(
        store
            .set_schedule_paused("no such schedule", true, T0)
            .unwrap(),
        None
    );
}

#[test]
fn redeploying_drops_removed_schedules_and_a_new_trigger_counts_from_then() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let deployment = deploy(store.as_ref(), SOURCE);
    register(store.as_ref(), &deployment, T0).unwrap();
    run_due(store.as_ref(), &deployment, "n", T0 + HOUR).unwrap();
    let changed = SOURCE
        .replace(
            "every 1.h\n    start { Job(label: \"hourly\"",
            "every 2.h\n    start { Job(label: \"hourly\"",
        )
        .replace("schedule \"quarter past\"", "schedule \"renamed\"");
    let deployment = deploy(store.as_ref(), &changed);
    register(store.as_ref(), &deployment, T0 + HOUR + 5 * MINUTE).unwrap();
    let rows = store.schedules().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.spec.name.as_str()).collect();
    assert_eq!(names, ["hourly", "hourly overlapping", "renamed"]);
    let hourly = &rows[0];
    assert_eq!(
        hourly.since,
        T0 + HOUR + 5 * MINUTE,
        "a changed trigger counts from now"
    );
    assert_eq!(hourly.last_tick, Some(T0 + HOUR), "and keeps its history");
    assert_eq!(hourly.next_tick(), Some(T0 + 2 * HOUR));
    assert_eq!(rows[1].since, T0, "an unchanged schedule keeps its state");
}
