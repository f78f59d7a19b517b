//! Failures inside a fan-out (LANGUAGE.md 10.2) through the real `cosmosc` on the
//! `examples/ladder` project: its tests on the virtual clock, and real runs with real
//! function processes (a transcode that fails once and is retried alone, a `settle`
//! that publishes whatever succeeded) on SQLite and, when `COSMOS_TEST_POSTGRES` is
//! set, on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::server::Server;
use support::worker::Worker;
use support::{code, stderr, stdout};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ladder")
}

/// A copy of the example, so that a run leaves nothing in the repository.
fn copy_of_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["", "src", "functions"] {
        let from = example().join(sub);
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    dir
}

#[test]
fn the_ladder_example_passes_its_tests_on_the_virtual_clock() {
    let out = support::cosmosc(&["test", example().to_str().unwrap()], &example());
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    for name in [
        "a rung that fails is retried alone and the reaction runs once",
        "settle publishes whatever succeeded",
        "each failed call runs the error block once, until one gives up",
    ] {
        assert!(text.contains(&format!("PASS {name} (")), "{text}");
    }
    assert!(text.ends_with("3 passed, 0 failed\n"), "{text}");
}

/// `fail(message)` in a mock's answer fails that call only; a failing assert after it
/// shows the history, where the failed call is named with its place in the fan-out.
#[test]
fn a_mock_that_fails_some_calls_fails_only_those() {
    let dir = support::project(&[
        support::MANIFEST,
        (
            "src/main.emx",
            r#"
function size(n: Int): Int { command "sh size.sh" }
workflow Sizes {
    input { ns: List<Int> }
    facts { sizes: List<Int> = [], failed: List<Int> = [] }
    rule "sizes" {
        match { sizes.isEmpty() && failed.isEmpty() }
        action { settle(ns.collect { n -> size(n: n) }) }
        reaction {
            for (o in result) {
                if (o.value != null) sizes << o.value
                def e = o.error
                if (e != null) failed << (e.index ?: -1)
            }
        }
    }
}
test "odd sizes fail" {
    start Sizes(ns: [1, 2, 3, 4])
    mock size(n) = if (n % 2 == 1) fail("odd: ${n}") else n * 10
    run
    assert sizes == [20, 40] && failed == [0, 2]
    assert sizes.size() == 3
}
"#,
        ),
    ]);
    let out = support::cosmosc(&["test", "."], dir.path());
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("FAIL odd sizes fail"), "{text}");
    assert!(text.contains("assert sizes.size() == 3"), "{text}");
    assert!(
        text.contains(r#"call size[2] of "sizes" failed (FAILED, attempt 1): odd: 3"#),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

/// The expected end of a run of the example with a flaky source: the 720 rung failed
/// once and was retried alone; the 360 rendition was not published.
fn check_run(document: &Value, history: &str) {
    assert_eq!(document["status"], "COMPLETED", "{document}\n{history}");
    assert_eq!(
        document["output"],
        json!({"renditions": 4, "published": [1080, 720, 480], "unpublished": [360], "failures": 1}),
        "{history}"
    );
    let failures = document["facts"]["failures"].as_array().unwrap();
    let failure = failures[0].as_str().unwrap();
    assert!(
        failure.starts_with("rung 1 (") && failure.contains("the encoder crashed on the 720 rung"),
        "{failure}"
    );
    let bytes: Vec<i64> = document["facts"]["renditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bytes"].as_i64().unwrap())
        .collect();
    assert_eq!(bytes, [1_080_000, 720_000, 480_000, 360_000]);
    for line in [
        r#"fired "transcode the ladder" (#1, 4 calls)"#,
        r#"call transcode[1] of "transcode the ladder" failed (FAILED, attempt 1)"#,
        r#"retrying transcode[1] of "transcode the ladder" (attempt 2) after 2s"#,
        r#"fired "publish what is ready" (#1, 4 calls)"#,
        r#"call publish[3] of "publish what is ready" failed (FAILED, attempt 1)"#,
        "log: not published: the CDN takes no rendition under 480p",
    ] {
        assert!(history.contains(line), "{line}\n{history}");
    }
    assert_eq!(
        history
            .matches("reaction of \"transcode the ladder\"")
            .count(),
        1
    );
    assert_eq!(history.matches("retrying").count(), 1, "{history}");
}

fn run_for_real(store: &str, scratch: &Path) -> (Value, String) {
    let project = copy_of_example();
    let out = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args([
            "run",
            ".",
            "Ladder",
            "--input",
            r#"{"source": "s3://media/flaky.mov"}"#,
            "--store",
            store,
            "--json",
        ])
        .current_dir(project.path())
        // The transcode function keeps its fail-once marker here.
        .env("TMPDIR", scratch)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let document: Value = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
    let history = stderr(&out);
    assert_eq!(code(&out), 0, "{document}\n{history}");
    (document, history)
}

#[test]
fn the_ladder_runs_for_real_on_sqlite() {
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("ladder.db");
    let (document, history) = run_for_real(db.to_str().unwrap(), scratch.path());
    check_run(&document, &history);
}

#[test]
fn the_ladder_runs_for_real_on_postgres() {
    let Some(schema) = support::postgres::schema("the_ladder_runs_for_real_on_postgres") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let (document, history) = run_for_real(&schema.url, scratch.path());
    check_run(&document, &history);
}

/// The same through `cosmosc serve`: the history the API gives names each failed call
/// of a fan-out by its index and function, in its data as in its text. With
/// `on_worker`, the node runs no functions and a `cosmosc worker` runs them all.
fn serve_for_real(store: &[&str], on_worker: bool) {
    let project = copy_of_example();
    let scratch = tempfile::tempdir().unwrap();
    let env = [("TMPDIR", scratch.path().to_str().unwrap())];
    let mut args = store.to_vec();
    if on_worker {
        args.push("--no-functions");
    }
    let server = Server::start(project.path(), &args, &env);
    let worker = on_worker.then(|| Worker::start(project.path(), "ladder-worker", store, &env));
    let (status, body) = server.post(
        "/v1/workflows/Ladder/instances",
        json!({"source": "s3://media/flaky.mov"}),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    server.wait_all_finished(std::slice::from_ref(&id), Duration::from_secs(60));
    let (_, instance) = server.get(&format!("/v1/instances/{id}"));
    let (_, history) = server.get(&format!("/v1/instances/{id}/history"));
    let rows = history["history"].as_array().unwrap();
    let text: String = rows
        .iter()
        .map(|r| format!("{}\n", r["text"].as_str().unwrap_or_default()))
        .collect();
    check_run(&instance, &text);
    let named: Vec<(String, Value, Value)> = rows
        .iter()
        .filter(|r| r["kind"] == "call_failed" || r["kind"] == "retrying")
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["data"]["function"].clone(),
                r["data"]["index"].clone(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("call_failed".to_string(), json!("transcode"), json!(1)),
            ("retrying".to_string(), json!("transcode"), json!(1)),
            ("call_failed".to_string(), json!("publish"), json!(3)),
        ],
        "{history}"
    );
    // Who ran each call: this node, or the worker.
    let runner = if on_worker {
        "ladder-worker".to_string()
    } else {
        server.get("/v1/node").1["node"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let ran: Vec<&Value> = rows
        .iter()
        .filter(|r| r["kind"] == "received" && r["data"]["call"].is_object())
        .map(|r| &r["data"]["worker"])
        .collect();
    // 4 transcodes, the retried one, 4 publications.
    assert_eq!(ran.len(), 9, "{history}");
    assert!(ran.iter().all(|w| **w == json!(runner)), "{history}");
    // The registry of workers lists whoever ran them, alive: the worker, or this node.
    let (_, workers) = server.get("/v1/workers");
    let listed = workers["workers"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{workers}");
    assert_eq!(listed[0]["name"], json!(runner), "{workers}");
    assert_eq!(listed[0]["alive"], true, "{workers}");
    let kind = if on_worker { "worker" } else { "node" };
    assert_eq!(listed[0]["kind"], kind, "{workers}");
    if let Some(worker) = worker {
        let (exit, log) = worker.terminate();
        assert!(exit.success(), "{exit:?}\n{log}");
    }
    server.terminate();
}

#[test]
fn the_ladder_serves_for_real_on_sqlite() {
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("serve.db");
    serve_for_real(&["--store", db.to_str().unwrap()], false);
}

#[test]
fn the_ladder_serves_for_real_on_a_worker_on_sqlite() {
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("serve.db");
    serve_for_real(&["--store", db.to_str().unwrap()], true);
}

#[test]
fn the_ladder_serves_for_real_on_postgres() {
    let Some(schema) = support::postgres::schema("the_ladder_serves_for_real_on_postgres") else {
        return;
    };
    serve_for_real(&["--store", &schema.url], false);
}

#[test]
fn the_ladder_serves_for_real_on_a_worker_on_postgres() {
    let Some(schema) =
        support::postgres::schema("the_ladder_serves_for_real_on_a_worker_on_postgres")
    else {
        return;
    };
    serve_for_real(&["--store", &schema.url], true);
}

/// Calls of a firing that an `error` block ended are cancelled: those still waiting in
/// the queue never run. One place in the pool, so the calls run one after the other;
/// the first fails and its `error` block gives up. The second call may be leased in the
/// moment between the failure and the step that handles it (then it runs, for a
/// second, and its result is discarded); the third and fourth are dropped unrun.
fn later_calls_do_not_run(error_block: &str, ends: &str, facts: Value, last: &str) {
    let source = format!(
        r#"
function step(i: Int): Int {{ command ["sh", "functions/step.sh"] }}
workflow Steps {{
    facts {{ got: List<Int> = [], gave_up: Bool = false }}
    rule "steps" {{
        match {{ got.isEmpty() }}
        action {{ [0, 1, 2, 3].collect {{ i -> step(i: i) }} }}
        reaction {{ got = result }}
        error {{ {error_block} }}
    }}
}}
"#
    );
    let dir = support::project(&[
        (
            "cosmos.toml",
            "[project]\nname = \"demo\"\n\n[pools.default]\nmax = 1\n",
        ),
        (
            "functions/step.sh",
            r#"i=$(sed -n 's/.*"i"[[:space:]]*:[[:space:]]*\([0-9]*\).*/\1/p')
echo "$i" >> ran.txt
if [ "$i" = 0 ]; then echo "step 0 breaks" >&2; exit 1; fi
sleep 1
echo "$i"
"#,
        ),
        ("src/main.emx", &source),
    ]);
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("steps.db");
    let server = Server::start(dir.path(), &["--store", db.to_str().unwrap()], &[]);
    let (status, body) = server.post("/v1/workflows/Steps/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    server.wait_all_finished(std::slice::from_ref(&id), Duration::from_secs(60));
    let (_, instance) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(instance["status"], ends, "{instance}");
    assert_eq!(instance["facts"], facts);
    // Wait until the calls queue is empty: the dropped calls were taken and acknowledged.
    let start = std::time::Instant::now();
    loop {
        let (_, queues) = server.get("/v1/queues");
        let calls = queues["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue"] == "calls")
            .cloned()
            .unwrap_or(json!({"leased": 0, "ready": 0}));
        if calls["leased"] == 0 && calls["ready"] == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{queues}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ran = std::fs::read_to_string(dir.path().join("ran.txt")).unwrap();
    assert!(
        ran == "0\n" || ran == "0\n1\n",
        "only the failed call ran: {ran:?}"
    );
    let (_, history) = server.get(&format!("/v1/instances/{id}/history"));
    let kinds: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .filter(|k| *k != "received")
        .collect();
    assert_eq!(
        kinds,
        ["started", "fired", "call_failed", "error_handled", last],
        "{history}"
    );
    server.terminate();
}

#[test]
fn calls_of_an_abandoned_firing_do_not_run() {
    later_calls_do_not_run(
        "gave_up = true",
        "STALLED",
        json!({"got": [], "gave_up": true}),
        "stalled",
    );
}

/// The same when the `error` block fails the instance: nothing of it runs after it ends.
#[test]
fn calls_of_a_failed_instance_do_not_run() {
    later_calls_do_not_run(
        "fail(\"step ${error.index ?: -1} failed\")",
        "FAILED",
        json!({"got": [], "gave_up": false}),
        "failed",
    );
}
