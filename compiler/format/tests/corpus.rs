//! Formats every `.emx` file of the repository and of the shared examples, and
//! checks the formatter's promises on each: the output parses, means the same (the
//! tree without spans is unchanged), keeps every comment in order, and is a fixed
//! point. The examples and the standard library must already be formatted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

fn emx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            emx_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "emx") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["tests/ui", "examples", "std", "../shared/examples"] {
        emx_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    files
}

#[test]
fn every_file_keeps_its_meaning_and_comments_and_formats_once() {
    let mut formatted = 0;
    for path in corpus() {
        let text = fs::read_to_string(&path).unwrap();
        let (_, errors) = cosmos_syntax::parse(&text);
        let output = match cosmos_format::format(&text) {
            Ok(output) => output,
            Err(cosmos_format::FormatError::Syntax(_)) if !errors.is_empty() => continue,
            Err(error) => panic!("{}: {error}", path.display()),
        };
        formatted += 1;
        let (before, _) = cosmos_syntax::parse(&text);
        let (after, after_errors) = cosmos_syntax::parse(&output);
        assert!(
            after_errors.is_empty(),
            "{}: {after_errors:?}\n{output}",
            path.display()
        );
        assert_eq!(
            cosmos_format::same::erased(&before),
            cosmos_format::same::erased(&after),
            "{}: the tree changed\n{output}",
            path.display()
        );
        assert_eq!(
            cosmos_format::same::comment_texts(&text, &before),
            cosmos_format::same::comment_texts(&output, &after),
            "{}: the comments changed\n{output}",
            path.display()
        );
        let again = cosmos_format::format(&output).unwrap();
        assert_eq!(again, output, "{}: not idempotent", path.display());
    }
    assert!(formatted > 20);
}

#[test]
fn examples_and_the_standard_library_are_formatted() {
    let mut files = Vec::new();
    for dir in ["examples", "std"] {
        emx_files(&root().join(dir), &mut files);
    }
    assert!(!files.is_empty());
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        let output = cosmos_format::format(&text).unwrap();
        assert!(
            output == text,
            "{} is not formatted; run `cosmosc fmt` on it",
            path.display()
        );
    }
}
