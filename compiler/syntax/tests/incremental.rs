//! `parse_incremental` must give exactly what `parse` gives — items, spans, docs,
//! comments and errors — whatever the cache holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests may fail loudly.

use cosmos_syntax::{ReparseCache, parse, parse_incremental};
use cosmos_test_support::{self as support, generate};
use proptest::prelude::*;

/// Every `.emx` file of the test corpus, the UI tests and the examples, as
/// `(path, text)`.
fn corpus() -> Vec<(String, String)> {
    support::repo_emx_files(&["tests/corpus", "tests/ui", "examples"])
        .into_iter()
        .map(|path| (path.display().to_string(), support::read(&path)))
        .collect()
}

fn big_module() -> String {
    generate::project(1).remove(0).1
}

/// Parses `text` with `cache` and checks the result against `parse`.
fn check(label: &str, text: &str, cache: &mut ReparseCache) {
    let expected = parse(text);
    let actual = parse_incremental(text, cache);
    assert!(
        actual == expected,
        "{label}: parse_incremental differs from parse\n--- text ---\n{text}\n--- parse ---\n{expected:#?}\n--- incremental ---\n{actual:#?}"
    );
}

/// Versions of `text` after typical edits: a rule body changed, a line inserted
/// before a workflow, a rule deleted, a doc comment added, a syntax error in one
/// rule (and then, by returning to `text`, fixed).
fn edits(text: &str) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(at) = text.find("action {") {
        let mut edited = text.to_string();
        edited.insert_str(at + "action {".len(), " log(\"edited\")\n");
        out.push(("change a rule body", edited));
    }
    if let Some(at) = text.find("workflow ") {
        let mut edited = text.to_string();
        edited.insert_str(at, "// a new line before the workflow\n");
        out.push(("insert a line before a workflow", edited.clone()));
        edited.insert_str(at, "/** A doc comment. */\n");
        out.push(("add a doc comment to a workflow", edited));
    }
    if let Some(at) = text.find("rule \"") {
        let mut edited = text.to_string();
        edited.insert_str(at, "/** A rule's doc. */\n    ");
        out.push(("add a doc comment to a rule", edited));
        let rest = &text[at..];
        if let Some(next) = rest[1..]
            .find("\n    rule \"")
            .or_else(|| rest[1..].find("rule \""))
        {
            let mut edited = text.to_string();
            edited.replace_range(at..at + 1 + next, "");
            out.push(("delete a rule", edited));
        }
        if let Some(brace) = rest.find('{') {
            let mut edited = text.to_string();
            edited.insert_str(at + brace + 1, "\n        action { 1 + }\n");
            out.push(("syntax error in one rule", edited));
            let mut edited = text.to_string();
            edited.insert_str(at + brace + 1, "\n        priority (\n");
            out.push(("unclosed bracket in one rule", edited));
        }
    }
    if let Some(at) = text.find("\ntype ").or_else(|| text.find("\ndef ")) {
        let mut edited = text.to_string();
        edited.insert_str(at + 1, "type T { x: Int }\n");
        out.push(("insert a declaration", edited));
    }
    out
}

fn check_file(label: &str, text: &str) {
    // (a) from an empty cache
    let mut cache = ReparseCache::default();
    check(&format!("{label} (empty cache)"), text, &mut cache);
    // (b) after a parse of the same text
    check(&format!("{label} (same text)"), text, &mut cache);
    // (c) after a parse of another version, and back again
    for (edit, edited) in edits(text) {
        check(&format!("{label} ({edit})"), &edited, &mut cache);
        check(
            &format!("{label} ({edit}, same again)"),
            &edited,
            &mut cache,
        );
        check(&format!("{label} (undo {edit})"), text, &mut cache);
    }
}

#[test]
fn corpus_files_parse_alike() {
    let files = corpus();
    assert!(
        files.len() > 10,
        "the corpus is missing: {} files",
        files.len()
    );
    for (path, text) in &files {
        check_file(path, text);
    }
}

#[test]
fn generated_module_parses_alike() {
    let text = big_module();
    check_file("generated", &text);
    let mut cache = ReparseCache::default();
    check("generated", &text, &mut cache);
    let edited = text.replacen(generate::EDIT_FROM, generate::EDIT_TO, 1);
    assert_ne!(edited, text);
    check("generated (bench edit)", &edited, &mut cache);
    // A syntax error in one rule, then fixed again.
    let broken = text.replacen(generate::EDIT_FROM, "total += (result.width", 1);
    check("generated (broken rule)", &broken, &mut cache);
    check("generated (broken rule again)", &broken, &mut cache);
    check("generated (fixed)", &text, &mut cache);
}

#[test]
fn cache_holds_one_parse() {
    let text = big_module();
    let mut cache = ReparseCache::default();
    let _ = parse_incremental(&text, &mut cache);
    let pieces = cache.len();
    assert!(pieces > 60, "only {pieces} pieces");
    for _ in 0..3 {
        let edited = text.replacen(generate::EDIT_FROM, generate::EDIT_TO, 1);
        let _ = parse_incremental(&edited, &mut cache);
        let _ = parse_incremental(&text, &mut cache);
    }
    assert_eq!(cache.len(), pieces);
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn odd_workflows_parse_alike() {
    let cases = [
        "workflow W { input { x: Int } facts { y: Int } }\n",
        "workflow W {\n  input { x: Int }; facts { y: Int }\n}\n",
        "workflow W {\n  signal s(output: Int) { y = output }\n  rule \"r\" { action { 1 } }\n}\n",
        "workflow W {\n  rule \"r\" { action { x.rule } }\n}\n",
        "workflow W {\n  /** doc */\n  rule \"r\" { action { 1 } } // c\n  /* b */ rule \"s\" {}\n}\n",
        "workflow W {\n  rule \"${x}\" { action { 1 } }\n}\n",
        "workflow W {\n  rule \"r\" { action { 1 } }\n} junk\n",
        "workflow W {\n  rule \"r\" { action { 1 } }\n",
        "workflow W {\n  rule \"r\" { action { 1 } }\n}}\n",
        "workflow W {\n  complete when { true }\n  complete { x }\n}\n",
        "workflow W {\r\n  rule \"r\" { action { 1 } }\r\n}\r\n",
        "workflow W\n{\n}\n",
        "workflow W {}\n/** d */\nworkflow V { rule \"r\" {} }\n",
        "workflow W { rule \"r\" { action { \"}\" } } }\n",
        "workflow W {\n rule \"a\" {}\n rule \"a\" {}\n rule \"a\" {}\n}\nworkflow V {\n rule \"a\" {}\n}\n",
        "/* never closed\nworkflow W {\n  rule \"r\" { action { 1 } }\n}\n",
        "workflow W {\n  rule \"r\" { action { 1 } }\n  /* never closed\n  rule \"s\" {}\n}\n",
        "workflow W {\n  rule \"r\" { action { 1 } }\n}\n/* never closed",
    ];
    for case in cases {
        let mut cache = ReparseCache::default();
        check(case, case, &mut cache);
        check(case, case, &mut cache);
        for other in cases {
            check(other, other, &mut cache);
            check(case, case, &mut cache);
        }
    }
}

/// One random edit: where (a fraction of the text), how much to delete, and what
/// to insert.
#[derive(Debug, Clone)]
struct Edit {
    at: f64,
    delete: usize,
    insert: String,
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\n".to_string()),
        Just(";".to_string()),
        Just("(".to_string()),
        Just("\"".to_string()),
        Just("${".to_string()),
        Just("/**".to_string()),
        Just("*/".to_string()),
        Just("/** doc */\n".to_string()),
        Just("// note\n".to_string()),
        Just("\n    rule \"new\" {\n        action { x + 1 }\n    }\n".to_string()),
        Just("rule ".to_string()),
        Just("output ".to_string()),
        Just("complete when ".to_string()),
        Just("workflow ".to_string()),
        Just("\ndef f(): Int { 1 }\n".to_string()),
        Just("é".to_string()),
        "[a-z0-9 +.=]{1,6}",
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        0.0..1.0f64,
        prop_oneof![Just(0usize), 0usize..4, 0usize..60],
        fragment(),
    )
        .prop_map(|(at, delete, insert)| Edit { at, delete, insert })
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &mut String, edit: &Edit) {
    let start = floor_boundary(text, (edit.at * text.len() as f64) as usize);
    let end = floor_boundary(text, start + edit.delete).max(start);
    text.replace_range(start..end, &edit.insert);
}

fn base_texts() -> Vec<String> {
    let mut texts: Vec<String> = corpus().into_iter().map(|(_, text)| text).collect();
    texts.push(big_module());
    texts
}

proptest! {
    // `PROPTEST_CASES` asks for more (or fewer) cases.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(128),
        // The same cases on every run, so that CI is deterministic; change the seed to
        // explore others.
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x1c2e_2026),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_edits_parse_alike(
        // The generated module (one large workflow) a third of the time.
        file in prop_oneof![1 => Just(None), 2 => any::<prop::sample::Index>().prop_map(Some)],
        steps in prop::collection::vec(edit(), 1..8),
    ) {
        let mut text = match file {
            None => big_module(),
            Some(file) => {
                let texts = base_texts();
                texts[file.index(texts.len())].clone()
            }
        };
        let mut cache = ReparseCache::default();
        let _ = parse_incremental(&text, &mut cache);
        for step in &steps {
            apply(&mut text, step);
            let expected = parse(&text);
            let actual = parse_incremental(&text, &mut cache);
            prop_assert!(actual == expected, "after {step:?}\n--- text ---\n{text}\n--- parse ---\n{expected:#?}\n--- incremental ---\n{actual:#?}");
        }
    }
}
