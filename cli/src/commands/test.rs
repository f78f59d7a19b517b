//! `cosmosc test`: runs the project's `test` blocks (LANGUAGE.md section 8), each on
//! one instance driven by the runtime's engine on a virtual clock, every function
//! answered by the test's mocks. Results go to stdout, one line per test, then the
//! summary line `N passed, M failed`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use cosmos_ir::interp::{self, Env, Facts, Finish};
use cosmos_ir::json::{from_json, to_json};
use cosmos_ir::value::Value;
use cosmos_ir::{Function, Program, Ty};
use cosmos_project::{Project, ProjectError, find_project_root, load_project};
use cosmos_runtime::engine::Engine;
use cosmos_runtime::sim::{Answer, Simulation};
use cosmos_semantics::{Analysis, AssertIr, MockIr, TestIr, TestStep};
use serde_json::{Map, Value as Json};

use crate::Status;
use crate::args::{ColorChoice, TestArgs, TestFormat};
use crate::commands::build::print_diagnostics;

mod report;

use report::TestResult;

/// The virtual clock's start: 2026-01-01T00:00:00Z.
const EPOCH_MS: i64 = 1_767_225_600_000;

/// Why `test` could not run the tests at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum TestError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("cannot run the tests: {0} (`cosmosc check` shows the problems)")]
    Lower(#[from] cosmos_semantics::LowerError),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

pub(crate) fn run(args: &TestArgs, color: ColorChoice) -> Result<Status, TestError> {
    let root = find_project_root(&args.dir)?;
    let project = load_project(&root)?;
    let Some((program, tests)) = lower(&project, color)? else {
        return Ok(Status::Failed);
    };
    let mut results = Vec::new();
    for test in &tests {
        let selected = match args.filter.as_deref() {
            None => true,
            Some(f) if args.exact => test.name == f,
            Some(f) => test.name.contains(f),
        };
        if !selected {
            continue;
        }
        let started = Instant::now();
        let outcome = run_test(&program, test);
        results.push(TestResult {
            name: test.name.clone(),
            module: test.module.clone(),
            ms: started.elapsed().as_millis(),
            failure: outcome.err(),
        });
    }
    let text = match args.format {
        TestFormat::Human => report::human(&results),
        TestFormat::Json => report::json(&results),
        TestFormat::Junit => report::junit(&project.config.project.name, &results),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if report::counts(&results).1 == 0 {
        Status::Clean
    } else {
        Status::Failed
    })
}

/// The program and its tests, or `None` when the project has errors (printed on
/// stderr, as `check` and `run` print them).
fn lower(
    project: &Project,
    color: ColorChoice,
) -> Result<Option<(Program, Vec<TestIr>)>, TestError> {
    let mut analysis = Analysis::new();
    analysis.set_declared_pools(project.config.pools.keys().cloned().collect());
    for file in &project.files {
        analysis.set_file(file.id, &file.module, file.text.clone());
    }
    if print_diagnostics(project, &analysis, color)? {
        return Ok(None);
    }
    let mut lowered = analysis.lower_with_tests()?;
    crate::commands::build::name_files(&mut lowered.0, project);
    // Tests run in the order of their files' paths, then in source order.
    let order: BTreeMap<&str, usize> = project
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.as_str(), i))
        .collect();
    lowered
        .1
        .sort_by_key(|t| order.get(t.module.as_str()).copied().unwrap_or(usize::MAX));
    Ok(Some(lowered))
}

/// Evaluates one of a test's functions against the instance's inputs and facts.
fn eval(
    program: &Program,
    f: &Function,
    args: Vec<Value>,
    inputs: &[Value],
    facts: &[Value],
    now: i64,
) -> Result<Value, String> {
    let env = Env {
        inputs,
        facts: Facts::Read(facts),
        now,
    };
    interp::run(program, f, args, env)
        .map(|(v, _)| v)
        .map_err(|e| e.in_body(program, f.name.clone()).to_string())
}

fn args_json(program: &Program, args: &[(String, Function)], now: i64) -> Result<Json, String> {
    let mut out = Map::new();
    for (name, f) in args {
        let v = eval(program, f, Vec::new(), &[], &[], now)?;
        out.insert(name.clone(), to_json(program, &v));
    }
    Ok(Json::Object(out))
}

/// Answers a call with the test's mock for the function or child workflow; a child
/// workflow without a mock runs for real ([`Answer::Unmocked`]).
fn answer(
    program: &Program,
    mocks: &BTreeMap<String, &MockIr>,
    function: &str,
    args: &Map<String, Json>,
    now: i64,
) -> Result<Answer, String> {
    let workflow = program.workflow(function);
    let Some(mock) = mocks.get(function) else {
        if workflow.is_some() {
            return Ok(Answer::Unmocked);
        }
        return Err(format!(
            "no mock for function `{function}`: add `mock {function}(…) = …` or `mock {function} fails \"…\"` to the test"
        ));
    };
    match mock {
        MockIr::Value(f) => {
            let params: Vec<(String, Ty)> = match (
                workflow,
                program.functions.iter().find(|x| x.name == function),
            ) {
                (_, Some(declared)) => declared.params.clone(),
                (Some(w), None) => w
                    .inputs
                    .iter()
                    .map(|f| (f.name.clone(), f.ty.clone()))
                    .collect(),
                (None, None) => return Err(format!("no function `{function}` in the program")),
            };
            let mut values = Vec::new();
            for (name, ty) in &params {
                let json = args.get(name).cloned().unwrap_or(Json::Null);
                values.push(from_json(program, ty, &json).map_err(|e| e.to_string())?);
            }
            let env = Env {
                inputs: &[],
                facts: Facts::Read(&[]),
                now,
            };
            let (v, effects) = interp::run(program, f, values, env)
                .map_err(|e| format!("the mock of `{function}` failed: {e}"))?;
            // `fail(message)` in the mock's answer fails this call.
            if let Some(Finish::Fail(message)) = effects.finish {
                return Ok(Answer::Fails(message));
            }
            Ok(Answer::Value(to_json(program, &v)))
        }
        MockIr::Fails(f) => match eval(program, f, Vec::new(), &[], &[], now)? {
            Value::Str(message) => Ok(Answer::Fails(message.to_string())),
            other => Ok(Answer::Fails(cosmos_ir::value::format(program, &other))),
        },
    }
}

fn run_test(program: &Program, test: &TestIr) -> Result<(), String> {
    let mut mocks: BTreeMap<String, &MockIr> = BTreeMap::new();
    let mut sim: Option<Simulation<'_>> = None;
    for step in &test.steps {
        if let TestStep::Mock { function, answer } = step {
            mocks.insert(function.clone(), answer);
            continue;
        }
        if let TestStep::Start { workflow, args } = step {
            let input = args_json(program, args, EPOCH_MS)?;
            let engine = Engine::new(program, workflow).map_err(|e| e.to_string())?;
            sim = Some(
                Simulation::start(engine, &input, EPOCH_MS)
                    .map_err(|e| format!("cannot start `{workflow}`: {e}"))?,
            );
            continue;
        }
        let Some(sim) = sim.as_mut() else {
            return Err("the test does not start an instance".to_string());
        };
        let now = sim.clock;
        let outcome = match step {
            TestStep::Start { .. } | TestStep::Mock { .. } => Ok(()),
            TestStep::Run => sim
                .run(&mut |f, a| answer(program, &mocks, f, a, now))
                .map_err(|e| e.to_string()),
            TestStep::Signal { name, args } => args_json(program, args, now).and_then(|json| {
                sim.signal(name, json)
                    .map_err(|e| format!("signal `{name}`: {e}"))
            }),
            TestStep::Advance(f) => match eval(program, f, Vec::new(), &[], &[], now) {
                Ok(Value::Duration(ms)) => sim
                    .advance(ms, &mut |f, a| answer(program, &mocks, f, a, now))
                    .map_err(|e| e.to_string()),
                Ok(_) => Err("`advance` needs a Duration".to_string()),
                Err(e) => Err(e),
            },
            TestStep::Assert(a) => check(program, sim, a),
        };
        if let Err(message) = outcome {
            return Err(format!("{message}\n{}", describe(sim)));
        }
    }
    Ok(())
}

/// The values an assert sees besides inputs and facts: status, output, fired counts.
fn assert_args(program: &Program, sim: &Simulation<'_>) -> Vec<Value> {
    let status = program
        .enums
        .iter()
        .position(|e| e.module == "std.core" && e.name == "Status")
        .and_then(|id| {
            let layout = program.enums.get(id)?;
            let variant = layout
                .variants
                .iter()
                .position(|v| v == sim.instance.status.as_str())?;
            Some(Value::Enum(cosmos_ir::EnumId(id as u32), variant as u32))
        })
        .unwrap_or(Value::Null);
    let output = match &sim.instance.output {
        Some(json) => from_json(program, &Ty::Optional(Box::new(Ty::Json)), json)
            .unwrap_or(Value::Json(json.clone())),
        None => Value::Null,
    };
    let fired = sim
        .engine
        .host()
        .workflow()
        .rules
        .iter()
        .map(|r| {
            (
                Value::Str(r.name.as_str().into()),
                Value::Int(sim.instance.fired(&r.name) as i64),
            )
        })
        .collect();
    vec![status, output, Value::Map(fired)]
}

fn check(program: &Program, sim: &Simulation<'_>, assert: &AssertIr) -> Result<(), String> {
    let values = &sim.instance.values;
    let args = assert_args(program, sim);
    let run = |f: &Function| {
        eval(
            program,
            f,
            args.clone(),
            &values.inputs,
            &values.facts,
            sim.clock,
        )
    };
    match run(&assert.check) {
        Ok(Value::Bool(true)) => Ok(()),
        outcome => {
            let mut parts = Vec::new();
            for part in &assert.parts {
                if let Ok(v) = run(&part.eval) {
                    parts.push((part.column, show(program, &v)));
                }
            }
            let mut report = format!("assert failed (line {}):\n", assert.line);
            report.push_str(&power_assert(&assert.text, &parts));
            if let Err(e) = outcome {
                let _ = write!(report, "\nthe condition could not be evaluated: {e}");
            }
            Err(report)
        }
    }
}

/// A value as a power assert shows it: strings quoted, everything else as `"${v}"`.
fn show(program: &Program, v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        other => cosmos_ir::value::format(program, other),
    }
}

/// Groovy's power-assert layout: the expression, then each part's value under its
/// column, hanging from `|` marks, right-most values on the highest rows.
fn power_assert(text: &str, parts: &[(usize, String)]) -> String {
    const PREFIX: &str = "assert ";
    let mut placed: Vec<(usize, String, usize)> = Vec::new();
    let mut sorted: Vec<&(usize, String)> = parts.iter().collect();
    sorted.sort_by_key(|p| std::cmp::Reverse(p.0));
    sorted.dedup_by(|a, b| a.0 == b.0);
    for (column, value) in sorted {
        let end = column + value.chars().count();
        let row = placed
            .iter()
            .filter(|(c, _, _)| *c <= end)
            .map(|(_, _, r)| r + 1)
            .max()
            .unwrap_or(0);
        placed.push((*column, value.clone(), row));
    }
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let mut out = format!("{PREFIX}{flat}\n");
    if placed.is_empty() {
        return out;
    }
    let pad = PREFIX.len();
    let rows = placed.iter().map(|(_, _, r)| *r).max().unwrap_or(0);
    let mut line = vec![' '; flat.chars().count() + 1];
    for (c, _, _) in &placed {
        put(&mut line, *c, "|");
    }
    push_line(&mut out, pad, &line);
    for row in 0..=rows {
        let mut line = Vec::new();
        for (c, value, r) in &placed {
            if *r > row {
                put(&mut line, *c, "|");
            } else if *r == row {
                put(&mut line, *c, value);
            }
        }
        push_line(&mut out, pad, &line);
    }
    out
}

fn put(line: &mut Vec<char>, column: usize, text: &str) {
    for (i, ch) in text.chars().enumerate() {
        let at = column + i;
        if line.len() <= at {
            line.resize(at + 1, ' ');
        }
        if let Some(slot) = line.get_mut(at) {
            *slot = ch;
        }
    }
}

fn push_line(out: &mut String, pad: usize, line: &[char]) {
    let text: String = line.iter().collect();
    let _ = writeln!(out, "{}{}", " ".repeat(pad), text.trim_end());
}

/// The instance's status and history, for a failure report.
fn describe(sim: &Simulation<'_>) -> String {
    let instance = &sim.instance;
    let mut out = format!("status: {}", instance.status);
    if let Some(reason) = &instance.failure {
        let _ = write!(out, " ({reason})");
    }
    out.push_str("\nhistory:");
    for entry in &instance.history {
        let _ = write!(out, "\n  {entry}");
    }
    // Child workflows that ran for real, each with its own history.
    for child in sim.children() {
        let _ = write!(out, "\nchild {}: {}", child.id, child.status);
        if let Some(reason) = &child.failure {
            let _ = write!(out, " ({reason})");
        }
        for entry in &child.history {
            let _ = write!(out, "\n  {entry}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn power_assert_hangs_values_under_their_columns() {
        let text = "status == COMPLETED && n == 4";
        let parts = vec![
            (0, "STALLED".to_string()),
            (7, "false".to_string()),
            (10, "COMPLETED".to_string()),
            (20, "false".to_string()),
            (23, "3".to_string()),
            (25, "false".to_string()),
        ];
        let rendered = super::power_assert(text, &parts);
        assert_eq!(
            rendered,
            "assert status == COMPLETED && n == 4\n       \
             |      |  |         |  | |\n       \
             |      |  COMPLETED |  3 false\n       \
             |      false        false\n       \
             STALLED\n"
        );
    }
}
