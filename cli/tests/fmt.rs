//! `cosmosc fmt` run as a real process on temporary projects: formatting in place,
//! `--check` and its exit codes, files with syntax errors, and folder arguments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::fs;
use support::{MANIFEST, code, cosmosc, project, stderr, stdout};

fn read(dir: &tempfile::TempDir, path: &str) -> String {
    fs::read_to_string(dir.path().join(path)).unwrap()
}

const UGLY: &str = "def f(x:Int):Int{x*2}\n";
const PRETTY: &str = "def f(x: Int): Int {\n    x * 2\n}\n";
const BROKEN: &str = "def f(: Int {\n";

#[test]
fn formats_the_project_in_place_when_given_no_path() {
    let dir = project(&[
        MANIFEST,
        ("src/main.emx", UGLY),
        ("src/media/types.emx", PRETTY),
    ]);
    let output = cosmosc(&["fmt"], &dir.path().join("src/media"));
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(read(&dir, "src/main.emx"), PRETTY);
    assert_eq!(read(&dir, "src/media/types.emx"), PRETTY);
}

#[test]
fn check_lists_the_files_that_would_change_and_changes_nothing() {
    let dir = project(&[
        MANIFEST,
        ("src/a.emx", UGLY),
        ("src/b.emx", PRETTY),
        ("src/c.emx", UGLY),
    ]);
    let output = cosmosc(&["fmt", "--check"], dir.path());
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(stdout(&output), "src/a.emx\nsrc/c.emx\n");
    assert_eq!(read(&dir, "src/a.emx"), UGLY);
}

#[test]
fn check_is_clean_on_formatted_files() {
    let dir = project(&[MANIFEST, ("src/a.emx", PRETTY)]);
    let output = cosmosc(&["fmt", "--check"], dir.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(stderr(&output), "");
}

#[test]
fn a_file_with_a_syntax_error_is_left_untouched_and_exits_1() {
    let dir = project(&[MANIFEST, ("src/bad.emx", BROKEN), ("src/good.emx", UGLY)]);
    let output = cosmosc(&["fmt"], dir.path());
    assert_eq!(code(&output), 1);
    let err = stderr(&output);
    assert!(err.starts_with("error: src/bad.emx:1:7: "), "{err}");
    assert_eq!(read(&dir, "src/bad.emx"), BROKEN);
    // The other files are still formatted.
    assert_eq!(read(&dir, "src/good.emx"), PRETTY);
}

#[test]
fn folder_and_file_arguments() {
    let dir = project(&[
        ("one/a.emx", UGLY),
        ("one/deep/b.emx", UGLY),
        ("one/notes.txt", UGLY),
        ("two.emx", UGLY),
        ("three.emx", UGLY),
    ]);
    let output = cosmosc(&["fmt", "--check", "one", "two.emx"], dir.path());
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "one/a.emx\none/deep/b.emx\ntwo.emx\n");
    let output = cosmosc(&["fmt", "one", "two.emx"], dir.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(read(&dir, "one/a.emx"), PRETTY);
    assert_eq!(read(&dir, "one/deep/b.emx"), PRETTY);
    assert_eq!(read(&dir, "two.emx"), PRETTY);
    assert_eq!(read(&dir, "three.emx"), UGLY);
    assert_eq!(read(&dir, "one/notes.txt"), UGLY);
}

#[test]
fn a_missing_path_is_exit_2() {
    let dir = project(&[]);
    let output = cosmosc(&["fmt", "nowhere.emx"], dir.path());
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).starts_with("error: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = project(&[]);
    let output = cosmosc(&["fmt", "--help"], dir.path());
    assert_eq!(code(&output), 0);
    let help = stdout(&output);
    assert!(help.contains("--check"), "{help}");
    assert!(help.contains("syntax errors"), "{help}");
    assert!(help.contains("Exit status"), "{help}");
}

/// Runs `cosmosc fmt ARGS` with `input` on standard input.
fn fmt_stdin(args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .arg("fmt")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_dash_formats_standard_input_to_standard_output() {
    let output = fmt_stdin(&["-"], UGLY);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), PRETTY);

    let output = fmt_stdin(&["-"], PRETTY);
    assert_eq!(code(&output), 0);
    assert_eq!(stdout(&output), PRETTY);
}

#[test]
fn a_dash_with_check_prints_nothing_and_says_by_its_status() {
    let output = fmt_stdin(&["--check", "-"], UGLY);
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    let output = fmt_stdin(&["--check", "-"], PRETTY);
    assert_eq!(code(&output), 0);
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_dash_with_syntax_errors_prints_nothing_on_stdout_and_exits_1() {
    let output = fmt_stdin(&["-"], BROKEN);
    assert_eq!(code(&output), 1);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with("error: <stdin>:1:"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_dash_cannot_be_mixed_with_paths() {
    let dir = project(&[MANIFEST, ("src/a.emx", PRETTY)]);
    let output = cosmosc(&["fmt", "-", "src/a.emx"], dir.path());
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("standard input"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_with_diff_prints_a_unified_diff_and_changes_nothing() {
    let dir = project(&[MANIFEST, ("src/a.emx", UGLY), ("src/b.emx", PRETTY)]);
    let output = cosmosc(&["fmt", "--check", "--diff"], dir.path());
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "--- src/a.emx\n+++ src/a.emx (formatted)\n@@ -1 +1,3 @@\n\
         -def f(x:Int):Int{x*2}\n+def f(x: Int): Int {\n+    x * 2\n+}\n"
    );
    assert_eq!(read(&dir, "src/a.emx"), UGLY);

    let output = fmt_stdin(&["--check", "--diff", "-"], UGLY);
    assert_eq!(code(&output), 1);
    assert!(stdout(&output).starts_with("--- <stdin>\n+++ <stdin> (formatted)\n"));
}

#[test]
fn diff_needs_check() {
    let dir = project(&[MANIFEST, ("src/a.emx", UGLY)]);
    let output = cosmosc(&["fmt", "--diff"], dir.path());
    assert_eq!(code(&output), 2);
    assert_eq!(read(&dir, "src/a.emx"), UGLY);
}

/// The edges of a file: a comment at the very end without a final newline, comments
/// glued to imports, a byte-order mark (kept), and a comment in an empty block.
/// `fmt` formats each, a second `fmt --check` finds nothing to change, and `check`
/// accepts the formatted project, the file with the byte-order mark included.
#[test]
fn comments_at_a_files_edges_and_a_byte_order_mark_format_once() {
    let main = "\u{feff}import lib// the helpers \nimport lib.kinds { Kind }// one type\n\nworkflow W {\n  input { x: Int, kind: Kind }\n  output { lib.double(x) }\n}\n// end";
    let lib = "def double(x: Int): Int { x * 2 }\n/* last */";
    let kinds = "enum Kind { // none yet\n  A\n}\ntype Empty { // nothing\n}";
    let dir = project(&[
        MANIFEST,
        ("src/main.emx", main),
        ("src/lib.emx", lib),
        ("src/lib/kinds.emx", kinds),
    ]);
    let output = cosmosc(&["fmt"], dir.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    assert_eq!(
        read(&dir, "src/main.emx"),
        "\u{feff}import lib // the helpers\nimport lib.kinds { Kind } // one type\n\nworkflow W {\n    input {\n        x: Int\n        kind: Kind\n    }\n\n    output { lib.double(x) }\n}\n// end\n"
    );
    assert_eq!(
        read(&dir, "src/lib.emx"),
        "def double(x: Int): Int {\n    x * 2\n}\n/* last */\n"
    );
    assert_eq!(
        read(&dir, "src/lib/kinds.emx"),
        "enum Kind { // none yet\n    A\n}\n\ntype Empty { // nothing\n}\n"
    );

    let again = cosmosc(&["fmt", "--check"], dir.path());
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
    assert_eq!(stdout(&again), "");

    let check = cosmosc(&["check", "--color", "never"], dir.path());
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    assert_eq!(stderr(&check), "checked 3 files: 0 errors, 0 warnings\n");
}
