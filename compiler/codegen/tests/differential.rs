//! Differential tests: every body of every program in the repository (clean ui
//! cases, the standard library's tests, the example projects) and of randomly
//! generated programs evaluates identically in the reference interpreter and in the
//! JIT, runtime errors included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_ir::host::Handlers;
use serde_json::Value as Json;
use support::{compare_program, compile, corpus};

#[test]
fn every_program_in_the_repository_runs_the_same_in_the_jit() {
    let programs = corpus();
    assert!(
        programs.len() > 20,
        "expected a corpus, found {}",
        programs.len()
    );
    let mut diffs = Vec::new();
    let mut bodies = 0;
    for (name, program) in &programs {
        let jit = compile(name, program);
        bodies += program.bodies().count();
        for d in compare_program(program, &jit) {
            diffs.push(format!("{name}: {d}"));
        }
    }
    assert!(bodies > 100, "only {bodies} bodies");
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Generates random well-typed programs; returns how many the checker accepted and
/// the differences found.
fn random_programs(seeds: impl Iterator<Item = u64>) -> (usize, usize, Vec<String>) {
    random(seeds, false)
}

/// Generates random workflows (facts of every type, assigned in reactions); returns
/// how many the checker accepted and the differences found.
fn random_workflows(seeds: impl Iterator<Item = u64>) -> (usize, usize, Vec<String>) {
    random(seeds, true)
}

fn random(seeds: impl Iterator<Item = u64>, workflows: bool) -> (usize, usize, Vec<String>) {
    let (mut accepted, mut total, mut diffs) = (0, 0, Vec::new());
    for seed in seeds {
        total += 1;
        let mut g = support::generate::Gen::new(seed);
        let text = if workflows {
            let helper = g.program();
            format!("{helper}{}", g.workflow())
        } else {
            g.program()
        };
        let program = match support::lower_source(&text) {
            Ok(p) => p,
            Err(e) => {
                if std::env::var_os("JIT_GEN_DEBUG").is_some() {
                    eprintln!("rejected: {e}\n{text}");
                }
                continue;
            }
        };
        accepted += 1;
        let jit = compile(&format!("seed {seed}"), &program);
        if workflows {
            for d in support::compare_program(&program, &jit) {
                diffs.push(format!("seed {seed}:\n{text}\n{d}"));
            }
            continue;
        }
        let f = program
            .helpers
            .iter()
            .position(|h| h.name.ends_with(" f") || h.name == "f")
            .unwrap_or(program.helpers.len() - 1);
        for _ in 0..6 {
            let args = g.args(&program);
            if let Some(d) = support::compare_helper(&program, &jit, f, args) {
                diffs.push(format!("seed {seed}:\n{text}\n{d}"));
                break;
            }
        }
    }
    (accepted, total, diffs)
}

#[test]
fn the_generator_writes_programs_the_checker_accepts() {
    let (accepted, total, diffs) = random_programs(0..60);
    eprintln!("{accepted} of {total} generated programs check");
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    assert!(
        accepted * 10 >= total * 8,
        "only {accepted} of {total} generated programs check"
    );
}

#[test]
fn the_generator_writes_workflows_the_checker_accepts() {
    let (accepted, total, diffs) = random_workflows(1000..1040);
    eprintln!("{accepted} of {total} generated workflows check");
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    assert!(
        accepted * 10 >= total * 7,
        "only {accepted} of {total} generated workflows check"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 150,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0xd1ff_2026),
        ..proptest::prelude::ProptestConfig::default()
    })]

    #[test]
    fn random_programs_run_the_same_in_the_jit(seed in proptest::prelude::any::<u64>()) {
        let (_, _, diffs) = random_programs(std::iter::once(seed));
        proptest::prop_assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    }

    #[test]
    fn random_workflows_run_the_same_in_the_jit(seed in proptest::prelude::any::<u64>()) {
        let (_, _, diffs) = random_workflows(std::iter::once(seed));
        proptest::prop_assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    }
}

/// Facts and inputs read through their views (string, list and map fields compared
/// in native code): every rule agrees with the interpreter on strings of every
/// length around the load widths, multi-byte text, empty and out-of-range lists.
#[test]
fn fields_read_through_views_match_the_interpreter() {
    use cosmos_codegen::JitWorkflowHost;
    use cosmos_ir::host::WorkflowHost;
    use serde_json::json;

    let texts = [
        "",
        "a",
        "ab",
        "abc",
        "abcd",
        "abcde",
        "abcdefg",
        "abcdefgh",
        "abcdefghi",
        "abcdefghijklmno",
        "abcdefghijklmnop",
        "abcdefghijklmnopq",
        "abcdefghijklmnopqrstuvwxyz012345",
        "abcdefghijklmnopqrstuvwxyz0123456",
        "héllo",
        "hello",
        "bbcdefgh",
        "abcdefgz",
    ];
    let mut rules = String::new();
    for (i, t) in texts.iter().enumerate() {
        rules.push_str(&format!(
            "    rule \"s{i}\" {{ match {{ s == \"{t}\" || \"{t}\" != region }}; action {{ 1 }} }}\n\
             \x20   rule \"l{i}\" {{ match {{ tags.contains(\"{t}\") }}; action {{ 1 }} }}\n\
             \x20   rule \"m{i}\" {{ match {{ meta.containsKey(\"{t}\") }}; action {{ 1 }} }}\n"
        ));
    }
    let source = format!(
        r#"
enum Tier {{ FREE, PRO }}
workflow Views {{
    input {{ region: String }}
    facts {{
        s: String = ""
        n: Int = 0
        tags: List<String> = []
        scores: List<Int> = []
        tiers: List<Tier> = []
        meta: Map<String, Int> = [:]
    }}
{rules}
    rule "any" {{ match {{ scores.any {{ it > 2 }} || scores.any {{ it == n }} }}; action {{ 1 }} }}
    rule "size" {{ match {{ scores.size() > 1 && !tags.isEmpty() && meta.size() == 1 && !meta.isEmpty() }}; action {{ 1 }} }}
    rule "index" {{ match {{ scores[n] > 1 }}; action {{ 1 }} }}
    rule "index0" {{ match {{ scores[0] < scores[1] }}; action {{ 1 }} }}
    rule "ints" {{ match {{ scores.contains(n) || tiers.contains(Tier.PRO) }}; action {{ 1 }} }}
    rule "enum" {{ match {{ tiers.size() == 2 && tiers[1] == Tier.PRO }}; action {{ 1 }} }}
}}
"#
    );
    let program = support::lower_source(&source).unwrap();
    let jit = compile("views", &program);
    let ih = WorkflowHost::new(&program, "Views").unwrap();
    let jh = JitWorkflowHost::new(&jit, "Views").unwrap();
    let rules: Vec<String> = program.workflows[0]
        .rules
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let mut diffs = Vec::new();
    for (k, t) in texts.iter().enumerate() {
        let other = texts[(k * 7 + 3) % texts.len()];
        let mut instance = ih.start(&json!({ "region": other })).unwrap();
        let meta: serde_json::Map<String, serde_json::Value> = [(t.to_string(), json!(k))]
            .into_iter()
            .take(k % 3)
            .collect();
        let scores: Vec<i64> = (0..(k % 4) as i64)
            .map(|i| (i * 3 + k as i64) % 5)
            .collect();
        let n = (k % 5) as i64 - 1;
        let tags: Vec<&str> = texts.iter().skip(k).step_by(5).copied().collect();
        let tiers: Vec<&str> = ["FREE", "PRO", "FREE"].into_iter().take(k % 4).collect();
        instance.facts = ih
            .facts_from_json(&json!({
                "s": t, "n": n, "tags": tags, "scores": scores, "tiers": tiers, "meta": meta,
            }))
            .unwrap();
        let mut prepared = jh.prepare(&instance);
        for r in &rules {
            let i = ih.matches(r, &instance, 0);
            let j = jh.matches(r, &instance, 0);
            let p = jh.matches_prepared(jh.rule_index(r).unwrap(), &mut prepared, 0);
            let (i, j, p) = (format!("{i:?}"), format!("{j:?}"), format!("{p:?}"));
            if i != j || i != p {
                diffs.push(format!(
                    "{r} on {t:?}: interpreter {i}, jit {j}, prepared {p}"
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

/// Seed 7113011335790295089 once failed here: the harness compared an action whose
/// rule's `match` (`on != null`) was false, where the JIT reads `on` as the `Int`
/// the match narrowed it to and the interpreter formats `null`. An action runs only
/// after its match held (docs/language.md, null safety), so actions are compared only
/// then; this seed stays as a regression test of that.
#[test]
fn an_action_is_compared_only_where_its_match_held() {
    let (_, _, diffs) = random_workflows(std::iter::once(7_113_011_335_790_295_089));
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}

/// `substring(from, to: Int?)` in both engines: `to` given, `null` or left out, in
/// range and out of it (the error names the call and the string's length in
/// characters), on multi-byte text, with `to` held as an `Int` and as an `Int?`.
#[test]
fn substring_runs_the_same_in_the_jit() {
    use cosmos_ir::value::Value;

    let source = r#"
def cut(s: String, from: Int, to: Int?): String { s.substring(from, to) }
def rest(s: String, from: Int): String { s.substring(from, null) }
def head(s: String, to: Int): String { s.substring(0, to) }
def tail(s: String, from: Int): String { s.substring(from) }
"#;
    let program = support::lower_source(source).unwrap();
    let jit = compile("substring", &program);
    let index = |name: &str| helper_index(&program, name);
    let text = |s: &str| Value::Str(s.into());
    let mut diffs = Vec::new();
    let mut results = Vec::new();
    for s in ["", "a", "héllo", "hello world"] {
        for from in [-1, 0, 1, 3, 5, 12] {
            for to in [None, Some(-1), Some(0), Some(2), Some(5), Some(12)] {
                let to_value = to.map_or(Value::Null, Value::Int);
                let cut = vec![text(s), Value::Int(from), to_value];
                diffs.extend(support::compare_helper(
                    &program,
                    &jit,
                    index("cut"),
                    cut.clone(),
                ));
                results.push(jit.run_helper(index("cut"), cut));
            }
            let args = vec![text(s), Value::Int(from)];
            for name in ["rest", "head", "tail"] {
                diffs.extend(support::compare_helper(
                    &program,
                    &jit,
                    index(name),
                    args.clone(),
                ));
            }
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));

    // Both engines agree; and what they agree on is the documented behaviour.
    let run = |name: &str, args: Vec<Value>| match jit.run_helper(index(name), args) {
        Ok(Value::Str(s)) => s.to_string(),
        Ok(other) => panic!("{other:?}"),
        Err(e) => format!("error: {}", e.kind),
    };
    assert_eq!(
        run("cut", vec![text("héllo"), Value::Int(1), Value::Null]),
        "éllo"
    );
    assert_eq!(
        run("cut", vec![text("héllo"), Value::Int(1), Value::Int(2)]),
        "é"
    );
    assert_eq!(run("rest", vec![text("héllo"), Value::Int(5)]), "");
    assert_eq!(
        run("cut", vec![text("héllo"), Value::Int(1), Value::Int(9)]),
        "error: `substring(1, 9)`: index 9 is out of range for a string of 5 characters"
    );
    assert_eq!(
        run("rest", vec![text("a"), Value::Int(2)]),
        "error: `substring(2, null)`: index 2 is out of range for a string of 1 character"
    );
    assert_eq!(
        run("tail", vec![text(""), Value::Int(-1)]),
        "error: `substring(-1)`: index -1 is out of range for a string of 0 characters"
    );
    assert!(results.iter().any(Result::is_ok) && results.iter().any(Result::is_err));
}

/// The time built-ins of LANGUAGE.md 10.1 in both engines: `Duration.toMillis()`,
/// `Duration.toSeconds()`, `Time.toEpochMillis()` and `Time - Duration`, on plain
/// values, through `?.`, inside a closure (values held boxed), and at the edges
/// (negative durations, an overflowing subtraction).
#[test]
fn time_builtins_run_the_same_in_the_jit() {
    use cosmos_ir::value::Value;

    let source = r#"
def ms(d: Duration): Int { d.toMillis() }
def secs(d: Duration): Float { d.toSeconds() }
def epoch(t: Time): Int { t.toEpochMillis() }
def back(t: Time, d: Duration): Time { t - d }
def back_ms(t: Time, d: Duration): Int { (t - d).toEpochMillis() }
def maybe(d: Duration?): Int? { d?.toMillis() }
def all(t: Time, d: Duration): List<Float> { [d, d * 2, 1.h].collect { it.toSeconds() + (t - it).toEpochMillis() } }
def due(t: Time, d: Duration): Bool { t - d >= t - 2 * d }
"#;
    let program = support::lower_source(source).unwrap();
    let jit = compile("time", &program);
    let index = |name: &str| helper_index(&program, name);
    let mut diffs = Vec::new();
    let durations = [0, 1, -1500, 1500, 7_200_000, i64::MAX];
    let times = [0, 1_764_000_000_000, i64::MIN + 10, -5];
    for &d in &durations {
        let d = Value::Duration(d);
        for name in ["ms", "secs"] {
            diffs.extend(support::compare_helper(
                &program,
                &jit,
                index(name),
                vec![d.clone()],
            ));
        }
        for arg in [d.clone(), Value::Null] {
            diffs.extend(support::compare_helper(
                &program,
                &jit,
                index("maybe"),
                vec![arg],
            ));
        }
        for &t in &times {
            let args = vec![Value::Time(t), d.clone()];
            for name in ["back", "back_ms", "all", "due"] {
                diffs.extend(support::compare_helper(
                    &program,
                    &jit,
                    index(name),
                    args.clone(),
                ));
            }
        }
    }
    for &t in &times {
        diffs.extend(support::compare_helper(
            &program,
            &jit,
            index("epoch"),
            vec![Value::Time(t)],
        ));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));

    // What both engines agree on is the documented behaviour.
    let run = |name: &str, args: Vec<Value>| {
        jit.run_helper(index(name), args)
            .map_err(|e| e.kind.to_string())
    };
    assert_eq!(
        run("ms", vec![Value::Duration(7_200_000)]),
        Ok(Value::Int(7_200_000))
    );
    assert_eq!(
        run("secs", vec![Value::Duration(-1500)]),
        Ok(Value::Float(-1.5))
    );
    assert_eq!(
        run("epoch", vec![Value::Time(1_764_000_000_000)]),
        Ok(Value::Int(1_764_000_000_000))
    );
    assert_eq!(
        run(
            "back",
            vec![Value::Time(1_764_000_000_000), Value::Duration(7_200_000)]
        ),
        Ok(Value::Time(1_763_992_800_000))
    );
    assert_eq!(run("maybe", vec![Value::Null]), Ok(Value::Null));
    assert!(
        run(
            "back",
            vec![Value::Time(i64::MIN + 10), Value::Duration(1500)]
        )
        .is_err()
    );
}

/// `Int * Duration` and `Duration + Time` lower to the IR's operations with their
/// operands in the order those take, and agree in both engines.
#[test]
fn commuted_duration_arithmetic_runs_the_same_in_the_jit() {
    use cosmos_ir::value::Value;

    let source = r#"
def twice(d: Duration): Duration { 2 * d }
def later(t: Time, d: Duration): Time { d + t }
"#;
    let program = support::lower_source(source).unwrap();
    let jit = compile("commuted", &program);
    let mut diffs = Vec::new();
    for d in [0, -3, 1500, i64::MAX] {
        diffs.extend(support::compare_helper(
            &program,
            &jit,
            0,
            vec![Value::Duration(d)],
        ));
        diffs.extend(support::compare_helper(
            &program,
            &jit,
            1,
            vec![Value::Time(1_764_000_000_000), Value::Duration(d)],
        ));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert_eq!(
        jit.run_helper(0, vec![Value::Duration(1500)])
            .map_err(|e| e.kind.to_string()),
        Ok(Value::Duration(3000))
    );
    assert_eq!(
        jit.run_helper(1, vec![Value::Time(1000), Value::Duration(1500)])
            .map_err(|e| e.kind.to_string()),
        Ok(Value::Time(2500))
    );
}

/// `settle(calls)` and the fan-out fields of `error` (`index`, `arguments`) in both
/// engines: the action's value is the same `ActionValue::Settle`, the reaction reads
/// every `Outcome` field (ok, value, error and the error's index and arguments) the
/// same, and the `error` block reads `index` and `arguments` the same.
#[test]
fn settle_and_fan_out_errors_run_the_same_in_the_jit() {
    use cosmos_codegen::JitWorkflowHost;
    use cosmos_ir::host::{ActionValue, CallFailure, CallRequest, WorkflowHost, outcome_json};
    use serde_json::json;

    let source = r#"
type Rendition { height: Int, bytes: Int }
function transcode(url: String, height: Int): Rendition { command "t" }
workflow Publish {
    input { url: String }
    facts {
        published: List<Int> = []
        failed: List<String> = []
        kept: List<Outcome<Rendition>> = []
        failedAt: Int? = null
        args: Json = null
    }
    rule "publish" {
        match { published.isEmpty() }
        action { settle([1080, 720, 480].collect { h -> transcode(url: url, height: h) }) }
        reaction {
            kept = result
            for (o in result) {
                if (o.ok && o.value != null) published << o.value.height
                def e = o.error
                if (e != null) failed << "${e.index ?: -1}:${e.function}:${e.kind.name()}:${e.arguments}"
            }
        }
    }
    rule "ladder" {
        match { failed.isEmpty() }
        action { [1, 2].collect { h -> transcode(url: url, height: h) } }
        reaction { log("done") }
        error {
            failedAt = error.index
            args = error.arguments
            if (error.index == 1) retry(after: 1.s)
        }
    }
}
"#;
    let program = support::lower_source(source).unwrap();
    let jit = compile("settle", &program);
    let ih = WorkflowHost::new(&program, "Publish").unwrap();
    let jh = JitWorkflowHost::new(&jit, "Publish").unwrap();
    let input = json!({"url": "s3://clip"});
    let (mut a, mut b) = (ih.start(&input).unwrap(), jh.start(&input).unwrap());

    let ai = ih.action("publish", &a, 0).unwrap();
    let aj = jh.action("publish", &b, 0).unwrap();
    assert_eq!(ai, aj);
    let ActionValue::Settle(calls) = ai else {
        panic!("{ai:?}")
    };
    let heights: Vec<Json> = calls
        .iter()
        .map(|c| match c {
            CallRequest::Function { name, args } if name == "transcode" => args["height"].clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(heights, [json!(1080), json!(720), json!(480)]);

    let failure = CallFailure {
        message: "disk full".to_string(),
        kind: "FAILED".to_string(),
        attempt: 2,
        function: "transcode".to_string(),
        stderr: Some("no space".to_string()),
        index: Some(1),
        arguments: json!({"url": "s3://clip", "height": 720}),
    };
    let result = Json::Array(vec![
        outcome_json(Ok(&json!({"height": 1080, "bytes": 10}))),
        outcome_json(Err(&failure)),
        outcome_json(Ok(&json!({"height": 480, "bytes": 3}))),
    ]);
    let ri = ih.reaction("publish", &mut a, &result, 0);
    let rj = jh.reaction("publish", &mut b, &result, 0);
    assert_eq!(format!("{ri:?}"), format!("{rj:?}"));
    assert_eq!(a.facts, b.facts);
    let facts = ih.facts_to_json(&a);
    assert_eq!(facts, jh.facts_to_json(&b));
    assert_eq!(facts["published"], json!([1080, 480]));
    assert_eq!(
        facts["failed"],
        json!([r#"1:transcode:FAILED:{"height":720,"url":"s3://clip"}"#])
    );
    assert_eq!(facts["kept"][1]["error"]["index"], json!(1));
    assert_eq!(
        facts["kept"][0]["value"],
        json!({"height": 1080, "bytes": 10})
    );

    for index in [None, Some(0), Some(1)] {
        let failure = CallFailure {
            index,
            ..failure.clone()
        };
        let (mut a2, mut b2) = (a.clone(), b.clone());
        let ei = ih.error("ladder", &mut a2, &failure, 0);
        let ej = jh.error("ladder", &mut b2, &failure, 0);
        assert_eq!(format!("{ei:?}"), format!("{ej:?}"));
        assert_eq!(a2.facts, b2.facts);
        let facts = ih.facts_to_json(&a2);
        assert_eq!(facts["failedAt"], json!(index));
        assert_eq!(facts["args"], json!({"url": "s3://clip", "height": 720}));
        let retried = matches!(ei, Ok(Some(e)) if e.finish.is_some());
        assert_eq!(retried, index == Some(1));
    }
}

/// A local changed through a path (`xs << v`, `m[k] = v`, `m[k] += v`) is changed in
/// place while only it holds its value (`Translator::fresh`), and copied once a read
/// may have shared it: what was read keeps the value it had, in both engines.
#[test]
fn locals_changed_in_place_keep_value_semantics() {
    use cosmos_ir::value::Value;

    let source = r#"
def build(n: Int): List<Int> {
    def xs: List<Int> = []
    for (i in 0..<n) { xs << i }
    xs
}
def kept(): List<List<Int>> {
    def xs: List<Int> = [1]
    xs << 2
    def ys = xs
    xs << 3
    def zs = xs
    xs << 4
    [ys, zs, xs]
}
def keys(n: Int): Map<String, Int> {
    def m: Map<String, Int> = [:]
    for (i in 0..<n) {
        m["k${i}"] = i
        m["k0"] += 1
    }
    m
}
def snapshot(): List<Map<String, Int>> {
    def m: Map<String, Int> = [a: 1]
    m["b"] = 2
    def before = m
    m["a"] += 10
    [before, m]
}
def nested(): Map<String, List<Int>> {
    def m: Map<String, List<Int>> = [a: []]
    m["a"] << 1
    def inner = m["a"]
    m["a"] << 2
    m["b"] = inner ?: []
    m
}
def every(n: Int): List<List<Int>> {
    def xs: List<Int> = []
    def all: List<List<Int>> = []
    for (i in 0..<n) {
        xs << i
        all << xs
    }
    all
}
enum Color { RED, GREEN }
def scalars(): List<String> {
    def fs: List<Float> = []
    fs << 1.5
    def keep = fs
    fs << 2.5
    def bs: List<Bool> = [true]
    bs << false
    def ds: List<Duration> = []
    ds << 2.s
    def cs: List<Color> = [Color.RED]
    cs << Color.GREEN
    ["${fs}", "${keep}", "${bs}", "${ds}", "${cs}"]
}
def sized(n: Int): List<Int> {
    def xs: List<Int> = []
    for (i in 0..<n) { xs << xs.size() }
    xs
}
"#;
    let program = support::lower_source(source).unwrap();
    let jit = compile("locals", &program);
    let index = |name: &str| helper_index(&program, name);
    let calls: [(&str, Vec<Value>, Json); 8] = [
        (
            "build",
            vec![Value::Int(5)],
            serde_json::json!([0, 1, 2, 3, 4]),
        ),
        (
            "kept",
            vec![],
            serde_json::json!([[1, 2], [1, 2, 3], [1, 2, 3, 4]]),
        ),
        (
            "keys",
            vec![Value::Int(3)],
            serde_json::json!({"k0": 3, "k1": 1, "k2": 2}),
        ),
        (
            "snapshot",
            vec![],
            serde_json::json!([{"a": 1, "b": 2}, {"a": 11, "b": 2}]),
        ),
        ("nested", vec![], serde_json::json!({"a": [1, 2], "b": [1]})),
        (
            "every",
            vec![Value::Int(3)],
            serde_json::json!([[0], [0, 1], [0, 1, 2]]),
        ),
        (
            "sized",
            vec![Value::Int(4)],
            serde_json::json!([0, 1, 2, 3]),
        ),
        (
            "scalars",
            vec![],
            serde_json::json!([
                "[1.5, 2.5]",
                "[1.5]",
                "[true, false]",
                "[2s]",
                "[RED, GREEN]"
            ]),
        ),
    ];
    let mut diffs = Vec::new();
    for (name, args, expected) in calls {
        diffs.extend(support::compare_helper(
            &program,
            &jit,
            index(name),
            args.clone(),
        ));
        let got = jit.run_helper(index(name), args).unwrap();
        assert_eq!(cosmos_ir::json::to_json(&program, &got), expected, "{name}");
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    // A long list built in a loop: appended to, not copied on every `<<`.
    let long = jit
        .run_helper(index("build"), vec![Value::Int(20_000)])
        .unwrap();
    let Value::List(items) = long else {
        panic!("{long:?}")
    };
    assert_eq!(items.len(), 20_000);
    assert_eq!(items.last(), Some(&Value::Int(19_999)));
}

/// The index of helper `name` of a program lowered from one source (its name may
/// carry the module's prefix).
fn helper_index(program: &cosmos_ir::Program, name: &str) -> usize {
    program
        .helpers
        .iter()
        .position(|h| h.name == name || h.name.ends_with(&format!(" {name}")))
        .unwrap()
}
