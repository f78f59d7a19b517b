//! Child workflows (LANGUAGE.md 10.6) through the real `cosmosc` on the
//! `examples/title` project: its tests on the virtual clock, real runs with real
//! Python function processes (one child fails once and is started again) with `run`
//! and `serve` on SQLite, the API's parent links, `explain` and cancellation, and,
//! when `COSMOS_TEST_POSTGRES` is set, three nodes on PostgreSQL, one killed with
//! `kill -9` while children run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::server::{Server, assert_steps_never_overlap};
use support::{code, stderr, stdout};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/title")
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

const INPUT: &str = r#"{"title": "film", "flaky": ["fr"]}"#;

/// The manifest of a run of `INPUT`: three tracks, in the order asked for.
fn expected_output() -> Value {
    json!({
        "title": "film",
        "tracks": [
            {"language": "en", "location": "s3://audio/film/en.aac", "bytes": 1020},
            {"language": "fr", "location": "s3://audio/film/fr.aac", "bytes": 1020},
            {"language": "de", "location": "s3://audio/film/de.aac", "bytes": 1020},
        ],
        "bytes": 3060
    })
}

#[test]
fn the_title_example_passes_its_tests_on_the_virtual_clock() {
    let out = support::cosmosc(&["test", example().to_str().unwrap()], &example());
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    for name in [
        "each language's child is mocked like a function",
        "unmocked children run for real, with the test's mocks",
        "a child that fails is retried, then fails its title",
        "a mocked child that fails is a CHILD_FAILED error, retried like a real one",
    ] {
        assert!(text.contains(&format!("PASS {name} (")), "{text}");
    }
    assert!(text.ends_with("4 passed, 0 failed\n"), "{text}");
}

/// A failing test shows the histories of the children that ran for real.
#[test]
fn a_failing_test_shows_each_real_childs_history() {
    let dir = support::project(&[
        support::MANIFEST,
        (
            "src/main.emx",
            r#"
function double(n: Int): Int { command "double" }
workflow Double {
    input { n: Int }
    facts { d: Int = 0 }
    rule "double" {
        match { d == 0 }
        action { double(n: n) }
        reaction { d = result }
    }
    complete when { d != 0 }
    output: Int { d }
}
workflow Sum {
    input { ns: List<Int> }
    facts { total: Int = 0 }
    rule "sum" {
        match { total == 0 }
        action { ns.collect { n -> Double(n: n) } }
        reaction { total = result.sum() }
    }
}
test "children double, the parent sums" {
    start Sum(ns: [1, 2])
    mock double(n) = n * 2
    run
    assert total == 6
    assert total == 7
}
"#,
        ),
    ]);
    let out = support::cosmosc(&["test", "."], dir.path());
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("assert total == 7"), "{text}");
    assert!(text.contains("child test.1: COMPLETED"), "{text}");
    assert!(
        text.contains("started with {\"n\":2} as a child of test"),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

/// The end of a run of `INPUT`: the French child failed once and was started again,
/// the parent's reaction ran once.
fn check_history(history: &str) {
    for line in [
        r#"fired "encode audio" (#1, 3 calls)"#,
        "started child AudioTrack[0]",
        "started child AudioTrack[1]",
        "started child AudioTrack[2]",
        r#"call AudioTrack[1] of "encode audio" failed (CHILD_FAILED, attempt 1)"#,
        r#"retrying AudioTrack[1] of "encode audio" (attempt 2)"#,
        "encode_audio failed",
    ] {
        assert!(history.contains(line), "{line}\n{history}");
    }
    assert_eq!(
        history.matches("reaction of \"encode audio\"").count(),
        1,
        "{history}"
    );
    assert_eq!(history.matches("started child").count(), 4, "{history}");
}

fn run_for_real(store: &str) -> (Value, String) {
    let project = copy_of_example();
    let out = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args([
            "run", ".", "Title", "--input", INPUT, "--store", store, "--json",
        ])
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let document: Value = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
    let history = stderr(&out);
    assert_eq!(code(&out), 0, "{document}\n{history}");
    (document, history)
}

#[test]
fn the_title_runs_for_real_on_sqlite() {
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("title.db");
    let (document, history) = run_for_real(db.to_str().unwrap());
    assert_eq!(document["status"], "COMPLETED", "{document}\n{history}");
    assert_eq!(document["output"], expected_output(), "{history}");
    assert_eq!(document["facts"]["retries"], 1);
    check_history(&history);
}

#[test]
fn the_title_runs_for_real_on_postgres() {
    let Some(schema) = support::postgres::schema("the_title_runs_for_real_on_postgres") else {
        return;
    };
    let (document, history) = run_for_real(&schema.url);
    assert_eq!(document["output"], expected_output(), "{history}");
    check_history(&history);
}

/// The history rows of instance `id`, as the API gives them.
fn history_of(server: &Server, id: &str) -> Vec<Value> {
    let (status, history) = server.get(&format!("/v1/instances/{id}/history"));
    assert_eq!(status, 200, "{history}");
    assert_steps_never_overlap(&history);
    history["history"].as_array().unwrap().clone()
}

/// One title through the API of `server`: the parent completes with the manifest and
/// reacts once; each child is an instance of its own with its parent link and its own
/// history, finished once. With `failed_once`, the French child's first attempt
/// failed (a node killed while that attempt's process ran may have lost the failure,
/// and the attempt's second delivery found the encoder's marker and succeeded).
fn check_served_title(server: &Server, id: &str, failed_once: bool) {
    let (_, instance) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(instance["status"], "COMPLETED", "{instance}");
    assert_eq!(instance["parent"], Value::Null);
    assert_eq!(instance["output"], expected_output());
    let rows = history_of(server, id);
    let text: String = rows
        .iter()
        .map(|r| format!("{}\n", r["text"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        text.matches("reaction of \"encode audio\"").count(),
        1,
        "{text}"
    );
    if failed_once {
        check_history(&text);
    }
    let children: Vec<(String, Value, Value)> = rows
        .iter()
        .filter(|r| r["kind"] == "child_started")
        .map(|r| {
            (
                r["data"]["child"].as_str().unwrap().to_string(),
                r["data"]["index"].clone(),
                r["data"]["attempt"].clone(),
            )
        })
        .collect();
    assert!(children.len() >= 3, "{text}");
    for (child, index, attempt) in &children {
        assert!(child.starts_with(&format!("{id}.")), "{child}");
        let (status, body) = server.get(&format!("/v1/instances/{child}"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["workflow"], "AudioTrack");
        assert_eq!(
            body["parent"],
            json!({"id": id, "rule": "encode audio", "firing": 1, "index": index, "attempt": attempt})
        );
        let last = !children
            .iter()
            .any(|(_, i, a)| i == index && a.as_i64() > attempt.as_i64());
        let expected = if last { "COMPLETED" } else { "FAILED" };
        assert_eq!(body["status"], expected, "{body}");
        let child_rows = history_of(server, child);
        let started = child_rows.iter().find(|r| r["kind"] == "started").unwrap();
        assert_eq!(started["data"]["parent"]["instance"], json!(id));
        let finished = child_rows
            .iter()
            .filter(|r| r["kind"] == "completed" || r["kind"] == "failed")
            .count();
        assert_eq!(finished, 1, "{child_rows:?}");
    }
}

#[test]
fn the_title_serves_for_real_on_sqlite_with_parent_links_in_the_api() {
    let project = copy_of_example();
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("serve.db");
    let server = Server::start(project.path(), &["--store", db.to_str().unwrap()], &[]);
    let (status, body) = server.post(
        "/v1/workflows/Title/instances",
        serde_json::from_str(INPUT).unwrap(),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    server.wait_all_finished(std::slice::from_ref(&id), Duration::from_secs(60));
    check_served_title(&server, &id, true);
    server.terminate();
}

/// A child whose function waits for a file to appear, so that a test can look at a
/// parent while its children run.
const WAITING: &str = r#"
function hold(language: String): Int { command ["sh", "functions/hold.sh"] }
workflow Hold {
    input { language: String }
    facts { n: Int = 0 }
    rule "hold" {
        match { n == 0 }
        action { hold(language: language) }
        reaction { n = result }
    }
    complete when { n > 0 }
    output: Int { n }
}
workflow Parent {
    input { languages: List<String> }
    facts { ns: List<Int> = [] }
    rule "children" {
        match { ns.isEmpty() }
        action { languages.collect { l -> Hold(language: l) } }
        reaction { ns = result }
    }
    complete when { !ns.isEmpty() }
    output { [ns: ns] }
}
"#;

const HOLD_SH: &str = r#"cat > /dev/null
while [ ! -e release ]; do sleep 0.1; done
echo 3
"#;

fn waiting_project() -> tempfile::TempDir {
    support::project(&[
        support::MANIFEST,
        ("src/main.emx", WAITING),
        ("functions/hold.sh", HOLD_SH),
    ])
}

/// Waits until `GET path` has `field` equal to `value`.
fn wait_until(server: &Server, path: &str, field: &str, value: &str) -> Value {
    let start = std::time::Instant::now();
    loop {
        let (_, body) = server.get(path);
        if body[field] == value {
            return body;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn explain_and_the_api_name_the_children_a_parent_waits_for() {
    let project = waiting_project();
    let db = project.path().join("state.db");
    let server = Server::start(project.path(), &["--store", db.to_str().unwrap()], &[]);
    let (status, body) = server.post(
        "/v1/workflows/Parent/instances",
        json!({"languages": ["en", "fr"]}),
    );
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    for child in [format!("{id}.1"), format!("{id}.2")] {
        wait_until(
            &server,
            &format!("/v1/instances/{child}"),
            "status",
            "RUNNING",
        );
    }
    let (_, parent) = server.get(&format!("/v1/instances/{id}"));
    let in_flight: Vec<(Value, Value)> = parent["in_flight"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["function"].clone(), c["child"].clone()))
        .collect();
    assert_eq!(
        in_flight,
        [
            (
                json!("Hold"),
                json!({"id": format!("{id}.1"), "status": "RUNNING"})
            ),
            (
                json!("Hold"),
                json!({"id": format!("{id}.2"), "status": "RUNNING"})
            ),
        ],
        "{parent}"
    );
    let out = support::cosmosc(
        &["explain", &id, "--store", db.to_str().unwrap()],
        project.path(),
    );
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!(
            "child Hold #0 (attempt 1): instance {id}.1, RUNNING"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "child Hold #1 (attempt 1): instance {id}.2, RUNNING"
        )),
        "{text}"
    );
    let out = support::cosmosc(
        &["explain", &id, "--store", db.to_str().unwrap(), "--json"],
        project.path(),
    );
    let document: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        document["in_flight"][1]["child"],
        json!({"id": format!("{id}.2"), "status": "RUNNING"})
    );
    std::fs::write(project.path().join("release"), "").unwrap();
    wait_until(
        &server,
        &format!("/v1/instances/{id}"),
        "status",
        "COMPLETED",
    );
    let (_, parent) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(parent["output"], json!({"ns": [3, 3]}));
    server.terminate();
}

#[test]
fn cancelling_a_parent_through_the_api_cancels_its_running_children() {
    let project = waiting_project();
    let db = project.path().join("state.db");
    let server = Server::start(project.path(), &["--store", db.to_str().unwrap()], &[]);
    let (_, body) = server.post(
        "/v1/workflows/Parent/instances",
        json!({"languages": ["en", "fr"]}),
    );
    let id = body["id"].as_str().unwrap().to_string();
    let children = [format!("{id}.1"), format!("{id}.2")];
    for child in &children {
        wait_until(
            &server,
            &format!("/v1/instances/{child}"),
            "status",
            "RUNNING",
        );
    }
    let (status, body) = server.post(&format!("/v1/instances/{id}/cancel"), json!({}));
    assert!(status == 200 || status == 202, "{status} {body}");
    for child in &children {
        let body = wait_until(
            &server,
            &format!("/v1/instances/{child}"),
            "status",
            "CANCELLED",
        );
        assert_eq!(body["parent"]["id"], json!(id));
    }
    let (_, parent) = server.get(&format!("/v1/instances/{id}"));
    assert_eq!(parent["status"], "CANCELLED");
    // The functions still running finish; nothing of the tree runs after them.
    std::fs::write(project.path().join("release"), "").unwrap();
    server.terminate();
}

/// Three nodes on one PostgreSQL database run titles, one is killed with `kill -9`
/// while children run: every title completes with its manifest, each parent reacts
/// once and each child finishes once.
#[test]
fn three_nodes_run_titles_and_survive_one_killed_while_children_run() {
    let Some(schema) = support::postgres::schema(
        "three_nodes_run_titles_and_survive_one_killed_while_children_run",
    ) else {
        return;
    };
    let project = copy_of_example();
    let root = project.path();
    let nodes: Vec<Server> = (0..3)
        .map(|_| {
            Server::start(
                root,
                &["--store", &schema.url],
                &[("COSMOS_LEASE_MS", "2000")],
            )
        })
        .collect();
    let mut ids = Vec::new();
    for n in 0..12 {
        let (status, body) = nodes[n % 3].post(
            "/v1/workflows/Title/instances",
            serde_json::from_str(INPUT).unwrap(),
        );
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    // Kill one node while children run.
    let start = std::time::Instant::now();
    loop {
        let (_, running) = nodes[0].get("/v1/instances?workflow=AudioTrack&status=RUNNING");
        if !running["instances"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no child ever ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut nodes = nodes.into_iter();
    nodes.next().unwrap().kill9();
    let survivors: Vec<Server> = nodes.collect();
    survivors[0].wait_all_finished(&ids, Duration::from_secs(150));
    for id in &ids {
        check_served_title(&survivors[1], id, false);
    }
    for server in survivors {
        server.terminate();
    }
}
