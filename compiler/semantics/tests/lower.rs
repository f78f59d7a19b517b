//! Lowering to the IR: golden dumps of small programs (reviewed insta snapshots), and
//! the example project's workflow driven by hand through the host API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod lower_support;

use cosmos_ir::host::Handlers;
use cosmos_ir::host::{ActionValue, CallFailure, CallRequest, WorkflowHost};
use cosmos_ir::interp::Finish;
use cosmos_test_support::{emx_files, encode_title, project_modules, repo_path};
use lower_support::{compile, compile_modules};
use serde_json::json;

/// The dump without the standard library's declarations, which every program has.
fn dump(source: &str) -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    let text = compile(source).dump();
    for line in text.lines() {
        if line.starts_with("enum std.core") {
            continue;
        }
        if line.starts_with("record std.core") {
            skipping = true;
        }
        if !skipping {
            out.push(line);
        }
        if skipping && line == "}" {
            skipping = false;
        }
    }
    out.join("\n")
}

#[test]
fn golden_helper_with_closures_and_arithmetic() {
    insta::assert_snapshot!(dump(
        r#"
def rungs(height: Int): List<Int> {
    [2160, 1080, 720, 480].findAll { it <= height }
}
def scale(x: Int, y: Float): Float { x * y + 1 }
def label(n: Int, xs: List<Int>): String {
    def total = 0
    xs.each { total += it }
    "n=$n total=${total} first=${xs[0]}"
}
"#
    ));
}

#[test]
fn golden_records_enums_and_null_safety() {
    insta::assert_snapshot!(dump(
        r#"
enum Codec { H264, HEVC }
type Job { id: Int, codec: Codec = Codec.H264, note: String? }
def describe(job: Job?, m: Map<String, Int>): String {
    def n = job?.note?.size() ?: 0
    def c = if (job != null) job.codec.name() else "none"
    "$n $c ${m["k"] ?: -1} ${Codec.valueOf("HEVC")}"
}
def make(): Job { Job(id: 1, note: "x") }
"#
    ));
}

#[test]
fn golden_workflow_bodies() {
    insta::assert_snapshot!(dump(
        r#"
function probe(url: String): Int { command "probe" }
workflow W {
    input { url: String, limit: Int = 3 }
    facts { size: Int?, tries: Int = 0, seen: List<String> = [], counts: Map<String, Int> = [:] }
    rule "probe" {
        priority 5
        match { size == null && tries < limit }
        action { probe(url: url) }
        reaction {
            size = result
            seen << url
            counts[url] = result
            log("probed ${url}")
        }
        error {
            tries += 1
            if (error.attempt < 3) retry(after: 2.s * error.attempt)
            else fail("cannot probe ${url}: ${error.message}")
        }
    }
    signal reset(to: Int) { size = to }
    complete when { size != null }
    output { [size: size, tries: tries] }
}
"#
    ));
}

#[test]
fn a_project_with_errors_is_not_lowered() {
    let mut analysis = cosmos_semantics::Analysis::new();
    analysis.set_file(
        cosmos_diagnostics::FileId(0),
        "main",
        "def f(): Int { \"no\" }".to_string(),
    );
    assert_eq!(
        analysis.lower_project(),
        Err(cosmos_semantics::LowerError::HasErrors(1))
    );
}

#[test]
fn the_ir_round_trips_through_serde() {
    let program = compile_modules(&project_modules(&repo_path("examples/encode")));
    let text = serde_json::to_string(&program).unwrap();
    let back: cosmos_ir::Program = serde_json::from_str(&text).unwrap();
    assert_eq!(back, program);
}

#[test]
fn the_encode_title_corpus_project_lowers() {
    let program = compile_modules(&project_modules(&encode_title()));
    assert!(!program.workflows.is_empty());
}

/// Settings and rule clauses are computed at compile time, with the same arithmetic
/// the checker ran to accept them.
#[test]
fn computed_settings_lower_to_their_values() {
    let program = compile(
        r#"
function fetch(url: String): String {
    command "sh fetch.sh"
    timeout 2.min + 30.s
    warm 3 - 1
    batch 2 * 2
    priority -(2 * 5)
}

workflow W {
    facts { done: Bool = false }

    rule "fetch" {
        priority 10 % 3
        timeout 1.h / 4
        match { !done }
        action { fetch(url: "x") }
        reaction { done = true }
    }
}
"#,
    );
    let fetch = program
        .functions
        .iter()
        .find(|f| f.name == "fetch")
        .unwrap();
    assert_eq!(
        (
            fetch.settings.timeout_ms,
            fetch.settings.warm,
            fetch.settings.batch,
            fetch.settings.priority
        ),
        (150_000, 2, 4, -10)
    );
    let rule = &program.workflow("W").unwrap().rules[0];
    assert_eq!((rule.priority, rule.timeout_ms), (1, Some(900_000)));
}

/// A retry policy's arguments are computed, and the ones left out take their defaults.
#[test]
fn retry_policies_and_heartbeats_lower_with_their_defaults() {
    let program = compile_modules(&project_modules(&repo_path("examples/retry")));
    let setting = |name: &str| {
        program
            .functions
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .settings
            .clone()
    };
    let flaky = setting("flaky");
    assert_eq!(
        flaky.retry,
        Some(cosmos_ir::RetryPolicy {
            attempts: 3,
            delay_ms: 200,
            factor: 2.0,
            max_ms: 1_000,
            on: vec!["FAILED".into(), "TIMEOUT".into(), "CRASHED".into()],
        })
    );
    assert_eq!(flaky.heartbeat_ms, None);
    assert_eq!(setting("silent").heartbeat_ms, Some(500));
    assert_eq!(setting("crunch").retry, None);
    let policy = flaky.retry.unwrap();
    // min(delay × factor^(n−2), max) for attempts 2, 3, 4, 5.
    let waits: Vec<i64> = (2..=5).map(|n| policy.delay_before(n)).collect();
    assert_eq!(waits, [200, 400, 800, 1_000]);
    assert_eq!(
        cosmos_ir::RetryPolicy::with_attempts(60).delay_before(60),
        600_000,
        "capped at max, however large the power"
    );
}

#[test]
fn the_encode_example_runs_to_completion_through_the_host_api() {
    let program = compile_modules(&project_modules(&repo_path("examples/encode")));
    let transcode = program
        .functions
        .iter()
        .find(|f| f.name == "transcode")
        .unwrap();
    assert_eq!(
        transcode.settings,
        cosmos_ir::FunctionSettings {
            command: vec!["sh".to_string(), "functions/transcode.sh".to_string()],
            pool: "transcoders".to_string(),
            timeout_ms: 600_000,
            warm: 1,
            batch: 4,
            priority: 0,
            env: Vec::new(),
            heartbeat_ms: None,
            retry: None,
        }
    );
    let workflow = program.workflow("Transcode").unwrap();
    let ladder = workflow
        .rules
        .iter()
        .find(|r| r.name == "transcode the ladder")
        .unwrap();
    assert_eq!(
        (ladder.reads.clone(), ladder.writes.clone()),
        (
            vec![
                "probe".to_string(),
                "renditions".to_string(),
                "reviewer".to_string()
            ],
            vec!["renditions".to_string()]
        )
    );
    let host = WorkflowHost::new(&program, "Transcode").unwrap();
    let now = 1_795_000_000_000;
    let mut instance = host
        .start(&json!({ "source": "s3://bucket/short.mov", "codecs": ["H264", "HEVC"] }))
        .unwrap();
    assert_eq!(
        host.facts_to_json(&instance),
        json!({ "probe": null, "renditions": [], "probe_failures": 0, "reviewer": null })
    );

    // 1. Probe the source.
    assert!(host.matches("probe the source", &instance, now).unwrap());
    assert!(
        !host
            .matches("short sources need no review", &instance, now)
            .unwrap()
    );
    let ActionValue::Call(CallRequest::Function { name, args }) =
        host.action("probe the source", &instance, now).unwrap()
    else {
        panic!("the probe rule calls a function");
    };
    assert_eq!(
        (name.as_str(), json!(args)),
        ("probe", json!({ "url": "s3://bucket/short.mov" }))
    );
    let effects = host
        .reaction(
            "probe the source",
            &mut instance,
            &json!({ "width": 1280, "height": 720, "seconds": 42.0 }),
            now,
        )
        .unwrap();
    assert_eq!(effects.finish, None);
    assert!(!host.matches("probe the source", &instance, now).unwrap());

    // 2. Short sources need no review: a pure action.
    assert!(
        host.matches("short sources need no review", &instance, now)
            .unwrap()
    );
    let action = host
        .action("short sources need no review", &instance, now)
        .unwrap();
    assert_eq!(action, ActionValue::Value(json!("automatic")));
    host.reaction(
        "short sources need no review",
        &mut instance,
        &json!("automatic"),
        now,
    )
    .unwrap();
    assert!(!host.complete_when(&instance, now).unwrap());

    // 3. Transcode the ladder: one call per codec and rung.
    assert!(
        host.matches("transcode the ladder", &instance, now)
            .unwrap()
    );
    let ActionValue::Calls(calls) = host.action("transcode the ladder", &instance, now).unwrap()
    else {
        panic!("the ladder fans out");
    };
    let asked: Vec<serde_json::Value> = calls
        .iter()
        .map(|c| match c {
            CallRequest::Function { args, .. } => json!(args),
            CallRequest::Sleep { .. } | CallRequest::Workflow { .. } => json!(null),
        })
        .collect();
    assert_eq!(
        asked,
        vec![
            json!({ "url": "s3://bucket/short.mov", "codec": "H264", "height": 720 }),
            json!({ "url": "s3://bucket/short.mov", "codec": "H264", "height": 480 }),
            json!({ "url": "s3://bucket/short.mov", "codec": "HEVC", "height": 720 }),
            json!({ "url": "s3://bucket/short.mov", "codec": "HEVC", "height": 480 }),
        ]
    );
    let results: Vec<serde_json::Value> = asked
        .iter()
        .map(|a| json!({ "codec": a["codec"], "height": a["height"], "location": "s3://out", "bytes": 10 }))
        .collect();
    let effects = host
        .reaction("transcode the ladder", &mut instance, &json!(results), now)
        .unwrap();
    assert_eq!(effects.log, vec!["4 renditions ready".to_string()]);

    // 4. Completion and output.
    assert!(host.complete_when(&instance, now).unwrap());
    assert_eq!(
        host.output(&instance, now).unwrap(),
        Some(json!({ "renditions": 4, "bytes": 40, "reviewer": "automatic" }))
    );
    let facts = host.facts_to_json(&instance);
    assert_eq!(host.facts_from_json(&facts).unwrap(), instance.facts);
}

#[test]
fn the_error_block_retries_then_fails() {
    let program = compile_modules(&project_modules(&repo_path("examples/encode")));
    let host = WorkflowHost::new(&program, "Transcode").unwrap();
    let mut instance = host.start(&json!({ "source": "ftp://nowhere" })).unwrap();
    let failure = |attempt| CallFailure {
        message: "unsupported scheme".to_string(),
        kind: "FAILED".to_string(),
        attempt,
        function: "probe".to_string(),
        stderr: None,
        index: None,
        arguments: json!({"url": "ftp://nowhere"}),
    };
    let first = host
        .error("probe the source", &mut instance, &failure(1), 0)
        .unwrap()
        .unwrap();
    assert_eq!(first.finish, Some(Finish::Retry(Some(2_000))));
    let third = host
        .error("probe the source", &mut instance, &failure(3), 0)
        .unwrap()
        .unwrap();
    assert_eq!(
        third.finish,
        Some(Finish::Fail(
            "cannot probe ftp://nowhere: unsupported scheme".to_string()
        ))
    );
    assert_eq!(host.facts_to_json(&instance)["probe_failures"], json!(2));
}

#[test]
fn signals_assign_facts() {
    let program = compile_modules(&project_modules(&repo_path("examples/encode")));
    let host = WorkflowHost::new(&program, "Transcode").unwrap();
    let mut instance = host.start(&json!({ "source": "s" })).unwrap();
    host.signal("review", &mut instance, &json!({ "by": "mei" }), 0)
        .unwrap();
    assert_eq!(host.facts_to_json(&instance)["reviewer"], json!("mei"));
    let wrong = host
        .signal("review", &mut instance, &json!({ "by": 3 }), 0)
        .unwrap_err();
    assert_eq!(
        wrong.to_string(),
        "the arguments of signal `review`: at `$.by`: expected a string, found the number 3"
    );
}

#[test]
fn values_of_the_wrong_shape_are_clear_errors() {
    let program = compile_modules(&project_modules(&repo_path("examples/encode")));
    let host = WorkflowHost::new(&program, "Transcode").unwrap();
    let missing = host.start(&json!({})).unwrap_err();
    assert_eq!(
        missing.to_string(),
        "the input: at `$.source`: expected a value of type String, found nothing"
    );
    let codec = host
        .start(&json!({ "source": "s", "codecs": ["VP9"] }))
        .unwrap_err();
    assert_eq!(
        codec.to_string(),
        "the input: at `$.codecs[0]`: expected one of H264, HEVC, AV1 (Codec), found the string \"VP9\""
    );
    let mut instance = host.start(&json!({ "source": "s" })).unwrap();
    let bad = host
        .reaction(
            "probe the source",
            &mut instance,
            &json!({ "width": 1, "height": "tall", "seconds": 1.0 }),
            0,
        )
        .unwrap_err();
    assert_eq!(
        bad.to_string(),
        "the result for rule \"probe the source\": at `$.height`: expected an integer (Int), found the string \"tall\""
    );
}

/// Every ui case that checks without errors lowers, and every helper of it that takes
/// no arguments runs without an internal error.
#[test]
fn every_program_that_checks_lowers() {
    let cases = emx_files(&repo_path("tests/ui"));
    let mut lowered = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let text = std::fs::read_to_string(case).unwrap();
        let mut analysis = cosmos_semantics::Analysis::new();
        analysis.set_threads(1);
        analysis.set_file(cosmos_diagnostics::FileId(0), "main", text);
        let clean = analysis
            .diagnostics()
            .iter()
            .all(|d| d.severity != cosmos_diagnostics::Severity::Error);
        if !clean {
            continue;
        }
        match analysis.lower_project() {
            Ok(program) => {
                lowered += 1;
                for helper in program.helpers.iter().filter(|h| h.params == 0) {
                    let env = cosmos_ir::interp::Env {
                        inputs: &[],
                        facts: cosmos_ir::interp::Facts::Read(&[]),
                        now: 0,
                    };
                    if let Err(e) = cosmos_ir::interp::run(&program, helper, Vec::new(), env)
                        && matches!(e.kind, cosmos_ir::interp::RuntimeErrorKind::Internal(_))
                    {
                        failures.push(format!("{}: {}: {e}", case.display(), helper.name));
                    }
                }
            }
            Err(e) => failures.push(format!("{}: {e}", case.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(lowered > 10, "only {lowered} cases check clean");
}
