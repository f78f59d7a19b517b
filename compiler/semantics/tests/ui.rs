//! UI tests: every `.emx` file under `tests/ui/` at the repository root is checked as
//! a project and its rendered diagnostics are compared with the `.snap` file beside it
//! (`cargo insta review` to accept changes).
//!
//! A file is one module named `main`, unless it holds `// --- module NAME` lines, which
//! start further modules. A case must also state what it expects: each line carrying
//! a diagnostic's primary span ends with `// error: E0201` or `// warning: W0004`
//! (several codes separated by spaces), or a file with no diagnostics says
//! `// expect: clean` on its first line. A line `// pools: a, b` declares the pools of
//! the case's `cosmos.toml`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{declared_pools, expectations, modules};

use cosmos_diagnostics::{FileId, Files, human};
use cosmos_semantics::{Analysis, std_sources};
use std::collections::BTreeSet;

#[test]
fn ui() {
    let root = cosmos_test_support::repo_path("tests/ui");
    let all = cosmos_test_support::emx_files(&root);
    assert!(all.len() > 10, "expected ui cases under {}", root.display());
    let mut failures = Vec::new();
    for path in &all {
        let text = std::fs::read_to_string(path).expect("read case");
        let relative = path
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        let mut analysis = Analysis::new();
        let mut files = Files::new();
        for source in std_sources() {
            files.add(source.file, source.path, source.text);
        }
        for (index, (module, module_text)) in modules(&text).into_iter().enumerate() {
            let id = FileId(index as u32);
            files.add(id, relative.clone(), module_text.clone());
            analysis.set_file(id, &module, module_text);
        }
        if let Some(pools) = declared_pools(&text) {
            analysis.set_declared_pools(pools);
        }
        let diagnostics = analysis.diagnostics();
        assert!(analysis.std_diagnostics().is_empty(), "std has diagnostics");

        // Inline expectations: exactly the codes stated on exactly their lines.
        let found: BTreeSet<(usize, String)> = diagnostics
            .iter()
            .map(|d| {
                (
                    files.position(d.primary.file, d.primary.span.start).line,
                    d.code.code.to_string(),
                )
            })
            .collect();
        let expected = expectations(&text);
        if expected.is_empty() && !text.starts_with("// expect: clean") {
            failures.push(format!(
                "{relative}: states no expectation (`// error: E…` or `// expect: clean`)"
            ));
        }
        if found != expected {
            failures.push(format!(
                "{relative}: expected {expected:?}, found {found:?}\n{}",
                human::render(&diagnostics, &files, false)
            ));
        }

        let rendered = human::render(&diagnostics, &files, false);
        let snapshot = format!("----- SOURCE CODE\n{text}\n----- DIAGNOSTICS\n{rendered}");
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(path.parent().expect("parent"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_input_file(path);
        settings.set_omit_expression(true);
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .to_string();
        settings.bind(|| insta::assert_snapshot!(name, snapshot));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
