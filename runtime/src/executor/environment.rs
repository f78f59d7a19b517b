//! The environment a function's process starts with: never the node's own.
//!
//! A node's environment holds what functions must not see (`COSMOS_TOKEN`, the store's
//! URL with its password). A process gets `PATH`, `HOME`, `LANG` and `TMPDIR` from the node,
//! the `COSMOS_*` variables the executor sets for it, and the variables its
//! declaration names (`env ["AWS_PROFILE"]`): each read from the node's environment,
//! or, when the node has none of that name, from the file of that name in the folder
//! `COSMOS_SECRETS_DIR` names (a trailing newline removed), the way container
//! platforms mount secrets. A named variable found in neither is left unset.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tokio::process::Command;

/// What every process gets from the node, when the node has it: where programs are,
/// the home folder, the locale, and where to put scratch files (a node given its own
/// `TMPDIR` means its processes' files to go there too).
const PASSED: &[&str] = &["PATH", "HOME", "LANG", "TMPDIR"];

/// The node's variable naming a folder of secret files.
pub const SECRETS_DIR_VAR: &str = "COSMOS_SECRETS_DIR";

/// The largest secret file read; a bigger one is not a variable's value.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Clears `command`'s environment and sets what a process of a function naming
/// `names` gets. The caller adds its own `COSMOS_*` variables afterwards.
pub(crate) fn prepare(command: &mut Command, names: &[String]) {
    command.env_clear();
    for name in PASSED {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    let secrets = std::env::var_os(SECRETS_DIR_VAR).map(PathBuf::from);
    // The checker refuses `COSMOS_*` names; a bundle made elsewhere cannot ask for the
    // node's token either.
    for name in names.iter().filter(|n| !n.starts_with("COSMOS_")) {
        if let Some(value) = lookup(name, secrets.as_deref()) {
            command.env(name, value);
        }
    }
}

fn lookup(name: &str, secrets: Option<&Path>) -> Option<OsString> {
    if let Some(value) = std::env::var_os(name) {
        return Some(value);
    }
    // The checker accepts only `[A-Za-z_][A-Za-z0-9_]*`; a bundle made elsewhere is
    // checked again here so that a name can never walk out of the folder.
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let path = secrets?.join(name);
    let file = std::fs::File::open(&path).ok()?;
    if file.metadata().ok()?.len() > MAX_SECRET_BYTES {
        tracing::warn!(path = %path.display(), "secret file larger than 64 KiB ignored");
        return None;
    }
    let mut text = std::fs::read(&path).ok()?;
    if text.last() == Some(&b'\n') {
        text.pop();
        if text.last() == Some(&b'\r') {
            text.pop();
        }
    }
    Some(std::os::unix::ffi::OsStringExt::from_vec(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_file_is_read_without_its_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("COSMOS_ENV_TEST_SECRET_A"), "s3cret\n").unwrap();
        assert_eq!(
            lookup("COSMOS_ENV_TEST_SECRET_A", Some(dir.path())),
            Some(OsString::from("s3cret"))
        );
    }

    #[test]
    fn names_that_could_leave_the_folder_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), "no").unwrap();
        let inner = dir.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        assert_eq!(lookup("../x", Some(&inner)), None);
        assert_eq!(lookup("", Some(&inner)), None);
    }

    #[test]
    fn a_missing_variable_is_left_unset() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(lookup("COSMOS_ENV_TEST_NOWHERE", Some(dir.path())), None);
        assert_eq!(lookup("COSMOS_ENV_TEST_NOWHERE", None), None);
    }
}
