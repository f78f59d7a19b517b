#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The editor queries through `Analysis`: references, rename and its refusals,
//! signature help and inlay hints, on a small two-module project.

use cosmos_diagnostics::{FileId, Span};
use cosmos_semantics::Analysis;

const TYPES: &str = "type Probe { width: Int }\nenum Codec { H264, HEVC }\n";
const MAIN: &str = r#"import media.types { Probe, Codec }

def area(p: Probe): Int {
    def w = p.width
    w * 2
}

workflow W {
    facts {
        probe: Probe?
        codec: Codec = Codec.H264
    }
    rule "r" {
        match { probe == null }
        action { area(p: Probe(width: 1)) }
        reaction { probe = Probe(width: result) }
    }
}
"#;

fn project() -> Analysis {
    let mut analysis = Analysis::new();
    analysis.set_file(FileId(0), "media.types", TYPES.to_string());
    analysis.set_file(FileId(1), "main", MAIN.to_string());
    analysis
}

fn offset(text: &str, needle: &str, delta: u32) -> u32 {
    text.find(needle).unwrap() as u32 + delta
}

fn texts(analysis: &Analysis, file: FileId, offset: u32) -> Vec<(u32, String)> {
    let mut refs: Vec<(u32, String)> = analysis
        .references(file, offset, true)
        .iter()
        .map(|t| {
            let text = if t.file == FileId(0) { TYPES } else { MAIN };
            (t.file.0, text[t.span.range()].to_string())
        })
        .collect();
    refs.sort();
    refs
}

#[test]
fn references_cover_declaration_imports_types_and_bodies() {
    let analysis = project();
    let refs = texts(&analysis, FileId(0), offset(TYPES, "Probe", 1));
    // The declaration, the import, a parameter's type, a fact's type, two calls.
    assert_eq!(refs.len(), 6, "{refs:?}");
    assert_eq!(refs.iter().filter(|(f, _)| *f == 0).count(), 1);
    let field = texts(&analysis, FileId(0), offset(TYPES, "width", 1));
    // The declaration, `p.width`, and the labels of `Probe(width: 1)` and `Probe(width: result)`.
    assert_eq!(field.len(), 4, "{field:?}");
    let local = analysis.references(FileId(1), offset(MAIN, "w * 2", 0), true);
    assert_eq!(local.len(), 2);
}

#[test]
fn rename_refuses_bad_names() {
    let analysis = project();
    let at = offset(MAIN, "probe == null", 1);
    assert!(
        analysis
            .rename(FileId(1), at, "return")
            .unwrap_err()
            .contains("reserved")
    );
    assert!(
        analysis
            .rename(FileId(1), at, "a-b")
            .unwrap_err()
            .contains("not a name")
    );
    assert!(
        analysis
            .rename(FileId(1), at, "codec")
            .unwrap_err()
            .contains("already")
    );
    assert_eq!(analysis.rename(FileId(1), at, "found").unwrap().len(), 3);
    let local = offset(MAIN, "w * 2", 0);
    assert!(
        analysis
            .rename(FileId(1), local, "p")
            .unwrap_err()
            .contains("already")
    );
    let builtin = offset(MAIN, "null", 1);
    assert!(analysis.prepare_rename(FileId(1), builtin).is_err());
}

#[test]
fn signature_help_and_inlay_hints() {
    let analysis = project();
    let help = analysis
        .signature_help(FileId(1), offset(MAIN, "width: 1)", 7))
        .unwrap();
    assert_eq!(help.label, "Probe(width: Int): Probe");
    let help = analysis
        .signature_help(FileId(1), offset(MAIN, "p: Probe(", 1))
        .unwrap();
    assert_eq!(help.label, "area(p: Probe): Int");
    let hints = analysis.inlay_hints(FileId(1), Span::new(0, MAIN.len() as u32));
    let labels: Vec<&str> = hints.iter().map(|h| h.label.as_str()).collect();
    assert_eq!(labels, [": Int", "result: Int"]);
    assert_eq!(hints[0].offset, offset(MAIN, "w = p", 1));
}

#[test]
fn code_actions_fix_null_imports_and_misspellings() {
    let mut analysis = project();
    let unguarded = MAIN
        .replace("match { probe == null }", "match { codec == Codec.H264 }")
        .replace("Probe(width: 1)", "Probe(width: probe.width)");
    analysis.set_file(FileId(1), "main", unguarded.clone());
    let at = offset(&unguarded, "probe.width", 0);
    let actions = analysis.code_actions(FileId(1), Span::new(at, at + 5));
    let guard = actions.iter().find(|a| a.fixes == "E0202").unwrap();
    assert_eq!(guard.edits[0].2, "probe != null && ");
    assert_eq!(
        guard.edits[0].1.start,
        offset(&unguarded, "codec == Codec", 0)
    );

    let either = unguarded.replace(
        "codec == Codec.H264",
        "codec == Codec.H264 || codec == Codec.HEVC",
    );
    analysis.set_file(FileId(1), "main", either.clone());
    let at = offset(&either, "probe.width", 0);
    let actions = analysis.code_actions(FileId(1), Span::new(at, at + 5));
    let guard = actions.iter().find(|a| a.fixes == "E0202").unwrap();
    let texts: Vec<&str> = guard.edits.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(texts, ["probe != null && (", ")"]);

    let unimported = MAIN.replace("{ Probe, Codec }", "{ Probe }");
    analysis.set_file(FileId(1), "main", unimported.clone());
    let at = offset(&unimported, "codec: Codec", 7);
    let actions = analysis.code_actions(FileId(1), Span::new(at, at));
    let import = actions.iter().find(|a| a.fixes == "E0104").unwrap();
    assert_eq!(import.title, "Import `Codec` from `media.types`");
    assert_eq!(import.edits[0].2, ", Codec");

    let misspelled = MAIN.replace("w * 2", "ww * 2");
    analysis.set_file(FileId(1), "main", misspelled.clone());
    let at = offset(&misspelled, "ww * 2", 0);
    let actions = analysis.code_actions(FileId(1), Span::new(at, at));
    assert_eq!(actions[0].title, "Did you mean `w`?");
    assert!(actions[0].preferred);
    assert_eq!(
        actions[0].edits,
        [(FileId(1), Span::new(at, at + 2), "w".to_string())]
    );
}

#[test]
fn semantic_tokens_classify_names() {
    use cosmos_semantics::ide::TokenKind;
    let analysis = project();
    let tokens = analysis.semantic_tokens(FileId(1));
    let kind_of = |needle: &str, n: usize| {
        let start = MAIN.match_indices(needle).nth(n).unwrap().0 as u32;
        tokens
            .iter()
            .find(|(s, _)| s.start == start)
            .map(|(_, k)| *k)
    };
    assert_eq!(kind_of("workflow", 0), Some(TokenKind::Keyword));
    assert_eq!(kind_of("match", 0), Some(TokenKind::Keyword));
    assert_eq!(kind_of("probe", 1), Some(TokenKind::Fact));
    assert_eq!(kind_of("H264", 0), Some(TokenKind::EnumMember));
    assert_eq!(kind_of("Codec", 1), Some(TokenKind::Enum));
    assert_eq!(kind_of("area", 1), Some(TokenKind::Function));
    assert_eq!(kind_of("\"r\"", 0), Some(TokenKind::String));
    assert_eq!(kind_of("2", 0), Some(TokenKind::Number));
    assert_eq!(kind_of("w ", 1), Some(TokenKind::Variable));
}

#[test]
fn references_of_a_parameter() {
    let analysis = project();
    let refs = analysis.references(FileId(1), offset(MAIN, "p.width", 0), true);
    // The parameter, its use in the helper and the label of `area(p: …)`.
    assert_eq!(refs.len(), 3);
    let label = offset(MAIN, "p: Probe(width", 0);
    assert!(refs.iter().any(|r| r.span.start == label), "{refs:?}");
}

#[test]
fn rename_reaches_named_argument_labels() {
    let analysis = project();
    let apply = |edits: &[cosmos_semantics::ide::Target], file: FileId, text: &str, new: &str| {
        let mut out = text.to_string();
        let mut spans: Vec<Span> = edits
            .iter()
            .filter(|t| t.file == file)
            .map(|t| t.span)
            .collect();
        spans.sort_by_key(|s| std::cmp::Reverse(s.start));
        for s in spans {
            out.replace_range(s.range(), new);
        }
        out
    };
    // A helper's parameter, from its label at the call.
    let edits = analysis
        .rename(FileId(1), offset(MAIN, "p: Probe(width", 0), "probe2")
        .unwrap();
    assert_eq!(
        apply(&edits, FileId(1), MAIN, "probe2"),
        MAIN.replace("area(p: Probe)", "area(probe2: Probe)")
            .replace("= p.width", "= probe2.width")
            .replace("area(p: Probe(", "area(probe2: Probe(")
    );
    // A record field, from its declaration: the constructor labels follow.
    let edits = analysis
        .rename(FileId(0), offset(TYPES, "width", 0), "w")
        .unwrap();
    assert_eq!(
        apply(&edits, FileId(0), TYPES, "w"),
        TYPES.replace("width", "w")
    );
    assert_eq!(
        apply(&edits, FileId(1), MAIN, "w"),
        MAIN.replace("width", "w")
    );
    // Hover on a label shows what it names.
    let hover = analysis
        .hover(FileId(1), offset(MAIN, "width: 1", 1))
        .unwrap();
    assert_eq!(hover.signature, "field width: Int");
}

#[test]
fn test_labels_name_inputs_and_signal_parameters() {
    let main = r#"workflow W {
    input { source: String }
    facts { by: String? }
    signal approve(who: String) { by = who }
    rule "r" {
        match { by != null }
        action { source }
    }
}

test "t" {
    start W(source: "s")
    signal approve(who: "ana")
    run
}
"#;
    let mut analysis = Analysis::new();
    analysis.set_file(FileId(1), "main", main.to_string());
    let at = |needle: &str| main.find(needle).unwrap() as u32;
    let input = analysis.definition(FileId(1), at("source: \"s\"")).unwrap();
    assert_eq!(input.span.start, at("source: String"));
    let param = analysis.definition(FileId(1), at("who: \"ana\"")).unwrap();
    assert_eq!(param.span.start, at("who: String"));
    let refs = analysis.references(FileId(1), at("source: String"), true);
    // The input, its use in the action and the label in `start`.
    assert_eq!(refs.len(), 3, "{refs:?}");
}

#[test]
fn tests_name_the_mocked_function_and_the_mock_parameters() {
    let main = r#"function inspect(url: String): Int {
    command "probe"
}

test "t" {
    mock inspect(u) = u.size()
}
"#;
    let mut analysis = Analysis::new();
    analysis.set_file(FileId(1), "main", main.to_string());
    let at = |needle: &str| main.find(needle).unwrap() as u32;
    let function = analysis.definition(FileId(1), at("inspect(u)")).unwrap();
    assert_eq!(function.span.start, at("inspect(url"));
    let param = analysis.definition(FileId(1), at("u.size")).unwrap();
    assert_eq!(param.span.start, at("u)"));
    // Renaming the function renames the mock.
    let edits = analysis
        .rename(FileId(1), at("inspect(url"), "probe")
        .unwrap();
    assert_eq!(edits.len(), 2, "{edits:?}");
}

#[test]
fn hover_gives_the_type_of_any_expression() {
    let analysis = project();
    // The `*` of `w * 2`: the whole product.
    let star = offset(MAIN, "w * 2", 2);
    let hover = analysis.hover(FileId(1), star).unwrap();
    assert_eq!(hover.signature, "w * 2: Int");
    // A literal.
    let two = offset(MAIN, "w * 2", 4);
    assert_eq!(analysis.hover(FileId(1), two).unwrap().signature, "2: Int");
    // The closing parenthesis of a constructor call: the record built.
    let paren = offset(MAIN, "Probe(width: 1)", 14);
    assert_eq!(
        analysis.hover(FileId(1), paren).unwrap().signature,
        "Probe(width: 1): Probe"
    );
    // Names keep their own hover.
    let w = offset(MAIN, "w * 2", 0);
    assert_eq!(analysis.hover(FileId(1), w).unwrap().signature, "w: Int");
}

/// A file with an operator chain of `n` terms, an `&&` chain and an `else if`
/// chain of `n / 10` links.
fn long_chains(n: usize) -> String {
    let sum = vec!["x"; n].join(" + ");
    let all = vec!["x > 0"; n].join(" && ");
    let mut pick = String::new();
    for i in 0..n / 10 {
        pick.push_str(&format!("if (x == {i}) {i} else "));
    }
    pick.push_str("-1");
    format!(
        "def sum(x: Int): Int {{ {sum} }}\ndef all(x: Int): Bool {{ {all} }}\ndef pick(x: Int): Int {{ {pick} }}\n"
    )
}

/// What the language server asks of a file, on a 2 MiB thread as its tokio
/// workers have: every query answers on chains of 2,000 and 20,000 terms.
#[test]
fn editor_queries_answer_on_long_chains() {
    for n in [2_000, 20_000] {
        let handle = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let text = long_chains(n);
                let mut analysis = Analysis::new();
                analysis.set_file(FileId(0), "main", text.clone());
                assert!(analysis.diagnostics().is_empty(), "{n} terms");
                let middle = text.find("x + x").unwrap() as u32 + (n as u32) * 2;
                let hover = analysis.hover(FileId(0), middle);
                assert!(hover.is_some(), "hover inside a chain of {n}");
                assert!(!analysis.semantic_tokens(FileId(0)).is_empty());
                assert_eq!(analysis.symbols(FileId(0)).len(), 3);
                let whole = Span::new(0, text.len() as u32);
                let _ = analysis.inlay_hints(FileId(0), whole);
                let _ = analysis.code_actions(FileId(0), whole);
                let _ = analysis.completions(FileId(0), middle);
                let _ = analysis.signature_help(FileId(0), middle);
                let refs = analysis.references(FileId(0), middle, true);
                assert!(
                    refs.len() > n,
                    "{} references of x in {n} terms",
                    refs.len()
                );
                // An edit, as didChange sends it, then the queries again.
                analysis.set_file(FileId(0), "main", text.replace("x + x", "x - x"));
                assert!(analysis.diagnostics().is_empty());
                assert!(analysis.hover(FileId(0), middle).is_some());
            })
            .unwrap();
        assert!(handle.join().is_ok(), "the queries crashed on {n} terms");
    }
}
