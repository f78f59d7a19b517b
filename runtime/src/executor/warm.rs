//! Warm workers: long-lived processes started with `COSMOS_PROTOCOL=lines`,
//! speaking one JSON message per line. We write
//! `{"id": n, "calls": [args, …]}`; the worker answers
//! `{"id": n, "results": [{"ok": value} | {"error": message}, …]}`, one result per
//! call, in order. A worker that dies, answers garbage or misses the function's
//! timeout is killed (its whole process group) and its calls fail. Whatever a
//! worker started in the background lives as long as the worker, and is ended with
//! it (`tree.rs`).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::output::{
    Ended, Line, SharedTail, Tail, drain_stderr, format_duration, kill_and_reap, kill_group, lock,
    prefix, read_line_bounded, settle_stderr,
};
use super::progress::{self, ProgressSink};
use super::tree::{TREE_VAR, Tree};
use super::{CallError, CallErrorKind, ExecutorError, ExecutorLimits, FunctionSpec};

/// Distinguishes workers in the pool's idle list.
static NEXT_WORKER: AtomicU64 = AtomicU64::new(1);

/// A running warm worker of one function.
pub(crate) struct Worker {
    pub(crate) id: u64,
    pub(crate) function: Arc<FunctionSpec>,
    child: Child,
    pgid: Option<u32>,
    /// Every process the worker started; ended with the worker.
    tree: Tree,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
    tail: SharedTail,
    stderr_task: Option<JoinHandle<()>>,
    next_message: u64,
    max_line: usize,
}

/// A message to a worker.
#[derive(Serialize)]
struct Message<'a> {
    id: u64,
    calls: &'a [&'a Map<String, Value>],
}

impl Drop for Worker {
    /// However it ends (stopped, killed, dead, or dropped while alive), a worker
    /// takes its whole group and tree with it.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            kill_group(self.pgid);
        }
        self.tree.end();
    }
}

/// What serving one message left.
pub(crate) enum Served {
    /// The worker answered; it can serve again.
    Healthy(Vec<Result<Value, CallError>>),
    /// The worker is dead (and reaped); every call of the message gets this error.
    Dead(CallError),
}

/// How one exchange of lines went.
enum Exchange {
    Answer(Vec<Result<Value, CallError>>),
    /// The pipe closed (the worker exited, or closed stdout).
    Closed,
    /// The worker answered something we cannot use; it must die.
    Garbage(String),
    /// The worker reported nothing within the function's `heartbeat`; it must die.
    Silent,
}

impl Worker {
    /// Starts a worker for `function` in `root`.
    pub(crate) fn spawn(
        root: &Path,
        function: Arc<FunctionSpec>,
        limits: &ExecutorLimits,
    ) -> Result<Worker, ExecutorError> {
        let Some((program, rest)) = function.command.split_first() else {
            return Err(ExecutorError::EmptyCommand(function.name.clone()));
        };
        let tag = Tree::new_tag();
        let mut command = Command::new(program);
        super::environment::prepare(&mut command, &function.env);
        command
            .args(rest)
            .current_dir(root)
            .env("COSMOS_PROTOCOL", "lines")
            .env(TREE_VAR, &tag)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = progress::spawn(&mut command).map_err(|source| ExecutorError::Spawn {
            program: program.clone(),
            source,
        })?;
        let tail = Tail::shared(limits.stderr_tail_bytes);
        let stderr_task = drain_stderr(child.stderr.take(), tail.clone());
        Ok(Worker {
            id: NEXT_WORKER.fetch_add(1, Ordering::Relaxed),
            pgid: child.id(),
            tree: Tree::new(child.id(), tag),
            stdin: child.stdin.take(),
            stdout: child.stdout.take().map(BufReader::new),
            child,
            function,
            tail,
            stderr_task,
            next_message: 1,
            max_line: limits.max_stdout_bytes,
        })
    }

    /// Whether the process is gone (it is reaped if so).
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `calls` as one message and waits for the answer, within the
    /// function's timeout (and heartbeat), sending each call's progress reports to
    /// its sink in `sinks`.
    pub(crate) async fn serve(
        &mut self,
        calls: &[&Map<String, Value>],
        sinks: &[Option<ProgressSink>],
    ) -> Served {
        let id = self.next_message;
        self.next_message += 1;
        let since = lock(&self.tail).total();
        let mut line = match serde_json::to_vec(&Message { id, calls }) {
            Ok(line) => line,
            Err(e) => {
                // Nothing was sent: the worker is still fine, but it is simplest to
                // treat the message as undeliverable.
                let err: CallError = ExecutorError::Encode(e).into();
                return Served::Healthy(calls.iter().map(|_| Err(err.clone())).collect());
            }
        };
        line.push(b'\n');
        let timeout = self.function.timeout;
        let exchange =
            tokio::time::timeout(timeout, self.exchange(id, &line, calls.len(), sinks)).await;
        let dead = match exchange {
            Ok(Exchange::Answer(results)) => {
                let stderr = lock(&self.tail).text_since(since);
                let results = results
                    .into_iter()
                    .map(|r| r.map_err(|e| e.with_stderr(stderr.clone())))
                    .collect();
                return Served::Healthy(results);
            }
            Err(_) => {
                kill_and_reap(&mut self.child, self.pgid).await;
                CallError::new(
                    CallErrorKind::Timeout,
                    format!("worker did not answer within {}", format_duration(timeout)),
                )
            }
            Ok(Exchange::Garbage(message)) => {
                kill_and_reap(&mut self.child, self.pgid).await;
                CallError::new(CallErrorKind::BadOutput, message)
            }
            Ok(Exchange::Silent) => {
                kill_and_reap(&mut self.child, self.pgid).await;
                CallError::new(
                    CallErrorKind::Timeout,
                    format!(
                        "no heartbeat for {}: the worker reported no progress",
                        format_duration(self.function.heartbeat.unwrap_or_default())
                    ),
                )
            }
            Ok(Exchange::Closed) => self.collect_exit().await,
        };
        settle_stderr(&mut self.stderr_task).await;
        let stderr = lock(&self.tail).text_since(since);
        Served::Dead(dead.with_stderr(stderr))
    }

    /// Writes the message and reads lines until a non-blank one answers it; progress
    /// lines (`{"id": n, "progress": …}`) on the way go to the calls' sinks.
    async fn exchange(
        &mut self,
        id: u64,
        line: &[u8],
        calls: usize,
        sinks: &[Option<ProgressSink>],
    ) -> Exchange {
        let heartbeat = self.function.heartbeat;
        let (Some(stdin), Some(stdout)) = (self.stdin.as_mut(), self.stdout.as_mut()) else {
            return Exchange::Closed;
        };
        if stdin.write_all(line).await.is_err() || stdin.flush().await.is_err() {
            return Exchange::Closed;
        }
        let mut beat = heartbeat.map(|d| Instant::now() + d);
        loop {
            let read = tokio::select! {
                read = read_line_bounded(stdout, self.max_line) => read,
                () = sleep_until_some(beat) => return Exchange::Silent,
            };
            if let Ok(Line::Text(bytes)) = &read
                && let Some(reports) = progress_line(bytes)
            {
                match reports.for_message(id, calls) {
                    Ok(reports) => {
                        beat = heartbeat.map(|d| Instant::now() + d);
                        for (report, sink) in reports.into_iter().zip(sinks) {
                            if let (Some(report), Some(sink)) = (report, sink) {
                                sink(report);
                            }
                        }
                        continue;
                    }
                    Err(message) => return Exchange::Garbage(message),
                }
            }
            match read {
                Err(_) | Ok(Line::Eof) => return Exchange::Closed,
                Ok(Line::TooLong) => {
                    return Exchange::Garbage(format!(
                        "worker's answer exceeds {} bytes",
                        self.max_line
                    ));
                }
                Ok(Line::Text(bytes)) if bytes.trim_ascii().is_empty() => {}
                Ok(Line::Text(bytes)) => return parse_answer(&bytes, id, calls),
            }
        }
    }

    /// After the worker's stdout closed: how did it end?
    async fn collect_exit(&mut self) -> CallError {
        let status = tokio::time::timeout(Duration::from_secs(1), self.child.wait()).await;
        let ended = match status {
            Ok(Ok(status)) => {
                kill_group(self.pgid);
                Some(Ended::of(status))
            }
            _ => {
                kill_and_reap(&mut self.child, self.pgid).await;
                None
            }
        };
        match ended {
            Some(Ended::Signal(sig)) => CallError::new(
                CallErrorKind::Crashed,
                format!("worker killed by signal {sig}"),
            ),
            Some(Ended::Code(code)) => CallError::new(
                CallErrorKind::Failed,
                format!("worker exited with status {code}"),
            ),
            Some(Ended::Success) => CallError::new(
                CallErrorKind::Crashed,
                "worker exited (status 0) without answering",
            ),
            None => CallError::new(
                CallErrorKind::Crashed,
                "worker closed its stdout without answering",
            ),
        }
    }

    /// Kills the worker's process group at once and reaps it.
    pub(crate) async fn kill(mut self) {
        kill_and_reap(&mut self.child, self.pgid).await;
    }

    /// Closes the worker's stdin, lets it exit within `grace`, then kills its group.
    pub(crate) async fn stop(mut self, grace: Duration) {
        self.stdin = None;
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(_)) => kill_group(self.pgid),
            _ => kill_and_reap(&mut self.child, self.pgid).await,
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

/// A progress line of a warm worker: `{"id": n, "progress": …}` without `results`.
struct ProgressLine {
    id: Option<u64>,
    progress: Value,
}

/// The line as a progress line, when it is one.
fn progress_line(bytes: &[u8]) -> Option<ProgressLine> {
    let Ok(Value::Object(mut line)) = serde_json::from_slice::<Value>(bytes) else {
        return None;
    };
    if line.contains_key("results") {
        return None;
    }
    let progress = line.remove("progress")?;
    Some(ProgressLine {
        id: line.get("id").and_then(Value::as_u64),
        progress,
    })
}

impl ProgressLine {
    /// One report (or none) per call of message `id`: `progress` is a list with one
    /// object (or `null`) per call, in order, or one object for every call.
    fn for_message(self, id: u64, calls: usize) -> Result<Vec<Option<Map<String, Value>>>, String> {
        if self.id != Some(id) {
            return Err(format!(
                "worker sent progress for another message than {id}: {}",
                prefix(self.progress.to_string().as_bytes())
            ));
        }
        match self.progress {
            Value::Object(report) => Ok(vec![Some(report); calls]),
            Value::Array(items) if items.len() == calls => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(report) => Ok(Some(report)),
                    Value::Null => Ok(None),
                    other => Err(format!(
                        "worker's progress report is not an object: {}",
                        prefix(other.to_string().as_bytes())
                    )),
                })
                .collect(),
            other => Err(format!(
                "worker's progress is neither one object nor a list of one per call ({calls}): {}",
                prefix(other.to_string().as_bytes())
            )),
        }
    }
}

/// Parses a worker's answer to message `id` of `calls` calls.
fn parse_answer(bytes: &[u8], id: u64, calls: usize) -> Exchange {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return Exchange::Garbage(format!(
                "worker answered a line that is not JSON ({e}): {}",
                prefix(bytes)
            ));
        }
    };
    if value.get("id").and_then(Value::as_u64) != Some(id) {
        return Exchange::Garbage(format!(
            "worker answered message {id} with a line of another or no id: {}",
            prefix(bytes)
        ));
    }
    let Some(results) = value.get("results").and_then(Value::as_array) else {
        return Exchange::Garbage(format!(
            "worker's answer has no \"results\" list: {}",
            prefix(bytes)
        ));
    };
    if results.len() != calls {
        return Exchange::Garbage(format!(
            "worker answered {} results to {calls} calls",
            results.len()
        ));
    }
    Exchange::Answer(results.iter().map(parse_result).collect())
}

/// One `{"ok": value}` or `{"error": message}`.
fn parse_result(result: &Value) -> Result<Value, CallError> {
    if let Some(v) = result.get("ok") {
        return Ok(v.clone());
    }
    match result.get("error") {
        Some(Value::String(m)) => Err(CallError::new(CallErrorKind::Failed, m.clone())),
        Some(other) => Err(CallError::new(CallErrorKind::Failed, other.to_string())),
        None => Err(CallError::new(
            CallErrorKind::BadOutput,
            format!(
                "worker's result is neither {{\"ok\": …}} nor {{\"error\": …}}: {}",
                prefix(result.to_string().as_bytes())
            ),
        )),
    }
}
