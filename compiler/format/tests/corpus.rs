//! Formats every `.emx` file of the repository (ui cases, examples, the standard
//! library, the test corpus under `tests/corpus`) and checks the formatter's promises
//! on each: the output parses, means the same (the tree without spans is unchanged),
//! keeps every comment in order, and is a fixed point. The examples and the standard
//! library must already be formatted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_test_support::{emx_files, read, repo_emx_files, repo_path};
use std::path::PathBuf;

fn corpus() -> Vec<PathBuf> {
    let files = repo_emx_files(&["tests/ui", "examples", "std", "tests/corpus"]);
    assert!(files.len() > 20, "found only {} files", files.len());
    files
}

#[test]
fn every_file_keeps_its_meaning_and_comments_and_formats_once() {
    let mut formatted = 0;
    for path in corpus() {
        let text = read(&path);
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
    for path in ["examples", "std"]
        .iter()
        .flat_map(|dir| emx_files(&repo_path(dir)))
    {
        let text = read(&path);
        let output = cosmos_format::format(&text).unwrap();
        assert!(
            output == text,
            "{} is not formatted; run `cosmosc fmt` on it",
            path.display()
        );
    }
}
