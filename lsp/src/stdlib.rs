//! The standard library's sources on disk, so that go to definition into `std` opens a
//! real file. The sources are compiled into the binary; they are written, read-only,
//! to `cosmos/std/<version>/` under the first cache folder that can be written:
//! `$XDG_CACHE_HOME`, then `$HOME/.cache`, then the system's temporary folder.

use cosmos_diagnostics::FileId;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::Uri;

/// One module of `std`, as written to disk.
#[derive(Debug, Clone)]
pub struct StdFile {
    pub file: FileId,
    pub url: Uri,
    pub text: &'static str,
}

/// Why the sources could not be written anywhere.
#[derive(Debug)]
pub struct StdError {
    pub dir: PathBuf,
    pub error: io::Error,
}

impl std::fmt::Display for StdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot write the standard library to {}: {}",
            self.dir.display(),
            self.error
        )
    }
}

/// The cache folders to try, in order.
fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(dir) = absolute("XDG_CACHE_HOME") {
        out.push(dir);
    }
    if let Some(home) = absolute("HOME") {
        out.push(home.join(".cache"));
    }
    out.push(std::env::temp_dir());
    out
}

/// Writes every module of `std` under the first cache folder that can be written and
/// returns where each is.
pub fn materialize() -> Result<Vec<StdFile>, StdError> {
    let version = env!("CARGO_PKG_VERSION");
    let mut last = None;
    for base in candidates() {
        let dir = base.join("cosmos").join("std").join(version);
        match write_all(&dir) {
            Ok(files) => return Ok(files),
            Err(error) => last = Some(StdError { dir, error }),
        }
    }
    Err(last.unwrap_or_else(|| StdError {
        dir: PathBuf::new(),
        error: io::Error::other("no cache folder"),
    }))
}

fn write_all(dir: &Path) -> io::Result<Vec<StdFile>> {
    fs::create_dir_all(dir)?;
    let dir = fs::canonicalize(dir)?;
    let mut out = Vec::new();
    for source in cosmos_semantics::std_sources() {
        let name = source.path.strip_prefix("std/").unwrap_or(source.path);
        let path = dir.join(name);
        write_read_only(&path, source.text)?;
        let url = Uri::from_file_path(&path)
            .ok_or_else(|| io::Error::other(format!("{} is not a URL", path.display())))?;
        out.push(StdFile {
            file: source.file,
            url,
            text: source.text,
        });
    }
    Ok(out)
}

/// Writes `text` to `path` unless it already holds it, then makes it read-only. The
/// text goes to a temporary file first and is renamed into place, so that two servers
/// starting at once never see half a file.
fn write_read_only(path: &Path, text: &str) -> io::Result<()> {
    if fs::read_to_string(path).is_ok_and(|existing| existing == text) {
        return Ok(());
    }
    let temporary = path.with_extension(format!("emx.{}", std::process::id()));
    fs::write(&temporary, text)?;
    let mut permissions = fs::metadata(&temporary)?.permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&temporary, permissions)?;
    // A read-only file of an older build is replaced: renaming over it needs only the
    // folder to be writable (on Windows, the target must be writable first).
    if let Ok(metadata) = fs::metadata(path) {
        let mut permissions = metadata.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        let _ = fs::set_permissions(path, permissions);
    }
    fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn writes_read_only_copies_once() {
        let dir = std::env::temp_dir().join(format!("cosmos-std-test-{}", std::process::id()));
        let files = write_all(&dir).unwrap();
        assert_eq!(files.len(), cosmos_semantics::std_sources().len());
        let core = files[0].url.to_file_path().unwrap();
        assert!(core.ends_with("core.emx"));
        assert_eq!(fs::read_to_string(&core).unwrap(), files[0].text);
        assert!(fs::metadata(&core).unwrap().permissions().readonly());
        // Again: nothing to do, and no error on the read-only files.
        write_all(&dir).unwrap();
        for file in &files {
            let path = file.url.to_file_path().unwrap();
            let mut permissions = fs::metadata(&path).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            fs::set_permissions(&path, permissions).unwrap();
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
