//! Time in a `match` (LANGUAGE.md 10.1) for real, on `examples/approval`: its tests
//! pass under `cosmosc test` (a virtual clock), `cosmosc run` waits for the deadline
//! with no `sleep` anywhere, and `cosmosc serve` keeps the wake-up durably — the
//! instance is `RUNNING` with `wakes_at`, `explain` says when the rule fires, the
//! wake-up survives a `kill -9`, the rule fires once, and an instance finished
//! before its deadline gets no history row when its old wake-up comes due. On SQLite,
//! and on PostgreSQL (two nodes) when `COSMOS_TEST_POSTGRES` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::postgres::schema;
use support::server::Server;
use support::{code, cosmosc, stderr, stdout};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/approval")
}

/// A copy of the example in a temporary folder, so that nothing is written under the
/// repository.
fn example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::copy(
        example().join("cosmos.toml"),
        dir.path().join("cosmos.toml"),
    )
    .unwrap();
    for file in ["main.emx", "tests.emx"] {
        std::fs::copy(
            example().join("src").join(file),
            dir.path().join("src").join(file),
        )
        .unwrap();
    }
    dir
}

#[test]
fn the_approval_example_passes_its_tests_on_the_virtual_clock() {
    let out = cosmosc(&["test", example().to_str().unwrap()], &example());
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("2 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
    let check = cosmosc(&["check", example().to_str().unwrap()], &example());
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    assert!(
        stderr(&check).contains("0 errors, 0 warnings"),
        "{}",
        stderr(&check)
    );
}

#[test]
fn run_waits_for_the_deadline_and_escalates_without_a_sleep() {
    let project = example_copy();
    let db = project.path().join("approval.db");
    let started = Instant::now();
    let out = cosmosc(
        &[
            "run",
            ".",
            "Approval",
            "--input",
            r#"{"document": "contract.pdf", "deadline": 1500}"#,
            "--store",
            db.to_str().unwrap(),
            "--json",
        ],
        project.path(),
    );
    let elapsed = started.elapsed();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(doc["status"], "COMPLETED", "{doc}");
    assert_eq!(doc["output"]["escalated"], true, "{doc}");
    let waited = doc["output"]["waited_s"].as_f64().unwrap();
    assert!(waited >= 1.5, "fired before its deadline: {doc}");
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    let history = stderr(&out);
    assert_eq!(
        history.matches(r#"fired "escalate""#).count(),
        1,
        "{history}"
    );
}

fn instance(server: &Server, id: &str) -> Value {
    let (status, body) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(status, 200, "{body}");
    body
}

fn history(server: &Server, id: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/v1/instances/{id}/history"));
    assert_eq!(status, 200, "{body}");
    body["history"].as_array().unwrap().clone()
}

fn wait_for(server: &Server, id: &str, status: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let body = instance(server, id);
        if body["status"] == status {
            return body;
        }
        assert!(started.elapsed() < limit, "still {body} after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(server: &Server, input: Value) -> String {
    let (status, body) = server.post("/v1/workflows/Approval/instances", input);
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// The durable wake-up through a real server: `store` is the `--store` argument,
/// `second` whether a second node shares it (PostgreSQL).
fn serve_wakes_a_waiting_instance(store: &str, second: bool) {
    let project = example_copy();
    let args = ["--store", store];
    let server = Server::start(project.path(), &args, &[]);
    let deadline_ms = 3000;
    let waiting = start(
        &server,
        json!({"document": "contract.pdf", "deadline": deadline_ms}),
    );
    let approved = start(
        &server,
        json!({"document": "memo.pdf", "deadline": deadline_ms}),
    );

    // Waiting on its deadline is running, with the wake-up's time shown.
    let body = instance(&server, &waiting);
    assert_eq!(body["status"], "RUNNING", "{body}");
    let asked = cosmos_ir::parse_time(body["facts"]["asked"].as_str().unwrap()).unwrap();
    let wakes_at = cosmos_ir::parse_time(body["wakes_at"].as_str().unwrap()).unwrap();
    assert_eq!(wakes_at, asked + deadline_ms, "{body}");

    // `explain` says when the rule fires, and why.
    let out = cosmosc(&["explain", &waiting, "--store", store], project.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let expected = format!(
        "fires at {} when now() >= asked + deadline",
        cosmos_ir::format_time(wakes_at)
    );
    assert!(text.contains(&expected), "{text}");

    // Approved in time: finished, nothing left to wake for.
    let (status, body) = server.post(
        &format!("/v1/instances/{approved}/signals/approve"),
        json!({"by": "ana"}),
    );
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("COMPLETED")),
        "{body}"
    );
    assert_eq!(body["wakes_at"], Value::Null, "{body}");
    let approved_rows = history(&server, &approved).len();

    // The wake-up is durable: a node killed while the instance waits loses nothing.
    server.kill9();
    let server = Server::start(project.path(), &args, &[]);
    let other = second.then(|| Server::start(project.path(), &args, &[]));

    let body = wait_for(&server, &waiting, "COMPLETED", Duration::from_secs(30));
    assert_eq!(body["facts"]["escalated"], true, "{body}");
    assert_eq!(body["wakes_at"], Value::Null, "{body}");
    let decided = cosmos_ir::parse_time(body["facts"]["decided"].as_str().unwrap()).unwrap();
    assert!(decided >= wakes_at, "fired before the deadline: {body}");
    let rows = history(&server, &waiting);
    let fired = rows
        .iter()
        .filter(|r| r["kind"] == "fired" && r["text"].as_str().unwrap().contains("escalate"))
        .count();
    assert_eq!(fired, 1, "{rows:#?}");
    // Two steps: the start, and the wake-up at the deadline (nothing else woke it).
    let steps = support::server::assert_steps_never_overlap(&json!({"history": rows}));
    assert_eq!(steps.len(), 2, "{rows:#?}");

    // The approved instance's wake-up came due too: ignored, with no history row, and
    // no message of either instance is left in the queue.
    let started = Instant::now();
    loop {
        let (_, queues) = server.get("/v1/queues");
        let pending: u64 = queues["queues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                ["ready", "delayed", "leased"]
                    .iter()
                    .map(|k| q[k].as_u64().unwrap_or(0))
                    .sum::<u64>()
            })
            .sum();
        if pending == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "messages left: {queues}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(history(&server, &approved).len(), approved_rows);
    assert_eq!(instance(&server, &approved)["status"], "COMPLETED");
    if let Some(other) = other {
        other.terminate();
    }
    server.terminate();
}

#[test]
fn serve_keeps_one_durable_wake_up_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    serve_wakes_a_waiting_instance(db.to_str().unwrap(), false);
}

#[test]
fn serve_keeps_one_durable_wake_up_on_postgres_with_two_nodes() {
    let Some(schema) = schema("serve_keeps_one_durable_wake_up_on_postgres_with_two_nodes") else {
        return;
    };
    serve_wakes_a_waiting_instance(&schema.url, true);
}

const BLOCKING: &str = r#"
function block(): Int { command ["sh", "functions/block.sh"] }
function mark(name: String): Int { command ["sh", "functions/mark.sh"] }
workflow Busy {
    facts { done: Bool = false }
    rule "block" {
        match { !done }
        action { block() }
        reaction { done = true }
    }
    complete when { done }
}
workflow Marker {
    input { name: String }
    facts { done: Bool = false }
    rule "mark" {
        match { !done }
        action { mark(name: name) }
        reaction { done = true }
    }
    complete when { done }
}
"#;

/// A finished instance's call never runs: with one process in the pool, `Busy` holds
/// it while `Marker`'s call waits in the queue; `Marker` is cancelled; when the pool
/// frees up, the call message is taken and dropped without running `mark` (which
/// would leave a file behind) and without a history row.
fn a_cancelled_instance_call_never_runs(store: &str) {
    let project = support::project(&[
        (
            "cosmos.toml",
            "[project]\nname = \"demo\"\n\n[pools.default]\nmax = 1\n",
        ),
        ("src/main.emx", BLOCKING),
        ("functions/block.sh", "read line\nsleep 1.5\necho 1\n"),
        ("functions/mark.sh", "read line\ntouch marked\necho 1\n"),
    ]);
    let server = Server::start(project.path(), &["--store", store], &[]);
    let (status, body) = server.post("/v1/workflows/Busy/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let busy = body["id"].as_str().unwrap().to_string();
    // Wait until `block` runs: the pool's one process is taken.
    let started = Instant::now();
    loop {
        let (_, pools) = server.get("/v1/pools");
        if pools["pools"][0]["running"].as_u64() == Some(1) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{pools}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, body) = server.post("/v1/workflows/Marker/instances", json!({"name": "m"}));
    assert_eq!(status, 201, "{body}");
    let marker = body["id"].as_str().unwrap().to_string();
    let (status, body) = server.post(&format!("/v1/instances/{marker}/cancel"), json!({}));
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("CANCELLED")),
        "{body}"
    );
    let rows = history(&server, &marker).len();

    wait_for(&server, &busy, "COMPLETED", Duration::from_secs(30));
    // The call message of the cancelled instance is taken and dropped.
    let started = Instant::now();
    loop {
        let (_, queues) = server.get("/v1/queues");
        let calls = queues["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue"] == "calls")
            .cloned()
            .unwrap_or(json!({}));
        let left: u64 = ["ready", "delayed", "leased", "dead"]
            .iter()
            .map(|k| calls[k].as_u64().unwrap_or(0))
            .sum();
        if left == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{queues}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !project.path().join("marked").exists(),
        "the cancelled instance's call ran"
    );
    assert_eq!(history(&server, &marker).len(), rows);
    assert_eq!(instance(&server, &marker)["status"], "CANCELLED");
    // The same call of an instance that is not cancelled does run, and leaves the file.
    let (status, body) = server.post("/v1/workflows/Marker/instances", json!({"name": "n"}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    wait_for(&server, &id, "COMPLETED", Duration::from_secs(30));
    assert!(project.path().join("marked").exists());
    server.terminate();
}

#[test]
fn a_cancelled_instance_call_never_runs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    a_cancelled_instance_call_never_runs(db.to_str().unwrap());
}

#[test]
fn a_cancelled_instance_call_never_runs_on_postgres() {
    let Some(schema) = schema("a_cancelled_instance_call_never_runs_on_postgres") else {
        return;
    };
    a_cancelled_instance_call_never_runs(&schema.url);
}

const WAITING: &str = r#"
workflow Waiting {
    input { at: Time }
    facts { late: Time? }
    rule "due" {
        match { late == null && now() >= at }
        action { 1 }
        reaction { late = now() }
    }
    complete when { late != null }
}
"#;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap()
}

/// A measurement rather than a check of behaviour: `COSMOS_BENCH_WAITING` instances
/// (10,000 by default) of `cosmosc serve` on SQLite, each waiting on its own threshold,
/// the thresholds 2 ms apart once every instance has started. Prints the server's
/// resident memory while they wait and the delay from each threshold to the step that
/// fired its rule (the step's `now()`, recorded as `late`). Every instance must fire
/// once and none before its threshold.
#[test]
#[ignore = "a measurement: cargo test -p cosmosc --test time_in_match -- --ignored --nocapture"]
fn many_instances_waiting_on_thresholds() {
    let n: i64 = std::env::var("COSMOS_BENCH_WAITING")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let project = support::project(&[support::MANIFEST, ("src/main.emx", WAITING)]);
    let server = Server::start(project.path(), &["--store", "waiting.db"], &[]);
    std::thread::sleep(Duration::from_millis(300));
    let rest = rss_kib(server.child.id());
    // Room to start them all before the first threshold (`n` starts take well under
    // 10 ms each), then one threshold every 2 ms.
    let first = now_ms() + 10_000 + 10 * n;
    let mut ids = Vec::new();
    for i in 0..n {
        let at = cosmos_ir::format_time(first + 2 * i);
        ids.push((first + 2 * i, start_waiting(&server, &at)));
    }
    assert!(
        now_ms() < first,
        "starting took too long; lower COSMOS_BENCH_WAITING"
    );
    let (_, one) = server.get(&format!("/v1/instances/{}", ids[0].1));
    assert_eq!(one["status"], "RUNNING", "{one}");
    let waiting = rss_kib(server.child.id());
    let agent = support::server::agent();
    let limit =
        Duration::from_millis((first + 2 * n - now_ms()).max(0) as u64) + Duration::from_secs(120);
    let started = Instant::now();
    while support::server::count_instances(&agent, &server.base, "Waiting", "COMPLETED")
        < n as usize
    {
        assert!(started.elapsed() < limit, "not all fired after {limit:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let mut delays: Vec<i64> = ids
        .iter()
        .map(|(at, id)| {
            let body = instance(&server, id);
            let late = cosmos_ir::parse_time(body["facts"]["late"].as_str().unwrap()).unwrap();
            assert!(late >= *at, "fired before its threshold: {body}");
            late - at
        })
        .collect();
    delays.sort_unstable();
    let pick = |p: f64| delays[((delays.len() - 1) as f64 * p).round() as usize];
    println!("| {n} instances waiting on thresholds 2 ms apart (SQLite) | |");
    println!(
        "| resident memory of `cosmosc serve` at rest | {:.1} MB |",
        rest as f64 / 1024.0
    );
    println!(
        "| … while the {n} wait | {:.1} MB |",
        waiting as f64 / 1024.0
    );
    println!(
        "| threshold → step that fires, median / p99 / max | {} / {} / {} ms |",
        pick(0.5),
        pick(0.99),
        delays.last().unwrap()
    );
    server.terminate();
}

fn start_waiting(server: &Server, at: &str) -> String {
    let (status, body) = server.post("/v1/workflows/Waiting/instances", json!({"at": at}));
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}
