//! Every `.emx` file of the test corpus (`tests/corpus`: the `encode-title` project and
//! the language contract's examples that `docs/language.md` does not repeat) and every
//! example of `docs/language.md` parses without errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers may fail loudly.

use cosmos_syntax::parse;
use cosmos_test_support as support;

#[test]
fn corpus_files_parse_without_errors() {
    let files = support::repo_emx_files(&["tests/corpus/encode-title", "tests/corpus/language"]);
    // The three modules of encode-title and four examples of the contract.
    assert!(files.len() >= 7, "only {} files: {files:?}", files.len());
    for file in files {
        let text = support::read(&file);
        let (module, errors) = parse(&text);
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{}..{}: {}", e.span.start, e.span.end, e.message()))
            .collect();
        assert!(messages.is_empty(), "{}: {messages:#?}", file.display());
        assert!(!module.items.is_empty(), "{}", file.display());
    }
}

/// The ```groovy blocks of `docs/language.md`, with their section number.
fn language_examples() -> Vec<(u32, String)> {
    let text = support::read(&support::repo_path("docs/language.md"));
    let mut section = 0;
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("## ") {
            section = rest.split('.').next().unwrap().trim().parse().unwrap_or(0);
        }
        match &mut current {
            None if line.starts_with("```groovy") => current = Some(String::new()),
            Some(block) if line.starts_with("```") => {
                blocks.push((section, std::mem::take(block)));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// A block of the reference as a whole file: the clauses of a workflow (`facts { … }`,
/// a `rule`) go inside a workflow, the clauses of a rule (`action { … }`,
/// `reaction { … }`) inside a rule of a workflow.
fn as_file(block: &str) -> String {
    let first = block.split_whitespace().next().unwrap_or("");
    match first {
        "input" | "facts" | "rule" | "signal" | "complete" | "output" => {
            format!("workflow W {{\n{block}}}\n")
        }
        "match" | "action" | "reaction" | "error" | "priority" | "timeout" => {
            format!("workflow W {{\nrule \"r\" {{\n{block}}}\n}}\n")
        }
        _ => block.to_string(),
    }
}

#[test]
fn language_reference_examples_parse() {
    let blocks = language_examples();
    // docs/language.md has over twenty examples; fewer means the extraction broke.
    assert!(blocks.len() >= 20, "only {} examples", blocks.len());
    for (section, block) in blocks {
        let text = as_file(&block);
        let (module, errors) = parse(&text);
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {} at {:?}", e.message(), &text[e.span.range()], e.span))
            .collect();
        assert!(
            messages.is_empty(),
            "section {section}:\n{text}\n{messages:#?}"
        );
        assert!(!module.items.is_empty(), "section {section}:\n{text}");
    }
}

/// A large file (parsed on several threads) gives the same declarations, in order,
/// as its parts do one by one.
#[test]
fn a_large_file_parses_like_its_parts() {
    let root = support::encode_title().join("src");
    let mut unit = String::new();
    for file in ["main.emx", "tests.emx", "media/types.emx"] {
        unit.push_str(&support::read(&root.join(file)));
        unit.push('\n');
    }
    let (one, errors) = parse(&unit);
    assert!(errors.is_empty());
    let copies = 300 * 1024 / unit.len() + 1;
    let text = unit.repeat(copies);
    let (module, errors) = parse(&text);
    assert!(errors.is_empty());
    assert_eq!(module.items.len(), one.items.len() * copies);
    assert_eq!(module.comments.len(), one.comments.len() * copies);
    let step = unit.len() as u32;
    for (index, item) in module.items.iter().enumerate() {
        let original = &one.items[index % one.items.len()];
        let shift = step * (index / one.items.len()) as u32;
        assert_eq!(item.span.start, original.span.start + shift);
        assert_eq!(item.doc, original.doc);
    }
}
