//! `cosmosc worker` and `cosmosc serve --no-functions` (docs/runtime.md, "Workers"):
//! nodes that take engine steps and answer the API only, and workers that run
//! functions and nothing else, through the shared store. On SQLite (a node and its
//! workers on one machine) in every run; on PostgreSQL when `COSMOS_TEST_POSTGRES` is
//! set: two workers serving different pools, one `kill -9`ed in the middle of its
//! calls, and every instance still completes with each reaction once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use support::server::{Server, assert_steps_never_overlap};
use support::worker::Worker;

/// `Fan`: one `prep` call (pool `default`), then a fan-out of `n` `work` calls (pool
/// `fan`), whose reaction adds their results up.
const FAN: &str = r#"
/** Returns the seed times 1000. */
function prep(seed: Int): Int {
    command ["sh", "functions/prep.sh"]
    timeout 1.min
}

/** Returns seed * 1000 + i, after sleeping for the seconds in `sleep.txt`. */
function work(seed: Int, i: Int): Int {
    command ["sh", "functions/work.sh"]
    pool "fan"
    timeout 2.min
}

workflow Fan {
    input {
        seed: Int
        n: Int = 50
    }
    facts {
        base: Int?
        results: List<Int> = []
        total: Int = 0
    }
    rule "prep" {
        match { base == null }
        action { prep(seed: seed) }
        reaction { base = result }
    }
    rule "fan out" {
        match { base != null && results.isEmpty() }
        action { (0..<n).collect { i -> work(seed: seed, i: i) } }
        reaction {
            results = result
            total = result.sum { it }
        }
    }
    complete when { !results.isEmpty() }
    output { [total: total, calls: results.size()] }
}
"#;

const PREP: &str = r#"n=$(tr -dc '0-9')
echo $(( n * 1000 ))
"#;

/// Logs its idempotency key to calls.log when it ends.
const WORK: &str = r#"args=$(cat)
seed=$(printf '%s' "$args" | sed -n 's/.*"seed"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p')
i=$(printf '%s' "$args" | sed -n 's/.*"i"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p')
sleep "$(cat sleep.txt 2>/dev/null || echo 0)"
echo "$COSMOS_IDEMPOTENCY_KEY" >> calls.log
echo $(( seed * 1000 + i ))
"#;

/// A project running `Fan`, with `runtime` added to its `cosmos.toml` and pools
/// `default` (2 processes) and `fan` (`fan_max`).
fn fan_project(runtime: &str, fan_max: u32) -> tempfile::TempDir {
    let manifest = format!(
        "[project]\nname = \"fan\"\n{runtime}\n[pools.default]\nmax = 2\n\n[pools.fan]\nmax = {fan_max}\n"
    );
    support::project(&[
        ("cosmos.toml", &manifest),
        ("src/main.emx", FAN),
        ("functions/prep.sh", PREP),
        ("functions/work.sh", WORK),
        ("sleep.txt", "0\n"),
    ])
}

/// What `Fan` outputs for `seed` and `n`.
fn fan_total(seed: i64, n: i64) -> i64 {
    (0..n).map(|i| seed * 1000 + i).sum()
}

fn start_fans(node: &Server, seeds: std::ops::Range<i64>, n: i64) -> Vec<(i64, String)> {
    seeds
        .map(|seed| {
            let (status, body) =
                node.post("/v1/workflows/Fan/instances", json!({"seed": seed, "n": n}));
            assert_eq!(status, 201, "{body}");
            (seed, body["id"].as_str().unwrap().to_string())
        })
        .collect()
}

fn history(node: &Server, id: &str) -> Value {
    let (status, history) = node.get(&format!("/v1/instances/{id}/history"));
    assert_eq!(status, 200, "{history}");
    history
}

/// For each call result or failure the instance received: (its function's rule, the
/// worker that ran it), from the `received` rows' data.
fn ran_by(history: &Value) -> Vec<(String, String)> {
    history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "received")
        .filter(|r| r["data"]["type"] == "call_completed" || r["data"]["type"] == "call_failed")
        .map(|r| {
            let worker = r["data"]["worker"]
                .as_str()
                .unwrap_or_else(|| panic!("a call's result names no worker: {r}"));
            assert!(
                r["text"]
                    .as_str()
                    .unwrap()
                    .contains(&format!(", on {worker})")),
                "{r}"
            );
            (
                r["data"]["call"]["rule"].as_str().unwrap().to_string(),
                worker.to_string(),
            )
        })
        .collect()
}

/// Checks that every instance completed with the right output, each reaction once and
/// its steps one after another; returns how many calls each worker ran, over all.
fn check_fans(node: &Server, ids: &[(i64, String)], n: i64) -> BTreeMap<String, usize> {
    let mut by_worker = BTreeMap::new();
    for (seed, id) in ids {
        let (_, instance) = node.get(&format!("/v1/instances/{id}"));
        assert_eq!(instance["status"], "COMPLETED", "{instance}");
        assert_eq!(
            instance["output"],
            json!({"total": fan_total(*seed, n), "calls": n}),
            "{instance}"
        );
        let history = history(node, id);
        assert_steps_never_overlap(&history);
        let texts: Vec<&str> = history["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["text"].as_str())
            .collect();
        for rule in ["prep", "fan out"] {
            let reactions = texts
                .iter()
                .filter(|t| t.contains(&format!("reaction of \"{rule}\"")))
                .count();
            assert_eq!(reactions, 1, "{rule}: {texts:#?}");
        }
        let ran = ran_by(&history);
        // One outcome recorded per call: a call that ran twice (its first runner died)
        // was recorded by the one that held its lease to the end only.
        assert_eq!(ran.len(), 1 + n as usize, "{ran:?}");
        for (_, worker) in ran {
            *by_worker.entry(worker).or_insert(0) += 1;
        }
    }
    by_worker
}

/// Waits until `check` holds, failing the test after `limit`.
fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "not after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `calls` queue's counts: (ready, leased).
fn calls_queue(node: &Server) -> (u64, u64) {
    let (_, queues) = node.get("/v1/queues");
    queues["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "calls")
        .map_or((0, 0), |q| {
            (q["ready"].as_u64().unwrap(), q["leased"].as_u64().unwrap())
        })
}

/// `GET /v1/workers`, by name.
fn workers(node: &Server) -> BTreeMap<String, Value> {
    let (status, body) = node.get("/v1/workers");
    assert_eq!(status, 200, "{body}");
    body["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["name"].as_str().unwrap().to_string(), w.clone()))
        .collect()
}

fn text_of(node: &Server, path: &str) -> String {
    let mut response = support::server::agent()
        .get(format!("{}{path}", node.base))
        .call()
        .unwrap();
    response.body_mut().read_to_string().unwrap()
}

fn metrics(node: &Server) -> String {
    text_of(node, "/metrics")
}

fn sqlite(dir: &Path) -> String {
    dir.join("fan.db").to_str().unwrap().to_string()
}

/// `[runtime] functions = false`: the node takes steps and answers, and its calls wait
/// in the store, unleased, until a worker comes; then they run there.
#[test]
fn a_node_without_functions_leaves_calls_queued_until_a_worker_comes() {
    let project = fan_project("\n[runtime]\nfunctions = false\n", 4);
    let root = project.path();
    let db = sqlite(root);
    let node = Server::start(root, &["--store", &db], &[]);
    let ids = start_fans(&node, 0..3, 5);
    // Give a node that wrongly ran functions the time to lease them.
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(calls_queue(&node), (3, 0));
    assert_eq!(workers(&node), BTreeMap::new());
    for (_, id) in &ids {
        let (_, instance) = node.get(&format!("/v1/instances/{id}"));
        assert_eq!(instance["status"], "RUNNING", "{instance}");
        assert_eq!(
            instance["in_flight"].as_array().unwrap().len(),
            1,
            "{instance}"
        );
    }
    assert!(!root.join("calls.log").exists());
    let worker = Worker::start(root, "w1", &["--store", &db], &[]);
    let ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    node.wait_all_finished(&ids, Duration::from_secs(60));
    assert_eq!(calls_queue(&node), (0, 0));
    let (exit, log) = worker.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    node.terminate();
}

/// A node with `--no-functions` and one worker on the same SQLite file: the worker
/// runs every call (a fan-out of 50 per instance), completes them as a node would, and
/// the history says so; the registry lists it with its counts, alive, then stopped.
#[test]
fn a_node_without_functions_and_a_worker_share_a_sqlite_file() {
    let project = fan_project("", 8);
    let root = project.path();
    let db = sqlite(root);
    let node = Server::start(root, &["--store", &db, "--no-functions"], &[]);
    let worker = Worker::start(root, "w1", &["--store", &db], &[]);
    let ids = start_fans(&node, 0..3, 50);
    let only_ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    node.wait_all_finished(&only_ids, Duration::from_secs(120));
    let by_worker = check_fans(&node, &ids, 50);
    assert_eq!(by_worker, BTreeMap::from([("w1".to_string(), 153)]));
    // Each call ran once: no crash, no repeat.
    let log = std::fs::read_to_string(root.join("calls.log")).unwrap();
    assert_eq!(log.lines().count(), 150);

    // The registry: the worker only (the node runs no functions), alive, with its
    // counts as of its latest heartbeat.
    wait_until(
        Duration::from_secs(20),
        "the registry counts 153 calls",
        || {
            workers(&node)
                .get("w1")
                .is_some_and(|w| w["completed"] == 153)
        },
    );
    let registry = workers(&node);
    assert_eq!(registry.keys().collect::<Vec<_>>(), ["w1"]);
    let w1 = &registry["w1"];
    assert_eq!(w1["kind"], "worker");
    assert_eq!(w1["alive"], true);
    assert_eq!(w1["pools"], json!(["default", "fan"]));
    assert_eq!(w1["failed"], 0);
    assert_eq!(w1["leased"], 153);
    assert_eq!(w1["stopped_at"], Value::Null);
    let text = metrics(&node);
    for line in [
        "cosmos_worker_alive{worker=\"w1\",kind=\"worker\"} 1",
        "cosmos_worker_calls_total{worker=\"w1\",outcome=\"completed\"} 153",
        "cosmos_worker_calls_total{worker=\"w1\",outcome=\"failed\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }

    // The console's system page shows the registry.
    let page = text_of(&node, "/system");
    assert!(
        page.contains("<section id=\"workers\"><h2>Workers</h2>"),
        "{page}"
    );
    assert!(page.contains("This node runs no functions"), "{page}");
    assert!(
        page.contains("<tr><td><code>w1</code></td><td>worker</td><td>default, fan</td><td><span class=\"badge completed\">alive</span>"),
        "{page}"
    );

    let (exit, log) = worker.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(log.contains("stopped (0 calls unfinished"), "{log}");
    let w1 = &workers(&node)["w1"];
    assert_eq!(w1["alive"], false, "{w1}");
    assert!(w1["stopped_at"].is_string(), "{w1}");
    assert!(
        metrics(&node)
            .lines()
            .any(|l| l == "cosmos_worker_alive{worker=\"w1\",kind=\"worker\"} 0")
    );
    node.terminate();
}

/// SIGTERM: a worker leases nothing more; calls that finish within the grace period
/// are completed, and the leases of those that do not are given back at once, for
/// the next worker. Nothing is lost and no reaction runs twice.
fn a_stopped_worker_finishes_or_gives_back(over_http: bool) {
    let project = fan_project("", 2);
    let root = project.path();
    let db = sqlite(root);
    let node = Server::start(root, &["--store", &db, "--no-functions"], &[]);
    // How a worker reaches the calls: the store, or the node's API.
    let base = node.base.clone();
    let reach = |more: &[&'static str]| -> Vec<String> {
        let mut args = if over_http {
            vec!["--server".to_string(), base.clone()]
        } else {
            vec!["--store".to_string(), db.clone()]
        };
        args.extend(more.iter().map(|a| a.to_string()));
        args
    };
    let start = |name: &str, more: &[&'static str]| {
        let args = reach(more);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Worker::start(root, name, &args, &[])
    };
    std::fs::write(root.join("sleep.txt"), "30\n").unwrap();
    let w1 = start("w1", &["--grace-ms", "300"]);
    let ids = start_fans(&node, 0..1, 4);
    // w1 leases the four `work` calls (its pools, `default` and `fan`, run four calls
    // at once, two of each) and runs two of them, for 30 s each.
    wait_until(Duration::from_secs(30), "w1 holds the four calls", || {
        calls_queue(&node) == (0, 4)
    });
    let (exit, log) = w1.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(
        log.contains("stopped (4 calls unfinished, 4 leases given back)"),
        "{log}"
    );
    // Given back at once: all four wait, none is leased.
    assert_eq!(calls_queue(&node), (4, 0));

    // w2 serves `fan` alone (two calls at once) with a long grace: the calls it runs
    // when told to stop finish.
    std::fs::write(root.join("sleep.txt"), "2\n").unwrap();
    let w2 = start("w2", &["--pools", "fan", "--grace-ms", "60000"]);
    wait_until(Duration::from_secs(30), "w2 runs two calls", || {
        calls_queue(&node).1 == 2
    });
    let (exit, log) = w2.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(log.contains("stopped (0 calls unfinished"), "{log}");
    let completed = workers(&node)["w2"]["completed"].as_u64().unwrap();
    assert!(completed >= 2, "{completed}");

    std::fs::write(root.join("sleep.txt"), "0\n").unwrap();
    let w3 = start("w3", &[]);
    let only_ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    node.wait_all_finished(&only_ids, Duration::from_secs(60));
    let by_worker = check_fans(&node, &ids, 4);
    // w1 recorded only `prep`: its two `work` calls were given back unfinished.
    assert_eq!(by_worker.get("w1"), Some(&1), "{by_worker:?}");
    assert_eq!(
        by_worker.get("w2").copied().unwrap_or(0) + by_worker.get("w3").copied().unwrap_or(0),
        4,
        "{by_worker:?}"
    );
    assert_eq!(by_worker.get("w2").copied(), Some(completed as usize));
    let (exit, log) = w3.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    node.terminate();
}

#[test]
fn a_stopped_worker_finishes_or_gives_back_its_calls() {
    a_stopped_worker_finishes_or_gives_back(false);
}

/// The same with `cosmosc worker --server`: the calls it holds at the end of its grace
/// period go back through the protocol's `/release`, not charged an attempt.
#[test]
fn a_stopped_http_worker_finishes_or_gives_back_its_calls() {
    a_stopped_worker_finishes_or_gives_back(true);
}

/// `--pools` must name pools of the project: a typo is refused, naming them.
#[test]
fn a_worker_refuses_a_pool_the_project_has_not() {
    let project = fan_project("", 2);
    let root = project.path();
    let db = sqlite(root);
    let out = support::cosmosc(&["worker", ".", "--store", &db, "--pools", "fan,fna"], root);
    assert_eq!(support::code(&out), 2, "{}", support::stderr(&out));
    assert_eq!(
        support::stderr(&out),
        "error: the project has no pool \"fna\"; its pools are: default, fan\n"
    );
}

/// A copy of `examples/NAME` (every file, sub-folders included), so that a run leaves
/// nothing in the repository.
fn copy_of_example(name: &str) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() && entry.file_name() != ".cosmos" {
                copy(&entry.path(), &to.join(entry.file_name()));
            } else if kind.is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples")
            .join(name),
        dir.path(),
    );
    dir
}

/// `examples/encode` on a node without functions and two workers, one per pool: the
/// probe runs on the worker of `default`, the transcodes (a warm worker taking batches)
/// on the worker of `transcoders`.
fn encode_on_workers_by_pool(store: &str) {
    let project = copy_of_example("encode");
    let root = project.path();
    let node = Server::start(root, &["--store", store, "--no-functions"], &[]);
    let encoders = Worker::start(
        root,
        "encoders",
        &["--store", store, "--pools", "transcoders"],
        &[],
    );
    let general = Worker::start(
        root,
        "general",
        &["--store", store, "--pools", "default"],
        &[],
    );
    let (status, body) = node.post(
        "/v1/workflows/Transcode/instances",
        json!({"source": "s3://media/d.mov", "codecs": ["H264", "HEVC"]}),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    node.wait_all_finished(std::slice::from_ref(&id), Duration::from_secs(60));
    let (_, instance) = node.get(&format!("/v1/instances/{id}"));
    assert_eq!(instance["status"], "COMPLETED", "{instance}");
    assert_eq!(instance["output"]["renditions"], 8, "{instance}");
    assert_eq!(instance["output"]["reviewer"], "automatic", "{instance}");
    let ran = ran_by(&history(&node, &id));
    let mut expected = vec![("probe the source".to_string(), "general".to_string())];
    expected.extend((0..8).map(|_| ("transcode the ladder".to_string(), "encoders".to_string())));
    assert_eq!(ran, expected);
    let registry = workers(&node);
    assert_eq!(registry["encoders"]["pools"], json!(["transcoders"]));
    assert_eq!(registry["general"]["pools"], json!(["default"]));
    for worker in [encoders, general] {
        let (exit, log) = worker.terminate();
        assert!(exit.success(), "{exit:?}\n{log}");
    }
    node.terminate();
}

#[test]
fn the_encode_example_runs_on_a_worker_per_pool_on_sqlite() {
    let scratch = tempfile::tempdir().unwrap();
    encode_on_workers_by_pool(&sqlite(scratch.path()));
}

#[test]
fn the_encode_example_runs_on_a_worker_per_pool_on_postgres() {
    let Some(schema) =
        support::postgres::schema("the_encode_example_runs_on_a_worker_per_pool_on_postgres")
    else {
        return;
    };
    encode_on_workers_by_pool(&schema.url);
}

/// On PostgreSQL: a node without functions and two workers serving different pools
/// (`fan`; `default` and `fan`), with 2 s leases. 4 instances fan out 50 calls each;
/// the worker serving `fan` only is `kill -9`ed while it runs some: its calls come back
/// to the other one when their leases expire, and every instance completes, with each
/// reaction once. The history names the worker of each call.
#[test]
fn two_workers_on_postgres_survive_one_being_killed() {
    let Some(schema) =
        support::postgres::schema("two_workers_on_postgres_survive_one_being_killed")
    else {
        return;
    };
    let project = fan_project("", 4);
    let root = project.path();
    std::fs::write(root.join("sleep.txt"), "0.3\n").unwrap();
    let lease = [("COSMOS_LEASE_MS", "2000")];
    let node = Server::start(root, &["--store", &schema.url, "--no-functions"], &lease);
    let fan_only = Worker::start(
        root,
        "fan-only",
        &["--store", &schema.url, "--pools", "fan"],
        &lease,
    );
    let both = Worker::start(
        root,
        "both",
        &["--store", &schema.url, "--pools", "default,fan"],
        &lease,
    );
    let ids = start_fans(&node, 0..4, 50);
    // Kill `fan-only` once some calls are done and it holds leases on others.
    wait_until(
        Duration::from_secs(60),
        "fan-only runs calls mid-way",
        || {
            let done = std::fs::read_to_string(root.join("calls.log"))
                .map_or(0, |log| log.lines().count());
            done >= 20
                && metrics(&node).lines().any(|l| {
                    l.starts_with("cosmos_leases_held{node=\"fan-only\",queue=\"calls\"} ")
                        && !l.ends_with(" 0")
                })
        },
    );
    fan_only.kill9();
    let only_ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    node.wait_all_finished(&only_ids, Duration::from_secs(180));
    let by_worker = check_fans(&node, &ids, 50);
    assert!(
        by_worker.get("fan-only").is_some_and(|n| *n > 0),
        "{by_worker:?}"
    );
    assert!(
        by_worker.get("both").is_some_and(|n| *n > 0),
        "{by_worker:?}"
    );
    assert_eq!(by_worker.keys().count(), 2, "{by_worker:?}");
    for (_, id) in &ids {
        // `prep` is in pool `default`, which only `both` serves.
        for (rule, worker) in ran_by(&history(&node, id)) {
            if rule == "prep" {
                assert_eq!(worker, "both");
            }
        }
    }
    // Every call ran to its end at least once.
    let log = std::fs::read_to_string(root.join("calls.log")).unwrap();
    let keys: std::collections::BTreeSet<&str> = log.lines().collect();
    assert_eq!(keys.len(), 200);
    // The registry: the killed worker stops being alive without having stopped.
    wait_until(
        Duration::from_secs(30),
        "fan-only is no longer alive",
        || workers(&node)["fan-only"]["alive"] == false,
    );
    let registry = workers(&node);
    assert_eq!(registry["fan-only"]["stopped_at"], Value::Null);
    assert_eq!(registry["both"]["alive"], true);
    let (exit, log) = both.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    node.terminate();
}

/// The deployment of issue 17 on PostgreSQL: a node without functions; `fan-store`, a
/// `cosmosc worker --store` serving pool `fan`; `fan-http`, a `cosmosc worker --server`
/// serving `prep` and `fan` through the node's API; and the Python worker of
/// `examples/python-worker` serving the ladder example's functions (pool `default`).
/// Four fan-outs of 50 calls and three ladders run at once, with 2 s leases;
/// `fan-store` is `kill -9`ed in the middle of its calls, which come back to
/// `fan-http` when their leases expire. Every instance completes with each reaction
/// once, the history names the worker of every call, and the registry's counts agree
/// with the history.
#[test]
fn store_http_and_python_workers_share_postgres_and_survive_a_kill() {
    let Some(schema) = support::postgres::schema("store_http_and_python_workers") else {
        return;
    };
    let project = copy_of_example("ladder");
    let root = project.path();
    let files = [
        (
            "cosmos.toml",
            "[project]\nname = \"fleet\"\nsource = \"src\"\n\n[pools.default]\nmax = 4\n\n\
             [pools.prep]\nmax = 2\n\n[pools.fan]\nmax = 4\n"
                .to_string(),
        ),
        (
            "src/fan.emx",
            FAN.replace(
                "    timeout 1.min\n",
                "    pool \"prep\"\n    timeout 1.min\n",
            ),
        ),
        ("functions/prep.sh", PREP.to_string()),
        ("functions/work.sh", WORK.to_string()),
        ("sleep.txt", "0.3\n".to_string()),
    ];
    for (path, text) in files {
        std::fs::write(root.join(path), text).unwrap();
    }
    let lease = [("COSMOS_LEASE_MS", "2000")];
    let node = Server::start(root, &["--store", &schema.url, "--no-functions"], &lease);
    let fan_store = Worker::start(
        root,
        "fan-store",
        &["--store", &schema.url, "--pools", "fan"],
        &lease,
    );
    let fan_http = Worker::start(
        root,
        "fan-http",
        &["--server", &node.base, "--pools", "prep,fan"],
        &lease,
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-worker/worker.py");
    let mut python = std::process::Command::new("python3")
        .arg(script)
        .env("COSMOS_URL", &node.base)
        .env("COSMOS_WORKER_NAME", "py-ladder")
        .env("COSMOS_POOLS", "default")
        .env("COSMOS_LEASE_MS", "2000")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let fans = start_fans(&node, 0..4, 50);
    let ladders: Vec<String> = (0..3)
        .map(|i| {
            let (status, body) = node.post(
                "/v1/workflows/Ladder/instances",
                json!({"source": format!("s3://media/{i}.mov")}),
            );
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    wait_until(
        Duration::from_secs(60),
        "fan-store runs calls mid-way",
        || {
            let done = std::fs::read_to_string(root.join("calls.log"))
                .map_or(0, |log| log.lines().count());
            done >= 20
                && metrics(&node).lines().any(|l| {
                    l.starts_with("cosmos_leases_held{node=\"fan-store\",queue=\"calls\"} ")
                        && !l.ends_with(" 0")
                })
        },
    );
    fan_store.kill9();
    let mut all: Vec<String> = fans.iter().map(|(_, id)| id.clone()).collect();
    all.extend(ladders.iter().cloned());
    node.wait_all_finished(&all, Duration::from_secs(180));

    let by_worker = check_fans(&node, &fans, 50);
    assert_eq!(
        by_worker.keys().collect::<Vec<_>>(),
        ["fan-http", "fan-store"],
        "{by_worker:?}"
    );
    assert!(by_worker.values().all(|n| *n > 0), "{by_worker:?}");
    for (_, id) in &fans {
        for (rule, worker) in ran_by(&history(&node, id)) {
            if rule == "prep" {
                assert_eq!(worker, "fan-http", "pool `prep` is fan-http's only");
            }
        }
    }
    let log = std::fs::read_to_string(root.join("calls.log")).unwrap();
    let keys: std::collections::BTreeSet<&str> = log.lines().collect();
    assert_eq!(
        keys.len(),
        200,
        "every fan call ran to its end at least once"
    );
    for id in &ladders {
        let (_, instance) = node.get(&format!("/v1/instances/{id}"));
        assert_eq!(instance["status"], "COMPLETED", "{instance}");
        assert_eq!(instance["output"]["published"], json!([1080, 720, 480]));
        let history = history(&node, id);
        assert_steps_never_overlap(&history);
        let ran = ran_by(&history);
        assert_eq!(ran.len(), 8, "{ran:?}");
        assert!(ran.iter().all(|(_, w)| w == "py-ladder"), "{ran:?}");
    }
    // The registry: kinds, and counts that agree with the history.
    let registry = workers(&node);
    assert_eq!(registry["fan-store"]["kind"], "worker");
    assert_eq!(registry["fan-http"]["kind"], "http");
    assert_eq!(registry["py-ladder"]["kind"], "http");
    assert_eq!(registry["fan-http"]["completed"], by_worker["fan-http"]);
    let py = &registry["py-ladder"];
    assert_eq!(
        py["completed"].as_u64().unwrap() + py["failed"].as_u64().unwrap(),
        24,
        "{py}"
    );
    wait_until(
        Duration::from_secs(30),
        "fan-store is no longer alive",
        || workers(&node)["fan-store"]["alive"] == false,
    );
    let (exit, log) = fan_http.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &python.id().to_string()])
        .status();
    assert!(python.wait().unwrap().success());
    node.terminate();
}

/// The help says what the flags and settings of `worker` and `serve --no-functions` are.
#[test]
fn the_help_names_the_worker_settings_and_no_functions() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let worker = support::stdout(&support::cosmosc(&["worker", "--help"], here));
    for text in [
        "--pools <POOLS>",
        "--name <NAME>",
        "--grace-ms <MS>",
        "--bundle <FILE>",
        "--store <URL>",
        "COSMOS_LEASE_MS",
        "SIGTERM or Ctrl-C stops it gracefully",
    ] {
        assert!(worker.contains(text), "{text}\n{worker}");
    }
    let serve = support::stdout(&support::cosmosc(&["serve", "--help"], here));
    assert!(serve.contains("--no-functions"), "{serve}");
    assert!(serve.contains("functions default true"), "{serve}");
}
