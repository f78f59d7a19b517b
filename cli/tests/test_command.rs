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

/// Runs `cosmosc test` on `project`, which must pass, and returns what it printed;
/// the summary line says `passed` tests passed and none failed.
fn all_pass(project: &Path, passed: usize) -> String {
    let out = cosmosc(&["test", project.to_str().unwrap()]);
    let text = stdout(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    assert!(
        text.ends_with(&format!("{passed} passed, 0 failed\n")),
        "{text}"
    );
    text
}

#[test]
fn the_encode_title_corpus_project_passes_all_three_tests() {
    let text = all_pass(&cosmos_test_support::encode_title(), 3);
    assert_eq!(text.matches("PASS ").count(), 3, "{text}");
}

#[test]
fn the_local_encode_example_passes_all_three_tests() {
    let text = all_pass(&manifest("../examples/encode"), 3);
    assert!(
        text.contains("PASS a long source waits for a reviewer ("),
        "{text}"
    );
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
fn exact_filter_runs_only_the_test_of_that_name() {
    let dir = temp_project();
    let path = dir.path().to_str().unwrap();
    let out = cosmosc(&["test", path, "--filter", "expectation"]);
    assert!(
        stdout(&out).ends_with("1 passed, 1 failed\n"),
        "{}",
        stdout(&out)
    );
    let out = cosmosc(&["test", path, "--filter", "a right expectation", "--exact"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).ends_with("1 passed, 0 failed\n"),
        "{}",
        stdout(&out)
    );
    let out = cosmosc(&["test", path, "--filter", "right", "--exact"]);
    assert!(
        stdout(&out).ends_with("0 passed, 0 failed\n"),
        "{}",
        stdout(&out)
    );
    // `--exact` alone is a usage error.
    let out = cosmosc(&["test", path, "--exact"]);
    assert_eq!(out.status.code(), Some(2));
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

/// A workflow in one module calling a function declared in a second, tested from a
/// third that imports only the workflow.
const MULTI_MODULE: &[(&str, &str)] = &[
    (
        "src/media/probe.emx",
        r#"
type Size { bytes: Int }

function measure(url: String): Size {
    command "measure"
}
"#,
    ),
    (
        "src/flow.emx",
        r#"
import media.probe { measure }

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
"#,
    ),
    (
        "src/checks.emx",
        r#"
import flow { Measure }
import media.probe { Size }

test "the mock answers through the workflow's module" {
    start Measure(url: "s3://clip")
    mock measure(url) = Size(bytes: url.size())
    run
    assert status == COMPLETED && size == 9 && fired("measure") == 1
}

test "a failing mock through the workflow's module" {
    start Measure(url: "s3://clip")
    mock measure fails "no such object"
    run
    assert status == FAILED
}
"#,
    ),
];

fn project_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cosmos.toml"), "[project]\nname = \"t\"\n").unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn a_function_of_another_module_is_mocked_through_the_workflow() {
    let dir = project_with(MULTI_MODULE);
    let check = cosmosc(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let text = all_pass(dir.path(), 2);
    assert!(
        text.contains("PASS the mock answers through the workflow's module ("),
        "{text}"
    );
}

#[test]
fn a_project_with_errors_prints_them_and_exits_1() {
    let dir = project_with(&[(
        "src/main.emx",
        r#"
workflow Count {
    facts { n: Int = 0 }
    signal add(by: Int) { n += by }
}

test "counts" {
    start Count()
    signal add(by: "two")
    assert n == 2
}
"#,
    )]);
    let out = cosmosc(&["test", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[E0201]: expected `Int`, found `String`"),
        "{err}"
    );
    assert!(err.contains("src/main.emx:9:20"), "{err}");
    assert!(err.contains("checked 1 file: 1 error"), "{err}");
    // No test ran.
    assert_eq!(stdout(&out), "");
}
