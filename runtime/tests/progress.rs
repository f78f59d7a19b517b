#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Progress reports and heartbeats (LANGUAGE.md 10.4) with real processes: a one-shot
//! process writes JSON lines to `COSMOS_PROGRESS_FD`, a warm worker writes
//! `{"id": N, "progress": …}` lines between its answers, and a call that reports
//! nothing for its function's `heartbeat` ends as `TIMEOUT`, its process group killed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cosmos_runtime::executor::{
    CallErrorKind, CallJob, Executor, ExecutorLimits, FunctionSpec, ProgressSink,
};
use serde_json::{Map, Value, json};
use tempfile::TempDir;

fn spec(name: &str, command: Vec<&str>, heartbeat: Option<Duration>) -> FunctionSpec {
    FunctionSpec {
        name: name.to_string(),
        command: command.into_iter().map(String::from).collect(),
        pool: "default".into(),
        timeout: Duration::from_secs(30),
        warm: 0,
        batch: 1,
        priority: 0,
        heartbeat,
        env: Vec::new(),
    }
}

fn job(function: &str) -> CallJob {
    CallJob {
        key: format!("i/{function}/1/0/1"),
        function: function.to_string(),
        args: Map::new(),
        priority: 0,
    }
}

/// A sink that keeps every report.
fn recorder() -> (ProgressSink, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = Arc::clone(&seen);
    let sink: ProgressSink = Arc::new(move |report: Map<String, Value>| {
        into.lock().unwrap().push(Value::Object(report));
    });
    (sink, seen)
}

fn executor(dir: &TempDir, functions: Vec<FunctionSpec>) -> Executor {
    Executor::new(
        dir.path().to_path_buf(),
        functions,
        Vec::new(),
        ExecutorLimits::default(),
    )
}

/// Writes each argument as a line to the progress descriptor, through /proc as
/// any `sh` can, then answers 7.
const REPORTER: &str = r#"cat > /dev/null
for line in "$@"; do
    printf '%s\n' "$line" > "/proc/self/fd/$COSMOS_PROGRESS_FD"
    sleep 0.05
done
echo 7"#;

#[tokio::test]
async fn a_one_shot_process_reports_progress_on_its_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let f = spec(
        "crunch",
        vec![
            "sh",
            "-c",
            REPORTER,
            "sh",
            r#"{"progress": 0.25, "detail": "pass 1 of 2"}"#,
            "not json: ignored",
            r#"{"progress": 0.75, "detail": "pass 2 of 2"}"#,
        ],
        None,
    );
    let exec = executor(&dir, vec![f]);
    let (sink, seen) = recorder();
    let value = exec
        .call_with_progress(job("crunch"), Some(sink))
        .await
        .unwrap();
    assert_eq!(value, json!(7));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            json!({"progress": 0.25, "detail": "pass 1 of 2"}),
            json!({"progress": 0.75, "detail": "pass 2 of 2"})
        ]
    );
}

/// Calls running at once each get a pipe of their own.
#[tokio::test]
async fn each_call_has_a_progress_pipe_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let f = spec(
        "fd",
        vec![
            "sh",
            "-c",
            r#"cat > /dev/null; printf '"%s"' "$(readlink /proc/self/fd/$COSMOS_PROGRESS_FD)""#,
        ],
        None,
    );
    let exec = executor(&dir, vec![f]);
    let (a, b) = tokio::join!(exec.call(job("fd")), exec.call(job("fd")));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.as_str().unwrap().starts_with("pipe:["), "{a}");
    assert_ne!(a, b, "each call has a pipe of its own");
}

#[tokio::test]
async fn a_silent_one_shot_call_times_out_at_its_heartbeat_and_its_group_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    // Reports once, then works without a word: a child in its group sleeps too.
    let f = spec(
        "silent",
        vec![
            "sh",
            "-c",
            r#"cat > /dev/null
printf '{"progress": 0.1}\n' > "/proc/self/fd/$COSMOS_PROGRESS_FD"
sleep 20 &
echo $! > child.pid
sleep 20
echo 1"#,
        ],
        Some(Duration::from_millis(400)),
    );
    let exec = executor(&dir, vec![f]);
    let (sink, seen) = recorder();
    let started = Instant::now();
    let error = exec
        .call_with_progress(job("silent"), Some(sink))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.kind, CallErrorKind::Timeout);
    assert!(
        error.message.starts_with("no heartbeat for 400ms"),
        "{}",
        error.message
    );
    assert!(
        took < Duration::from_secs(5),
        "{took:?}: long before its timeout"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    // The group was sent SIGKILL when the call ended; the process dies when the kernel
    // next schedules it, which on a loaded machine may be a moment later.
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
    let gone = || {
        std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).map_or(true, |s| {
            s.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z'))
        })
    };
    let killed = Instant::now();
    while !gone() && killed.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone(), "the group's other process is gone");
}

#[tokio::test]
async fn reports_keep_a_call_alive_past_its_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let beats: Vec<String> = (0..12)
        .map(|i| format!(r#"{{"progress": {}}}"#, f64::from(i) / 12.0))
        .collect();
    let mut command = vec!["sh", "-c", REPORTER, "sh"];
    command.extend(beats.iter().map(String::as_str));
    // 12 reports 50 ms apart: 0.6 s in all, over a heartbeat of 0.3 s.
    let f = spec("steady", command, Some(Duration::from_millis(300)));
    let exec = executor(&dir, vec![f]);
    let (sink, seen) = recorder();
    let value = exec
        .call_with_progress(job("steady"), Some(sink))
        .await
        .unwrap();
    assert_eq!(value, json!(7));
    assert_eq!(seen.lock().unwrap().len(), 12);
}

/// A warm worker in sh: for each message it writes a progress line for the message
/// (one report per call), then sleeps `$1` seconds, then answers; with `$2` = "mute"
/// it never reports.
const WORKER: &str = r#"while read -r line; do
    id=$(printf '%s' "$line" | sed 's/^{"id":\([0-9]*\).*/\1/')
    if [ "$2" != "mute" ]; then
        printf '{"id": %s, "progress": [{"progress": 0.5, "detail": "halfway"}]}\n' "$id"
    fi
    sleep "$1"
    printf '{"id": %s, "results": [{"ok": 3}]}\n' "$id"
done"#;

#[tokio::test]
async fn a_warm_worker_reports_progress_between_its_answers() {
    let dir = tempfile::tempdir().unwrap();
    let f = FunctionSpec {
        warm: 1,
        ..spec("warm", vec!["sh", "-c", WORKER, "sh", "0.1", "talk"], None)
    };
    let exec = executor(&dir, vec![f]);
    for _ in 0..2 {
        let (sink, seen) = recorder();
        let value = exec
            .call_with_progress(job("warm"), Some(sink))
            .await
            .unwrap();
        assert_eq!(value, json!(3));
        assert_eq!(
            *seen.lock().unwrap(),
            [json!({"progress": 0.5, "detail": "halfway"})]
        );
    }
    exec.shutdown().await;
}

#[tokio::test]
async fn a_silent_warm_worker_is_killed_at_its_heartbeat() {
    let dir = tempfile::tempdir().unwrap();
    let f = FunctionSpec {
        warm: 1,
        ..spec(
            "mute",
            vec!["sh", "-c", WORKER, "sh", "20", "mute"],
            Some(Duration::from_millis(300)),
        )
    };
    let exec = executor(&dir, vec![f]);
    let started = Instant::now();
    let error = exec.call(job("mute")).await.unwrap_err();
    assert_eq!(error.kind, CallErrorKind::Timeout);
    assert!(
        error.message.starts_with("no heartbeat for 300ms"),
        "{}",
        error.message
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    exec.shutdown().await;
}
