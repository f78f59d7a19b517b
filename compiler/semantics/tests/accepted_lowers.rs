//! Nothing the checker accepts fails later: every ui case (`tests/ui/`) that checks
//! without errors lowers to the IR with its `test` blocks, so `cosmosc test`, `run` and
//! `compile` can take every project that `cosmosc check` accepts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{declared_pools, modules};

use cosmos_diagnostics::{FileId, Severity};
use cosmos_semantics::Analysis;

#[test]
fn every_case_the_checker_accepts_lowers_with_its_tests() {
    let root = cosmos_test_support::repo_path("tests/ui");
    let all = cosmos_test_support::emx_files(&root);
    let mut accepted = 0;
    let mut failures = Vec::new();
    for path in &all {
        let text = std::fs::read_to_string(path).unwrap();
        let mut analysis = Analysis::new();
        for (index, (module, module_text)) in modules(&text).into_iter().enumerate() {
            analysis.set_file(FileId(index as u32), &module, module_text);
        }
        if let Some(pools) = declared_pools(&text) {
            analysis.set_declared_pools(pools);
        }
        let errors = analysis
            .diagnostics()
            .iter()
            .any(|d| d.severity == Severity::Error);
        if errors {
            continue;
        }
        accepted += 1;
        if let Err(error) = analysis.lower_with_tests() {
            failures.push(format!("{}: {error}", path.display()));
        }
    }
    assert!(
        accepted > 10,
        "expected accepted ui cases under {}",
        root.display()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
