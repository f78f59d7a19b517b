//! Several `cosmosc serve` processes on one PostgreSQL database, as an operator runs
//! them: three nodes share the work, one is `kill -9`ed mid-way and the database
//! drops the others' connections, and every instance still completes once; a new bundle on one node leaves running instances on theirs.
//! Each test uses a fresh schema of the server `COSMOS_TEST_POSTGRES` names
//! (`postgres://postgres@127.0.0.1:5432/test`) and is skipped, with a message, without.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::postgres::schema;
use support::server::{Server, assert_steps_never_overlap, metric};
use support::workflows::{GATE_V1, GATE_V2, chain, chain_seen, chain_total};

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Reads `{"n": N}`, sleeps a little, logs its call's idempotency key with its start
/// and end (ms) to calls.log, and prints 2N.
const WORK: &str = r#"read line
start=$(date +%s%3N)
n=$(printf '%s' "$line" | tr -dc '0-9-')
sleep 0.$(( n % 4 + 1 ))
end=$(date +%s%3N)
echo "$COSMOS_IDEMPOTENCY_KEY $start $end" >> calls.log
echo $(( n * 2 ))
"#;

/// A node on the shared database, with short leases so that a killed node's work
/// comes back quickly.
fn node(root: &Path, store: &str) -> Server {
    Server::start(root, &["--store", store], &[("COSMOS_LEASE_MS", "2000")])
}

/// A history time (`2026-11-28T19:00:05.120Z`, or `…:05Z` on a whole second) in a
/// form that sorts as the time does.
fn sortable(at: &Value) -> String {
    let at = at.as_str().unwrap();
    if at.contains('.') {
        at.to_string()
    } else {
        at.replace('Z', ".000Z")
    }
}

/// (start, end) of each call attempt per instance, from calls.log.
fn call_intervals(root: &Path) -> BTreeMap<String, Vec<(String, i64, i64)>> {
    let log = std::fs::read_to_string(root.join("calls.log")).unwrap_or_default();
    let mut calls: BTreeMap<String, Vec<(String, i64, i64)>> = BTreeMap::new();
    for line in log.lines() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(start), Some(end)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let instance = key.split('/').next().unwrap().to_string();
        calls.entry(instance).or_default().push((
            key.to_string(),
            start.parse().unwrap(),
            end.parse().unwrap(),
        ));
    }
    calls
}

#[test]
fn three_nodes_share_the_work_and_survive_one_being_killed() {
    let Some(schema) = schema("three_nodes_share_the_work_and_survive_one_being_killed") else {
        return;
    };
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", &chain("3.s")),
        ("functions/work.sh", WORK),
    ]);
    let root = project.path();
    let nodes: Vec<Server> = (0..3).map(|_| node(root, &schema.url)).collect();

    // Start the instances through all three nodes.
    let mut ids = Vec::new();
    for seed in 0..36 {
        let node = &nodes[seed as usize % 3];
        let (status, body) = node.post("/v1/workflows/Chain/instances", json!({"seed": seed}));
        assert_eq!(status, 201, "{body}");
        ids.push((seed, body["id"].as_str().unwrap().to_string()));
    }
    // Kill one node while the instances run.
    std::thread::sleep(Duration::from_millis(900));
    let mut nodes = nodes.into_iter();
    let victim = nodes.next().unwrap();
    let (_, running) = victim.get("/v1/instances?status=RUNNING");
    let running = running["instances"].as_array().unwrap().len();
    assert!(
        running > 0,
        "the kill must land while instances are running"
    );
    let victim_metrics = victim.metrics();
    victim.kill9();
    let survivors: Vec<Server> = nodes.collect();
    // The database drops every connection of the survivors, twice: they reconnect.
    let mut terminated = 0;
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(300));
        terminated += schema.terminate_connections();
    }
    assert!(terminated > 0, "the survivors had connections to terminate");

    let only_ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    // A call the dead node was running comes back when its lease expires: the
    // function's timeout (3 s) plus the runtime's 30 s margin.
    survivors[0].wait_all_finished(&only_ids, Duration::from_secs(150));

    let calls = call_intervals(root);
    let mut steps_by_node = std::collections::BTreeSet::new();
    for (seed, id) in &ids {
        let (_, body) = survivors[1].get(&format!("/v1/instances/{id}"));
        assert_eq!(body["status"], "COMPLETED", "{body}");
        let total = chain_total(*seed);
        assert_eq!(
            body["output"],
            json!({"total": total, "steps": 5}),
            "{body}"
        );
        let seen = chain_seen(*seed);
        assert_eq!(body["facts"]["seen"], json!(seen), "{body}");

        let (_, history) = survivors[0].get(&format!("/v1/instances/{id}/history"));
        let rows = history["history"].as_array().unwrap();
        let fired: Vec<i64> = rows
            .iter()
            .filter(|r| r["kind"] == "fired")
            .map(|r| r["data"]["firing"].as_i64().unwrap())
            .collect();
        assert_eq!(fired, vec![1, 2, 3, 4, 5], "each firing once: {history}");
        let reacted = rows.iter().filter(|r| r["kind"] == "reacted").count();
        assert_eq!(reacted, 5, "each reaction once: {history}");
        // Each call's result was applied once, whichever node ran it (and however
        // often: a call the dead node was running ran again).
        let received: Vec<i64> = rows
            .iter()
            .filter(|r| r["kind"] == "received")
            .map(|r| r["data"]["call"]["firing"].as_i64().unwrap())
            .collect();
        assert_eq!(received, vec![1, 2, 3, 4, 5], "each result once: {history}");
        // One step at a time: the steps' times never go back in commit order, and
        // each firing comes after the previous firing's reaction.
        let seqs: Vec<i64> = rows.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>());
        let times: Vec<String> = rows.iter().map(|r| sortable(&r["at"])).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "history times go back: {history}"
        );
        let kinds: Vec<&str> = rows
            .iter()
            .filter(|r| r["kind"] == "fired" || r["kind"] == "reacted")
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["fired", "reacted"].repeat(5),
            "fired and reacted alternate: {history}"
        );
        // From the history alone: the steps never overlapped, whichever nodes took
        // them.
        let nodes = assert_steps_never_overlap(&history);
        steps_by_node.extend(nodes);
        // The calls of one instance never ran at the same time (only a call whose
        // node died is run again, after its lease expired, long after it ended).
        let mut intervals = calls.get(id).cloned().unwrap_or_default();
        intervals.sort_by_key(|c| c.1);
        for pair in intervals.windows(2) {
            assert!(
                pair[0].2 <= pair[1].1,
                "instance {id}: calls {} and {} overlapped",
                pair[0].0,
                pair[1].0
            );
        }
    }
    // The histories name all three nodes (the one killed too) as takers of steps.
    assert_eq!(steps_by_node.len(), 3, "{steps_by_node:?}");
    // Every node took steps, and each reports itself.
    let survivor_steps: Vec<f64> = survivors
        .iter()
        .map(|s| metric(&s.metrics(), "cosmos_steps_total").unwrap_or(0.0))
        .collect();
    assert!(
        metric(&victim_metrics, "cosmos_steps_total").unwrap_or(0.0) > 0.0
            && survivor_steps.iter().all(|&n| n > 0.0),
        "each node stepped: {victim_metrics}\n{survivor_steps:?}"
    );
    // Each node reports the live leases of every node sharing the store, by node.
    for survivor in &survivors {
        let text = survivor.metrics();
        assert!(text.contains("# TYPE cosmos_leases_held gauge"), "{text}");
    }
    let (_, queues) = survivors[0].get("/v1/queues");
    for queue in queues["queues"].as_array().unwrap() {
        assert_eq!(queue["dead"], 0, "{queues}");
    }
    for survivor in survivors {
        survivor.terminate();
    }
}

/// A rolling upgrade: node A serves v1, node B is started with v2 on the same
/// database. New instances started on B run v2; an instance started on A keeps v1,
/// whichever node signals it, and after A stops.
#[test]
fn a_new_bundle_on_one_node_leaves_running_instances_on_theirs() {
    let Some(schema) = schema("a_new_bundle_on_one_node_leaves_running_instances_on_theirs") else {
        return;
    };
    let v1 = support::project(&[support::MANIFEST, ("src/main.emx", GATE_V1)]);
    let v2 = support::project(&[support::MANIFEST, ("src/main.emx", GATE_V2)]);
    let a = node(v1.path(), &schema.url);
    let (status, old) = a.post("/v1/workflows/Gate/instances", json!({}));
    assert_eq!(status, 201, "{old}");
    assert_eq!(old["status"], "STALLED", "it waits for its signal");
    let old_id = old["id"].as_str().unwrap().to_string();

    let b = node(v2.path(), &schema.url);
    let (_, new) = b.post("/v1/workflows/Gate/instances", json!({}));
    let new_id = new["id"].as_str().unwrap().to_string();
    assert_ne!(new["bundle"], old["bundle"]);
    // B signals the v1 instance: it runs v1's rules, loaded from the database.
    let (status, body) = b.post(
        &format!("/v1/instances/{old_id}/signals/approve"),
        json!({"who": "ann"}),
    );
    assert_eq!(status, 200, "{body}");
    a.terminate();
    let (status, body) = b.post(
        &format!("/v1/instances/{new_id}/signals/approve"),
        json!({"who": "bo"}),
    );
    assert_eq!(status, 200, "{body}");
    let (_, old) = b.get(&format!("/v1/instances/{old_id}"));
    let (_, new) = b.get(&format!("/v1/instances/{new_id}"));
    assert_eq!(old["output"], json!({"by": "v1:ann"}), "{old}");
    assert_eq!(new["output"], json!({"by": "v2:bo"}), "{new}");
    let (status, _) = b.post(
        &format!("/v1/instances/{old_id}/signals/approve"),
        json!({"who": "cy"}),
    );
    assert_eq!(status, 409, "a completed instance takes no more signals");
    b.terminate();
}
