#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs the end-to-end language server tests in `lsp/tests/client` (Node.js, with the
//! `vscode-languageserver-protocol` client) against the `cosmosc` built for this test.
//! Skipped, with a message, only when `node` or `npm` is not installed.

use std::path::PathBuf;
use std::process::Command;

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn language_server_with_a_real_client() {
    if !installed("node") || !installed("npm") {
        println!("SKIPPED: `node` and `npm` are needed for the language server's client tests");
        return;
    }
    let client = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lsp/tests/client");
    if !client.join("node_modules").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&client)
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm ci failed in {}", client.display());
    }
    let output = Command::new("node")
        .args(["--test", "lsp.test.mjs"])
        .current_dir(&client)
        .env("COSMOSC", env!("CARGO_BIN_EXE_cosmosc"))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "language server client tests failed:\n{stdout}\n{stderr}"
    );
}
