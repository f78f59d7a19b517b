//! `cosmosc check` run as a real process: exit codes, streams, project discovery and
//! the output formats. Tests marked "needs the parser" below only get their full
//! strength once the analysis reports syntax errors.

// The helpers below fail the test they serve by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::{MANIFEST, code, cosmosc, project, stderr, stdout};

use serde_json::Value;

/// The corpus project `encode-title`: three modules, clean.
fn example() -> PathBuf {
    cosmos_test_support::encode_title()
}

/// Asserts the failure mode of exit 2: one `error:` line on stderr, nothing on stdout.
fn assert_usage_error(output: &Output) -> String {
    assert_eq!(code(output), 2, "stderr: {}", stderr(output));
    assert_eq!(stdout(output), "");
    let err = stderr(output);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn example_project_is_clean() {
    let output = cosmosc(&["check", example().to_str().unwrap()], Path::new("."));
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "checked 3 files: 0 errors, 0 warnings\n");
}

#[test]
fn own_example_project_is_clean_with_warnings_denied() {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encode");
    let output = cosmosc(&["check", "--deny-warnings"], &own);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("0 errors, 0 warnings"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_type_error_is_exit_1_with_its_code_and_place() {
    let dir = project(&[MANIFEST, ("src/main.emx", "def f(): Float {\n    1\n}\n")]);
    let output = cosmosc(&["check", "--format", "json"], dir.path());
    assert_eq!(code(&output), 1);
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let first = &json["diagnostics"][0];
    assert_eq!(first["code"], "E0201");
    assert_eq!(first["severity"], "error");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(2), Some(5))
    );
    assert_eq!(
        (first["end_line"].as_u64(), first["end_column"].as_u64()),
        (Some(2), Some(6))
    );
    assert_eq!(json["errors"], 1);
}

#[test]
fn example_project_as_json() {
    let output = cosmosc(&["check", "--format", "json"], &example());
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["diagnostics"], Value::Array(Vec::new()));
    assert_eq!(json["errors"], 0);
    assert_eq!(json["warnings"], 0);
}

#[test]
fn example_project_as_sarif() {
    let output = cosmosc(
        &["check", "--format", "sarif", "--color", "always"],
        &example(),
    );
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(stderr(&output), "");
    let sarif: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif"));
    let run = &sarif["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "cosmosc");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), cosmos_diagnostics::CODES.len());
    for rule in rules {
        for key in [
            "id",
            "name",
            "shortDescription",
            "defaultConfiguration",
            "helpUri",
        ] {
            assert!(rule.get(key).is_some(), "rule without {key}: {rule}");
        }
    }
    assert!(run["results"].as_array().unwrap().is_empty());
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        root.starts_with("file:///") && root.ends_with("/tests/corpus/encode-title/"),
        "{root}"
    );
}

#[test]
fn walks_up_from_a_subdirectory() {
    let dir = project(&[MANIFEST, ("src/main.emx", ""), ("src/media/types.emx", "")]);
    let sub = dir.path().join("src/media");
    // Default DIR, from the subdirectory.
    let output = cosmosc(&["check"], &sub);
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
    assert_eq!(stderr(&output), "checked 2 files: 0 errors, 0 warnings\n");
    // An explicit DIR below the root.
    let output = cosmosc(&["check", "src/media"], dir.path());
    assert_eq!(code(&output), 0, "stderr: {}", stderr(&output));
}

#[test]
fn no_project_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    if dir
        .path()
        .ancestors()
        .any(|a| a.join("cosmos.toml").is_file())
    {
        return; // A cosmos.toml above the temporary folder would be found.
    }
    let err = assert_usage_error(&cosmosc(&["check"], dir.path()));
    assert!(err.contains("no cosmos.toml found"), "{err}");
}

#[test]
fn missing_dir_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let err = assert_usage_error(&cosmosc(&["check", "nope"], dir.path()));
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn unknown_manifest_key_is_exit_2_naming_it() {
    let dir = project(&[
        (
            "cosmos.toml",
            "[project]\nname = \"demo\"\n\n[pools.a]\nmaxx = 3\n",
        ),
        ("src/main.emx", ""),
    ]);
    for format in ["human", "json", "sarif"] {
        let err = assert_usage_error(&cosmosc(&["check", "--format", format], dir.path()));
        assert!(err.contains("cosmos.toml:5:1:"), "{err}");
        assert!(err.contains("`maxx`"), "{err}");
    }
}

#[test]
fn bad_module_name_and_bad_utf8_are_exit_2_naming_the_file() {
    let dir = project(&[MANIFEST, ("src/my-lib/x.emx", "")]);
    let err = assert_usage_error(&cosmosc(&["check"], dir.path()));
    assert!(err.contains("x.emx") && err.contains("`my-lib`"), "{err}");

    let dir = project(&[MANIFEST]);
    fs::create_dir_all(dir.path().join("src")).unwrap();
    fs::write(dir.path().join("src/latin1.emx"), b"caf\xe9").unwrap();
    let err = assert_usage_error(&cosmosc(&["check"], dir.path()));
    assert!(err.contains("latin1.emx") && err.contains("UTF-8"), "{err}");
}

#[test]
fn usage_errors_are_exit_2_and_help_and_version_are_exit_0() {
    let here = Path::new(".");
    assert_eq!(code(&cosmosc(&["check", "--format", "xml"], here)), 2);
    assert_eq!(code(&cosmosc(&[], here)), 2);
    assert_eq!(code(&cosmosc(&["frobnicate"], here)), 2);

    let help = cosmosc(&["check", "--help"], here);
    assert_eq!(code(&help), 0);
    let help = stdout(&help);
    for needle in [
        "--format",
        "--deny-warnings",
        "--color",
        "Exit status",
        "stderr",
        "stdout",
    ] {
        assert!(help.contains(needle), "help lacks {needle}: {help}");
    }
    let version = cosmosc(&["--version"], here);
    assert_eq!(code(&version), 0);
    assert_eq!(
        stdout(&version),
        format!("cosmosc {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Fixes as data: `--format json` lists each suggestion with its edits, the human
/// output shows it as `help:` with the line before and after.
#[test]
fn suggestions_in_json_and_human_output() {
    let text = "def f(wide: Int): Int {\n    def unused = 1\n    wid\n}\n";
    let dir = project(&[MANIFEST, ("src/main.emx", text)]);
    let output = cosmosc(&["check", "--format", "json"], dir.path());
    assert_eq!(code(&output), 1, "stderr: {}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let diagnostics = json["diagnostics"].as_array().unwrap();
    let unknown = diagnostics.iter().find(|d| d["code"] == "E0103").unwrap();
    let suggestion = &unknown["suggestions"][0];
    assert_eq!(suggestion["message"], "did you mean `wide`?");
    let edit = &suggestion["edits"][0];
    assert_eq!(edit["file"], "src/main.emx");
    assert_eq!(
        (
            &edit["line"],
            &edit["column"],
            &edit["end_line"],
            &edit["end_column"]
        ),
        (&3.into(), &5.into(), &3.into(), &8.into())
    );
    assert_eq!(edit["replacement"], "wide");
    let unused = diagnostics.iter().find(|d| d["code"] == "W0004").unwrap();
    let removal = &unused["suggestions"][1]["edits"][0];
    assert_eq!(
        (
            &removal["line"],
            &removal["column"],
            &removal["end_line"],
            &removal["end_column"]
        ),
        (&2.into(), &1.into(), &3.into(), &1.into())
    );
    assert_eq!(removal["replacement"], "");

    let human = cosmosc(&["check", "--color", "never"], dir.path());
    let err = stderr(&human);
    assert!(
        err.contains("= help: did you mean `wide`?\n    3 -     wid\n    3 +     wide\n"),
        "{err}"
    );
    assert!(
        err.contains("= help: remove `unused`\n    2 -     def unused = 1\n"),
        "{err}"
    );
}

/// A file that does not parse: exit 1, and E0001 in the JSON with 1-based positions.
#[test]
fn syntax_errors_exit_1_with_json_diagnostics() {
    let text = "workflow {{{ ]] )( @@@ \"unterminated\n";
    let dir = project(&[MANIFEST, ("src/broken.emx", text)]);
    let output = cosmosc(&["check", "--format", "json"], dir.path());
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let diagnostics = json["diagnostics"].as_array().unwrap();
    assert!(!diagnostics.is_empty(), "a syntax error must be reported");
    assert_eq!(code(&output), 1, "stderr: {}", stderr(&output));
    assert!(json["errors"].as_u64().unwrap() >= 1);
    assert!(diagnostics.iter().any(|d| d["code"] == "E0001"), "{json}");
    for diagnostic in diagnostics {
        assert_eq!(diagnostic["file"], "src/broken.emx");
        for key in ["line", "column", "end_line", "end_column"] {
            assert!(
                diagnostic[key].as_u64().unwrap() >= 1,
                "{key}: {diagnostic}"
            );
        }
        for key in [
            "code",
            "name",
            "severity",
            "message",
            "labels",
            "notes",
            "suggestions",
        ] {
            assert!(diagnostic.get(key).is_some(), "no {key}: {diagnostic}");
        }
    }

    // The same project in the other formats (needs the parser too).
    let human = cosmosc(&["check", "--color", "never"], dir.path());
    assert_eq!(code(&human), 1);
    assert_eq!(stdout(&human), "");
    let err = stderr(&human);
    assert!(
        err.contains("error[E0001]") && err.contains("src/broken.emx:"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err}");
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("checked 1 file: ")
    );

    let sarif = cosmosc(&["check", "--format", "sarif"], dir.path());
    assert_eq!(code(&sarif), 1);
    let sarif: Value = serde_json::from_str(&stdout(&sarif)).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "src/broken.emx");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
}

#[test]
fn a_pool_missing_from_cosmos_toml_is_a_warning() {
    let manifest = (
        "cosmos.toml",
        "[project]\nname = \"demo\"\n\n[pools.encoders]\nmax = 2\n",
    );
    let source =
        "function encode(url: String): String {\n    command \"encode\"\n    pool \"encoder\"\n}\n";
    let dir = project(&[manifest, ("src/main.emx", source)]);
    let output = cosmosc(&["check", "--format", "json"], dir.path());
    assert_eq!(code(&output), 0, "a warning alone does not fail the check");
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["diagnostics"][0]["code"], "W0006");
    assert_eq!(json["diagnostics"][0]["line"], 3);
    let denied = cosmosc(&["check", "--deny-warnings"], dir.path());
    assert_eq!(code(&denied), 1);
    let fixed = project(&[
        manifest,
        ("src/main.emx", &source.replace("encoder\"", "encoders\"")),
    ]);
    assert_eq!(
        code(&cosmosc(&["check", "--deny-warnings"], fixed.path())),
        0
    );
}

/// `cosmosc check` with extra environment variables.
fn check_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .arg("check")
        .args(args)
        .current_dir(cwd)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_WORKSPACE")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// A repository with the project in `services/encode`, holding one error and one warning.
fn monorepo_with_problems() -> tempfile::TempDir {
    project(&[
        (
            "services/encode/cosmos.toml",
            "[project]\nname = \"encode\"\n",
        ),
        (
            "services/encode/src/main.emx",
            "def f(): Int {\n    def unused = 1\n    \"text\"\n}\n",
        ),
    ])
}

#[test]
fn github_format_annotates_files_from_the_repository_root() {
    let repo = monorepo_with_problems();
    let workspace = repo.path().to_str().unwrap();
    let output = check_with_env(
        &["--format", "github", "services/encode"],
        repo.path(),
        &[("GITHUB_WORKSPACE", workspace)],
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::error file=services/encode/src/main.emx,line=3,col=5,endLine=3,endColumn=11,title=E0201 type-mismatch::"
        )),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::warning file=services/encode/src/main.emx,line=2,col=9,")),
        "{out}"
    );
    assert_eq!(stderr(&output), "");
}

#[test]
fn github_actions_get_annotations_by_default_and_an_explicit_format_wins() {
    let repo = monorepo_with_problems();
    let workspace = repo.path().to_str().unwrap();
    let env = [("GITHUB_ACTIONS", "true"), ("GITHUB_WORKSPACE", workspace)];
    let output = check_with_env(&["services/encode"], repo.path(), &env);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).starts_with("::"), "{}", stdout(&output));

    let output = check_with_env(&["--format", "json", "services/encode"], repo.path(), &env);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["errors"], 1);

    let output = check_with_env(&["services/encode"], repo.path(), &[]);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("error[E0201]"),
        "{}",
        stderr(&output)
    );
}

/// A file that starts with a `/*` no `*/` closes used to check clean (the comment
/// hid everything) and then `run` said there was no such workflow. Now `check` and
/// `run` both stop at the comment, with E0001 at the `/*` and where to close it.
#[test]
fn an_unclosed_comment_is_a_syntax_error_at_its_start() {
    let text = "/* Echoes its input.\nworkflow Echo {\n    input {\n        x: Int\n    }\n\n    output { x }\n}\n";
    let dir = project(&[MANIFEST, ("src/main.emx", text)]);
    let output = cosmosc(&["check", "--color", "never"], dir.path());
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.starts_with(
            "error[E0001]: this comment is never closed: without a `*/` it runs to the end of the file\n  ┌─ src/main.emx:1:1\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("put `*/` on the line before it")
            && err.contains("line 2 (`workflow Echo {`)"),
        "{err}"
    );
    assert!(
        err.ends_with("checked 1 file: 1 error, 0 warnings\n"),
        "{err}"
    );

    let run = cosmosc(&["run", "Echo", "--input", "{\"x\": 1}"], dir.path());
    assert_ne!(code(&run), 0);
    let err = stderr(&run);
    assert!(err.contains("E0001"), "{err}");
    assert!(!err.contains("no workflow"), "{err}");
}

/// A file that starts with a byte-order mark checks like one without it: the mark
/// is no column, in the JSON and in the human output alike.
#[test]
fn a_byte_order_mark_is_accepted_and_is_no_column() {
    let dir = project(&[MANIFEST, ("src/main.emx", "\u{feff}def f(): Int { x }\n")]);
    let output = cosmosc(&["check", "--format", "json"], dir.path());
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let diagnostics = json["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{json}");
    assert_eq!(diagnostics[0]["code"], "E0103");
    assert_eq!(
        (&diagnostics[0]["line"], &diagnostics[0]["column"]),
        (&Value::from(1), &Value::from(16))
    );
    let human = cosmosc(&["check", "--color", "never"], dir.path());
    assert!(
        stderr(&human).contains("┌─ src/main.emx:1:16\n"),
        "{}",
        stderr(&human)
    );

    let clean = project(&[MANIFEST, ("src/main.emx", "\u{feff}def f(): Int { 1 }\n")]);
    let output = cosmosc(&["check"], clean.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
}
