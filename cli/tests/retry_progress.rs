//! Retry policies and progress (LANGUAGE.md 10.3, 10.4) end to end, on the project
//! `examples/retry` run for real by `cosmosc`: a flaky function retried by its policy
//! on SQLite (and PostgreSQL when `COSMOS_TEST_POSTGRES` is set), a call's progress in
//! the API, `explain` and `/metrics` while it runs, and a silent call ended by its
//! heartbeat.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};
use support::server::Server;
use support::{code, cosmosc, stderr, stdout};

/// A copy of `examples/retry` in a temporary folder, so that runs write their store and
/// marker files there.
fn example() -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/retry");
    let dir = tempfile::tempdir().unwrap();
    copy(&from, dir.path());
    dir
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != ".cosmos" {
                copy(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn the_retry_example_passes_its_tests_on_the_virtual_clock() {
    let dir = example();
    let out = cosmosc(&["test", "."], dir.path());
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("3 passed, 0 failed"),
        "{}",
        stdout(&out)
    );
}

/// Runs `Flaky` for real on `store` (the default SQLite file when `None`) and checks
/// that each attempt ran as its own process, with its own idempotency key, and is in
/// the history with the policy's delays.
fn flaky_is_retried_by_its_policy(store: Option<&str>) {
    let dir = example();
    let mut args = vec!["run", ".", "Flaky", "--json"];
    if let Some(url) = store {
        args.extend(["--store", url]);
    }
    let out = cosmosc(&args, dir.path());
    let history = stderr(&out);
    assert_eq!(code(&out), 0, "{history}");
    let result: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(result["status"], "COMPLETED", "{history}");
    assert_eq!(result["output"]["attempts"], 3);
    let id = result["id"].as_str().unwrap();
    // One process per attempt, each with its attempt in its key.
    let marker = std::fs::read_to_string(dir.path().join(".cosmos/flaky").join(id)).unwrap();
    let keys: Vec<&str> = marker.lines().collect();
    assert_eq!(
        keys,
        [1, 2, 3].map(|n| format!("{id}/call flaky/1/0/{n}")),
        "{history}"
    );
    // Each failed attempt and each retry is in the history, with the policy's delays.
    for line in [
        "call flaky of \"call flaky\" failed (FAILED, attempt 1): exited with status 1",
        "retrying flaky of \"call flaky\" (attempt 2, by its retry policy of 3 attempts) after 200ms",
        "call flaky of \"call flaky\" failed (FAILED, attempt 2): exited with status 1",
        "retrying flaky of \"call flaky\" (attempt 3, by its retry policy of 3 attempts) after 400ms",
        "reaction of \"call flaky\": attempts = 3",
    ] {
        assert!(history.contains(line), "{line:?} not in:\n{history}");
    }
    assert!(!history.contains("error handler"), "{history}");
    // The delays are timers: attempt 2 came at least 200 ms after attempt 1 failed.
    let times: Vec<i64> = history
        .lines()
        .filter(|l| l.contains(" failed (FAILED, attempt ") || l.contains("reaction of"))
        .map(|l| {
            let at = l.split_whitespace().next().unwrap();
            cosmos_ir::parse_time(at).unwrap()
        })
        .collect();
    assert_eq!(times.len(), 3, "{history}");
    assert!(times[1] - times[0] >= 200, "{times:?}");
    assert!(times[2] - times[1] >= 400, "{times:?}");
}

#[test]
fn a_flaky_function_is_retried_by_its_policy_on_sqlite() {
    flaky_is_retried_by_its_policy(None);
}

#[test]
fn a_flaky_function_is_retried_by_its_policy_on_postgres() {
    let Some(schema) =
        support::postgres::schema("a_flaky_function_is_retried_by_its_policy_on_postgres")
    else {
        return;
    };
    flaky_is_retried_by_its_policy(Some(&schema.url));
}

/// Polls `GET /v1/instances/{id}` until `done` holds for it (at most 20 s).
fn wait_for(server: &Server, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let (status, body) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "gave up waiting; last: {body}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn progress_shows_while_a_call_runs_and_a_silent_call_ends_at_its_heartbeat() {
    let dir = example();
    let hold = dir.path().join("crunch-go");
    let hold_text = hold.display().to_string();
    let server = Server::start(dir.path(), &[], &[("CRUNCH_HOLD", &hold_text)]);

    let (status, started) = server.post("/v1/workflows/Crunch/instances", serde_json::json!({}));
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_string();
    // The call holds at pass 2 until the file exists: its latest report is in the API.
    let running = wait_for(&server, &id, |body| {
        body["in_flight"][0]["progress"]["detail"] == "pass 2 of 2"
    });
    let call = &running["in_flight"][0];
    assert_eq!(call["function"], "crunch");
    assert_eq!(call["progress"]["progress"], 0.5);
    assert!(call["progress_at"].is_string(), "{call}");

    // `explain`, reading the store, shows it too.
    let explained = cosmosc(&["explain", &id], dir.path());
    assert_eq!(code(&explained), 0, "{}", stderr(&explained));
    let text = stdout(&explained);
    assert!(
        text.contains("call crunch #0 (attempt 1): progress 0.5, pass 2 of 2"),
        "{text}"
    );
    let json = cosmosc(&["explain", &id, "--json"], dir.path());
    let json: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(json["in_flight"][0]["progress"]["detail"], "pass 2 of 2");

    let metrics = support::server::agent()
        .get(format!("{}/metrics", server.base))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    let reports: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("cosmos_call_progress_reports_total "))
        .expect("the metric is there")
        .parse()
        .unwrap();
    assert!(reports >= 2, "{metrics}");

    std::fs::write(&hold, "").unwrap();
    let done = wait_for(&server, &id, |body| body["status"] != "RUNNING");
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["output"]["done"], 2);
    assert_eq!(done["in_flight"], serde_json::json!([]));

    // A call that never reports is killed at its heartbeat (500 ms), long before its
    // timeout (1 min), and its rule's error block sees a TIMEOUT.
    let begun = Instant::now();
    let (status, started) = server.post("/v1/workflows/Silent/instances", serde_json::json!({}));
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_string();
    let done = wait_for(&server, &id, |body| body["status"] != "RUNNING");
    assert!(
        begun.elapsed() < Duration::from_secs(15),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let outcome = done["output"]["outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with("TIMEOUT: no heartbeat for 500ms"),
        "{outcome}"
    );
    let (_, history) = server.get(&format!("/v1/instances/{id}/history"));
    let failed: Vec<&Value> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["kind"] == "call_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{history}");
    assert_eq!(failed[0]["data"]["kind"], "TIMEOUT");
    server.terminate();
}
