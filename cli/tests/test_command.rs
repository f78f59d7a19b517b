//! `cosmosc test`, run as the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cosmosc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(args)
        .output()
        .unwrap()
}

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_encode_title_corpus_project_passes_all_three_tests() {
    let project = cosmos_test_support::encode_title();
    let out = cosmosc(&["test", project.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("PASS ").count(), 3, "{text}");
    assert!(text.ends_with("3 passed, 0 failed\n"), "{text}");
}

#[test]
fn the_local_encode_example_passes_all_three_tests() {
    let out = cosmosc(&["test", manifest("../examples/encode").to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("PASS a long source waits for a reviewer ("),
        "{text}"
    );
    assert!(text.ends_with("3 passed, 0 failed\n"), "{text}");
}

#[test]
fn filter_runs_only_matching_tests() {
    let out = cosmosc(&[
        "test",
        manifest("../examples/encode").to_str().unwrap(),
        "--filter",
        "reviewer",
    ]);
    assert!(stdout(&out).ends_with("1 passed, 0 failed\n"));
}

const WORKFLOW: &str = r#"
type Size { bytes: Int }

function measure(url: String): Size {
    command "measure"
}

workflow Measure {
    input { url: String }
    facts { size: Int? }
    rule "measure" {
        match { size == null }
        action { measure(url: url) }
        reaction { size = result.bytes }
    }
    complete when { size != null }
}

test "a wrong expectation" {
    start Measure(url: "a")
    mock measure(url) = Size(bytes: 7)
    run
    assert status == COMPLETED && size == 8
}

test "no mock" {
    start Measure(url: "a")
    run
    assert status == COMPLETED
}

test "a right expectation" {
    start Measure(url: "a")
    mock measure(url) = Size(bytes: 7)
    run
    assert size == 7
}
"#;

fn temp_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cosmos.toml"), "[project]\nname = \"t\"\n").unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.emx"), WORKFLOW).unwrap();
    dir
}

#[test]
fn a_failing_test_exits_1_names_it_and_shows_the_values() {
    let dir = temp_project();
    let out = cosmosc(&["test", dir.path().to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL a wrong expectation\n"), "{text}");
    assert!(
        text.contains("assert status == COMPLETED && size == 8"),
        "{text}"
    );
    assert!(text.contains("status: COMPLETED"), "{text}");
    assert!(text.contains("reaction of \"measure\": size = 7"), "{text}");
    assert!(text.contains("PASS a right expectation ("), "{text}");
    assert!(text.ends_with("1 passed, 2 failed\n"), "{text}");
}

#[test]
fn a_call_with_no_mock_fails_clearly() {
    let dir = temp_project();
    let out = cosmosc(&["test", dir.path().to_str().unwrap(), "--filter", "no mock"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL no mock\n"), "{text}");
    assert!(text.contains("no mock for function `measure`"), "{text}");
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

#[test]
fn format_json_reports_every_test_with_its_failure() {
    let dir = temp_project();
    let out = cosmosc(&["test", dir.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["passed"], 1);
    assert_eq!(doc["failed"], 2);
    let tests = doc["tests"].as_array().unwrap();
    let wrong = tests
        .iter()
        .find(|t| t["name"] == "a wrong expectation")
        .unwrap();
    assert_eq!(wrong["passed"], false);
    assert_eq!(wrong["module"], "main");
    assert!(
        wrong["failure"]
            .as_str()
            .unwrap()
            .contains("assert status == COMPLETED && size == 8")
    );
    let right = tests
        .iter()
        .find(|t| t["name"] == "a right expectation")
        .unwrap();
    assert_eq!(right["passed"], true);
    assert!(right["failure"].is_null());
}

#[test]
fn format_junit_writes_a_suite_per_module_for_ci() {
    let dir = temp_project();
    let out = cosmosc(&["test", dir.path().to_str().unwrap(), "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"t\" tests=\"3\" failures=\"2\""), "{xml}");
    assert!(
        xml.contains("<testsuite name=\"main\" tests=\"3\" failures=\"2\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"a right expectation\" classname=\"main\""),
        "{xml}"
    );
    assert!(
        xml.contains("<failure message=\"assert failed (line"),
        "{xml}"
    );
    assert!(
        xml.contains("status == COMPLETED &amp;&amp; size == 8"),
        "{xml}"
    );
    assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");
    let passing = cosmosc(&[
        "test",
        manifest("../examples/encode").to_str().unwrap(),
        "--format",
        "junit",
    ]);
    assert_eq!(passing.status.code(), Some(0));
    assert!(stdout(&passing).contains("failures=\"0\""));
}
