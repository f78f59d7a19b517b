#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs the web console's browser tests in `cli/tests/console` (Node.js, playwright-core
//! driving headless Chromium) against the `cosmosc` built for this test. Screenshots of
//! each page go to `$CONSOLE_SCREENS` (default `cli/tests/console/screens/`). Skipped,
//! with a message, only when `node`, `npm` or Chromium (`$CHROMIUM`, else
//! `/usr/bin/chromium`) is not installed.

use std::path::PathBuf;
use std::process::Command;

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_console_in_a_real_browser() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !installed("node") || !installed("npm") || !PathBuf::from(&chromium).exists() {
        println!(
            "SKIPPED: `node`, `npm` and Chromium ({chromium}) are needed for the console's browser tests"
        );
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    if !dir.join("node_modules").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    let output = Command::new("node")
        .args(["--test", "console.test.mjs"])
        .current_dir(&dir)
        .env("COSMOSC", env!("CARGO_BIN_EXE_cosmosc"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the console's browser tests failed:\n{stdout}\n{stderr}"
    );
}
