//! Store URLs: what `--store`, `[runtime] store` and `COSMOS_STORE` accept.
//!
//! - a path, or `sqlite:PATH` / `sqlite://PATH`: a SQLite file (created with its
//!   folder when missing); a relative path is relative to the project's root;
//! - `postgres://…` / `postgresql://…`: a PostgreSQL database, shared by any number
//!   of runtime processes (`postgres://user:password@host:5432/db`; libpq's URL
//!   parameters such as `connect_timeout`, `application_name` or
//!   `options=-c%20search_path%3DNAME` are understood; TLS is not).

use crate::store::{PostgresStore, SqliteStore, Store, StoreError};
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
    #[error("store {0}: not supported by this build")]
    Unsupported(String),
}

/// `url` with its password, if any, replaced by `***` (for messages and logs).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
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
        let store = PostgresStore::open(url).map_err(|source| ConnectError::Open {
            url: redact(url),
            source,
        })?;
        return Ok(Arc::new(store));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_redaction() {
        assert_eq!(store_kind("postgres://h/db"), StoreKind::Postgres);
        assert_eq!(store_kind("postgresql://h/db"), StoreKind::Postgres);
        assert_eq!(store_kind("state.db"), StoreKind::Sqlite);
        assert_eq!(
            redact("postgres://ann:s3cr@t@db:5432/x?sslmode=disable"),
            "postgres://ann:***@db:5432/x?sslmode=disable"
        );
        assert_eq!(redact("postgres://ann@db/x"), "postgres://ann@db/x");
        assert_eq!(redact("state.db"), "state.db");
    }

    #[test]
    fn an_unreachable_postgres_is_an_open_error_without_the_password() {
        let url = "postgres://ann:hunter2@127.0.0.1:1/none?connect_timeout=1";
        match open_store(url, Path::new(".")) {
            Err(error @ ConnectError::Open { .. }) => {
                let message = error.to_string();
                assert!(!message.contains("hunter2"), "{message}");
                assert!(message.contains("127.0.0.1"), "{message}");
            }
            Err(other) => panic!("expected an open error, got {other}"),
            Ok(_) => panic!("nothing listens on port 1"),
        }
    }
}
