//! Formatting never changes meaning, checked on the compiled result: every project of
//! the repository (`examples/encode`, `tests/std`, the corpus project `encode-title`)
//! and every clean single-module ui case is lowered to the typed IR before and after
//! formatting all its files, and the two programs (with source positions erased: spans
//! and line tables) must be equal — tests included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use cosmos_diagnostics::{FileId, Severity};
use cosmos_semantics::Analysis;
use cosmos_test_support::{emx_files, read, repo_path};
use serde_json::Value;

/// The program and tests of `modules` as JSON, with every span erased.
fn lowered(modules: &[(String, String)]) -> Value {
    let mut analysis = Analysis::new();
    for (i, (module, text)) in modules.iter().enumerate() {
        analysis.set_file(FileId(i as u32), module, text.clone());
    }
    let errors: Vec<_> = analysis
        .diagnostics()
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let (program, tests) = analysis.lower_with_tests().unwrap();
    let mut value = serde_json::json!({
        "program": serde_json::to_value(&program).unwrap(),
        "tests": format!("{tests:?}"),
    });
    erase(&mut value);
    // The files' line tables (for run-time error locations) are source positions too.
    if let Some(lines) = value.pointer_mut("/program/lines") {
        *lines = Value::Null;
    }
    // Test steps are compared through their Debug text; erase its spans too.
    if let Some(Value::String(text)) = value.get_mut("tests") {
        let re =
            regex::Regex::new(r"Span \{ file: \d+, start: \d+, end: \d+ \}|line: \d+|column: \d+")
                .unwrap();
        *text = re.replace_all(text, "_").into_owned();
    }
    value
}

/// Replaces every span (`{"file", "start", "end"}`) with null.
fn erase(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_span = map.len() == 3
                && map.contains_key("file")
                && map.contains_key("start")
                && map.contains_key("end");
            if is_span {
                *value = Value::Null;
                return;
            }
            for v in map.values_mut() {
                erase(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(erase),
        _ => {}
    }
}

fn formatted(modules: &[(String, String)]) -> Vec<(String, String)> {
    modules
        .iter()
        .map(|(m, t)| (m.clone(), cosmos_format::format(t).unwrap()))
        .collect()
}

fn project_modules(dir: &Path) -> Vec<(String, String)> {
    let project = cosmos_project::load_project(dir).unwrap();
    project
        .files
        .into_iter()
        .map(|f| (f.module, f.text))
        .collect()
}

#[test]
fn projects_compile_to_the_same_ir_after_formatting() {
    for dir in ["examples/encode", "tests/std", "tests/corpus/encode-title"] {
        let modules = project_modules(&repo_path(dir));
        assert!(!modules.is_empty(), "{dir}");
        assert_eq!(
            lowered(&modules),
            lowered(&formatted(&modules)),
            "{dir}: formatting changed the IR"
        );
    }
}

#[test]
fn clean_ui_cases_compile_to_the_same_ir_after_formatting() {
    let mut compared = 0;
    for path in emx_files(&repo_path("tests/ui")) {
        let text = read(&path);
        if !text.contains("// expect: clean") || text.contains("// --- module") {
            continue;
        }
        let modules = vec![("main".to_string(), text)];
        assert_eq!(
            lowered(&modules),
            lowered(&formatted(&modules)),
            "{}: formatting changed the IR",
            path.display()
        );
        compared += 1;
    }
    assert!(compared > 10, "compared only {compared} cases");
}
