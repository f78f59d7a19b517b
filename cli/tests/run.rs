//! `cosmosc run` on real projects: real function processes, a real SQLite file, real
//! timers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::{code, cosmosc, project, stderr, stdout};

fn run_json(dir: &std::path::Path, workflow: &str, input: &str) -> (i32, Value, String) {
    let out = cosmosc(&["run", ".", workflow, "--input", input, "--json"], dir);
    let document = serde_json::from_str(stdout(&out).trim()).unwrap_or(Value::Null);
    (code(&out), document, stderr(&out))
}

const ECHO: (&str, &str) = ("functions/echo.sh", "cat\n");

#[test]
fn a_workflow_runs_to_completion_with_history_on_stderr() {
    let dir = project(&[
        support::MANIFEST,
        ECHO,
        (
            "src/main.emx",
            r#"
type Said { word: String }
function echo(word: String): Said { command ["sh", "functions/echo.sh"] }
workflow Hello {
    input { name: String }
    facts { said: String? }
    rule "say" {
        match { said == null }
        action { echo(word: "hi ${name}") }
        reaction { said = result.word }
    }
    complete when { said != null }
    output { [said: said] }
}
"#,
        ),
    ]);
    let (status, doc, err) = run_json(dir.path(), "Hello", r#"{"name": "Ada"}"#);
    assert_eq!(status, 0, "{err}");
    assert_eq!(doc["status"], "COMPLETED");
    assert_eq!(doc["output"], json!({"said": "hi Ada"}));
    assert_eq!(doc["facts"], json!({"said": "hi Ada"}));
    assert!(doc["id"].is_string());
    assert!(err.contains(r#"fired "say" (#1, 1 call)"#), "{err}");
    assert!(err.contains("COMPLETED with output"), "{err}");
    // The store is the project's embedded SQLite file.
    assert!(dir.path().join(".cosmos/cosmos.db").exists());
}

#[test]
fn a_failing_function_without_an_error_block_fails_the_instance() {
    let dir = project(&[
        support::MANIFEST,
        ("functions/fail.sh", "echo 'disk on fire' >&2\nexit 3\n"),
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
    let (status, doc, err) = run_json(dir.path(), "Boom", "{}");
    assert_eq!(status, 1, "{err}");
    assert_eq!(doc["status"], "FAILED");
    assert!(err.contains("failed (FAILED, attempt 1)"), "{err}");
    assert!(
        err.contains("exited with status 3") || err.contains("status 3"),
        "{err}"
    );
}

#[test]
fn error_kinds_reach_the_error_block_and_retry_after_waits() {
    // Fails the first time (exit 1), prints garbage the second, the wrong shape the
    // third, and a good value the fourth.
    let flaky = r#"n=$(cat count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > count
case $n in
  1) exit 1 ;;
  2) echo 'not json' ;;
  3) echo '"a string"' ;;
  *) echo 42 ;;
esac
"#;
    let dir = project(&[
        support::MANIFEST,
        ("functions/flaky.sh", flaky),
        (
            "src/main.emx",
            r#"
function flaky(): Int { command "sh functions/flaky.sh" }
workflow Retry {
    facts {
        value: Int?
        kinds: List<String> = []
    }
    rule "try" {
        match { value == null }
        action { flaky() }
        reaction { value = result }
        error {
            kinds << "${error.kind}"
            retry(after: 50.ms)
        }
    }
    complete when { value != null }
    output { [value: value, kinds: kinds] }
}
"#,
        ),
    ]);
    let (status, doc, err) = run_json(dir.path(), "Retry", "{}");
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        doc["output"],
        json!({"value": 42, "kinds": ["FAILED", "BAD_OUTPUT", "BAD_OUTPUT"]}),
        "{err}"
    );
    assert!(
        err.contains("retrying flaky of \"try\" (attempt 4) after 50ms"),
        "{err}"
    );
}

#[test]
fn a_rule_timeout_and_a_sleep_timer_fire_for_real() {
    let dir = project(&[
        support::MANIFEST,
        ("functions/slow.sh", "sleep 5\necho 1\n"),
        (
            "src/main.emx",
            r#"
function slow(): Int { command "sh functions/slow.sh" }
workflow Clock {
    facts {
        woke: Time?
        outcome: String?
    }
    rule "nap" {
        match { woke == null }
        action { sleep(150.ms) }
        reaction { woke = result }
    }
    rule "slow" {
        timeout 200.ms
        match { woke != null && outcome == null }
        action { slow() }
        reaction { outcome = "finished" }
        error { outcome = "${error.kind}" }
    }
    complete when { outcome != null }
    output { [outcome: outcome] }
}
"#,
        ),
    ]);
    let started = std::time::Instant::now();
    let (status, doc, err) = run_json(dir.path(), "Clock", "{}");
    assert_eq!(status, 0, "{err}");
    assert_eq!(doc["output"], json!({"outcome": "TIMEOUT"}), "{err}");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(350),
        "the sleep and the timeout take real time"
    );
}

#[test]
fn bad_input_and_unknown_workflows_are_usage_errors() {
    let dir = project(&[
        support::MANIFEST,
        (
            "src/main.emx",
            "workflow W {\n    input { n: Int }\n    facts { done: Bool = false }\n}\n",
        ),
    ]);
    let out = cosmosc(&["run", ".", "W", "--input", r#"{"n": "x"}"#], dir.path());
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("$.n"), "{}", stderr(&out));
    let out = cosmosc(&["run", ".", "Nope", "--input", "{}"], dir.path());
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no workflow `Nope`"),
        "{}",
        stderr(&out)
    );
    let out = cosmosc(&["run", ".", "W", "--input", "{oops"], dir.path());
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--input is not JSON"),
        "{}",
        stderr(&out)
    );
    // A workflow with nothing to do stalls: exit 1.
    let out = cosmosc(&["run", ".", "W", "--input", r#"{"n": 1}"#], dir.path());
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("STALLED"), "{}", stderr(&out));
}

#[test]
fn the_example_pipeline_runs_end_to_end() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encode");
    let store = tempfile::tempdir().unwrap();
    let db = store.path().join("encode.db");
    let out = cosmosc(
        &[
            "run",
            example.to_str().unwrap(),
            "Transcode",
            "--input",
            r#"{"source": "s3://media/d.mov", "codecs": ["H264", "HEVC"]}"#,
            "--store",
            db.to_str().unwrap(),
            "--json",
        ],
        store.path(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(doc["status"], "COMPLETED");
    assert_eq!(doc["output"]["renditions"], 8);
    assert_eq!(doc["output"]["reviewer"], "automatic");
}

/// The corpus project `encode-title` with its real functions, Python scripts: `inspect`
/// one-shot, `encode` as a warm worker taking batches. `inspect.py` derives a source's
/// height and duration from its URL: `clip26` is 1080p and 211 s long (approved
/// automatically, three rungs per codec), `clip` is 1990 s long (waits for a person).
#[test]
fn the_encode_title_corpus_project_runs_its_python_functions() {
    let project = cosmos_test_support::encode_title();
    let store = tempfile::tempdir().unwrap();
    let db = store.path().join("encode-title.db");
    let run = |input: &str| {
        cosmosc(
            &[
                "run",
                project.to_str().unwrap(),
                "EncodeTitle",
                "--input",
                input,
                "--store",
                db.to_str().unwrap(),
                "--json",
            ],
            store.path(),
        )
    };
    let out = run(r#"{"source": "s3://media/clip26.mov", "codecs": ["H264", "AV1"]}"#);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(doc["status"], "COMPLETED");
    // The bytes of each rendition are encode.py's CRC-32 of its URL, codec and height.
    assert_eq!(
        doc["output"],
        json!({"rungs": 6, "total_bytes": 293_623, "approved_by": "auto"})
    );
    assert_eq!(doc["facts"]["inspection"]["height"], 1080);

    let out = run(r#"{"source": "s3://media/clip.mov"}"#);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(doc["status"], "STALLED");
    assert_eq!(doc["facts"]["approved_by"], Value::Null);
    assert_eq!(doc["facts"]["inspection"]["duration_s"], 1990.0);
}

#[test]
fn explain_says_why_each_rule_did_or_did_not_fire() {
    let dir = project(&[
        support::MANIFEST,
        (
            "src/main.emx",
            r#"
workflow Gate {
    input { size: Int }
    facts {
        checked: Bool = false
        approved: String?
    }
    rule "check" {
        priority 5
        match { !checked }
        action { true }
        reaction { checked = result }
    }
    rule "auto approve" {
        match { checked && approved == null && size < 100 }
        action { "auto" }
        reaction { approved = result }
    }
    signal approve(by: String) { approved = by }
}
"#,
        ),
    ]);
    let (status, doc, err) = run_json(dir.path(), "Gate", r#"{"size": 500}"#);
    assert_eq!(status, 1, "{err}");
    assert_eq!(doc["status"], "STALLED");
    let id = doc["id"].as_str().unwrap();
    let out = cosmosc(&["explain", id, "--json"], dir.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rules: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let rules = rules["rules"].as_array().unwrap();
    assert_eq!(rules[0]["rule"], "check");
    assert_eq!(rules[0]["state"], "not_matching");
    assert_eq!(rules[0]["fired"], 1);
    assert_eq!(rules[1]["rule"], "auto approve");
    assert_eq!(rules[1]["state"], "not_matching");
    let parts: Vec<(String, Value)> = rules[1]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["expr"].as_str().unwrap().to_string(), p["value"].clone()))
        .collect();
    assert_eq!(
        parts,
        vec![
            (
                "checked && approved == null && size < 100".to_string(),
                json!(false)
            ),
            ("checked".to_string(), json!(true)),
            ("approved == null".to_string(), json!(true)),
            ("approved".to_string(), json!(null)),
            ("size < 100".to_string(), json!(false)),
            ("size".to_string(), json!(500)),
        ]
    );
    let human = cosmosc(&["explain", id], dir.path());
    assert!(
        stdout(&human).contains("rule \"auto approve\" (priority 0, fired 0×): not matching"),
        "{}",
        stdout(&human)
    );
    let missing = cosmosc(&["explain", "nope"], dir.path());
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("no instance \"nope\""));
}

#[test]
fn run_works_on_its_own_instance_and_leaves_others_in_the_store_alone() {
    let dir = project(&[
        support::MANIFEST,
        (
            "functions/slow.sh",
            "echo slow >> runs.log\nsleep 3\necho 1\n",
        ),
        ("functions/fast.sh", "echo 2\n"),
        (
            "src/main.emx",
            r#"
function slow(): Int { command "sh functions/slow.sh" }
function fast(): Int { command "sh functions/fast.sh" }
workflow Slow {
    facts { n: Int? }
    rule "go" {
        match { n == null }
        action { slow() }
        reaction { n = result }
    }
    complete when { n != null }
}
workflow Fast {
    facts { n: Int? }
    rule "go" {
        match { n == null }
        action { fast() }
        reaction { n = result }
    }
    complete when { n != null }
}
"#,
        ),
    ]);
    // A run killed mid-call leaves a RUNNING instance and a leased call in the store.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(["run", ".", "Slow"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !dir.path().join("runs.log").exists() {
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Another run on the same store does its own work only.
    let (status, doc, err) = run_json(dir.path(), "Fast", "{}");
    assert_eq!(status, 0, "{err}");
    assert_eq!(doc["status"], "COMPLETED");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let runs = std::fs::read_to_string(dir.path().join("runs.log")).unwrap();
    assert_eq!(
        runs.lines().count(),
        1,
        "the killed run's call was not run again"
    );
}

#[test]
fn the_jit_and_the_interpreter_run_the_example_to_the_same_end() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encode");
    let store = tempfile::tempdir().unwrap();
    let run = |evaluator: &str, db: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cosmosc"))
            .args([
                "run",
                example.to_str().unwrap(),
                "Transcode",
                "--input",
                r#"{"source": "s3://media/d.mov", "codecs": ["H264", "AV1"]}"#,
                "--store",
                store.path().join(db).to_str().unwrap(),
                "--json",
            ])
            .env("COSMOS_EVALUATOR", evaluator)
            .output()
            .unwrap()
    };
    let jit = run("jit", "jit.db");
    let interpreter = run("interpreter", "interpreter.db");
    assert_eq!(code(&jit), 0, "{}", stderr(&jit));
    assert_eq!(code(&interpreter), 0, "{}", stderr(&interpreter));
    let jit: Value = serde_json::from_str(stdout(&jit).trim()).unwrap();
    let interpreter: Value = serde_json::from_str(stdout(&interpreter).trim()).unwrap();
    assert_eq!(jit["output"], interpreter["output"]);
    assert_eq!(jit["facts"], interpreter["facts"]);
    assert_eq!(jit["output"]["renditions"], 8);

    let bad = run("quantum", "bad.db");
    assert_eq!(code(&bad), 2);
    assert!(
        stderr(&bad).contains("COSMOS_EVALUATOR must be `jit` or `interpreter`"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn an_unknown_workflow_is_answered_with_the_workflows_that_exist() {
    let dir = project(&[
        support::MANIFEST,
        (
            "src/main.emx",
            "workflow Encode {\n    facts { done: Bool = false }\n}\n",
        ),
        (
            "src/review.emx",
            "workflow Review {\n    facts { done: Bool = false }\n}\n",
        ),
    ]);
    let out = cosmosc(&["run", ".", "Nope", "--input", "{}"], dir.path());
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("there is no workflow `Nope`; the project has: `Encode`, `Review`"),
        "{err}"
    );
    // Nothing was started, so no store was made.
    assert!(!dir.path().join(".cosmos/cosmos.db").exists());
}
