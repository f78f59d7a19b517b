#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The editor queries inside `test` blocks: the workflow a test starts, the function a
//! `mock` replaces, the inputs and facts an `assert` reads and the signals a test
//! sends take part in definition, hover, references, rename, completion and semantic
//! tokens, so that renaming any of them leaves a project that still checks.

use cosmos_diagnostics::{FileId, Span};
use cosmos_semantics::Analysis;
use cosmos_semantics::ide::{Target, TokenKind};

const MAIN: &str = r#"/** Produces one rendition. */
function transcode(url: String, height: Int): Int {
    command "transcode"
}

workflow Transcode {
    input {
        source: String
    }
    facts {
        size: Int?
        reviewer: String?
    }
    rule "transcode" {
        match { size == null && reviewer != null }
        action { transcode(url: source, height: 720) }
        reaction { size = result }
    }
    signal review(by: String) {
        reviewer = by
    }
    complete when { size != null }
}
"#;

const TESTS: &str = r#"import main { Transcode }

test "a reviewed source is transcoded" {
    start Transcode(source: "s3://a.mov")
    mock transcode(url, height) = height * 2
    run
    assert status == STALLED && reviewer == null
    signal review(by: "mei")
    run
    assert status == COMPLETED && reviewer == "mei" && size == 1440
}
"#;

const MAIN_ID: FileId = FileId(0);
const TESTS_ID: FileId = FileId(1);

fn project(main: &str, tests: &str) -> Analysis {
    let mut analysis = Analysis::new();
    analysis.set_file(MAIN_ID, "main", main.to_string());
    analysis.set_file(TESTS_ID, "tests", tests.to_string());
    analysis
}

/// The offset of the `n`th `needle` in `text`, plus `delta`.
fn at(text: &str, needle: &str, n: usize, delta: u32) -> u32 {
    text.match_indices(needle).nth(n).expect(needle).0 as u32 + delta
}

fn span_of(text: &str, needle: &str, n: usize, word: &str) -> Span {
    let start = at(text, needle, n, 0) + needle.find(word).expect(word) as u32;
    Span::new(start, start + word.len() as u32)
}

fn errors(analysis: &Analysis) -> Vec<String> {
    [MAIN_ID, TESTS_ID]
        .iter()
        .flat_map(|f| analysis.file_diagnostics(*f))
        .map(|d| format!("{} {}", d.code.code, d.message))
        .collect()
}

/// The texts with the rename's edits applied.
fn renamed(edits: &[Target], new_name: &str) -> (String, String) {
    let apply = |file: FileId, text: &str| {
        let mut spans: Vec<Span> = edits
            .iter()
            .filter(|t| t.file == file)
            .map(|t| t.span)
            .collect();
        spans.sort_by_key(|s| std::cmp::Reverse(s.start));
        let mut out = text.to_string();
        for span in spans {
            out.replace_range(span.range(), new_name);
        }
        out
    };
    (apply(MAIN_ID, MAIN), apply(TESTS_ID, TESTS))
}

#[test]
fn the_project_checks_clean() {
    assert_eq!(errors(&project(MAIN, TESTS)), Vec::<String>::new());
}

#[test]
fn definition_from_start_mock_assert_and_signal() {
    let analysis = project(MAIN, TESTS);
    let def = |needle, n, delta| analysis.definition(TESTS_ID, at(TESTS, needle, n, delta));
    let target = |needle, n, word| {
        Some(Target {
            file: MAIN_ID,
            span: span_of(MAIN, needle, n, word),
        })
    };
    assert_eq!(
        def("Transcode(source", 0, 2),
        target("workflow Transcode", 0, "Transcode")
    );
    assert_eq!(
        def("transcode(url, height)", 0, 3),
        target("function transcode", 0, "transcode")
    );
    assert_eq!(
        def("reviewer == null", 0, 2),
        target("reviewer: String?", 0, "reviewer")
    );
    assert_eq!(def("size == 1440", 0, 0), target("size: Int?", 0, "size"));
    assert_eq!(def("review(by", 0, 1), target("signal review", 0, "review"));
    // The mock's parameters are its own.
    assert_eq!(
        def("height * 2", 0, 1),
        Some(Target {
            file: TESTS_ID,
            span: span_of(TESTS, "url, height)", 0, "height"),
        })
    );
}

#[test]
fn hover_on_mock_assert_and_signal() {
    let analysis = project(MAIN, TESTS);
    let hover = |needle, delta| {
        analysis
            .hover(TESTS_ID, at(TESTS, needle, 0, delta))
            .map(|h| (h.signature, h.doc.unwrap_or_default()))
            .expect(needle)
    };
    let (signature, doc) = hover("transcode(url, height)", 2);
    assert!(
        signature.contains("function transcode(url: String, height: Int): Int"),
        "{signature}"
    );
    assert!(doc.contains("Produces one rendition."), "{doc}");
    assert_eq!(hover("reviewer == null", 1).0, "fact reviewer: String?");
    assert_eq!(hover("review(by", 1).0, "signal review(by: String)");
    let in_main = analysis
        .hover(MAIN_ID, at(MAIN, "review(by", 0, 1))
        .expect("the declaration");
    assert_eq!(in_main.signature, "signal review(by: String)");
}

#[test]
fn references_reach_into_tests() {
    let analysis = project(MAIN, TESTS);
    let count = |file, offset| analysis.references(file, offset, true).len();
    // The fact: its declaration, two uses in the rule and the signal, two asserts.
    let reviewer = analysis.references(MAIN_ID, at(MAIN, "reviewer: String?", 0, 1), true);
    assert_eq!(
        reviewer.iter().filter(|t| t.file == TESTS_ID).count(),
        2,
        "{reviewer:?}"
    );
    assert_eq!(reviewer.len(), 5, "{reviewer:?}");
    // The function: its declaration, the call, the mock.
    assert_eq!(count(MAIN_ID, at(MAIN, "function transcode", 0, 10)), 3);
    assert_eq!(count(TESTS_ID, at(TESTS, "transcode(url", 0, 1)), 3);
    // The signal: its declaration and the test's `signal`.
    assert_eq!(count(TESTS_ID, at(TESTS, "review(by", 0, 0)), 2);
    assert_eq!(count(MAIN_ID, at(MAIN, "review(by", 0, 0)), 2);
    // The workflow: its declaration, the import and the `start`.
    assert_eq!(count(MAIN_ID, at(MAIN, "workflow Transcode", 0, 10)), 3);
}

#[test]
fn renaming_a_fact_a_function_or_a_signal_keeps_the_project_checking() {
    let analysis = project(MAIN, TESTS);
    for (file, offset, new_name) in [
        (MAIN_ID, at(MAIN, "reviewer: String?", 0, 1), "approver"),
        (TESTS_ID, at(TESTS, "reviewer == null", 0, 1), "approver"),
        (MAIN_ID, at(MAIN, "function transcode", 0, 10), "encode"),
        (TESTS_ID, at(TESTS, "transcode(url", 0, 1), "encode"),
        (TESTS_ID, at(TESTS, "review(by", 0, 1), "approve"),
        (TESTS_ID, at(TESTS, "size == 1440", 0, 1), "bytes"),
    ] {
        let edits = analysis.rename(file, offset, new_name).unwrap();
        let (main, tests) = renamed(&edits, new_name);
        assert!(
            tests.contains(new_name),
            "{new_name} in the tests:\n{tests}"
        );
        let after = project(&main, &tests);
        assert_eq!(
            errors(&after),
            Vec::<String>::new(),
            "after renaming to {new_name}:\n{main}\n{tests}"
        );
    }
}

#[test]
fn semantic_tokens_in_tests() {
    let analysis = project(MAIN, TESTS);
    let tokens = analysis.semantic_tokens(TESTS_ID);
    let kind_of = |needle: &str, n: usize, word: &str| {
        let span = span_of(TESTS, needle, n, word);
        tokens.iter().find(|(s, _)| *s == span).map(|(_, k)| *k)
    };
    assert_eq!(
        kind_of("start Transcode", 0, "Transcode"),
        Some(TokenKind::Workflow)
    );
    assert_eq!(
        kind_of("mock transcode", 0, "transcode"),
        Some(TokenKind::Function)
    );
    assert_eq!(
        kind_of("reviewer == null", 0, "reviewer"),
        Some(TokenKind::Fact)
    );
    assert_eq!(
        kind_of("signal review", 0, "review"),
        Some(TokenKind::Signal)
    );
    for keyword in ["start", "mock", "run", "assert", "signal"] {
        assert_eq!(
            kind_of(keyword, 0, keyword),
            Some(TokenKind::Keyword),
            "{keyword}"
        );
    }
}

#[test]
fn completion_in_a_test() {
    let typing = TESTS.replace("    signal review(by: \"mei\")\n", "    \n");
    let analysis = project(MAIN, &typing);
    let offset = at(&typing, "== null\n    \n", 0, 12);
    let labels: Vec<String> = analysis
        .completions(TESTS_ID, offset)
        .into_iter()
        .map(|c| c.label)
        .collect();
    for expected in [
        "start",
        "mock",
        "run",
        "signal",
        "advance",
        "assert",
        "reviewer",
        "size",
        "source",
        "status",
        "output",
        "COMPLETED",
        "fired",
    ] {
        assert!(
            labels.iter().any(|l| l == expected),
            "{expected} in {labels:?}"
        );
    }
}
