//! The `cosmos.toml` model. Every table rejects keys it does not know, so a typo is an
//! error that names the key rather than a setting silently ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ProjectError;

/// How many calls a pool runs at once when `max` is not given.
pub const DEFAULT_POOL_MAX: u32 = 4;

/// The whole of `cosmos.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub project: ProjectConfig,
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// `[pools.NAME]` tables, by name. Functions without a `pool` setting use
    /// `"default"`, which needs no table.
    #[serde(default)]
    pub pools: BTreeMap<String, PoolConfig>,
}

/// `[project]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    /// The source root, relative to the folder holding `cosmos.toml`.
    #[serde(default = "default_source")]
    pub source: PathBuf,
}

fn default_source() -> PathBuf {
    PathBuf::from("src")
}

/// `[runtime]`: defaults for `cosmosc run` and `cosmosc serve`, which flags and
/// `COSMOS_*` environment variables override.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Store URL: a SQLite file path or `postgres://…`.
    #[serde(default)]
    pub store: Option<String>,
    /// Address the HTTP API listens on, such as `127.0.0.1:8080`.
    #[serde(default)]
    pub listen: Option<String>,
    /// Bearer token the HTTP API requires; prefer the environment for real secrets.
    #[serde(default)]
    pub token: Option<String>,
    /// A file of API tokens with scopes (`admin NAME TOKEN` / `worker NAME TOKEN`
    /// lines), relative to the project's root.
    #[serde(default)]
    pub tokens_file: Option<PathBuf>,
    /// Whether `cosmosc serve` runs functions itself (the default); `false` leaves
    /// them to `cosmosc worker`s.
    #[serde(default)]
    pub functions: Option<bool>,
}

/// `[pools.NAME]`: how many calls of the pool's functions run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    #[serde(default = "default_pool_max")]
    pub max: u32,
    /// Worker processes kept running between calls.
    #[serde(default)]
    pub warm: u32,
}

fn default_pool_max() -> u32 {
    DEFAULT_POOL_MAX
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max: DEFAULT_POOL_MAX,
            warm: 0,
        }
    }
}

impl Config {
    /// Parses and checks the text of a `cosmos.toml`; `path` only names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ProjectError> {
        let config: Config = toml::from_str(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ProjectError::Config {
                path: path.to_path_buf(),
                line,
                column,
                message: error.message().trim().to_string(),
            }
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ProjectError> {
        let invalid = |message: String| ProjectError::InvalidConfig {
            path: path.to_path_buf(),
            message,
        };
        if self.project.name.trim().is_empty() {
            return Err(invalid("`project.name` must not be empty".into()));
        }
        for (name, pool) in &self.pools {
            if pool.max == 0 {
                return Err(invalid(format!("`pools.{name}.max` must be at least 1")));
            }
            if pool.warm > pool.max {
                return Err(invalid(format!(
                    "`pools.{name}.warm` ({}) must not exceed `pools.{name}.max` ({})",
                    pool.warm, pool.max
                )));
            }
        }
        Ok(())
    }

    /// The settings of pool `name`; an undeclared pool gets the defaults.
    pub fn pool(&self, name: &str) -> PoolConfig {
        self.pools.get(name).copied().unwrap_or_default()
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ProjectError> {
        Config::parse(Path::new("cosmos.toml"), text)
    }

    #[test]
    fn minimal_config_takes_defaults() {
        let config = parse("[project]\nname = \"x\"\n").unwrap();
        assert_eq!(config.project.name, "x");
        assert_eq!(config.project.version, None);
        assert_eq!(config.project.source, PathBuf::from("src"));
        assert_eq!(config.runtime, RuntimeConfig::default());
        assert!(config.pools.is_empty());
        assert_eq!(config.pool("default"), PoolConfig { max: 4, warm: 0 });
    }

    #[test]
    fn full_config() {
        let config = parse(
            r#"
[project]
name = "encode"
version = "0.1.0"
source = "rules"

[runtime]
store = "cosmos.db"
listen = "127.0.0.1:8080"
token = "secret"

[pools.default]
max = 4

[pools.encoders]
max = 2
warm = 1
"#,
        )
        .unwrap();
        assert_eq!(config.project.source, PathBuf::from("rules"));
        assert_eq!(config.runtime.store.as_deref(), Some("cosmos.db"));
        assert_eq!(config.runtime.listen.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(config.pool("encoders"), PoolConfig { max: 2, warm: 1 });
        assert_eq!(config.pool("default"), PoolConfig { max: 4, warm: 0 });
    }

    #[test]
    fn functions_is_a_bool_of_the_runtime_table() {
        let config = parse("[project]\nname = \"x\"\n[runtime]\nfunctions = false\n").unwrap();
        assert_eq!(config.runtime.functions, Some(false));
        let config = parse("[project]\nname = \"x\"\n").unwrap();
        assert_eq!(config.runtime.functions, None);
        let err = parse("[project]\nname = \"x\"\n[runtime]\nfunctions = \"no\"\n").unwrap_err();
        let ProjectError::Config { line, message, .. } = &err else {
            panic!("expected a config error, got {err:?}");
        };
        assert_eq!(*line, 4);
        assert!(message.contains("bool"), "{message}");
    }

    #[test]
    fn unknown_key_is_named_with_its_position() {
        let err = parse("[project]\nname = \"x\"\nnmae = \"y\"\n").unwrap_err();
        let ProjectError::Config {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!((*line, *column), (3, 1));
        assert!(message.contains("`nmae`"), "{message}");
        assert!(err.to_string().starts_with("cosmos.toml:3:1: "), "{err}");
        assert!(!err.to_string().contains('\n'), "one line: {err}");
    }

    #[test]
    fn unknown_key_in_pool_and_unknown_table() {
        let err = parse("[project]\nname = \"x\"\n[pools.a]\nmax = 1\nwarmth = 2\n").unwrap_err();
        assert!(err.to_string().contains("`warmth`"), "{err}");
        assert!(err.to_string().starts_with("cosmos.toml:5:"), "{err}");
        let err = parse("[project]\nname = \"x\"\n[runtimes]\n").unwrap_err();
        assert!(err.to_string().contains("`runtimes`"), "{err}");
    }

    #[test]
    fn missing_project_and_bad_types() {
        let err = parse("[runtime]\n").unwrap_err();
        assert!(err.to_string().contains("project"), "{err}");
        let err = parse("[project]\nname = 3\n").unwrap_err();
        assert!(err.to_string().starts_with("cosmos.toml:2:"), "{err}");
        let err = parse("[project\n").unwrap_err();
        assert!(matches!(err, ProjectError::Config { line: 1, .. }), "{err}");
    }

    #[test]
    fn pool_limits_are_checked() {
        let err = parse("[project]\nname = \"x\"\n[pools.a]\nmax = 1\nwarm = 2\n").unwrap_err();
        assert!(matches!(err, ProjectError::InvalidConfig { .. }));
        assert!(err.to_string().contains("pools.a.warm"), "{err}");
        let err = parse("[project]\nname = \"x\"\n[pools.a]\nmax = 0\n").unwrap_err();
        assert!(err.to_string().contains("pools.a.max"), "{err}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\néé x", 7), (2, 3));
        assert_eq!(line_column("ab\néé x", 6), (2, 2));
        assert_eq!(line_column("ab", 100), (1, 3));
    }
}
