//! Fixes as data: the suggestions diagnostics carry, applied to the text. Every
//! suggestion of every UI case must fix what it is offered for without breaking
//! anything else, and the obvious fixes give exactly the text expected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{declared_pools, modules};

use cosmos_diagnostics::{Diagnostic, FileId, Severity, Suggestion};
use cosmos_semantics::Analysis;

/// The project of a UI case (or of one module's text): its modules as files 0, 1, ….
fn analysis_of(modules: &[(String, String)], pools: Option<Vec<String>>) -> Analysis {
    let mut analysis = Analysis::new();
    for (index, (module, text)) in modules.iter().enumerate() {
        analysis.set_file(FileId(index as u32), module, text.clone());
    }
    if let Some(pools) = pools {
        analysis.set_declared_pools(pools);
    }
    analysis
}

/// `text` with the suggestion's edits in `file` made.
fn apply(text: &str, file: FileId, suggestion: &Suggestion) -> String {
    let mut edits: Vec<_> = suggestion.edits.iter().filter(|e| e.file == file).collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
    let mut out = text.to_string();
    for edit in edits {
        out.replace_range(edit.span.range(), &edit.replacement);
    }
    out
}

fn count(diagnostics: &[Diagnostic], code: &str) -> usize {
    diagnostics.iter().filter(|d| d.code.code == code).count()
}

fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

#[test]
fn every_suggestion_of_the_ui_cases_fixes_its_diagnostic() {
    let root = cosmos_test_support::repo_path("tests/ui");
    let mut tried = 0;
    let mut failures = Vec::new();
    for path in cosmos_test_support::emx_files(&root) {
        let text = std::fs::read_to_string(&path).unwrap();
        let parts = modules(&text);
        let pools = declared_pools(&text);
        let before = analysis_of(&parts, pools.clone()).diagnostics();
        for diagnostic in &before {
            for suggestion in &diagnostic.suggestions {
                tried += 1;
                let file = diagnostic.primary.file;
                let mut fixed = parts.clone();
                let part = &mut fixed[file.0 as usize].1;
                *part = apply(part, file, suggestion);
                let after = analysis_of(&fixed, pools.clone()).diagnostics();
                let code = diagnostic.code.code;
                if count(&after, code) >= count(&before, code) || errors(&after) > errors(&before) {
                    failures.push(format!(
                        "{}: `{}` for {code} left {:?}\n{}",
                        path.display(),
                        suggestion.message,
                        after
                            .iter()
                            .map(|d| (d.code.code, &d.message))
                            .collect::<Vec<_>>(),
                        fixed[file.0 as usize].1
                    ));
                }
            }
        }
    }
    assert!(tried >= 20, "only {tried} suggestions in the UI cases");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The text of module `main` once the `index`th suggestion of its only diagnostic
/// with `code` is applied.
fn fixed(text: &str, code: &str, index: usize) -> String {
    let parts = vec![
        (
            "media.types".to_string(),
            "type Probe { width: Int }\nenum Codec { H264, HEVC }\n".to_string(),
        ),
        ("main".to_string(), text.to_string()),
    ];
    let diagnostics = analysis_of(&parts, None).diagnostics();
    let mine: Vec<_> = diagnostics.iter().filter(|d| d.code.code == code).collect();
    assert_eq!(mine.len(), 1, "{diagnostics:#?}");
    let suggestion = mine[0]
        .suggestions
        .get(index)
        .unwrap_or_else(|| panic!("no suggestion {index}: {:#?}", mine[0]));
    apply(text, FileId(1), suggestion)
}

#[test]
fn unused_imports_go_with_their_separators_or_their_lines() {
    let text = "import media.types { Probe, Codec }\n\ndef f(p: Probe): Int { p.width }\n";
    assert_eq!(
        fixed(text, "W0003", 0),
        "import media.types { Probe }\n\ndef f(p: Probe): Int { p.width }\n"
    );
    let text = "import media.types { Codec, Probe }\n\ndef f(p: Probe): Int { p.width }\n";
    assert_eq!(
        fixed(text, "W0003", 0),
        "import media.types { Probe }\n\ndef f(p: Probe): Int { p.width }\n"
    );
    let text = "import media.types\nimport media.types { Probe }\n\ndef f(p: Probe): Int { 1 }\n";
    assert_eq!(
        fixed(text, "W0003", 0),
        "import media.types { Probe }\n\ndef f(p: Probe): Int { 1 }\n"
    );
}

#[test]
fn unused_facts_and_locals_are_removed_whole() {
    let workflow = |facts: &str| {
        format!(
            "workflow W {{\n    facts {{\n{facts}    }}\n    complete when {{ done }}\n    signal finish() {{ done = true }}\n}}\n"
        )
    };
    let two = workflow("        done: Bool = false\n        spare: Int = 0\n");
    assert_eq!(
        fixed(&two, "W0001", 0),
        workflow("        done: Bool = false\n")
    );
    let first = workflow("        spare: Int = 0\n        done: Bool = false\n");
    assert_eq!(
        fixed(&first, "W0001", 0),
        workflow("        done: Bool = false\n")
    );

    let text = "def f(x: Int): Int {\n    def doubled = x * 2\n    x\n}\n";
    assert_eq!(
        fixed(text, "W0004", 0),
        "def f(x: Int): Int {\n    def _doubled = x * 2\n    x\n}\n"
    );
    assert_eq!(fixed(text, "W0004", 1), "def f(x: Int): Int {\n    x\n}\n");
    let one_line = "def f(x: Int): Int {\n    def doubled = x * 2; x\n}\n";
    assert_eq!(
        fixed(one_line, "W0004", 1),
        "def f(x: Int): Int {\n    x\n}\n"
    );
}

#[test]
fn values_of_the_right_type() {
    assert_eq!(
        fixed(
            "def f(n: Int): Int {\n    if (n > 1) { 2 }\n}\n",
            "E0215",
            0
        ),
        "def f(n: Int): Int {\n    if (n > 1) { 2 } else { 0 }\n}\n"
    );
    assert_eq!(
        fixed("def f(): Float { (3) }\n", "E0201", 0),
        "def f(): Float { (3.0) }\n"
    );
    let mixed = "def f(): Int {\n    def xs = [1, 2.5, 3]\n    xs.size()\n}\n";
    assert_eq!(
        fixed(mixed, "E0201", 0),
        mixed.replace("[1, 2.5, 3]", "[1.0, 2.5, 3.0]")
    );
    assert_eq!(
        fixed("def f(): String { null }\n", "E0209", 0),
        "def f(): String? { null }\n"
    );
    assert_eq!(
        fixed("type T { name: String = null }\n", "E0209", 0),
        "type T { name: String? = null }\n"
    );
    let fact = "workflow W {\n    facts { n: Int }\n    signal set(v: Int) { n = v }\n    complete when { n > 1 }\n}\n";
    assert_eq!(
        fixed(fact, "E0215", 0),
        fact.replace("n: Int }", "n: Int = 0 }")
    );
    assert_eq!(
        fixed(fact, "E0215", 1),
        fact.replace("n: Int }", "n: Int? }")
    );
}

#[test]
fn comparisons_and_near_miss_names() {
    let workflow = "workflow W {\n    facts { n: Int = 0 }\n    signal add(by: Int) { n += by }\n    complete when { n = 3 }\n}\n";
    assert_eq!(
        fixed(workflow, "E0203", 0),
        workflow.replace("n = 3", "n == 3")
    );
    assert_eq!(
        fixed("def f(wide: Int): Int { wid }\n", "E0103", 0),
        "def f(wide: Int): Int { wide }\n"
    );
    assert_eq!(
        fixed("import media.types { Prob }\n", "E0102", 0),
        "import media.types { Probe }\n"
    );
    assert_eq!(
        fixed(
            "import media.types { Codec }\ndef c(): Codec { Codec.H265 }\n",
            "E0110",
            0
        ),
        "import media.types { Codec }\ndef c(): Codec { Codec.H264 }\n"
    );
}

#[test]
fn conditions_say_what_they_test() {
    let optional = "def f(s: String?): Int {\n    if (s) { 1 } else { 2 }\n}\n";
    assert_eq!(
        fixed(optional, "E0203", 0),
        optional.replace("if (s)", "if (s != null)")
    );
    let list = "def f(xs: List<Int>): Int {\n    if (xs) { 1 } else { 2 }\n}\n";
    assert_eq!(
        fixed(list, "E0203", 0),
        list.replace("if (xs)", "if (!xs.isEmpty())")
    );
    let sum = "def f(n: Int): Int {\n    if (n + 1) { 1 } else { 2 }\n}\n";
    assert_eq!(
        fixed(sum, "E0203", 0),
        sum.replace("if (n + 1)", "if ((n + 1) != 0)")
    );
}

#[test]
fn what_is_there_twice_or_for_nothing_goes() {
    let local = "def f(): String? {\n    def s: String = null\n    s\n}\n";
    assert_eq!(
        fixed(local, "E0209", 0),
        local.replace("s: String =", "s: String? =")
    );
    let twice = "function probe(url: String): String {\n    command \"probe\"\n    timeout 10.s\n    timeout 20.s\n}\n";
    assert_eq!(
        fixed(twice, "E0114", 0),
        twice.replace("    timeout 20.s\n", "")
    );
    let never = "workflow W {\n    facts { done: Bool = false }\n    rule \"r\" {\n        match { !done }\n        action { true }\n        reaction { done = result }\n        error { fail(\"never\") }\n    }\n    complete when { done }\n}\n";
    assert_eq!(
        fixed(never, "W0005", 0),
        never.replace("        error { fail(\"never\") }\n", "")
    );
    let myself = "import main\n\ndef f(): Int { 1 }\n";
    assert_eq!(fixed(myself, "E0107", 0), "\ndef f(): Int { 1 }\n");
    let field = "import media.types { Probe }\ndef f(p: Probe): Int { p.width() }\n";
    assert_eq!(
        fixed(field, "E0109", 0),
        field.replace("p.width()", "p.width")
    );
}
