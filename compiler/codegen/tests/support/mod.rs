//! What the JIT's integration tests share: programs from Emx source, the corpus of
//! programs in the repository, sample values of any type, and the differential
//! driver that runs every body of a program in the interpreter and in the JIT.

#![allow(dead_code)]

pub mod generate;

use cosmos_codegen::{CompiledProgram, Jit, JitWorkflowHost};
use cosmos_diagnostics::{FileId, Severity};
use cosmos_ir::host::Handlers;
use cosmos_ir::host::{ActionValue, CallFailure, WorkflowHost};
use cosmos_ir::interp::{self, Env, Facts, RuntimeError, RuntimeErrorKind};
use cosmos_ir::value::Value;
use cosmos_ir::{FieldLayout, Program, Ty};
use cosmos_semantics::Analysis;
use cosmos_test_support::{emx_files, read, repo_path};
use serde_json::{Value as Json, json};

/// Checks and lowers modules given as `(module, text)`; `Err` with the first error.
pub fn lower(modules: &[(String, String)]) -> Result<Program, String> {
    let mut analysis = Analysis::new();
    for (i, (module, text)) in modules.iter().enumerate() {
        analysis.set_file(FileId(i as u32), module, text.clone());
    }
    let diagnostics = analysis.diagnostics();
    if let Some(d) = diagnostics.iter().find(|d| d.severity == Severity::Error) {
        return Err(format!("{}: {}", d.code.code, d.message));
    }
    analysis.lower_project().map_err(|e| e.to_string())
}

/// One module named `main`.
pub fn lower_source(text: &str) -> Result<Program, String> {
    lower(&[("main".to_string(), text.to_string())])
}

/// Splits a ui case at `// --- module NAME` lines.
pub fn modules(text: &str) -> Vec<(String, String)> {
    let mut out = vec![("main".to_string(), String::new())];
    for line in text.split_inclusive('\n') {
        if let Some(name) = line.trim().strip_prefix("// --- module ") {
            out.push((name.trim().to_string(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
        }
    }
    if out.len() > 1 && out.first().is_some_and(|(_, t)| t.trim().is_empty()) {
        out.remove(0);
    }
    out
}

/// Every clean ui case and every project of the repository (`tests/std`, the example,
/// the corpus project `encode-title`), lowered.
pub fn corpus() -> Vec<(String, Program)> {
    let mut out = Vec::new();
    for path in emx_files(&repo_path("tests/ui")) {
        let text = read(&path);
        if !text.contains("// expect: clean") {
            continue;
        }
        let program = lower(&modules(&text))
            .unwrap_or_else(|e| panic!("{} does not lower: {e}", path.display()));
        out.push((path.display().to_string(), program));
    }
    for dir in [
        "tests/std",
        "examples/encode",
        "examples/ladder",
        "tests/corpus/encode-title",
    ] {
        let dir = repo_path(dir);
        let project = cosmos_project::load_project(&dir).expect("load project");
        let modules: Vec<(String, String)> = project
            .files
            .iter()
            .map(|f| (f.module.clone(), f.text.clone()))
            .collect();
        let program =
            lower(&modules).unwrap_or_else(|e| panic!("{} does not lower: {e}", dir.display()));
        out.push((dir.display().to_string(), program));
    }
    out
}

/// A JSON value of type `ty`; `seed` picks among a few shapes.
pub fn sample(program: &Program, ty: &Ty, seed: u64, depth: u32) -> Json {
    let pick = |xs: &[Json]| xs[(seed as usize) % xs.len()].clone();
    match ty {
        Ty::Int => pick(&[json!(2), json!(0), json!(7), json!(-3), json!(1080)]),
        Ty::Float => pick(&[json!(1.5), json!(0.0), json!(-2.25), json!(1e10)]),
        Ty::Bool => json!(seed.is_multiple_of(2)),
        Ty::String => pick(&[json!("a"), json!(""), json!("hello world"), json!("42")]),
        Ty::Duration => json!(1000 * (seed as i64 % 5)),
        Ty::Time => json!("2026-01-01T00:00:00Z"),
        Ty::Json => json!({"k": [1, 2]}),
        Ty::List(t) => {
            let n = if depth > 2 { 0 } else { (seed % 4) as usize };
            Json::Array(
                (0..n)
                    .map(|i| sample(program, t, seed.wrapping_add(i as u64 * 7 + 1), depth + 1))
                    .collect(),
            )
        }
        Ty::Map(k, v) => {
            let n = if depth > 2 { 0 } else { (seed % 3) as usize };
            let mut m = serde_json::Map::new();
            for i in 0..n {
                let key = match &**k {
                    Ty::Int => format!("{}", i + 1),
                    Ty::Enum(id) => program
                        .enum_layout(*id)
                        .and_then(|l| l.variants.get(i % l.variants.len().max(1)))
                        .cloned()
                        .unwrap_or_default(),
                    _ => ["a", "b", "c"][i % 3].to_string(),
                };
                m.insert(
                    key,
                    sample(program, v, seed.wrapping_add(i as u64 + 3), depth + 1),
                );
            }
            Json::Object(m)
        }
        Ty::Optional(t) => {
            if seed % 3 == 1 {
                Json::Null
            } else {
                sample(program, t, seed, depth)
            }
        }
        Ty::Record(id) => {
            let mut m = serde_json::Map::new();
            if let Some(layout) = program.record(*id) {
                for (i, f) in layout.fields.iter().enumerate() {
                    if f.default.is_none() {
                        m.insert(
                            f.name.clone(),
                            sample(program, &f.ty, seed.wrapping_add(i as u64), depth + 1),
                        );
                    }
                }
            }
            Json::Object(m)
        }
        Ty::Enum(id) => {
            let variants = program
                .enum_layout(*id)
                .map(|l| l.variants.clone())
                .unwrap_or_default();
            if variants.is_empty() {
                Json::Null
            } else {
                json!(variants[(seed as usize) % variants.len()])
            }
        }
        Ty::Call(_) | Ty::Unit | Ty::Never | Ty::Null => Json::Null,
    }
}

/// A JSON object with a sample of every field without a default.
pub fn sample_fields(program: &Program, fields: &[FieldLayout], seed: u64) -> Json {
    let mut m = serde_json::Map::new();
    for (i, f) in fields.iter().enumerate() {
        if f.default.is_none() {
            m.insert(
                f.name.clone(),
                sample(program, &f.ty, seed.wrapping_add(i as u64), 0),
            );
        }
    }
    Json::Object(m)
}

/// A value of `ty` (through JSON, so it is well formed).
pub fn sample_value(program: &Program, ty: &Ty, seed: u64) -> Value {
    let json = sample(program, ty, seed, 0);
    cosmos_ir::json::from_json(program, ty, &json).unwrap_or(Value::Null)
}

/// Errors whose occurrence depends on the interpreter's own stack use (its frames
/// differ between builds), not on the program: not compared.
pub fn stack_dependent(e: &RuntimeError) -> bool {
    matches!(
        e.kind,
        RuntimeErrorKind::RecursionLimit | RuntimeErrorKind::TooDeep
    )
}

fn host_stack_dependent<T>(r: &Result<T, cosmos_ir::host::HostError>) -> bool {
    matches!(r, Err(cosmos_ir::host::HostError::Runtime(e)) if stack_dependent(e))
}

/// Results compared as their debug text, where NaN equals NaN.
fn same<A: std::fmt::Debug, B: std::fmt::Debug>(a: &A, b: &B) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Runs helper `index` in both engines; a description of the difference, if any.
pub fn compare_helper(
    program: &Program,
    jit: &CompiledProgram,
    index: usize,
    args: Vec<Value>,
) -> Option<String> {
    let f = &program.helpers[index];
    let env = Env {
        inputs: &[],
        facts: Facts::Read(&[]),
        now: 0,
    };
    let expected = interp::run(program, f, args.clone(), env).map(|(v, _)| v);
    if let Err(e) = &expected
        && stack_dependent(e)
    {
        return None;
    }
    let actual = jit.run_helper(index, args.clone());
    (!same(&expected, &actual)).then(|| {
        format!(
            "helper `{}` with {args:?}:\n  interpreter: {expected:?}\n  jit:         {actual:?}",
            f.name
        )
    })
}

/// Runs every body of every workflow of `program` on synthesized instances in both
/// engines, firing matching rules for a few rounds; returns the differences.
pub fn compare_program(program: &Program, jit: &CompiledProgram) -> Vec<String> {
    let mut diffs = Vec::new();
    for (i, h) in program.helpers.iter().enumerate() {
        for seed in 0..4 {
            let args = h
                .slots
                .iter()
                .take(h.params as usize)
                .enumerate()
                .map(|(k, s)| sample_value(program, &s.ty, seed + k as u64))
                .collect();
            diffs.extend(compare_helper(program, jit, i, args));
        }
    }
    for w in &program.workflows {
        for seed in 0..3 {
            diffs.extend(compare_workflow(program, jit, &w.name, seed));
        }
    }
    diffs
}

fn compare_workflow(
    program: &Program,
    jit: &CompiledProgram,
    name: &str,
    seed: u64,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let (Ok(ih), Ok(jh)) = (
        WorkflowHost::new(program, name),
        JitWorkflowHost::new(jit, name),
    ) else {
        return vec![format!("workflow {name}: a host could not be made")];
    };
    let w = ih.workflow();
    let input = sample_fields(program, &w.inputs, seed);
    let (Ok(mut a), Ok(mut b)) = (ih.start(&input), jh.start(&input)) else {
        return diffs;
    };
    let label = format!("{name} (seed {seed})");
    let mut check = |what: String, x: &dyn std::fmt::Debug, y: &dyn std::fmt::Debug| {
        check_same(&mut diffs, &label, what, x, y)
    };
    'rounds: for round in 0..6 {
        let now = 1_790_000_000_000 + round * 60_000;
        for rule in &w.rules {
            let r = rule.name.as_str();
            let mi = ih.matches(r, &a, now);
            let mj = jh.matches(r, &b, now);
            check(format!("rule {r:?} match"), &mi, &mj);
            let index = jh.rule_index(r).expect("a rule index");
            let mp = jh.matches_prepared(index, &mut jh.prepare(&b), now);
            check(format!("rule {r:?} prepared match"), &mi, &mp);
            let ai = ih.action(r, &a, now);
            let aj = jh.action(r, &b, now);
            // The match narrows the action (`x != null` makes `x` a `T` there), so
            // an action whose match did not hold may read a narrowed null: both run
            // (neither may crash), but their values are compared only where the
            // match held, as the engine calls them.
            if matches!(mi, Ok(true)) {
                check(format!("rule {r:?} action"), &ai, &aj);
            }
            if let Some(reaction) = &rule.reaction {
                let ty = reaction.slots.first().map_or(Ty::Json, |s| s.ty.clone());
                let result = match &ai {
                    Ok(ActionValue::Value(v)) => v.clone(),
                    _ => sample(program, &ty, seed + round as u64, 0),
                };
                if matches!(mi, Ok(true)) || round == 0 {
                    let ri = ih.reaction(r, &mut a, &result, now);
                    let rj = jh.reaction(r, &mut b, &result, now);
                    if host_stack_dependent(&ri) {
                        break 'rounds;
                    }
                    check(format!("rule {r:?} reaction"), &ri, &rj);
                    check(format!("facts after {r:?} reaction"), &a.facts, &b.facts);
                }
            }
            if rule.error.is_some() {
                let failure = CallFailure {
                    message: "it broke".to_string(),
                    kind: "FAILED".to_string(),
                    attempt: round + 1,
                    function: "f".to_string(),
                    stderr: (round % 2 == 0).then(|| "trace".to_string()),
                    index: (round % 3 != 0).then_some(round as usize),
                    arguments: serde_json::json!({"url": "s3://clip", "height": 720 + round}),
                };
                let (mut a2, mut b2) = (a.clone(), b.clone());
                let ei = ih.error(r, &mut a2, &failure, now);
                let ej = jh.error(r, &mut b2, &failure, now);
                check(format!("rule {r:?} error"), &ei, &ej);
                check(format!("facts after {r:?} error"), &a2.facts, &b2.facts);
                if round % 2 == 1 && ei.is_ok() {
                    a = a2;
                    b = b2;
                }
            }
        }
        for signal in &w.signals {
            let params: Vec<FieldLayout> = signal
                .handler
                .slots
                .iter()
                .take(signal.handler.params as usize)
                .map(|s| FieldLayout {
                    name: s.name.clone(),
                    ty: s.ty.clone(),
                    default: None,
                })
                .collect();
            let args = sample_fields(program, &params, seed + round as u64);
            let si = ih.signal(&signal.name, &mut a, &args, now);
            let sj = jh.signal(&signal.name, &mut b, &args, now);
            check(format!("signal {}", signal.name), &si, &sj);
            check(
                format!("facts after signal {}", signal.name),
                &a.facts,
                &b.facts,
            );
        }
        check(
            "complete when".to_string(),
            &ih.complete_when(&a, now),
            &jh.complete_when(&b, now),
        );
        check(
            "output".to_string(),
            &ih.output(&a, now),
            &jh.output(&b, now),
        );
        check(
            "facts json".to_string(),
            &ih.facts_to_json(&a),
            &jh.facts_to_json(&b),
        );
    }
    diffs
}

fn check_same(
    diffs: &mut Vec<String>,
    label: &str,
    what: String,
    x: &dyn std::fmt::Debug,
    y: &dyn std::fmt::Debug,
) {
    let (x, y) = (format!("{x:?}"), format!("{y:?}"));
    if x != y && !x.contains("RecursionLimit") && !x.contains("TooDeep") {
        diffs.push(format!(
            "{label} {what}:\n  interpreter: {x}\n  jit:         {y}"
        ));
    }
}

/// Compiles, panicking with the program's name on failure.
pub fn compile(name: &str, program: &Program) -> CompiledProgram {
    Jit::compile(program).unwrap_or_else(|e| panic!("{name}: {e}"))
}
