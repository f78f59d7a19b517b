//! What the workspace's tests and benchmarks share: where the repository and its test
//! corpus are, one walker for `.emx` files, and a generator of large projects.
//!
//! Everything a test reads lies inside the repository. A folder that is missing, or
//! holds no `.emx` file, fails the test that asked for it with the path and the
//! cause: a test never runs silently on a smaller corpus.
//!
//! This crate has no dependencies, so that any crate of the workspace, compiler crates
//! included, can take it as a dev-dependency without a cycle.

// Test support: failing loudly, with the path and the cause, is its job.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod generate;

use std::path::{Path, PathBuf};

/// The root of the repository (the folder of the workspace's `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .unwrap_or_else(|e| panic!("{}: cannot find the repository: {e}", root.display()))
}

/// `relative` (a path inside the repository, such as `tests/ui`), which must exist.
pub fn repo_path(relative: &str) -> PathBuf {
    let path = repo_root().join(relative);
    if let Err(e) = std::fs::metadata(&path) {
        panic!("{}: missing from the repository: {e}", path.display());
    }
    path
}

/// The folder `tests/corpus/<name>`, which must exist.
pub fn corpus(name: &str) -> PathBuf {
    repo_path(&format!("tests/corpus/{name}"))
}

/// The `encode-title` project of the corpus: the language contract's example project
/// (a workflow with three rules and a signal, three `test` blocks, two functions in
/// Python), which every build checks, tests, lowers and formats.
pub fn encode_title() -> PathBuf {
    corpus("encode-title")
}

/// Every `.emx` file under `dir`, recursively, sorted by path. Panics, naming the
/// folder and the cause, when `dir` cannot be read or holds no `.emx` file at all.
pub fn emx_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: cannot read the folder: {e}", dir.display()));
        let mut paths: Vec<PathBuf> = entries
            .map(|entry| {
                entry
                    .unwrap_or_else(|e| panic!("{}: cannot read the folder: {e}", dir.display()))
                    .path()
            })
            .collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "emx") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    assert!(
        !out.is_empty(),
        "{}: holds no .emx file (a missing corpus fails the test)",
        dir.display()
    );
    out
}

/// The `.emx` files under each of `relative` (paths inside the repository), in that
/// order; each folder must hold at least one.
pub fn repo_emx_files(relative: &[&str]) -> Vec<PathBuf> {
    relative
        .iter()
        .flat_map(|dir| emx_files(&repo_path(dir)))
        .collect()
}

/// The text of `path`; panics with the path and the cause.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()))
}

/// The modules of the project at `root` as `(module, text)`, sorted by path: every
/// `.emx` file under `root/src`, named by its path there (`media/types.emx` is
/// `media.types`), as `cosmos.toml`'s default `source = "src"` names them.
pub fn project_modules(root: &Path) -> Vec<(String, String)> {
    let src = root.join("src");
    emx_files(&src)
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(&src)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .with_extension("");
            let module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(".");
            (module, read(&path))
        })
        .collect()
}

/// The modules `names` (such as `media.types`) of the project at `root`, read from
/// `root/src`, in the order given.
pub fn modules(root: &Path, names: &[&str]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|name| {
            let path = root
                .join("src")
                .join(format!("{}.emx", name.replace('.', "/")));
            (name.to_string(), read(&path))
        })
        .collect()
}
