//! Store URLs: what `--store`, `[runtime] store` and `COSMOS_STORE` accept.
//!
//! - a path, or `sqlite:PATH` / `sqlite://PATH`: a SQLite file (created with its
//!   folder when missing); a relative path is relative to the project's root;
//! - `postgres://…` / `postgresql://…`: a PostgreSQL database.

use crate::store::{SqliteStore, Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot create {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open store {url}: {source}")]
    Open { url: String, source: StoreError },
    #[error("store {0}: PostgreSQL is not supported by this build yet; use a SQLite file")]
    Unsupported(String),
}

/// Where a project's store lives when nothing says otherwise.
pub fn default_store(root: &Path) -> PathBuf {
    root.join(".cosmos").join("cosmos.db")
}

/// What kind of store a URL opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// A SQLite file: one runtime process at a time, so a starting runtime may take
    /// back every lease left in it (`Store::release_all_leases`).
    Sqlite,
    /// PostgreSQL: shared by several runtime processes; leases only expire.
    Postgres,
}

/// The kind of store `url` names.
pub fn store_kind(url: &str) -> StoreKind {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        StoreKind::Postgres
    } else {
        StoreKind::Sqlite
    }
}

/// Opens the store `url` names, relative paths taken from `root`.
pub fn open_store(url: &str, root: &Path) -> Result<Arc<dyn Store>, ConnectError> {
    if store_kind(url) == StoreKind::Postgres {
        return Err(ConnectError::Unsupported(url.to_string()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = root.join(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| ConnectError::Folder {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let store = SqliteStore::open(&path).map_err(|source| ConnectError::Open {
        url: path.display().to_string(),
        source,
    })?;
    Ok(Arc::new(store))
}
