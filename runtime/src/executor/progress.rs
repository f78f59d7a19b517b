//! Progress reports (LANGUAGE.md 10.4). A one-shot process gets the write end of a
//! pipe, named by `COSMOS_PROGRESS_FD`, and may write one JSON object per line to it
//! (`{"progress": 0.42, "detail": "pass 1 of 2"}`); a warm worker writes
//! `{"id": N, "progress": …}` lines on stdout between its answers (`warm.rs`). Each
//! report goes to the call's [`ProgressSink`], and counts as the call's heartbeat.
//!
//! The pipe's write end must reach the child at a known number, and only that child:
//! it is created close-on-exec, made inheritable just for the one spawn, and closed
//! in the runtime at once. Every spawn of the executor holds [`SPAWN`] while it
//! forks, so no other function process can inherit that descriptor meanwhile.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use serde_json::{Map, Value};
use tokio::io::BufReader;
use tokio::net::unix::pipe::Receiver;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::output::{Line, lock, read_line_bounded};

/// The environment variable naming the progress descriptor of a one-shot process.
pub const PROGRESS_VAR: &str = "COSMOS_PROGRESS_FD";

/// The longest report line read; a longer one is skipped.
pub(crate) const MAX_REPORT_BYTES: usize = 64 * 1024;

/// Where a call's progress reports go: each one a JSON object, in the order the
/// process wrote them.
pub type ProgressSink = Arc<dyn Fn(Map<String, Value>) + Send + Sync>;

/// Held while the executor spawns a process (see the module documentation).
static SPAWN: Mutex<()> = Mutex::new(());

/// Spawns `command` while no progress pipe of another call is inheritable.
pub(crate) fn spawn(command: &mut Command) -> io::Result<Child> {
    let _guard = lock(&SPAWN);
    command.spawn()
}

/// Spawns `command` with the write end of a new pipe as `COSMOS_PROGRESS_FD`, and
/// returns the child with the pipe's read end.
pub(crate) fn spawn_with_pipe(command: &mut Command) -> io::Result<(Child, Receiver)> {
    let (reader, writer) = io::pipe()?;
    let receiver = Receiver::from_owned_fd(OwnedFd::from(reader))?;
    command.env(PROGRESS_VAR, writer.as_raw_fd().to_string());
    let _guard = lock(&SPAWN);
    fcntl(&writer, FcntlArg::F_SETFD(FdFlag::empty())).map_err(io::Error::from)?;
    let child = command.spawn();
    // Closed here at once: the child holds its own copy.
    drop(writer);
    Ok((child?, receiver))
}

/// Reads report lines from `receiver` until it closes, sending each JSON object on.
pub(crate) fn read_reports(
    receiver: Receiver,
) -> (mpsc::Receiver<Map<String, Value>>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    let task = tokio::spawn(async move {
        let mut reader = BufReader::new(receiver);
        loop {
            match read_line_bounded(&mut reader, MAX_REPORT_BYTES).await {
                Ok(Line::Text(bytes)) => {
                    if let Some(report) = parse_report(&bytes)
                        && tx.send(report).await.is_err()
                    {
                        break;
                    }
                }
                Ok(Line::TooLong) => {}
                Ok(Line::Eof) | Err(_) => break,
            }
        }
    });
    (rx, task)
}

/// A report line: a JSON object (anything else is ignored, and is no heartbeat).
pub(crate) fn parse_report(line: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(line.trim_ascii()) {
        Ok(Value::Object(report)) => Some(report),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_one_json_object_per_line() {
        let report = parse_report(br#" {"progress": 0.5, "detail": "half"} "#).unwrap();
        assert_eq!(report["progress"], serde_json::json!(0.5));
        assert!(parse_report(b"0.5").is_none());
        assert!(parse_report(b"not json").is_none());
        assert!(parse_report(b"").is_none());
    }
}
