//! `cosmosc serve` as a user runs it: a real process on a temporary SQLite file, real
//! function processes, real HTTP, and real `kill -9`s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::server::{Server, agent, assert_steps_never_overlap, call, metric};
use support::workflows::{GATE_V1, GATE_V2, chain, chain_seen, chain_total};

/// Every test's server keeps its state in this SQLite file under the project.
const STORE: &[&str] = &["--store", "state.db"];

use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

/// Reads `{"n": N}` and prints 2N after a short, varying pause.
const WORK: &str = r#"read line
n=$(printf '%s' "$line" | tr -dc '0-9-')
sleep 0.0$(( n % 7 + 2 ))
echo $(( n * 2 ))
"#;

fn chain_project() -> tempfile::TempDir {
    support::project(&[
        support::MANIFEST,
        ("src/main.emx", &chain("20.s")),
        ("functions/work.sh", WORK),
    ])
}

/// One call of `slow` (functions/slow.sh, which each test writes), then done.
const ONCE: &str = r#"
function slow(): Int { command "sh functions/slow.sh" }
workflow Once {
    facts { n: Int? }
    rule "go" {
        match { n == null }
        action { slow() }
        reaction { n = result }
    }
    complete when { n != null }
    output { [n: n] }
}
"#;

/// Waits for its deadline with no `sleep` (LANGUAGE.md 10.1): a durable wake-up.
const DEADLINE: &str = r#"
workflow Deadline {
    input { wait: Duration }
    facts {
        asked: Time = now()
        late: Time?
        fired: Int = 0
    }
    rule "late" {
        match { late == null && now() >= asked + wait }
        action { 1 }
        reaction {
            fired += result
            late = now()
        }
    }
    complete when { late != null }
}
"#;

/// A call that fails on its first attempt and answers `n + 1` on any later one (the
/// attempt is the last part of its idempotency key): with a retry policy, the retry's
/// delay is a durable timer; in a fan-out, the odd calls fail once and an `error`
/// block retries each of them alone.
const ONCE_FLAKY: &str = r#"key=$COSMOS_IDEMPOTENCY_KEY
attempt=${key##*/}
read line
n=$(printf '%s' "$line" | tr -dc '0-9')
if [ "$attempt" = 1 ] && [ $(( n % 2 )) = 1 ]; then
    echo "attempt 1 of $n fails" >&2
    exit 1
fi
echo $(( n + 1 ))
"#;

const RETRIED: &str = r#"
function flaky(n: Int): Int {
    command ["sh", "functions/flaky.sh"]
    retry attempts: 3, delay: 300.ms, factor: 1.0
}
function rung(n: Int): Int { command ["sh", "functions/flaky.sh"] }

/** A retry policy's delay, waited across the kills. */
workflow Policy {
    input { seed: Int }
    facts { v: Int?, reacted: Int = 0 }
    rule "call" {
        match { v == null }
        action { flaky(n: seed * 2 + 1) }
        reaction {
            v = result
            reacted += 1
        }
    }
    complete when { v != null }
}

/** A fan-out whose odd calls fail once and are retried alone. */
workflow Fan {
    facts { results: List<Int>?, reacted: Int = 0 }
    rule "fan out" {
        match { results == null }
        action { [0, 1, 2, 3, 4, 5].collect { i -> rung(n: i) } }
        reaction {
            results = result
            reacted += 1
        }
        error { retry(after: 250.ms) }
    }
    complete when { results != null }
}
"#;

#[test]
fn instances_survive_kill_9_with_every_reaction_applied_once() {
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", &chain("20.s")),
        ("src/deadline.emx", DEADLINE),
        ("src/retried.emx", RETRIED),
        ("functions/work.sh", WORK),
        ("functions/flaky.sh", ONCE_FLAKY),
    ]);
    let root = project.path();
    let server = Server::start(root, STORE, &[]);
    // Instances whose calls are retried across the kills: by a policy's durable delay,
    // and, in a fan-out, by an `error` block retrying one call at a time.
    let mut retried = Vec::new();
    for seed in 0..4 {
        let (status, body) = server.post("/v1/workflows/Policy/instances", json!({"seed": seed}));
        assert_eq!(status, 201, "{body}");
        retried.push(body["id"].as_str().unwrap().to_string());
    }
    for _ in 0..4 {
        let (status, body) = server.post("/v1/workflows/Fan/instances", json!({}));
        assert_eq!(status, 201, "{body}");
        retried.push(body["id"].as_str().unwrap().to_string());
    }
    let mut ids = Vec::new();
    for seed in 0..24 {
        let (status, body) = server.post("/v1/workflows/Chain/instances", json!({"seed": seed}));
        assert_eq!(status, 201, "{body}");
        ids.push((seed, body["id"].as_str().unwrap().to_string()));
    }
    // Instances waiting on wake-ups due at moments spread over the kills.
    let mut deadlines = Vec::new();
    for wait in [100, 400, 700, 1000, 1300, 1600, 1900] {
        let (status, body) = server.post("/v1/workflows/Deadline/instances", json!({"wait": wait}));
        assert_eq!(status, 201, "{body}");
        deadlines.push((wait, body["id"].as_str().unwrap().to_string()));
    }
    // Kill the runtime at moments spread over the run, restarting it each time.
    let mut server = Some(server);
    let mut interrupted = 0;
    for pause in [130, 370, 90, 520, 260, 45, 180] {
        std::thread::sleep(Duration::from_millis(pause));
        let running = server
            .as_ref()
            .unwrap()
            .get("/v1/instances?status=RUNNING")
            .1;
        interrupted = interrupted.max(running["instances"].as_array().unwrap().len());
        server.take().unwrap().kill9();
        server = Some(Server::start(root, STORE, &[]));
    }
    assert!(
        interrupted > 0,
        "the kills must land while instances are running"
    );
    let server = server.unwrap();
    let only_ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    server.wait_all_finished(&only_ids, Duration::from_secs(120));
    let deadline_ids: Vec<String> = deadlines.iter().map(|(_, id)| id.clone()).collect();
    server.wait_all_finished(&deadline_ids, Duration::from_secs(60));
    for (wait, id) in &deadlines {
        let (_, body) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(body["facts"]["fired"], 1, "the rule fired once: {body}");
        let time =
            |fact: &str| cosmos_ir::parse_time(body["facts"][fact].as_str().unwrap()).unwrap();
        assert!(
            time("late") >= time("asked") + wait,
            "woke before its deadline: {body}"
        );
        let (_, history) = server.get(&format!("/v1/instances/{id}/history"));
        assert_steps_never_overlap(&history);
    }

    server.wait_all_finished(&retried, Duration::from_secs(60));
    for id in &retried {
        let (_, body) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(body["facts"]["reacted"], 1, "one reaction: {body}");
        let (_, history) = server.get(&format!("/v1/instances/{id}/history"));
        assert_steps_never_overlap(&history);
        let rows = history["history"].as_array().unwrap();
        let count = |kind: &str| rows.iter().filter(|r| r["kind"] == kind).count();
        assert_eq!(count("fired"), 1, "one firing: {history}");
        if body["workflow"] == "Policy" {
            let seed = body["input"]["seed"].as_i64().unwrap();
            assert_eq!(body["facts"]["v"], json!(seed * 2 + 2), "{body}");
            // Attempt 1 failed and the policy retried once, after its delay.
            assert_eq!(count("retrying"), 1, "{history}");
            assert!(
                rows.iter()
                    .any(|r| r["kind"] == "retrying" && r["data"]["policy"] == 3),
                "{history}"
            );
        } else {
            assert_eq!(
                body["facts"]["results"],
                json!([1, 2, 3, 4, 5, 6]),
                "{body}"
            );
            // The three odd calls failed once each and were retried alone.
            assert_eq!(count("call_failed"), 3, "{history}");
            assert_eq!(count("retrying"), 3, "{history}");
        }
    }

    for (seed, id) in &ids {
        let (_, body) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(body["status"], "COMPLETED", "{body}");
        let total = chain_total(*seed);
        assert_eq!(
            body["output"],
            json!({"total": total, "steps": 5}),
            "{body}"
        );
        let seen = chain_seen(*seed);
        assert_eq!(body["facts"]["seen"], json!(seen), "{body}");
        let (_, history) = server.get(&format!("/v1/instances/{id}/history"));
        assert_steps_never_overlap(&history);
        let rows = history["history"].as_array().unwrap();
        let fired: Vec<i64> = rows
            .iter()
            .filter(|r| r["kind"] == "fired")
            .map(|r| r["data"]["firing"].as_i64().unwrap())
            .collect();
        assert_eq!(fired, vec![1, 2, 3, 4, 5], "each firing once: {history}");
        let reacted = rows.iter().filter(|r| r["kind"] == "reacted").count();
        assert_eq!(reacted, 5, "each reaction once: {history}");
    }
}

#[test]
fn bad_requests_get_4xx_and_change_nothing() {
    let project = chain_project();
    let server = Server::start(project.path(), STORE, &[]);
    let (status, body) = server.post("/v1/workflows/Nope/instances", json!({"seed": 1}));
    assert_eq!(status, 404, "{body}");
    let (status, _) = server.post("/v1/workflows/Chain/instances", json!({"seed": "x"}));
    assert_eq!(status, 400);
    let (status, _) = server.post("/v1/workflows/Chain/instances", json!({}));
    assert_eq!(status, 400);
    let (status, _) = server.post_raw("/v1/workflows/Chain/instances", "{not json");
    assert_eq!(status, 400);
    let (status, _) = server.get("/v1/instances/does-not-exist");
    assert_eq!(status, 404);
    let big = format!(
        "{{\"seed\": 1, \"pad\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let status = server.post_oversized("/v1/workflows/Chain/instances", big);
    assert_eq!(status, 413);
    let (_, list) = server.get("/v1/instances");
    assert_eq!(list["instances"], json!([]), "nothing was created");
    let (status, body) = server.get("/v1/instances?status=BOGUS");
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        json!({"error": {
            "code": "bad_status",
            "message": "unknown status \"BOGUS\"; expected one of \
                        RUNNING, STALLED, COMPLETED, FAILED, CANCELLED",
        }})
    );
    let (status, body) = server.get("/v1/instances?status=completed");
    assert_eq!((status, &body["instances"]), (200, &json!([])), "{body}");

    let (status, body) = server.post("/v1/workflows/Chain/instances", json!({"seed": 3}));
    assert_eq!(status, 201);
    let id = body["id"].as_str().unwrap().to_string();
    let (status, _) = server.post(&format!("/v1/instances/{id}/signals/nope"), json!({}));
    assert_eq!(status, 404);
    let (status, _) = server.post(
        &format!("/v1/instances/{id}/signals/bump"),
        json!({"by": "two"}),
    );
    assert_eq!(status, 400);
    let (_, history) = server.get(&format!("/v1/instances/{id}/history"));
    assert!(
        !history["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "signalled"),
        "a refused signal leaves no trace: {history}"
    );
    let (status, _) = server.post(
        &format!("/v1/instances/{id}/signals/bump"),
        json!({"by": 100}),
    );
    assert_eq!(status, 200);
    server.wait_all_finished(std::slice::from_ref(&id), Duration::from_secs(30));
    let (_, body) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(
        body["output"]["total"],
        json!(chain_total(3) + 100),
        "{body}"
    );
}

#[test]
fn a_token_guards_the_api_but_not_healthz() {
    let project = support::project(&[
        (
            "cosmos.toml",
            "[project]\nname = \"demo\"\n\n[runtime]\ntoken = \"sesame\"\n",
        ),
        ("src/main.emx", &chain("20.s")),
        ("functions/work.sh", WORK),
    ]);
    let server = Server::start(project.path(), STORE, &[]);
    let (status, _) = server.get("/v1/instances");
    assert_eq!(status, 401);
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
    let response = agent()
        .get(format!("{}/v1/instances", server.base))
        .header("Authorization", "Bearer sesame")
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut metrics = agent()
        .get(format!("{}/metrics", server.base))
        .header("Authorization", "Bearer sesame")
        .call()
        .unwrap();
    let text = metrics.body_mut().read_to_string().unwrap();
    assert!(text.contains("cosmos_pool_max"), "{text}");
    assert!(text.contains("cosmos_node_info{node=\"node-"), "{text}");
    let mut node = agent()
        .get(format!("{}/v1/node", server.base))
        .header("Authorization", "Bearer sesame")
        .call()
        .unwrap();
    let node: Value = serde_json::from_str(&node.body_mut().read_to_string().unwrap()).unwrap();
    assert!(
        node["node"].as_str().unwrap().starts_with("node-"),
        "{node}"
    );
    assert!(node["pools"].is_array(), "{node}");
}

#[test]
fn an_idempotency_key_starts_one_instance() {
    let project = chain_project();
    let server = Server::start(project.path(), STORE, &[]);
    let send = || {
        call(
            agent()
                .post(format!("{}/v1/workflows/Chain/instances", server.base))
                .header("Idempotency-Key", "order-42")
                .send_json(json!({"seed": 1})),
        )
    };
    let (first, a) = send();
    let (second, b) = send();
    assert_eq!((first, second), (201, 200));
    assert_eq!(a["id"], b["id"]);
}

#[test]
fn a_new_bundle_leaves_running_instances_on_theirs_and_sigterm_stops_cleanly() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", GATE_V1)]);
    let root = project.path();
    let server = Server::start(root, STORE, &[]);
    let (status, old) = server.post("/v1/workflows/Gate/instances", json!({}));
    assert_eq!(status, 201, "{old}");
    assert_eq!(old["status"], "STALLED", "it waits for its signal");
    let old_id = old["id"].as_str().unwrap().to_string();

    // SIGTERM: a graceful stop, exit 0.
    let mut server = server;
    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "serve exits 0 after SIGTERM: {exit:?}");
    drop(server);

    // Deploy v2: new instances run it, the old instance keeps v1.
    std::fs::write(root.join("src/main.emx"), GATE_V2).unwrap();
    let server = Server::start(root, STORE, &[]);
    let (_, new) = server.post("/v1/workflows/Gate/instances", json!({}));
    let new_id = new["id"].as_str().unwrap().to_string();
    assert_ne!(new["bundle"], old["bundle"]);
    for id in [&old_id, &new_id] {
        let (status, body) = server.post(
            &format!("/v1/instances/{id}/signals/approve"),
            json!({"who": "ann"}),
        );
        assert_eq!(status, 200, "{body}");
    }
    let (_, old) = server.get(&format!("/v1/instances/{old_id}"));
    let (_, new) = server.get(&format!("/v1/instances/{new_id}"));
    assert_eq!(old["output"], json!({"by": "v1:ann"}), "{old}");
    assert_eq!(new["output"], json!({"by": "v2:ann"}), "{new}");
    let (status, _) = server.post(
        &format!("/v1/instances/{old_id}/signals/approve"),
        json!({"who": "bo"}),
    );
    assert_eq!(status, 409, "a completed instance takes no more signals");
}

#[test]
fn sigterm_lets_a_running_call_finish_and_nothing_runs_twice() {
    // Counts its runs in runs.log, then takes a second.
    let slow = "echo run >> runs.log\nsleep 1\necho 7\n";
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", ONCE),
        ("functions/slow.sh", slow),
    ]);
    let root = project.path();
    let mut server = Server::start(root, STORE, &[]);
    let (status, body) = server.post("/v1/workflows/Once/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    while !root.join("runs.log").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the call never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = server.child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    drop(server);

    let server = Server::start(root, STORE, &[]);
    server.wait_all_finished(std::slice::from_ref(&id), Duration::from_secs(20));
    let (_, body) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(body["output"], json!({"n": 7}), "{body}");
    let runs = std::fs::read_to_string(root.join("runs.log")).unwrap();
    assert_eq!(
        runs.lines().count(),
        1,
        "the call finished during the stop: {runs}"
    );
}

#[test]
fn serve_runs_a_compiled_bundle_without_the_sources() {
    let project = chain_project();
    let root = project.path();
    let out = support::cosmosc(&["compile", ".", "-o", "app.cosmos"], root);
    assert_eq!(support::code(&out), 0, "{}", support::stderr(&out));
    // The sources are gone: the bundle is all the runtime needs.
    std::fs::remove_dir_all(root.join("src")).unwrap();
    let server = Server::start(
        root,
        &["--store", "state.db", "--bundle", "app.cosmos"],
        &[],
    );
    let (status, body) = server.post("/v1/workflows/Chain/instances", json!({"seed": 2}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    server.wait_all_finished(std::slice::from_ref(&id), Duration::from_secs(30));
    let (_, body) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(body["output"]["total"], json!(chain_total(2)), "{body}");

    // A bundle that is not one is refused with a message, before listening.
    std::fs::write(root.join("bad.cosmos"), "not a bundle").unwrap();
    let out = support::cosmosc(
        &[
            "serve",
            ".",
            "--bundle",
            "bad.cosmos",
            "--listen",
            "127.0.0.1:0",
        ],
        root,
    );
    assert_eq!(support::code(&out), 2);
    assert!(
        support::stderr(&out).starts_with("error: "),
        "{}",
        support::stderr(&out)
    );
}

/// A node leases no more calls than its pools can run: with one process in the pool,
/// one call is leased (running) and the others wait in the queue, where another
/// node could take them — and a crash charges an attempt only to the call that ran.
#[test]
fn a_node_leases_no_more_calls_than_its_pools_can_run() {
    let project = support::project(&[
        (
            "cosmos.toml",
            "[project]\nname = \"demo\"\n\n[pools.default]\nmax = 1\n",
        ),
        ("src/main.emx", &chain("20.s")),
        ("functions/work.sh", "read line\nsleep 0.3\necho 1\n"),
    ]);
    let server = Server::start(project.path(), STORE, &[]);
    let ids: Vec<String> = (0..4)
        .map(|seed| {
            let (status, body) =
                server.post("/v1/workflows/Chain/instances", json!({"seed": seed}));
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    let mut waited = false;
    for _ in 0..20 {
        let (_, queues) = server.get("/v1/queues");
        let calls = queues["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue"] == "calls")
            .cloned()
            .unwrap_or(json!({"leased": 0, "ready": 0}));
        assert!(calls["leased"].as_u64().unwrap() <= 1, "{queues}");
        waited |= calls["ready"].as_u64().unwrap() >= 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(waited, "calls waited in the queue, not in the node");
    server.wait_all_finished(&ids, Duration::from_secs(60));
    for id in &ids {
        let (_, body) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(body["output"]["total"], json!(5), "{body}");
    }
}

#[test]
fn a_get_with_wait_ms_answers_once_the_instance_is_no_longer_running() {
    let source = format!(
        "{ONCE}{}",
        r#"
workflow Parked {
    facts { by: String? }
    signal go(who: String) { by = who }
    complete when { by != null }
}
"#
    );
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", &source),
        ("functions/slow.sh", "sleep 2\necho 7\n"),
    ]);
    let server = Server::start(project.path(), STORE, &[]);
    let (status, body) = server.post("/v1/workflows/Once/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let path = format!("/v1/instances/{}", body["id"].as_str().unwrap());

    // Without wait_ms, or with one shorter than the call, the answer is RUNNING, the
    // latter after the wait.
    let (status, body) = server.get(&path);
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("RUNNING")),
        "{body}"
    );
    let asked = Instant::now();
    let (status, body) = server.get(&format!("{path}?wait_ms=300"));
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("RUNNING")),
        "{body}"
    );
    assert!(
        asked.elapsed() >= Duration::from_millis(300),
        "{:?}",
        asked.elapsed()
    );

    // A long one answers when the call's result has been applied: one request.
    let (status, body) = server.get(&format!("{path}?wait_ms=30000"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(body["output"], json!({"n": 7}), "{body}");

    // An instance that waits for a signal is STALLED at once: no wait.
    let (status, body) = server.post("/v1/workflows/Parked/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let parked = format!("/v1/instances/{}", body["id"].as_str().unwrap());
    let asked = Instant::now();
    let (status, body) = server.get(&format!("{parked}?wait_ms=30000"));
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("STALLED")),
        "{body}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );

    // Refusals: a wait that is not a whole number of milliseconds, an unknown instance.
    let (status, body) = server.get(&format!("{path}?wait_ms=-1"));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_query")),
        "{body}"
    );
    let (status, body) = server.get("/v1/instances/nope?wait_ms=1000");
    assert_eq!(status, 404, "{body}");
}

#[test]
fn a_call_waiting_in_the_queue_takes_the_place_of_a_completed_one_in_its_transaction() {
    // One place: the first instance's call takes it when the instance is created;
    // the second instance, started while that call runs, finds no free place and its
    // call waits in the queue. The first call's completion ends its instance (its step
    // starts no call) and, in the same transaction, leases the waiting call to the
    // place it leaves: both calls were leased with a step, none by the call loop.
    let source = r#"
function slow(n: Int): Int { command "sh functions/slow.sh" }
workflow One {
    facts { n: Int = 0 }
    rule "call" {
        match { n == 0 }
        action { slow(n: n) }
        reaction { n = result }
    }
    complete when { n > 0 }
    output { [n: n] }
}
"#;
    let slow = "read line\nsleep 0.5\necho 1\n";
    let project = support::project(&[
        (
            "cosmos.toml",
            "[project]\nname = \"demo\"\n\n[pools.default]\nmax = 1\n",
        ),
        ("src/main.emx", source),
        ("functions/slow.sh", slow),
    ]);
    let server = Server::start(project.path(), STORE, &[]);
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let (status, body) = server.post("/v1/workflows/One/instances", json!({}));
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    for id in &ids {
        let (_, body) = server.get(&format!("/v1/instances/{id}?wait_ms=30000"));
        assert_eq!(body["output"], json!({"n": 1}), "{body}");
    }
    assert_eq!(
        metric(&server.metrics(), "cosmos_calls_leased_with_step_total"),
        Some(2.0)
    );
}

#[test]
fn a_new_instances_first_call_and_each_next_one_are_leased_with_their_steps() {
    let source = r#"
function inc(n: Int): Int { command "sh functions/inc.sh" }
workflow Three {
    facts { n: Int = 0 }
    rule "call" {
        match { n < 3 }
        action { inc(n: n) }
        reaction { n = result }
    }
    complete when { n >= 3 }
    output { [n: n] }
}
"#;
    let inc = "read line\nn=$(printf '%s' \"$line\" | tr -dc '0-9')\necho $(( n + 1 ))\n";
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", source),
        ("functions/inc.sh", inc),
    ]);
    let server = Server::start(project.path(), STORE, &[]);
    let (status, body) = server.post("/v1/workflows/Three/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let path = format!(
        "/v1/instances/{}?wait_ms=30000",
        body["id"].as_str().unwrap()
    );
    let (_, body) = server.get(&path);
    assert_eq!(body["output"], json!({"n": 3}), "{body}");
    // The first call was leased in the transaction that created the instance, the
    // second and third in the transactions of the steps the completions took: no call
    // had a lease of its own.
    assert_eq!(
        metric(&server.metrics(), "cosmos_calls_leased_with_step_total"),
        Some(3.0)
    );
}
