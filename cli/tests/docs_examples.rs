//! The examples of `docs/language.md` that are whole modules (fenced as
//! ```` ```groovy module ````) are checked and their tests run by the real `cosmosc`,
//! so the reference cannot drift from what the tools do; and the page stands alone,
//! naming no file outside the repository.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use support::{MANIFEST, code, cosmosc, project, stderr, stdout};

fn reference() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md");
    std::fs::read_to_string(path).unwrap()
}

/// The whole-module examples, each with the heading it is under.
fn modules(text: &str) -> Vec<(String, String)> {
    let mut heading = String::new();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.starts_with('#') => heading = line.trim_start_matches('#').trim().into(),
            None if line.trim_end() == "```groovy module" => current = Some(String::new()),
            Some(block) if line.starts_with("```") => {
                out.push((heading.clone(), std::mem::take(block)));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_whole_module_example_checks_cleanly_and_its_tests_pass() {
    let text = reference();
    let examples = modules(&text);
    // The first look, "When rules fire" and the decisions have at least five.
    assert!(examples.len() >= 6, "only {} examples", examples.len());
    let mut tests_run = 0;
    for (heading, source) in &examples {
        let dir = project(&[MANIFEST, ("src/main.emx", source)]);
        let check = cosmosc(&["check", "--deny-warnings"], dir.path());
        assert_eq!(
            code(&check),
            0,
            "the example under {heading:?} does not check:\n{}{}\n{source}",
            stdout(&check),
            stderr(&check)
        );
        let tests = source.matches("\ntest \"").count();
        assert!(tests > 0, "the example under {heading:?} has no test");
        let run = cosmosc(&["test"], dir.path());
        let out = stdout(&run);
        assert_eq!(
            code(&run),
            0,
            "the tests of the example under {heading:?} fail:\n{out}{}",
            stderr(&run)
        );
        assert!(
            out.ends_with(&format!("{tests} passed, 0 failed\n")),
            "under {heading:?}: {out}"
        );
        tests_run += tests;
    }
    assert!(tests_run >= 8, "only {tests_run} tests ran");
}

#[test]
fn the_reference_covers_when_rules_fire_and_version_1() {
    let text = reference();
    for heading in [
        "## 2. Lexical structure",
        "## 3. Types",
        "## 4. Modules and declarations",
        "## 5. Workflows",
        "### Forward chaining",
        "### When rules fire",
        "## 6. Statements and expressions",
        "## 7. The standard library",
        "## 8. Tests",
        "## 9. Diagnostics",
        "## Decisions",
        "## 10. Version 1",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(heading)),
            "no heading {heading:?}"
        );
    }
    let fire = text.split("### When rules fire").nth(1).unwrap();
    let fire = fire.split("\n## ").next().unwrap();
    for topic in ["refraction", "priority", "in flight", "now()", "STALLED"] {
        assert!(
            fire.contains(topic),
            "\"When rules fire\" says nothing of {topic}"
        );
    }
}

#[test]
fn the_reference_names_no_file_outside_the_repository() {
    let text = reference();
    for outside in [
        "LANGUAGE.md",
        "DESIGN.md",
        "/work/",
        "../",
        "](/",
        "http://",
        "https://",
    ] {
        assert!(
            !text.contains(outside),
            "docs/language.md mentions {outside:?}"
        );
    }
    // Every file it names in backquotes exists in the repository.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for quoted in text.split('`').skip(1).step_by(2) {
        let named = quoted.contains('/')
            && !quoted.contains(' ')
            && [".rs", ".md", ".emx"].iter().any(|e| quoted.ends_with(e))
            && !quoted.contains('…');
        let example = quoted.starts_with("src/") || quoted.starts_with("std/…");
        if named && !example {
            assert!(
                root.join(quoted).exists(),
                "docs/language.md names {quoted}, which does not exist"
            );
        }
    }
}
