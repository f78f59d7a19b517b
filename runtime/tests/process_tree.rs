#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! A function's processes end with its call: children that leave its process group
//! (`setsid`, a double fork) are found and killed when the call ends — by success,
//! failure, timeout or cancellation — and one that keeps stdout open neither spoils
//! nor delays the call's valid output. Real `sh`, `setsid`, `sleep` and `python3`.

use std::path::Path;
use std::time::{Duration, Instant};

use cosmos_runtime::executor::{CallErrorKind, CallJob, Executor, ExecutorLimits, FunctionSpec};
use serde_json::{Value, json};
use tempfile::TempDir;

/// Starts a sleeper in a session of its own, which writes its pid to `gc.pid`,
/// and waits until it has.
const ESCAPE: &str = "setsid sh -c 'echo $$ > gc.tmp; mv gc.tmp gc.pid; exec sleep 300' \
                      REDIRECT & while [ ! -s gc.pid ]; do sleep 0.01; done";

fn escape(redirect: &str) -> String {
    ESCAPE.replace("REDIRECT", redirect)
}

fn function(name: &str, command: Vec<String>) -> FunctionSpec {
    FunctionSpec {
        name: name.to_string(),
        command,
        pool: "default".into(),
        timeout: Duration::from_secs(10),
        warm: 0,
        batch: 1,
        priority: 0,
        env: Vec::new(),
        heartbeat: None,
    }
}

fn sh(name: &str, body: &str) -> FunctionSpec {
    function(name, vec!["sh".into(), "-c".into(), body.into()])
}

fn executor(dir: &TempDir, functions: Vec<FunctionSpec>) -> Executor {
    Executor::new(
        dir.path().to_path_buf(),
        functions,
        vec![],
        ExecutorLimits::default(),
    )
}

fn job(function: &str) -> CallJob {
    CallJob {
        key: format!("key-{function}"),
        function: function.to_string(),
        args: serde_json::Map::new(),
        priority: 0,
    }
}

/// Whether `pid` is a live process (a zombie counts as dead).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

/// The escaped grandchild's pid.
fn grandchild(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("gc.pid"))
        .unwrap()
        .trim()
        .to_string()
}

/// Waits (at most 3 s) until `pid` is dead.
async fn dies(pid: &str) {
    let start = Instant::now();
    while alive(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "process {pid} outlived its call"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_setsid_grandchild_dies_with_its_successful_call() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{}; echo 7", escape(">/dev/null 2>&1 </dev/null"));
    let exec = executor(&dir, vec![sh("f", &body)]);
    assert_eq!(exec.call(job("f")).await.unwrap(), json!(7));
    dies(&grandchild(dir.path())).await;
}

#[tokio::test]
async fn a_setsid_grandchild_dies_with_its_failed_call() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{}; exit 3", escape(">/dev/null 2>&1 </dev/null"));
    let exec = executor(&dir, vec![sh("f", &body)]);
    let e = exec.call(job("f")).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed, "{e}");
    dies(&grandchild(dir.path())).await;
}

#[tokio::test]
async fn a_setsid_process_holding_stdout_neither_spoils_nor_delays_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{}; echo 8", escape("</dev/null"));
    let exec = executor(&dir, vec![sh("f", &body)]);
    let start = Instant::now();
    assert_eq!(exec.call(job("f")).await.unwrap(), json!(8));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    dies(&grandchild(dir.path())).await;
}

#[tokio::test]
async fn a_double_forked_python_daemon_dies_with_its_call() {
    let dir = tempfile::tempdir().unwrap();
    // The classic daemon: fork, setsid, fork again, the middle process exits at once
    // (so the daemon is an orphan before the call ends); it keeps stdout open.
    let script = r#"
import json, os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("gc.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("gc.tmp", "gc.pid")
        os.execvp("sleep", ["sleep", "300"])
    os._exit(0)
while not os.path.exists("gc.pid"):
    time.sleep(0.01)
time.sleep(0.1)
print(json.dumps({"ok": True}), flush=True)
"#;
    std::fs::write(dir.path().join("daemon.py"), script).unwrap();
    let f = function("f", vec!["python3".into(), "daemon.py".into()]);
    let exec = executor(&dir, vec![f]);
    let value: Value = exec.call(job("f")).await.unwrap();
    assert_eq!(value, json!({"ok": true}));
    dies(&grandchild(dir.path())).await;
}

#[tokio::test]
async fn a_setsid_grandchild_dies_when_its_call_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{}; sleep 100", escape(">/dev/null 2>&1 </dev/null"));
    let mut f = sh("f", &body);
    f.timeout = Duration::from_millis(1500);
    let exec = executor(&dir, vec![f]);
    let e = exec.call(job("f")).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Timeout, "{e}");
    dies(&grandchild(dir.path())).await;
}

/// A running call is cancelled when the task running it is dropped: here, with
/// the whole async runtime, as when a node's process shuts down.
#[test]
fn a_setsid_grandchild_dies_when_its_call_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{}; sleep 100", escape(">/dev/null 2>&1 </dev/null"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let exec = runtime.block_on(async { executor(&dir, vec![sh("f", &body)]) });
    runtime.spawn(async move { exec.call(job("f")).await });
    let start = Instant::now();
    while !dir.path().join("gc.pid").exists() {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(runtime);
    let pid = grandchild(dir.path());
    let start = Instant::now();
    while alive(&pid) {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "process {pid} outlived its call"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test]
async fn a_warm_workers_setsid_grandchild_dies_with_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{}; while read line; do echo '{{\"id\": 1, \"results\": [{{\"ok\": 1}}]}}'; done",
        escape(">/dev/null 2>&1 </dev/null")
    );
    let mut f = sh("f", &script);
    f.warm = 1;
    let exec = executor(&dir, vec![f]);
    assert_eq!(exec.call(job("f")).await.unwrap(), json!(1));
    let pid = grandchild(dir.path());
    assert!(
        alive(&pid),
        "the worker's helper lives as long as the worker"
    );
    exec.shutdown().await;
    dies(&pid).await;
}
