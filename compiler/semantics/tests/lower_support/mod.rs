//! Shared helpers of the lowering and interpreter tests: compile sources, run helpers.

#![allow(dead_code)]

use cosmos_diagnostics::FileId;
use cosmos_ir::Program;
use cosmos_ir::interp::{self, Env, Facts, RuntimeError};
use cosmos_ir::value::{self, Value};
use cosmos_semantics::Analysis;

/// Lowers one module `main` (panics with the diagnostics when it does not check).
pub fn compile(source: &str) -> Program {
    compile_modules(&[("main".to_string(), source.to_string())])
}

pub fn compile_modules(modules: &[(String, String)]) -> Program {
    let mut analysis = Analysis::new();
    analysis.set_threads(1);
    for (i, (module, text)) in modules.iter().enumerate() {
        analysis.set_file(FileId(i as u32), module, text.clone());
    }
    let errors: Vec<_> = analysis
        .diagnostics()
        .into_iter()
        .filter(|d| d.severity == cosmos_diagnostics::Severity::Error)
        .map(|d| d.message)
        .collect();
    assert!(errors.is_empty(), "does not check: {errors:?}");
    match analysis.lower_project() {
        Ok(p) => p,
        Err(e) => panic!("cannot lower: {e}"),
    }
}

/// Runs the helper `name` with arguments.
pub fn call(program: &Program, name: &str, args: Vec<Value>) -> Result<Value, RuntimeError> {
    let label = format!("def {name}");
    let helper = program
        .helpers
        .iter()
        .find(|h| h.name == label)
        .unwrap_or_else(|| panic!("no helper {name}"));
    let env = Env {
        inputs: &[],
        facts: Facts::Read(&[]),
        now: 0,
    };
    interp::run(program, helper, args, env).map(|(v, _)| v)
}

/// Compiles `source` and runs its helper `f()`, formatted as interpolation does.
pub fn eval(source: &str) -> String {
    let program = compile(source);
    match call(&program, "f", Vec::new()) {
        Ok(v) => value::format(&program, &v),
        Err(e) => format!("error: {}", e.kind),
    }
}

/// Runs `f()` and returns its runtime error with the text its span covers.
pub fn eval_error(source: &str) -> (String, String) {
    let program = compile(source);
    match call(&program, "f", Vec::new()) {
        Ok(v) => panic!("expected an error, got {}", value::format(&program, &v)),
        Err(e) => {
            let text = source
                .get(e.span.start as usize..e.span.end as usize)
                .unwrap_or("?")
                .to_string();
            (e.kind.to_string(), text)
        }
    }
}
