//! One process per call: the JSON arguments go to stdin, one JSON value comes
//! back on stdout. The process runs in its own process group; its whole tree
//! (`tree.rs`: the group, and descendants that left it) is killed on timeout, when
//! stdout grows past the limit, and once the process exits (so nothing it started
//! in the background outlives the call). Its output is what it wrote to stdout
//! until then: a leftover that keeps the pipe open is not waited for past a short
//! grace period.

use std::path::Path;
use std::pin::pin;
use std::process::Stdio;

use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::time::Instant;

use super::output::{
    Bounded, Ended, GRACE, GroupChild, Tail, drain_stderr, format_duration, kill_and_reap, lock,
    parse_value, read_shared, settle_stderr,
};
use super::progress::{self, ProgressSink};
use super::tree::{TREE_VAR, Tree};
use super::{CallError, CallErrorKind, ExecutorError, ExecutorLimits, FunctionSpec};

/// How the first phase of a run ended.
enum Phase {
    Exited(std::process::ExitStatus),
    WaitFailed(std::io::Error),
    TooLong,
    TimedOut,
    /// No progress report within the function's `heartbeat`.
    Silent,
}

/// Runs `spec` once with `args`, with `COSMOS_IDEMPOTENCY_KEY` set to `key` and its
/// progress reports (`COSMOS_PROGRESS_FD`) sent to `reported`.
pub(crate) async fn run(
    root: &Path,
    spec: &FunctionSpec,
    limits: &ExecutorLimits,
    key: &str,
    args: &Map<String, Value>,
    reported: Option<&ProgressSink>,
) -> Result<Value, CallError> {
    let Some((program, rest)) = spec.command.split_first() else {
        return Err(ExecutorError::EmptyCommand(spec.name.clone()).into());
    };
    let input = serde_json::to_vec(args).map_err(ExecutorError::from)?;
    let tag = Tree::new_tag();
    let mut command = Command::new(program);
    super::environment::prepare(&mut command, &spec.env);
    command
        .args(rest)
        .current_dir(root)
        .env("COSMOS_IDEMPOTENCY_KEY", key)
        .env(TREE_VAR, &tag)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let (spawned, pipe) =
        progress::spawn_with_pipe(&mut command).map_err(|source| ExecutorError::Spawn {
            program: program.clone(),
            source,
        })?;
    let (mut reports, reader_task) = progress::read_reports(pipe);
    let mut guard = GroupChild::new(spawned, tag);
    let pgid = guard.pgid;
    let child = &mut guard.child;
    let tail = Tail::shared(limits.stderr_tail_bytes);
    let mut stderr_task = drain_stderr(child.stderr.take(), tail.clone());
    // The process may never read stdin (or exit early): a failed write is fine.
    let stdin_task = child.stdin.take().map(|mut stdin| {
        tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
            let _ = stdin.shutdown().await;
        })
    });
    let stdout = child.stdout.take();
    let max = limits.max_stdout_bytes;
    let read = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&read);
    let mut out_fut = pin!(async move {
        match stdout {
            Some(s) => read_shared(s, max, sink).await,
            None => Ok(Bounded::Complete(Vec::new())),
        }
    });

    let deadline = Instant::now() + spec.timeout;
    let mut heartbeat = spec.heartbeat.map(|d| Instant::now() + d);
    let mut stdout_done = None;
    let phase = loop {
        tokio::select! {
            Some(report) = reports.recv() => {
                heartbeat = spec.heartbeat.map(|d| Instant::now() + d);
                if let Some(reported) = reported {
                    reported(report);
                }
            }
            () = sleep_until_some(heartbeat) => break Phase::Silent,
            r = child.wait() => break match r {
                Ok(status) => Phase::Exited(status),
                Err(e) => Phase::WaitFailed(e),
            },
            r = &mut out_fut, if stdout_done.is_none() => {
                if matches!(r, Ok(Bounded::TooLong)) {
                    break Phase::TooLong;
                }
                stdout_done = Some(r);
            }
            () = tokio::time::sleep_until(deadline) => break Phase::TimedOut,
        }
    };

    let result = match phase {
        Phase::TimedOut => {
            kill_and_reap(child, pgid).await;
            Err(CallError::new(
                CallErrorKind::Timeout,
                format!("did not finish within {}", format_duration(spec.timeout)),
            ))
        }
        Phase::Silent => {
            kill_and_reap(child, pgid).await;
            Err(CallError::new(
                CallErrorKind::Timeout,
                format!(
                    "no heartbeat for {}: the function reported no progress",
                    format_duration(spec.heartbeat.unwrap_or_default())
                ),
            ))
        }
        Phase::TooLong => {
            kill_and_reap(child, pgid).await;
            Err(CallError::new(
                CallErrorKind::BadOutput,
                format!("output exceeds {max} bytes"),
            ))
        }
        Phase::WaitFailed(e) => {
            kill_and_reap(child, pgid).await;
            Err(CallError::new(
                CallErrorKind::Failed,
                format!("cannot wait for `{program}`: {e}"),
            ))
        }
        Phase::Exited(status) => {
            // Whatever it left running goes too: it would run outside the pool's
            // count, and might hold our stdout pipe open.
            guard.tree.end();
            let out = match stdout_done {
                Some(r) => r,
                // Something we could not find holds the pipe: the output is what
                // the process wrote before it exited.
                None => tokio::time::timeout(GRACE, &mut out_fut)
                    .await
                    .unwrap_or_else(|_| Ok(Bounded::Complete(Vec::new()))),
            };
            let out = out.map(|bounded| match bounded {
                Bounded::Complete(_) => Bounded::Complete(std::mem::take(&mut *lock(&read))),
                Bounded::TooLong => Bounded::TooLong,
            });
            finish(Ended::of(status), out, max)
        }
    };
    if let Some(task) = stdin_task {
        task.abort();
    }
    reader_task.abort();
    match result {
        Ok(v) => Ok(v),
        Err(e) => {
            settle_stderr(&mut stderr_task).await;
            let stderr = lock(&tail).text_since(0);
            Err(e.with_stderr(stderr))
        }
    }
}

/// Waits until `at`, or forever when there is no such time.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The outcome of a process that exited by itself.
fn finish(ended: Ended, out: std::io::Result<Bounded>, max: usize) -> Result<Value, CallError> {
    match ended {
        Ended::Signal(sig) => {
            return Err(CallError::new(
                CallErrorKind::Crashed,
                format!("killed by signal {sig}"),
            ));
        }
        Ended::Code(code) => {
            return Err(CallError::new(
                CallErrorKind::Failed,
                format!("exited with status {code}"),
            ));
        }
        Ended::Success => {}
    }
    match out {
        Err(e) => Err(CallError::new(
            CallErrorKind::BadOutput,
            format!("cannot read stdout: {e}"),
        )),
        Ok(Bounded::TooLong) => Err(CallError::new(
            CallErrorKind::BadOutput,
            format!("output exceeds {max} bytes"),
        )),
        Ok(Bounded::Complete(bytes)) => {
            parse_value(&bytes).map_err(|m| CallError::new(CallErrorKind::BadOutput, m))
        }
    }
}
