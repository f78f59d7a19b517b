//! `cosmosc run`: runs one instance of a workflow to the end on the embedded store,
//! streaming its history to stderr; with `--json`, one document on stdout at the end.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cosmos_runtime::connect::{ConnectError, StoreKind, default_store, open_store, store_kind};
use cosmos_runtime::deployment::{Deployment, DeploymentError, Evaluator};
use cosmos_runtime::engine::{HistoryKind, Status as InstanceStatus};
use cosmos_runtime::node::{Node, NodeConfig, NodeError, executor_for, new_instance_id, now_ms};
use cosmos_runtime::store::{InstanceRecord, StoreError};
use serde_json::{Value as Json, json};

use crate::Status;
use crate::args::{ColorChoice, RunArgs};
use crate::commands::build::{BuildError, Then, build};

#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Bundle(#[from] cosmos_ir::bundle::BundleError),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("--input is not JSON: {0}")]
    Input(serde_json::Error),
    #[error("cannot read {}: {source}", path.display())]
    InputFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

pub(crate) fn run(args: &RunArgs, color: ColorChoice) -> Result<Status, RunError> {
    let (dir, workflow) = match args.target.as_slice() {
        [workflow] => (PathBuf::from("."), workflow.clone()),
        [dir, workflow] => (PathBuf::from(dir), workflow.clone()),
        _ => return Err(RunError::Usage("expected [DIR] WORKFLOW".to_string())),
    };
    let input = read_input(&args.input)?;
    let Some((project, bundle)) = build(&dir, color, Then::Run)? else {
        return Ok(Status::Failed);
    };
    let workflows: Vec<&str> = bundle
        .program
        .workflows
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    if !workflows.contains(&workflow.as_str()) {
        return Err(RunError::Usage(unknown_workflow(&workflow, &workflows)));
    }
    let bytes = bundle.to_bytes()?;
    let url = args
        .store
        .clone()
        .or_else(|| std::env::var("COSMOS_STORE").ok())
        .or_else(|| project.config.runtime.store.clone())
        .unwrap_or_else(|| default_store(&project.root).display().to_string());
    let store = open_store(&url, &project.root)?;
    // One process per SQLite file: leases left by a process that died are free.
    if store_kind(&url) == StoreKind::Sqlite {
        store.release_all_leases()?;
    }
    let deployment = Deployment::deploy(store.as_ref(), &bytes, now_ms(), Evaluator::from_env()?)?;
    let executor = executor_for(
        &deployment.current().program,
        project.root.clone(),
        &project.config.pools,
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    // The store may hold other instances (earlier runs, a `serve`): this run works on
    // its own instance only.
    let id = new_instance_id();
    let config = NodeConfig {
        only_instance: Some(id.clone()),
        ..NodeConfig::default()
    };
    let record = tokio.block_on(async move {
        let node = Node::start(store, deployment, executor, config);
        let outcome = follow(&node, id, &workflow, input).await;
        node.stop().await;
        outcome
    })?;
    if args.json {
        let document = json!({
            "id": record.id,
            "status": record.status,
            "output": record.output,
            "facts": record.facts,
        });
        let mut out = std::io::stdout().lock();
        writeln!(out, "{document}")?;
        out.flush()?;
    }
    Ok(if record.status == InstanceStatus::Completed {
        Status::Clean
    } else {
        Status::Failed
    })
}

/// What to say when `run` names a workflow the project does not have.
fn unknown_workflow(name: &str, workflows: &[&str]) -> String {
    let mut names: Vec<&str> = workflows.to_vec();
    names.sort_unstable();
    match names.as_slice() {
        [] => format!("there is no workflow `{name}`: the project declares no workflows"),
        [one] => format!("there is no workflow `{name}`; the project has one: `{one}`"),
        _ => format!(
            "there is no workflow `{name}`; the project has: {}",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn read_input(input: &str) -> Result<Json, RunError> {
    let text = match input.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|source| RunError::InputFile {
            path: PathBuf::from(path),
            source,
        })?,
        None => input.to_string(),
    };
    serde_json::from_str(&text).map_err(RunError::Input)
}

/// Starts the instance and prints its history as it grows, until it is finished or
/// stalled.
async fn follow(
    node: &Node,
    id: String,
    workflow: &str,
    input: Json,
) -> Result<InstanceRecord, RunError> {
    let mut commits = node.commits();
    let (id, _) = node.start_instance_as(id, workflow, input, None).await?;
    let mut seen = 0;
    loop {
        let store = Arc::clone(node.store());
        let id2 = id.clone();
        // The instance first, then its history: when the instance read is finished,
        // the history read after it has every line up to the end (read the other way
        // round, a step committed between the two reads would end the run with its
        // lines unprinted).
        let (rows, record) = tokio::task::spawn_blocking(move || {
            let record = store.instance(&id2)?;
            let rows = store.history(&id2, seen)?;
            Ok::<_, StoreError>((rows, record))
        })
        .await
        .map_err(|e| RunError::Node(NodeError::Internal(e.to_string())))??;
        {
            let mut err = std::io::stderr().lock();
            // The stderr of the failed call the step applied, printed under the line
            // saying that the call failed (or, without one, under the step's last).
            let mut stderr: Option<String> = None;
            // The worker that ran the call whose outcome the step applied, when it is
            // not this process (a `cosmosc worker` sharing the store).
            let mut ran_on: Option<String> = None;
            for row in &rows {
                seen = seen.max(row.seq);
                // The events a step applied are for replay and the API; the lines
                // of the step itself say what they did.
                if row.kind == HistoryKind::Received {
                    if let Some(text) = stderr.take() {
                        write_stderr_tail(&mut err, &text)?;
                    }
                    stderr = failed_call_stderr(&row.data);
                    ran_on = other_runner(&row.data, node.owner());
                    continue;
                }
                match ran_on.take() {
                    Some(worker) => writeln!(err, "{} (the call ran on {worker})", row.text)?,
                    None => writeln!(err, "{}", row.text)?,
                }
                if row.kind == HistoryKind::CallFailed
                    && let Some(text) = stderr.take()
                {
                    write_stderr_tail(&mut err, &text)?;
                }
            }
            if let Some(text) = stderr.take() {
                write_stderr_tail(&mut err, &text)?;
            }
        }
        let Some(record) = record else {
            return Err(RunError::Node(NodeError::UnknownInstance(id)));
        };
        // Finished, or stalled: nothing more happens without a signal.
        if record.status.is_finished() || record.status == InstanceStatus::Stalled {
            return Ok(record);
        }
        let _ = tokio::time::timeout(Duration::from_millis(250), commits.changed()).await;
    }
}

/// The worker that ran the call whose outcome a `received` row's event carries, when it
/// is not `own` (this process's node): a `cosmosc worker` sharing the store.
fn other_runner(event: &Json, own: &str) -> Option<String> {
    event
        .get("worker")
        .and_then(Json::as_str)
        .filter(|w| *w != own)
        .map(str::to_string)
}

/// How many lines of a failed call's stderr `run` shows.
const STDERR_LINES: usize = 10;

/// The stderr of the failed call a `received` row's event reports, if it wrote any.
fn failed_call_stderr(event: &Json) -> Option<String> {
    if event.get("type").and_then(Json::as_str) != Some("call_failed") {
        return None;
    }
    let text = event.get("failure")?.get("stderr")?.as_str()?;
    (!text.trim().is_empty()).then(|| text.to_string())
}

/// The last [`STDERR_LINES`] non-blank lines of `text`, indented under the history
/// line they explain.
fn stderr_tail(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect();
    let skipped = lines.len().saturating_sub(STDERR_LINES);
    let mut out = Vec::with_capacity(STDERR_LINES + 1);
    out.push(if skipped > 0 {
        format!("    stderr (last {STDERR_LINES} lines):")
    } else {
        "    stderr:".to_string()
    });
    out.extend(lines.iter().skip(skipped).map(|l| format!("    | {l}")));
    out
}

fn write_stderr_tail(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    for line in stderr_tail(text) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_run_by_another_process_names_it() {
        let by_worker = json!({"type": "call_completed", "result": 1, "worker": "w1"});
        assert_eq!(other_runner(&by_worker, "node-1").as_deref(), Some("w1"));
        let by_us = json!({"type": "call_completed", "result": 1, "worker": "node-1"});
        assert_eq!(other_runner(&by_us, "node-1"), None);
        let timer = json!({"type": "timer_fired", "timer": 1});
        assert_eq!(other_runner(&timer, "node-1"), None);
    }

    #[test]
    fn only_failed_calls_with_stderr_have_a_tail() {
        let failed = json!({"type": "call_failed", "failure": {"stderr": "boom\n"}});
        assert_eq!(failed_call_stderr(&failed).as_deref(), Some("boom\n"));
        let quiet = json!({"type": "call_failed", "failure": {"stderr": null}});
        assert_eq!(failed_call_stderr(&quiet), None);
        let blank = json!({"type": "call_failed", "failure": {"stderr": " \n"}});
        assert_eq!(failed_call_stderr(&blank), None);
        let done = json!({"type": "call_completed", "result": 1});
        assert_eq!(failed_call_stderr(&done), None);
    }

    #[test]
    fn the_tail_keeps_the_last_lines() {
        assert_eq!(
            stderr_tail("one\n\ntwo\n"),
            ["    stderr:", "    | one", "    | two"]
        );
        let long: String = (1..=12).map(|i| format!("line {i}\n")).collect();
        let tail = stderr_tail(&long);
        assert_eq!(tail.len(), STDERR_LINES + 1);
        assert_eq!(
            tail.first().map(String::as_str),
            Some("    stderr (last 10 lines):")
        );
        assert_eq!(tail.get(1).map(String::as_str), Some("    | line 3"));
        assert_eq!(tail.last().map(String::as_str), Some("    | line 12"));
    }
}
