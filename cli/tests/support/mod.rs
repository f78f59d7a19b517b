//! Helpers the CLI tests share: running the real `cosmosc`, reading its output, and
//! making temporary projects.

#![allow(dead_code, clippy::unwrap_used)]

pub mod postgres;
pub mod server;
pub mod worker;
pub mod workflows;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

/// A minimal `cosmos.toml`.
pub const MANIFEST: (&str, &str) = ("cosmos.toml", "[project]\nname = \"demo\"\n");

/// Runs `cosmosc` with `args` in `cwd`, with colour decided as on a user's machine.
pub fn cosmosc(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// A temporary project with the given files (paths relative to its root).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}
