//! Cosmos projects: `cosmos.toml` and the `.emx` files under the source root.
//! This crate is the host side of the compiler: the one place that reads project files.
//!
//! [`find_project_root`] walks up to the nearest `cosmos.toml`; [`load_project`] reads
//! it into a [`Config`] and reads every `.emx` file under the source root into a
//! [`SourceFile`] with its module name and a [`FileId`](cosmos_diagnostics::FileId).

mod config;
mod error;
mod load;

pub use config::{Config, DEFAULT_POOL_MAX, PoolConfig, ProjectConfig, RuntimeConfig};
pub use error::ProjectError;
pub use load::{MANIFEST, Project, SourceFile, find_project_root, load_project, module_name};
