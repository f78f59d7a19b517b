//! The standard library written in Emx (`std/media.emx`, `std/retry.emx`): the project
//! under `tests/std` imports both, checks without warnings and passes its Emx tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use support::{code, cosmosc, stderr, stdout};

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/std")
}

#[test]
fn the_std_project_checks_without_warnings() {
    let dir = project();
    let out = cosmosc(&["check", "--deny-warnings", "."], &dir);
    assert_eq!(
        code(&out),
        0,
        "stdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn the_std_project_passes_its_emx_tests() {
    let dir = project();
    let out = cosmosc(&["test", "."], &dir);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "stdout:\n{text}\nstderr:\n{}", stderr(&out));
    assert!(text.contains("0 failed"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(
        text.contains("PASS exponential backoff doubles up to its cap"),
        "{text}"
    );
    assert!(
        text.contains("PASS a source is encoded along its ladder"),
        "{text}"
    );
}
