//! `cosmosc init` and `cosmosc completions` run as real processes: the new project
//! checks clean with warnings denied, is formatted, passes its tests and runs to the
//! end with its real function; `init` never overwrites.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use support::{code, cosmosc, stderr, stdout};

#[test]
fn a_new_project_checks_formats_tests_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let output = cosmosc(&["init", "hello world"], dir.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cosmosc run Hello"),
        "{}",
        stderr(&output)
    );
    let project = dir.path().join("hello world");
    for file in [
        "cosmos.toml",
        "src/main.emx",
        "src/tests.emx",
        "functions/greet.sh",
        ".gitignore",
        ".github/workflows/cosmos.yml",
    ] {
        assert!(project.join(file).is_file(), "{file} missing");
    }
    let manifest = fs::read_to_string(project.join("cosmos.toml")).unwrap();
    assert!(manifest.contains("name = \"hello-world\""), "{manifest}");
    let ci = fs::read_to_string(project.join(".github/workflows/cosmos.yml")).unwrap();
    for step in [
        "cosmosc check --format sarif",
        "cosmosc fmt --check",
        "cosmosc test --format junit",
    ] {
        assert!(ci.contains(step), "the CI example lacks `{step}`");
    }

    let output = cosmosc(&["check", "--deny-warnings"], &project);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let output = cosmosc(&["fmt", "--check"], &project);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let output = cosmosc(&["test"], &project);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    assert!(
        stdout(&output).contains("2 passed, 0 failed"),
        "{}",
        stdout(&output)
    );

    let output = cosmosc(
        &["run", "Hello", "--input", r#"{"name": "Ada"}"#, "--json"],
        &project,
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let result: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(result["status"], "COMPLETED");
    assert_eq!(result["output"]["greeting"], "Hello, Ada!");
}

#[test]
fn init_in_the_current_folder_and_never_over_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".gitignore"), "mine\n").unwrap();
    let output = cosmosc(&["init"], dir.path());
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("`.gitignore`"),
        "{}",
        stderr(&output)
    );
    assert!(
        !dir.path().join("cosmos.toml").exists(),
        "nothing may be written"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "mine\n"
    );

    fs::remove_file(dir.path().join(".gitignore")).unwrap();
    let output = cosmosc(&["init"], dir.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let output = cosmosc(&["check"], dir.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let output = cosmosc(&["init"], dir.path());
    assert_eq!(code(&output), 2, "a second init must refuse");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_cosmosc()"),
        ("zsh", "#compdef cosmosc"),
        ("fish", "complete -c cosmosc"),
        ("powershell", "cosmosc"),
        ("elvish", "cosmosc"),
    ] {
        let output = cosmosc(&["completions", shell], dir.path());
        assert_eq!(code(&output), 0, "{shell}: {}", stderr(&output));
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("init"), "{shell} completes subcommands");
    }
    let output = cosmosc(&["completions", "tcsh"], dir.path());
    assert_eq!(code(&output), 2);
}
