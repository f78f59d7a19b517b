//! `cosmosc worker`: runs the functions of a project for the nodes sharing a store, and
//! nothing else, until SIGTERM or Ctrl-C, when it stops leasing, lets running calls
//! finish for a grace period and gives the leases of the rest back.

use std::io::Write;
use std::time::Duration;

use cosmos_ir::bundle::Bundle;
use cosmos_runtime::connect::{ConnectError, default_store, open_store};
use cosmos_runtime::deployment::COMPILER_VERSION;
use cosmos_runtime::node::{NodeConfig, executor_for};
use cosmos_runtime::worker::{Worker, WorkerConfig, WorkerError, default_name, served_pools};

use crate::commands::worker_http::HttpSource;
use crate::remote::Server;

use crate::Status;
use crate::args::{ColorChoice, WorkerArgs};
use crate::commands::serve::{ServeError, Served, init_logging, load, shutdown_signal};

#[derive(Debug, thiserror::Error)]
pub(crate) enum WorkerCommandError {
    #[error(transparent)]
    Load(#[from] ServeError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Bundle(#[from] cosmos_ir::bundle::BundleError),
    #[error(transparent)]
    Worker(#[from] WorkerError),
    #[error("--name must not be empty")]
    EmptyName,
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

pub(crate) fn run(args: &WorkerArgs, color: ColorChoice) -> Result<Status, WorkerCommandError> {
    init_logging();
    let Some(Served {
        root,
        pools,
        runtime,
        bytes,
        ..
    }) = load(&args.dir, args.bundle.as_deref(), color)?
    else {
        return Ok(Status::Failed);
    };
    let name = match &args.name {
        Some(name) if name.trim().is_empty() => return Err(WorkerCommandError::EmptyName),
        Some(name) => name.clone(),
        None => default_name(),
    };
    // The functions this worker can run, from its own bundle (verified like any file);
    // a call's result is checked against the bundle the call came from.
    let program = Bundle::read(&bytes, COMPILER_VERSION)?.program;
    let executor = executor_for(&program, root.clone(), &pools);
    let lease_ms = std::env::var("COSMOS_LEASE_MS")
        .ok()
        .and_then(|ms| ms.parse::<i64>().ok())
        .filter(|&ms| ms > 0)
        .unwrap_or(NodeConfig::default().lease_ms);
    let grace = Duration::from_millis(args.grace_ms);
    let config = WorkerConfig {
        name: name.clone(),
        pools: args.pools.clone(),
        lease_ms,
        poll: NodeConfig::default().poll,
    };
    if let Some(server) = &args.server {
        return run_on_server(server, args, executor, config, grace);
    }
    let url = args
        .store
        .clone()
        .or_else(|| std::env::var("COSMOS_STORE").ok())
        .or_else(|| runtime.store.clone())
        .unwrap_or_else(|| default_store(&root).display().to_string());
    // A worker never releases other processes' leases at start, even on SQLite: the
    // node (and other workers) sharing the file are alive.
    let store = open_store(&url, &root)?;

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(WorkerCommandError::Runtime)?;
    tokio.block_on(async move {
        let worker = Worker::start(store, executor, config)?;
        let _ = writeln!(
            std::io::stderr(),
            "cosmosc worker: {} running pools {} (store {}, at most {} calls at once)",
            worker.name(),
            worker.pools().join(","),
            cosmos_runtime::connect::redact(&url),
            worker.runner().max_calls(),
        );
        shutdown_signal().await;
        let _ = writeln!(std::io::stderr(), "cosmosc worker: stopping");
        let stopped = worker.stop(grace).await;
        let _ = writeln!(
            std::io::stderr(),
            "cosmosc worker: stopped ({} calls unfinished, {} leases given back)",
            stopped.unfinished,
            stopped.released
        );
        Ok(Status::Clean)
    })
}

/// `--server URL`: the same worker, its calls leased over HTTP from a node's API.
fn run_on_server(
    server: &str,
    args: &WorkerArgs,
    executor: cosmos_runtime::executor::Executor,
    config: WorkerConfig,
    grace: Duration,
) -> Result<Status, WorkerCommandError> {
    let token = args
        .token
        .clone()
        .or_else(|| crate::remote::token_from_env("COSMOS_WORKER_TOKEN"))
        .or_else(|| crate::remote::token_from_env("COSMOS_TOKEN"))
        .filter(|t| !t.is_empty());
    let pools = served_pools(&executor, &config)?;
    let source = HttpSource::new(
        Server::new(server, token),
        config.name.clone(),
        pools.clone(),
        config.lease_ms,
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(WorkerCommandError::Runtime)?;
    tokio.block_on(async move {
        let worker = Worker::start_on(source, executor, &config, pools);
        let _ = writeln!(
            std::io::stderr(),
            "cosmosc worker: {} running pools {} (server {}, at most {} calls at once)",
            worker.name(),
            worker.pools().join(","),
            server,
            worker.runner().max_calls(),
        );
        shutdown_signal().await;
        let _ = writeln!(std::io::stderr(), "cosmosc worker: stopping");
        let stopped = worker.stop(grace).await;
        let _ = writeln!(
            std::io::stderr(),
            "cosmosc worker: stopped ({} calls unfinished, {} leases given back)",
            stopped.unfinished,
            stopped.released
        );
        Ok(Status::Clean)
    })
}
