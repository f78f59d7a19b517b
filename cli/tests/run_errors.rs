//! What `cosmosc run`, `cosmosc test`, the history and the API say when something
//! goes wrong: a failed call's stderr, a run-time error's place in the source, a
//! function result that is not quite what was declared. Real `cosmosc`, real
//! function processes, real SQLite files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::server::Server;
use support::{MANIFEST, code, project, stderr, stdout};

/// `cosmosc run . WORKFLOW --input INPUT --json` in `dir` with the given evaluator.
fn run(dir: &Path, workflow: &str, input: &str, evaluator: &str) -> (i32, Value, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(["run", ".", workflow, "--input", input, "--json"])
        .env("COSMOS_EVALUATOR", evaluator)
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .output()
        .unwrap();
    let document = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
    (code(&out), document, stderr(&out))
}

/// `path:line:column` of the first occurrence of `needle` in `source`, whose file is
/// `path`.
fn at(path: &str, source: &str, needle: &str) -> String {
    let offset = source.find(needle).unwrap();
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{path}:{line}:{column}")
}

#[test]
fn run_prints_the_tail_of_a_failed_calls_stderr_under_its_history_line() {
    let script = "for i in $(seq 1 12); do echo \"trace line $i\" >&2; done\nexit 3\n";
    let dir = project(&[
        MANIFEST,
        ("functions/fail.sh", script),
        (
            "src/main.emx",
            r#"
function explode(): Int { command "sh functions/fail.sh" }
workflow Boom {
    facts { n: Int? }
    rule "go" {
        match { n == null }
        action { explode() }
        reaction { n = result }
    }
}
"#,
        ),
    ]);
    let (status, doc, err) = run(dir.path(), "Boom", "{}", "jit");
    assert_eq!(status, 1, "{err}");
    assert_eq!(doc["status"], "FAILED");
    let lines: Vec<&str> = err.lines().collect();
    let failed = lines
        .iter()
        .position(|l| l.contains("call explode of \"go\" failed (FAILED, attempt 1)"))
        .unwrap_or_else(|| panic!("no failed call line:\n{err}"));
    let mut expected = vec!["    stderr (last 10 lines):".to_string()];
    expected.extend((3..=12).map(|i| format!("    | trace line {i}")));
    assert_eq!(
        lines.get(failed + 1..failed + 12).map(<[&str]>::to_vec),
        Some(expected.iter().map(String::as_str).collect::<Vec<_>>()),
        "{err}"
    );
    // The instance's failure follows the tail.
    assert!(
        lines.get(failed + 12).is_some_and(|l| l.contains("FAILED")),
        "{err}"
    );
}

#[test]
fn a_call_that_writes_nothing_on_stderr_has_no_tail() {
    let dir = project(&[
        MANIFEST,
        ("functions/fail.sh", "exit 4\n"),
        (
            "src/main.emx",
            r#"
function explode(): Int { command "sh functions/fail.sh" }
workflow Quiet {
    facts { n: Int? }
    rule "go" {
        match { n == null }
        action { explode() }
        reaction { n = result }
    }
}
"#,
        ),
    ]);
    let (status, _, err) = run(dir.path(), "Quiet", "{}", "jit");
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("failed (FAILED, attempt 1)"), "{err}");
    assert!(!err.contains("stderr"), "{err}");
}

const SPLIT: &str = r#"workflow Split {
    input { parts: Int }
    facts { each: Int? }
    rule "split the work" {
        match { each == null }
        action { 100 / parts }
        reaction { each = result }
    }
    complete when { each != null }
}

test "splitting into no parts fails where it divides" {
    start Split(parts: 0)
    run
    assert status == COMPLETED
}
"#;

#[test]
fn a_run_time_error_names_its_place_in_run_with_either_evaluator() {
    let dir = project(&[MANIFEST, ("src/flows/split.emx", SPLIT)]);
    let place = at("src/flows/split.emx", SPLIT, "100 / parts");
    let expected =
        format!("run-time error: division by zero at {place}, in rule \"split the work\", action");
    for evaluator in ["jit", "interpreter"] {
        let (status, doc, err) = run(dir.path(), "Split", r#"{"parts": 0}"#, evaluator);
        assert_eq!(status, 1, "{evaluator}: {err}");
        assert_eq!(doc["status"], "FAILED", "{evaluator}");
        assert!(err.contains(&expected), "{evaluator}: {err}");
        assert!(!err.contains("bytes"), "{evaluator}: {err}");
    }
}

#[test]
fn a_run_time_error_names_its_place_in_test() {
    let dir = project(&[MANIFEST, ("src/flows/split.emx", SPLIT)]);
    let out = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(["test", "."])
        .env("NO_COLOR", "1")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    let place = at("src/flows/split.emx", SPLIT, "100 / parts");
    assert!(
        text.contains(&format!(
            "run-time error: division by zero at {place}, in rule \"split the work\", action"
        )),
        "{text}"
    );
}

#[test]
fn a_run_time_error_names_its_place_in_the_api_and_the_history() {
    let dir = project(&[MANIFEST, ("src/flows/split.emx", SPLIT)]);
    let server = Server::start(dir.path(), &[], &[]);
    let (status, body) = server.post("/v1/workflows/Split/instances", json!({"parts": 0}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let instance = loop {
        let (_, instance) = server.get(&format!("/v1/instances/{id}"));
        if instance["status"] == "FAILED" || Instant::now() > deadline {
            break instance;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(instance["status"], "FAILED", "{instance}");
    let place = at("src/flows/split.emx", SPLIT, "100 / parts");
    let message =
        format!("run-time error: division by zero at {place}, in rule \"split the work\", action");
    assert_eq!(
        instance["failure"].as_str(),
        Some(message.as_str()),
        "the API: {instance}"
    );
    let (status, history) = server.get(&format!("/v1/instances/{id}/history"));
    assert_eq!(status, 200, "{history}");
    let failed: Vec<&Value> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["kind"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{history}");
    assert!(
        failed[0]["text"]
            .as_str()
            .is_some_and(|text| text.ends_with(&format!("FAILED: {message}"))),
        "the history: {history}"
    );
}

const MANIFEST_RESULT: &str = r#"
type Rendition { height: Int, label: String? }
type Manifest { renditions: List<Rendition> }

function list(): Manifest { command "sh functions/list.sh" }

workflow Collect {
    facts { manifest: Manifest? }
    rule "list" {
        match { manifest == null }
        action { list() }
        reaction { manifest = result }
    }
    complete when { manifest != null }
    output { manifest }
}
"#;

#[test]
fn a_result_with_members_it_does_not_declare_is_read_without_them() {
    let grown = r#"echo '{"renditions": [{"height": 720, "label": "720p", "codec": "h264"}, {"height": 1080}], "tool": {"version": 2}}'"#;
    let dir = project(&[
        MANIFEST,
        ("functions/list.sh", grown),
        ("src/main.emx", MANIFEST_RESULT),
    ]);
    let (status, doc, err) = run(dir.path(), "Collect", "{}", "jit");
    assert_eq!(status, 0, "{err}");
    let declared = json!({"renditions": [
        {"height": 720, "label": "720p"},
        {"height": 1080, "label": null},
    ]});
    assert_eq!(doc["facts"]["manifest"], declared, "{err}");
    assert_eq!(doc["output"], declared, "{err}");
    // The history records the result as read: without the members nobody declared.
    assert!(!err.contains("codec") && !err.contains("version"), "{err}");
}

#[test]
fn a_result_of_the_wrong_type_is_bad_output_naming_the_json_path() {
    let wrong = r#"echo '{"renditions": [{"height": 1}, {"height": 2}, {"height": "720", "extra": true}]}'"#;
    let dir = project(&[
        MANIFEST,
        ("functions/list.sh", wrong),
        ("src/main.emx", MANIFEST_RESULT),
    ]);
    let (status, doc, err) = run(dir.path(), "Collect", "{}", "jit");
    assert_eq!(status, 1, "{err}");
    assert_eq!(doc["status"], "FAILED");
    assert!(err.contains("failed (BAD_OUTPUT, attempt 1)"), "{err}");
    assert!(
        err.contains(
            r#"at `$.renditions[2].height`: expected an integer (Int), found the string "720""#
        ),
        "{err}"
    );
    let missing = r#"echo '{"renditions": [{"label": "x", "extra": true}]}'"#;
    let dir = project(&[
        MANIFEST,
        ("functions/list.sh", missing),
        ("src/main.emx", MANIFEST_RESULT),
    ]);
    let (status, _, err) = run(dir.path(), "Collect", "{}", "jit");
    assert_eq!(status, 1, "{err}");
    assert!(err.contains("BAD_OUTPUT"), "{err}");
    assert!(err.contains("`$.renditions[0].height`"), "{err}");
}
