//! `cosmosc serve`: the runtime with its HTTP API, until SIGTERM or Ctrl-C, when it
//! stops taking work, lets running calls finish for a grace period and releases the
//! leases of the rest.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use cosmos_project::{Config, MANIFEST, find_project_root};
use cosmos_runtime::api::listen::{self, ConnectionLimits};
use cosmos_runtime::api::{
    self, ApiConfig, ConsoleConfig, ConsoleSource, Scope, TokenError, Tokens,
};
use cosmos_runtime::connect::{ConnectError, StoreKind, default_store, open_store, store_kind};
use cosmos_runtime::deployment::{Deployment, DeploymentError, Evaluator};
use cosmos_runtime::node::{Node, NodeConfig, executor_for, now_ms};
use cosmos_runtime::store::StoreError;

use crate::Status;
use crate::args::{ColorChoice, ServeArgs};
use crate::commands::build::{BuildError, Then, build};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ServeError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Project(#[from] cosmos_project::ProjectError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Bundled(#[from] cosmos_ir::bundle::BundleError),
    #[error("cannot read {}: {source}", path.display())]
    Manifest {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read bundle {}: {source}", path.display())]
    Bundle {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Tokens(#[from] TokenError),
}

/// The tokens the API accepts: admin tokens from `COSMOS_TOKEN` (several separated by
/// commas), else `[runtime] token`; worker tokens from `COSMOS_WORKER_TOKEN`; and the
/// lines of the tokens file (`--tokens-file`, else `COSMOS_TOKENS_FILE`, else
/// `[runtime] tokens_file`, relative to the project's root).
fn tokens(
    args: &ServeArgs,
    config: &cosmos_project::RuntimeConfig,
    root: &std::path::Path,
) -> Result<Tokens, TokenError> {
    let mut tokens = Tokens::none();
    match std::env::var("COSMOS_TOKEN") {
        Ok(value) if !value.trim().is_empty() => {
            tokens.add_list("COSMOS_TOKEN", Scope::Admin, &value)?;
        }
        _ => {
            if let Some(token) = config.token.as_deref().filter(|t| !t.is_empty()) {
                tokens.add("[runtime] token", Scope::Admin, "admin", token)?;
            }
        }
    }
    if let Ok(value) = std::env::var("COSMOS_WORKER_TOKEN") {
        tokens.add_list("COSMOS_WORKER_TOKEN", Scope::Worker, &value)?;
    }
    let file = args
        .tokens_file
        .clone()
        .or_else(|| std::env::var_os("COSMOS_TOKENS_FILE").map(PathBuf::from))
        .or_else(|| config.tokens_file.as_ref().map(|f| root.join(f)));
    if let Some(file) = file {
        tokens.add_file(&file)?;
    }
    tokens.validate()?;
    Ok(tokens)
}

/// Runtime problems (a call result that could not be recorded, a step that could not
/// be applied) are logged to stderr; `COSMOS_LOG` sets the level (`warn` by default,
/// `info`/`debug` for more), with `tracing`'s filter syntax.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COSMOS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// What `serve` and `worker` run: a project built from its sources, or a bundle with
/// the `cosmos.toml` found from the folder.
pub(crate) struct Served {
    /// Where functions run: the project's root.
    pub root: PathBuf,
    pub pools: std::collections::BTreeMap<String, cosmos_project::PoolConfig>,
    pub runtime: cosmos_project::RuntimeConfig,
    /// The bundle's bytes.
    pub bytes: Vec<u8>,
    /// The sources the console shows.
    pub sources: Vec<ConsoleSource>,
}

/// Builds the project found from `dir`, or reads `bundle` (with the `cosmos.toml`
/// found from `dir`, if any); `None` when the project has errors (printed).
pub(crate) fn load(
    dir: &std::path::Path,
    bundle: Option<&std::path::Path>,
    color: ColorChoice,
) -> Result<Option<Served>, ServeError> {
    let (root, pools, config_runtime, bytes, sources) = match bundle {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|source| ServeError::Bundle {
                path: path.to_path_buf(),
                source,
            })?;
            // Functions run in the project's root: the folder of cosmos.toml above
            // DIR when there is one, else DIR itself.
            // Only its cosmos.toml is read: a bundle needs no sources.
            match find_project_root(dir) {
                Ok(root) => {
                    let manifest = root.join(MANIFEST);
                    let text = std::fs::read_to_string(&manifest).map_err(|source| {
                        ServeError::Manifest {
                            path: manifest.clone(),
                            source,
                        }
                    })?;
                    let config = Config::parse(&manifest, &text)?;
                    let sources = bundle_sources(&root, &bytes);
                    (root, config.pools, config.runtime, bytes, sources)
                }
                Err(_) => {
                    let sources = bundle_sources(dir, &bytes);
                    (
                        dir.to_path_buf(),
                        Default::default(),
                        Default::default(),
                        bytes,
                        sources,
                    )
                }
            }
        }
        None => {
            let Some((project, bundle)) = build(dir, color, Then::Run)? else {
                return Ok(None);
            };
            let sources = project
                .files
                .iter()
                .map(|file| ConsoleSource {
                    module: file.module.clone(),
                    path: file.path.clone(),
                    text: file.text.clone(),
                })
                .collect();
            (
                project.root,
                project.config.pools,
                project.config.runtime,
                bundle.to_bytes()?,
                sources,
            )
        }
    };
    Ok(Some(Served {
        root,
        pools,
        runtime: config_runtime,
        bytes,
        sources,
    }))
}

pub(crate) fn run(args: &ServeArgs, color: ColorChoice) -> Result<Status, ServeError> {
    init_logging();
    let Some(Served {
        root,
        pools,
        runtime: config_runtime,
        bytes,
        sources,
    }) = load(&args.dir, args.bundle.as_deref(), color)?
    else {
        return Ok(Status::Failed);
    };
    // `--no-functions` or `[runtime] functions = false`: `cosmosc worker`s run them.
    let functions = !args.no_functions && config_runtime.functions.unwrap_or(true);
    let url = args
        .store
        .clone()
        .or_else(|| std::env::var("COSMOS_STORE").ok())
        .or_else(|| config_runtime.store.clone())
        .unwrap_or_else(|| default_store(&root).display().to_string());
    let listen = args
        .listen
        .clone()
        .or_else(|| std::env::var("COSMOS_LISTEN").ok())
        .or_else(|| config_runtime.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let tokens = tokens(args, &config_runtime, &root)?;

    // Descriptors: as many as the system lets this process have, and a connection
    // cap that leaves a reserve of them to function processes and the store.
    let open_files = listen::raise_open_file_limit();
    let configured = ConnectionLimits::default();
    let limits = ConnectionLimits {
        max_connections: listen::connection_cap(
            env_number("COSMOS_MAX_CONNECTIONS").unwrap_or(configured.max_connections as u64)
                as usize,
            open_files,
        ),
        header_timeout: env_number("COSMOS_HEADER_TIMEOUT_MS")
            .map_or(configured.header_timeout, Duration::from_millis),
        idle_timeout: env_number("COSMOS_IDLE_TIMEOUT_MS")
            .map_or(configured.idle_timeout, Duration::from_millis),
    };

    let store = open_store(&url, &root)?;
    // One process per SQLite file: leases left by a process that died are free now.
    // PostgreSQL is shared by several processes: their leases expire instead.
    let released = match store_kind(&url) {
        StoreKind::Sqlite => store.release_all_leases()?,
        StoreKind::Postgres => 0,
    };
    let deployment = Deployment::deploy(store.as_ref(), &bytes, now_ms(), Evaluator::from_env()?)?;
    let executor = executor_for(&deployment.current().program, root.clone(), &pools);

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    tokio.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: listen.clone(),
                source,
            })?;
        let local = listener
            .local_addr()
            .map_or(listen.clone(), |a| a.to_string());
        // COSMOS_LEASE_MS: how long a node's engine leases last (docs/runtime.md).
        let node = Node::start(
            store,
            deployment,
            executor,
            NodeConfig {
                lease_ms: std::env::var("COSMOS_LEASE_MS")
                    .ok()
                    .and_then(|ms| ms.parse::<i64>().ok())
                    .filter(|&ms| ms > 0)
                    .unwrap_or(NodeConfig::default().lease_ms),
                functions,
                ..NodeConfig::default()
            },
        );
        let app = api::router(
            node.clone(),
            ApiConfig {
                tokens,
                console: ConsoleConfig { sources },
                ..ApiConfig::default()
            },
        );
        {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "cosmosc serve: listening on http://{local} (node {}, store {}, at most {} \
                 connections{}{})",
                node.owner(),
                cosmos_runtime::connect::redact(&url),
                limits.max_connections,
                if functions {
                    ""
                } else {
                    ", no functions: workers run them"
                },
                if released > 0 {
                    format!(", {released} leases of a previous run released")
                } else {
                    String::new()
                }
            );
        }
        listen::serve(
            listener,
            app,
            limits,
            shutdown_signal(),
            NodeConfig::default().grace,
        )
        .await;
        let _ = writeln!(std::io::stderr(), "cosmosc serve: stopping");
        node.stop().await;
        Ok(Status::Clean)
    })
}

/// The source files of the bundle in `bytes` found under `root` with the content the
/// bundle was compiled from, for the console's workflow pages; a file that is missing
/// or changed since is left out.
fn bundle_sources(root: &std::path::Path, bytes: &[u8]) -> Vec<ConsoleSource> {
    let Ok(bundle) = cosmos_ir::bundle::Bundle::read(bytes, env!("CARGO_PKG_VERSION")) else {
        return Vec::new();
    };
    bundle
        .sources
        .iter()
        .filter_map(|source| {
            let text = std::fs::read_to_string(root.join(&source.path)).ok()?;
            source.matches(text.as_bytes()).then(|| ConsoleSource {
                module: source.module.clone(),
                path: source.path.clone(),
                text,
            })
        })
        .collect()
}

/// A positive whole number from environment variable `name`; anything else is unset.
pub(crate) fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&n| n > 0)
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
