//! Why a project could not be found or loaded. Each error's message is one line that
//! names the file or key at fault, ready for the CLI to print after `error: `.

use std::path::PathBuf;

/// A project that cannot be found or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("no cosmos.toml found in {} or any parent directory", start.display())]
    NotFound { start: PathBuf },

    #[error("{}:{line}:{column}: {message}", path.display())]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{}: {message}", path.display())]
    InvalidConfig { path: PathBuf, message: String },

    #[error("source root {} does not exist or is not a directory", path.display())]
    MissingSourceRoot { path: PathBuf },

    #[error(
        "{}: `{segment}` is not a valid module name; file and folder names under the source root must be identifiers ([A-Za-z_][A-Za-z0-9_]*)",
        path.display()
    )]
    InvalidModuleName { path: PathBuf, segment: String },

    #[error("{}: file is not valid UTF-8", path.display())]
    NotUtf8 { path: PathBuf },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ProjectError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ProjectError::Io {
            path: path.into(),
            source,
        }
    }
}
