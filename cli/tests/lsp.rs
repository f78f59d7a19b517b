#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs the end-to-end language server tests in `lsp/tests/client` (Node.js, with the
//! `vscode-languageserver-protocol` client), and the VS Code extension's launch of the
//! server in `editors/vscode/test/server` (with `vscode-languageclient`), against the
//! `cosmosc` built for this test. Skipped, with a message, only when `node` or `npm` is
//! not installed.

use std::path::PathBuf;
use std::process::Command;

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs the locked packages of the Node project in `dir` unless they are there.
fn npm_ci(dir: &std::path::Path) {
    if !dir.join("node_modules").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
}

/// Runs `node --test` on `tests` in `dir` with `COSMOSC` set.
fn node_test(dir: &std::path::Path, tests: &[&str]) {
    let output = Command::new("node")
        .arg("--test")
        .args(tests)
        .current_dir(dir)
        .env("COSMOSC", env!("CARGO_BIN_EXE_cosmosc"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "node tests failed in {}:\n{stdout}\n{stderr}",
        dir.display()
    );
}

#[test]
fn language_server_with_a_real_client() {
    if !installed("node") || !installed("npm") {
        println!("SKIPPED: `node` and `npm` are needed for the language server's client tests");
        return;
    }
    let client = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lsp/tests/client");
    npm_ci(&client);
    node_test(&client, &["lsp.test.mjs", "workspace.test.mjs"]);
}

#[test]
fn the_vscode_extension_launches_the_server() {
    if !installed("node") || !installed("npm") {
        println!("SKIPPED: `node` and `npm` are needed for the extension's launch test");
        return;
    }
    let extension = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode");
    npm_ci(&extension);
    let status = Command::new("npm")
        .args(["run", "compile"])
        .current_dir(&extension)
        .status()
        .expect("npm runs");
    assert!(status.success(), "the extension does not compile");
    node_test(&extension, &["test/server/launch.test.js"]);
}
