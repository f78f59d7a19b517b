//! Process plumbing shared by one-shot calls and warm workers: bounded reads of
//! stdout, stderr tails, process-group kills, and how a process ended in words.

use std::collections::VecDeque;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::task::JoinHandle;

use super::tree::Tree;

/// How long to wait for a pipe to close or a killed process to be reaped.
pub(crate) const GRACE: Duration = Duration::from_millis(500);

/// Locks `m`, ignoring poisoning (the data stays consistent: no code panics
/// while holding these locks).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The last `cap` bytes written to a stream, and how many were written in all.
#[derive(Debug)]
pub(crate) struct Tail {
    buf: VecDeque<u8>,
    cap: usize,
    total: u64,
}

/// A [`Tail`] shared with the task that fills it.
pub(crate) type SharedTail = Arc<Mutex<Tail>>;

impl Tail {
    pub(crate) fn shared(cap: usize) -> SharedTail {
        Arc::new(Mutex::new(Tail {
            buf: VecDeque::new(),
            cap,
            total: 0,
        }))
    }

    fn push(&mut self, bytes: &[u8]) {
        self.total = self.total.saturating_add(bytes.len() as u64);
        let keep = bytes
            .get(bytes.len().saturating_sub(self.cap)..)
            .unwrap_or(&[]);
        let overflow = (self.buf.len() + keep.len()).saturating_sub(self.cap);
        self.buf.drain(..overflow.min(self.buf.len()));
        self.buf.extend(keep);
    }

    /// Bytes written so far.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    /// What was written after position `since`, as far as the tail still holds
    /// it, as lossy UTF-8; `None` when nothing was.
    pub(crate) fn text_since(&self, since: u64) -> Option<String> {
        let new = usize::try_from(self.total.saturating_sub(since)).unwrap_or(usize::MAX);
        let n = new.min(self.buf.len());
        if n == 0 {
            return None;
        }
        let bytes: Vec<u8> = self.buf.range(self.buf.len() - n..).copied().collect();
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Spawns a task reading `stream` to its end into `tail`.
pub(crate) fn drain_stderr(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    tail: SharedTail,
) -> Option<JoinHandle<()>> {
    let mut stream = stream?;
    Some(tokio::spawn(async move {
        let mut chunk = vec![0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => lock(&tail).push(chunk.get(..n).unwrap_or(&[])),
            }
        }
    }))
}

/// Waits (briefly) for a stderr reader to reach the end of its stream, so the
/// tail holds everything the process wrote.
pub(crate) async fn settle_stderr(task: &mut Option<JoinHandle<()>>) {
    if let Some(handle) = task.as_mut()
        && tokio::time::timeout(GRACE, &mut *handle).await.is_err()
    {
        handle.abort();
    }
    *task = None;
}

/// What reading a bounded stream gave.
#[derive(Debug)]
pub(crate) enum Bounded {
    Complete(Vec<u8>),
    TooLong,
}

/// Reads `stream` to its end into `buf`, stopping past `max` bytes (then
/// [`Bounded::TooLong`]; `Complete` holds nothing: the bytes are in `buf`). What
/// was read stays in `buf` for whoever stops waiting for the end.
pub(crate) async fn read_shared(
    mut stream: impl AsyncRead + Unpin,
    max: usize,
    buf: Arc<Mutex<Vec<u8>>>,
) -> io::Result<Bounded> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Bounded::Complete(Vec::new()));
        }
        let mut buf = lock(&buf);
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        if buf.len() > max {
            return Ok(Bounded::TooLong);
        }
    }
}

/// One line of a worker's stdout.
#[derive(Debug)]
pub(crate) enum Line {
    Text(Vec<u8>),
    Eof,
    TooLong,
}

/// Reads one line (without its newline), giving up past `max` bytes.
pub(crate) async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> io::Result<Line> {
    let mut buf = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let n = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 {
        return Ok(Line::Eof);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > max {
        return Ok(Line::TooLong);
    }
    Ok(Line::Text(buf))
}

/// Sends SIGKILL to the process group `pgid` (a child started with
/// `process_group(0)`, so its pid is its group's id).
pub(crate) fn kill_group(pgid: Option<u32>) {
    // Never 0 or 1: killpg(0) would hit our own group.
    if let Some(pid) = pgid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// A child running in its own process group, with its process tree. Dropped (its
/// call ended, or its task was dropped), it takes the whole tree with it.
pub(crate) struct GroupChild {
    pub(crate) child: Child,
    pub(crate) pgid: Option<u32>,
    pub(crate) tree: Tree,
}

impl GroupChild {
    /// `child`, started with `TREE_VAR` set to `tag`.
    pub(crate) fn new(child: Child, tag: String) -> GroupChild {
        GroupChild {
            pgid: child.id(),
            tree: Tree::new(child.id(), tag),
            child,
        }
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        // Only while the leader is unreaped is its pid sure to still name the group
        // (the tree checks that for itself).
        if matches!(self.child.try_wait(), Ok(None)) {
            kill_group(self.pgid);
        }
        self.tree.end();
    }
}

/// Kills the group of `child` and reaps it.
pub(crate) async fn kill_and_reap(child: &mut Child, pgid: Option<u32>) {
    kill_group(pgid);
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    Success,
    Code(i32),
    Signal(String),
}

impl Ended {
    pub(crate) fn of(status: ExitStatus) -> Ended {
        match (status.code(), status.signal()) {
            (Some(0), _) => Ended::Success,
            (Some(code), _) => Ended::Code(code),
            (None, Some(sig)) => Ended::Signal(
                Signal::try_from(sig)
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|_| format!("signal {sig}")),
            ),
            (None, None) => Ended::Code(-1),
        }
    }
}

/// A duration as the messages say it: `30s`, `10min`, `250ms`.
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{}min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The start of what a process printed, for error messages.
pub(crate) fn prefix(bytes: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(bytes.get(..MAX).unwrap_or(bytes));
    if bytes.len() > MAX {
        format!("{text:?}…")
    } else {
        format!("{text:?}")
    }
}

/// Parses a one-shot call's stdout as exactly one JSON value.
pub(crate) fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, String> {
    if bytes.trim_ascii().is_empty() {
        return Err("printed nothing on stdout (expected one JSON value)".to_string());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "stdout is not one JSON value ({e}); it printed {}",
            prefix(bytes)
        )
    })
}
