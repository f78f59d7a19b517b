//! Every example under `/work/shared/examples` and every example in LANGUAGE.md
//! sections 1, 5 and 8 parses without errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers may fail loudly.

use std::path::{Path, PathBuf};

use cosmos_syntax::parse;

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn emx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            emx_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "emx") {
            out.push(path);
        }
    }
}

#[test]
fn shared_examples_parse_without_errors() {
    let mut files = Vec::new();
    emx_files(&shared().join("examples"), &mut files);
    assert!(!files.is_empty(), "no examples found under {:?}", shared());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let (module, errors) = parse(&text);
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{}..{}: {}", e.span.start, e.span.end, e.message()))
            .collect();
        assert!(messages.is_empty(), "{}: {messages:#?}", file.display());
        assert!(!module.items.is_empty(), "{}", file.display());
    }
}

/// The ```groovy blocks of LANGUAGE.md, with their section number.
fn language_examples() -> Vec<(u32, String)> {
    let text = std::fs::read_to_string(shared().join("LANGUAGE.md")).unwrap();
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

#[test]
fn language_reference_examples_parse() {
    let blocks = language_examples();
    assert!(blocks.len() >= 4);
    for (section, block) in blocks {
        // Section 5 shows a workflow's and a rule's skeletons; wrap the rule so it
        // is a whole file.
        // The skeletons use `...` and `Bool expression` as placeholders.
        let block = block
            .replace("{ ... }", "{}")
            .replace("Bool expression", "expression");
        let text = if block.trim_start().starts_with("rule") {
            format!("workflow W {{\n{block}}}\n")
        } else {
            block.clone()
        };
        let (_, errors) = parse(&text);
        let messages: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {} at {:?}", e.message(), &text[e.span.range()], e.span))
            .collect();
        assert!(
            messages.is_empty(),
            "section {section}:\n{text}\n{messages:#?}"
        );
    }
}

/// A large file (parsed on several threads) gives the same declarations, in order,
/// as its parts do one by one.
#[test]
fn a_large_file_parses_like_its_parts() {
    let root = shared().join("examples/encode/src");
    let mut unit = String::new();
    for file in ["main.emx", "tests.emx", "media/types.emx"] {
        unit.push_str(&std::fs::read_to_string(root.join(file)).unwrap());
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
