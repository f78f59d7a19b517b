#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The function executor with real processes: one-shot calls, warm workers,
//! batching, pool limits and priorities. The functions are small `sh` and
//! `python3` scripts written into a temporary project root.

use std::path::Path;
use std::time::{Duration, Instant};

use cosmos_runtime::executor::{
    CallErrorKind, CallJob, Executor, ExecutorLimits, FunctionSpec, PoolSpec,
};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A python warm worker. Per message it records its size in `sizes`, and per
/// call: `{"x": n}` → `{"ok": 2n}`; `{"op": "crash"}` dies by SIGKILL;
/// `{"op": "exit"}` exits with status 3; `{"op": "error"}` answers
/// `{"error": "no good"}`; `{"op": "garbage"}` answers a line that is not JSON;
/// `{"op": "hang"}` never answers. `{"sleep": s}` sleeps before answering,
/// `{"wait_for": file}` waits for the file to exist, `{"note": n}` appends `n` to
/// `order`.
const WORKER: &str = r#"
import json, os, signal, sys, time
if os.environ.get("COSMOS_PROTOCOL") != "lines":
    sys.exit(7)
with open("starts", "a") as f:
    f.write(f"{os.getpid()}\n")
for line in sys.stdin:
    msg = json.loads(line)
    calls = msg["calls"]
    with open("sizes", "a") as f:
        f.write(f"{len(calls)}\n")
    ops = [c.get("op") for c in calls]
    for c in calls:
        time.sleep(c.get("sleep", 0))
        while "wait_for" in c and not os.path.exists(c["wait_for"]):
            time.sleep(0.01)
        if "note" in c:
            with open("order", "a") as f:
                f.write(c["note"] + "\n")
    if "crash" in ops:
        sys.stderr.write("dying now\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if "exit" in ops:
        sys.stderr.write("giving up\n")
        sys.exit(3)
    if "hang" in ops:
        time.sleep(100)
    if "garbage" in ops:
        print("this is not json", flush=True)
        continue
    results = []
    for c in calls:
        if c.get("op") == "error":
            results.append({"error": "no good"})
        else:
            results.append({"ok": c.get("x", 0) * 2})
    print(json.dumps({"id": msg["id"], "results": results}), flush=True)
"#;

/// The python interpreter itself (not a version manager's shim, which is slower
/// to start and runs helper processes).
fn python() -> String {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let out = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .expect("python3 is installed");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .clone()
}

fn project() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("worker.py"), WORKER).unwrap();
    dir
}

/// A one-shot function running `sh -c body` in the project root.
fn sh(name: &str, body: &str) -> FunctionSpec {
    FunctionSpec {
        name: name.to_string(),
        command: vec!["sh".into(), "-c".into(), body.into()],
        pool: "default".into(),
        timeout: Duration::from_secs(10),
        warm: 0,
        batch: 1,
        priority: 0,
        env: Vec::new(),
        heartbeat: None,
    }
}

/// The python warm worker as function `name`.
fn worker(name: &str, warm: u32, batch: u32) -> FunctionSpec {
    FunctionSpec {
        command: vec![python(), "worker.py".into()],
        warm,
        batch,
        ..sh(name, "")
    }
}

fn executor(dir: &TempDir, functions: Vec<FunctionSpec>, pools: Vec<PoolSpec>) -> Executor {
    Executor::new(
        dir.path().to_path_buf(),
        functions,
        pools,
        ExecutorLimits::default(),
    )
}

fn job(function: &str, args: Value) -> CallJob {
    CallJob {
        key: format!("key-{function}"),
        function: function.to_string(),
        args: args.as_object().cloned().unwrap_or_default(),
        priority: 0,
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
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

/// Waits until `cond` holds (at most 5 s).
async fn until(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "timed out waiting"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn one_shot_success_gets_args_key_and_root() {
    let dir = project();
    let f = sh(
        "echo",
        r#"input=$(cat); printf '{"got": %s, "key": "%s", "cwd": "%s"}' "$input" "$COSMOS_IDEMPOTENCY_KEY" "$(pwd -P)""#,
    );
    let exec = executor(&dir, vec![f], vec![]);
    let v = exec
        .call(job("echo", json!({"a": 1, "b": "two"})))
        .await
        .unwrap();
    assert_eq!(v["got"], json!({"a": 1, "b": "two"}));
    assert_eq!(v["key"], "key-echo");
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(v["cwd"], root.to_string_lossy().as_ref());
    let stats = exec.stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].completed, 1);
    assert_eq!(stats[0].started_processes, 1);
    assert_eq!(stats[0].running, 0);
}

#[tokio::test]
async fn exit_1_is_failed_with_stderr_tail() {
    let dir = project();
    let f = sh("fail", "echo 'something went wrong' >&2; exit 1");
    let exec = executor(&dir, vec![f], vec![]);
    let e = exec.call(job("fail", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed);
    assert_eq!(e.kind.as_str(), "FAILED");
    assert_eq!(e.message, "exited with status 1");
    assert_eq!(e.stderr.as_deref(), Some("something went wrong\n"));
    assert_eq!(exec.stats()[0].failed, 1);
}

#[tokio::test]
async fn stderr_tail_is_bounded() {
    let dir = project();
    let f = sh(
        "noisy",
        "i=0; while [ $i -lt 200 ]; do echo line$i >&2; i=$((i+1)); done; exit 2",
    );
    let exec = Executor::new(
        dir.path().to_path_buf(),
        vec![f],
        vec![],
        ExecutorLimits {
            stderr_tail_bytes: 16,
            ..ExecutorLimits::default()
        },
    );
    let e = exec.call(job("noisy", json!({}))).await.unwrap_err();
    assert_eq!(e.message, "exited with status 2");
    let tail = e.stderr.unwrap();
    assert_eq!(tail.len(), 16);
    assert!(tail.ends_with("line199\n"), "{tail:?}");
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let dir = project();
    let mut f = sh("slow", "sleep 100 & echo $! > grandchild.pid; sleep 100");
    f.timeout = Duration::from_millis(1500);
    let exec = executor(&dir, vec![f], vec![]);
    let start = Instant::now();
    let e = exec.call(job("slow", json!({}))).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(e.kind, CallErrorKind::Timeout);
    assert_eq!(e.message, "did not finish within 1500ms");
    let pid = std::fs::read_to_string(dir.path().join("grandchild.pid")).unwrap();
    let pid = pid.trim().to_string();
    assert!(!pid.is_empty());
    until(|| !alive(&pid)).await;
}

#[tokio::test]
async fn background_leftovers_die_with_the_call() {
    let dir = project();
    let f = sh(
        "bg",
        "sleep 100 >/dev/null 2>&1 & echo $! > bg.pid; sleep 100 & echo $! > bg2.pid; echo 5",
    );
    let exec = executor(&dir, vec![f], vec![]);
    let start = Instant::now();
    assert_eq!(exec.call(job("bg", json!({}))).await.unwrap(), json!(5));
    // The second sleep holds stdout open: it is killed, not waited for.
    assert!(start.elapsed() < Duration::from_secs(5));
    for file in ["bg.pid", "bg2.pid"] {
        let pid = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let pid = pid.trim().to_string();
        until(|| !alive(&pid)).await;
    }
}

#[tokio::test]
async fn garbage_output_is_bad_output() {
    let dir = project();
    let f = sh("garbage", "echo 'hello there, not json'");
    let exec = executor(&dir, vec![f, sh("empty", "true")], vec![]);
    let e = exec.call(job("garbage", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::BadOutput);
    assert!(e.message.contains("not one JSON value"), "{}", e.message);
    assert!(e.message.contains("hello there"), "{}", e.message);
    let e = exec.call(job("empty", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::BadOutput);
    assert!(e.message.contains("nothing"), "{}", e.message);
}

#[tokio::test]
async fn oversized_output_is_bad_output() {
    let dir = project();
    // `yes` never stops by itself: the group must be killed at the limit.
    let f = sh("flood", "yes");
    let exec = Executor::new(
        dir.path().to_path_buf(),
        vec![f],
        vec![],
        ExecutorLimits {
            max_stdout_bytes: 1000,
            ..ExecutorLimits::default()
        },
    );
    let e = exec.call(job("flood", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::BadOutput);
    assert_eq!(e.message, "output exceeds 1000 bytes");
}

#[tokio::test]
async fn signals_are_crashes() {
    let dir = project();
    let exec = executor(
        &dir,
        vec![
            sh("kill9", "echo bye >&2; kill -9 $$"),
            sh("segv", "kill -SEGV $$"),
        ],
        vec![],
    );
    let e = exec.call(job("kill9", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Crashed);
    assert_eq!(e.message, "killed by signal SIGKILL");
    assert_eq!(e.stderr.as_deref(), Some("bye\n"));
    let e = exec.call(job("segv", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Crashed);
    assert_eq!(e.message, "killed by signal SIGSEGV");
}

#[tokio::test]
async fn missing_program_and_unknown_function_are_failed() {
    let dir = project();
    let mut f = sh("missing", "");
    f.command = vec!["/nonexistent/program".into(), "arg".into()];
    let exec = executor(&dir, vec![f], vec![]);
    let e = exec.call(job("missing", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed);
    assert!(
        e.message
            .starts_with("cannot start `/nonexistent/program`: "),
        "{}",
        e.message
    );
    let e = exec.call(job("nope", json!({}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed);
    assert_eq!(e.message, "unknown function `nope`");
    assert_eq!(exec.stats()[0].running, 0);
}

#[tokio::test]
async fn warm_worker_serves_many_calls_with_one_process() {
    let dir = project();
    let exec = executor(&dir, vec![worker("double", 1, 1)], vec![]);
    for x in 0..10 {
        let v = exec.call(job("double", json!({ "x": x }))).await.unwrap();
        assert_eq!(v, json!(x * 2));
    }
    let starts = lines(&dir.path().join("starts"));
    assert_eq!(starts.len(), 1, "{starts:?}");
    let stats = &exec.stats()[0];
    assert_eq!(stats.started_processes, 1);
    assert_eq!(stats.completed, 10);
    assert_eq!(stats.warm_idle, 1);
    exec.shutdown().await;
    until(|| !alive(&starts[0])).await;
    assert_eq!(exec.stats()[0].warm_idle, 0);
    let e = exec.call(job("double", json!({"x": 1}))).await.unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed);
}

#[tokio::test]
async fn waiting_calls_are_micro_batched() {
    let dir = project();
    let exec = executor(&dir, vec![worker("double", 1, 4)], vec![]);
    let handles: Vec<_> = (0..8)
        .map(|x| {
            let exec = exec.clone();
            tokio::spawn(async move {
                exec.call(job("double", json!({ "x": x, "sleep": 0.05 })))
                    .await
            })
        })
        .collect();
    for (x, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap().unwrap(), json!(x * 2));
    }
    let sizes: Vec<usize> = lines(&dir.path().join("sizes"))
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 8, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n <= 4), "{sizes:?}");
    // The first call starts the worker alone; the 7 that queued meanwhile go 4 + 3.
    assert_eq!(sizes, [1, 4, 3]);
    assert_eq!(lines(&dir.path().join("starts")).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_max_bounds_running_processes() {
    let dir = project();
    let mut f = sh(
        "work",
        "echo start >> log; sleep 0.1; echo end >> log; echo 1",
    );
    f.pool = "small".into();
    let exec = executor(
        &dir,
        vec![f],
        vec![PoolSpec {
            name: "small".into(),
            max: 3,
            warm: 0,
        }],
    );
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let exec = exec.clone();
            tokio::spawn(async move { exec.call(job("work", json!({}))).await })
        })
        .collect();
    until(|| exec.stats()[0].waiting > 0).await;
    assert!(exec.stats()[0].running <= 3);
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap(), json!(1));
    }
    let (mut now, mut most) = (0i32, 0i32);
    for l in lines(&dir.path().join("log")) {
        now += if l == "start" { 1 } else { -1 };
        most = most.max(now);
    }
    assert_eq!(most, 3);
    let stats = &exec.stats()[0];
    assert_eq!((stats.completed, stats.running, stats.waiting), (20, 0, 0));
}

#[tokio::test]
async fn highest_priority_runs_first() {
    let dir = project();
    let mut gate = sh("gate", "while [ ! -f go ]; do sleep 0.01; done; echo 0");
    gate.pool = "one".into();
    let mut rec = sh("rec", "echo $COSMOS_IDEMPOTENCY_KEY >> order; echo 1");
    rec.pool = "one".into();
    rec.priority = 10;
    let exec = executor(
        &dir,
        vec![gate, rec],
        vec![PoolSpec {
            name: "one".into(),
            max: 1,
            warm: 0,
        }],
    );
    let mut handles = vec![tokio::spawn({
        let exec = exec.clone();
        async move { exec.call(job("gate", json!({}))).await }
    })];
    until(|| exec.stats()[0].running == 1).await;
    for (i, (key, priority)) in [("a", 1), ("b", 5), ("c", 3), ("d", 5), ("e", -20)]
        .into_iter()
        .enumerate()
    {
        let exec2 = exec.clone();
        handles.push(tokio::spawn(async move {
            let mut j = job("rec", json!({}));
            j.key = key.to_string();
            j.priority = priority;
            exec2.call(j).await
        }));
        until(|| exec.stats()[0].waiting == i as u32 + 1).await;
    }
    std::fs::write(dir.path().join("go"), "").unwrap();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(lines(&dir.path().join("order")), ["b", "d", "c", "a", "e"]);
}

#[tokio::test]
async fn warm_worker_crash_then_recovers() {
    let dir = project();
    let exec = executor(&dir, vec![worker("w", 1, 1)], vec![]);
    assert_eq!(
        exec.call(job("w", json!({"x": 1}))).await.unwrap(),
        json!(2)
    );
    let e = exec
        .call(job("w", json!({"op": "crash"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Crashed);
    assert_eq!(e.message, "worker killed by signal SIGKILL");
    assert_eq!(e.stderr.as_deref(), Some("dying now\n"));
    assert_eq!(
        exec.call(job("w", json!({"x": 5}))).await.unwrap(),
        json!(10)
    );
    let e = exec
        .call(job("w", json!({"op": "exit"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed);
    assert_eq!(e.message, "worker exited with status 3");
    assert_eq!(e.stderr.as_deref(), Some("giving up\n"));
    assert_eq!(
        exec.call(job("w", json!({"x": 6}))).await.unwrap(),
        json!(12)
    );
    assert_eq!(lines(&dir.path().join("starts")).len(), 3);
    exec.shutdown().await;
}

#[tokio::test]
async fn warm_worker_errors_garbage_and_timeout() {
    let dir = project();
    let mut f = worker("w", 1, 1);
    // Covers a worker's start on a loaded machine; only the `hang` call waits it out.
    f.timeout = Duration::from_secs(3);
    let exec = executor(&dir, vec![f], vec![]);
    let e = exec
        .call(job("w", json!({"op": "error"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Failed);
    assert_eq!(e.message, "no good");
    // The worker survives an `{"error"}` result.
    assert_eq!(
        exec.call(job("w", json!({"x": 2}))).await.unwrap(),
        json!(4)
    );
    assert_eq!(lines(&dir.path().join("starts")).len(), 1);

    let e = exec
        .call(job("w", json!({"op": "garbage"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::BadOutput);
    assert!(e.message.contains("this is not json"), "{}", e.message);
    let first = lines(&dir.path().join("starts"))[0].clone();
    until(|| !alive(&first)).await;

    assert_eq!(
        exec.call(job("w", json!({"x": 1}))).await.unwrap(),
        json!(2)
    );
    let e = exec
        .call(job("w", json!({"op": "hang"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, CallErrorKind::Timeout);
    assert_eq!(e.message, "worker did not answer within 3s");
    let second = lines(&dir.path().join("starts"))[1].clone();
    until(|| !alive(&second)).await;

    assert_eq!(
        exec.call(job("w", json!({"x": 3}))).await.unwrap(),
        json!(6)
    );
    assert_eq!(lines(&dir.path().join("starts")).len(), 3);
    exec.shutdown().await;
}

#[tokio::test]
async fn idle_warm_worker_is_evicted_for_another_function() {
    let dir = project();
    let mut w = worker("w", 1, 1);
    w.pool = "one".into();
    let mut f = sh("once", "echo 7");
    f.pool = "one".into();
    let exec = executor(
        &dir,
        vec![w, f],
        vec![PoolSpec {
            name: "one".into(),
            max: 1,
            warm: 1,
        }],
    );
    assert_eq!(
        exec.call(job("w", json!({"x": 1}))).await.unwrap(),
        json!(2)
    );
    assert_eq!(exec.stats()[0].warm_idle, 1);
    let pid = lines(&dir.path().join("starts"))[0].clone();
    assert_eq!(exec.call(job("once", json!({}))).await.unwrap(), json!(7));
    assert!(!alive(&pid));
    assert_eq!(exec.stats()[0].warm_idle, 0);
    // And the warm function gets a fresh worker.
    assert_eq!(
        exec.call(job("w", json!({"x": 2}))).await.unwrap(),
        json!(4)
    );
    assert_eq!(lines(&dir.path().join("starts")).len(), 2);
    exec.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_workers_bounded_by_function_warm_and_pool_warm() {
    let dir = project();
    let mut f = worker("w", 2, 1);
    f.pool = "p".into();
    let exec = executor(
        &dir,
        vec![f],
        vec![PoolSpec {
            name: "p".into(),
            max: 4,
            warm: 1,
        }],
    );
    let handles: Vec<_> = (0..6)
        .map(|x| {
            let exec = exec.clone();
            tokio::spawn(async move { exec.call(job("w", json!({ "x": x, "sleep": 0.1 }))).await })
        })
        .collect();
    for (x, h) in handles.into_iter().enumerate() {
        assert_eq!(h.await.unwrap().unwrap(), json!(x * 2));
    }
    let starts = lines(&dir.path().join("starts"));
    assert_eq!(starts.len(), 2, "{starts:?}");
    // The pool keeps one idle worker; the other is stopped.
    until(|| starts.iter().filter(|p| alive(p)).count() == 1).await;
    let stats = &exec.stats()[0];
    assert_eq!((stats.warm_idle, stats.running, stats.completed), (1, 0, 6));
    exec.shutdown().await;
    until(|| starts.iter().all(|p| !alive(p))).await;
}

#[tokio::test]
async fn abandoned_waiting_call_leaves_the_queue() {
    let dir = project();
    let mut gate = sh("gate", "while [ ! -f go ]; do sleep 0.01; done; echo 0");
    gate.pool = "one".into();
    let mut rec = sh("rec", "echo ran >> ran; echo 1");
    rec.pool = "one".into();
    let exec = executor(
        &dir,
        vec![gate, rec],
        vec![PoolSpec {
            name: "one".into(),
            max: 1,
            warm: 0,
        }],
    );
    let gated = tokio::spawn({
        let exec = exec.clone();
        async move { exec.call(job("gate", json!({}))).await }
    });
    until(|| exec.stats()[0].running == 1).await;
    let abandoned = tokio::spawn({
        let exec = exec.clone();
        async move { exec.call(job("rec", json!({}))).await }
    });
    until(|| exec.stats()[0].waiting == 1).await;
    abandoned.abort();
    let _ = abandoned.await;
    std::fs::write(dir.path().join("go"), "").unwrap();
    gated.await.unwrap().unwrap();
    assert_eq!(exec.call(job("rec", json!({}))).await.unwrap(), json!(1));
    assert_eq!(lines(&dir.path().join("ran")).len(), 1);
    assert_eq!(exec.stats()[0].waiting, 0);
}

#[tokio::test]
async fn higher_call_is_not_starved_by_lower_calls_reusing_a_worker() {
    let dir = project();
    let mut w = worker("w", 1, 1);
    w.pool = "one".into();
    let mut h = sh("h", "echo h >> order; echo 1");
    h.pool = "one".into();
    let exec = executor(
        &dir,
        vec![w, h],
        vec![PoolSpec {
            name: "one".into(),
            max: 1,
            warm: 0,
        }],
    );
    let spawn = |j: CallJob| {
        let exec = exec.clone();
        tokio::spawn(async move { exec.call(j).await })
    };
    let first = spawn(job("w", json!({"wait_for": "go", "note": "w1"})));
    until(|| exec.stats()[0].running == 1).await;
    let second = spawn(job("w", json!({"note": "w2"})));
    until(|| exec.stats()[0].waiting == 1).await;
    let mut high = job("h", json!({}));
    high.priority = 5;
    let high = spawn(high);
    until(|| exec.stats()[0].waiting == 2).await;
    std::fs::write(dir.path().join("go"), "").unwrap();
    first.await.unwrap().unwrap();
    high.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    // The idle worker was killed to make room for `h`, which ran before `w2`.
    assert_eq!(lines(&dir.path().join("order")), ["w1", "h", "w2"]);
    assert_eq!(lines(&dir.path().join("starts")).len(), 2);
    exec.shutdown().await;
}

/// How many process groups (each executor process is the leader of one) have
/// live processes whose current directory is `dir`. Groups, not processes: the
/// `python3` on PATH may be a shim that runs helpers of its own.
fn groups_in(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let groups: std::collections::HashSet<String> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd == dir))
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state ppid pgrp …
            let (_, rest) = stat.rsplit_once(") ")?;
            rest.split(' ').nth(2).map(str::to_string)
        })
        .collect();
    groups.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_load_never_exceeds_the_pool() {
    let dir = project();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(
        root.join("one.py"),
        "import json, sys\nprint(json.load(sys.stdin)['x'] + 1)\n",
    )
    .unwrap();
    let mut one = sh("one", "");
    one.command = vec![python(), "one.py".into()];
    let mut w = worker("w", 2, 3);
    let mut v = worker("v", 1, 1);
    v.priority = 3;
    for f in [&mut one, &mut w, &mut v] {
        f.pool = "s".into();
    }
    let exec = executor(
        &dir,
        vec![one, w, v],
        vec![PoolSpec {
            name: "s".into(),
            max: 2,
            warm: 1,
        }],
    );
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::task::spawn_blocking({
        let (exec, done, root) = (exec.clone(), done.clone(), root.clone());
        move || {
            let mut most = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let n = groups_in(&root);
                let s = &exec.stats()[0];
                assert!(n <= 2, "{n} process groups alive");
                assert!(s.running + s.warm_idle <= 2, "{s:?}");
                most = most.max(n);
                std::thread::sleep(Duration::from_millis(2));
            }
            most
        }
    });
    let handles: Vec<_> = (0..40i64)
        .map(|i| {
            let exec = exec.clone();
            let (function, args) = match i % 4 {
                0 => ("one", json!({ "x": i })),
                3 if i % 8 == 3 => ("v", json!({ "op": "crash" })),
                3 => ("v", json!({ "x": i })),
                _ => ("w", json!({ "x": i })),
            };
            let mut j = job(function, args);
            j.priority = (i * 7) % 5;
            tokio::spawn(async move { (i, exec.call(j).await) })
        })
        .collect();
    for h in handles {
        let (i, result) = h.await.unwrap();
        match i % 4 {
            0 => assert_eq!(result.unwrap(), json!(i + 1)),
            3 if i % 8 == 3 => assert_eq!(result.unwrap_err().kind, CallErrorKind::Crashed),
            _ => assert_eq!(result.unwrap(), json!(i * 2)),
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(sampler.await.unwrap() >= 1);
    let s = &exec.stats()[0];
    assert_eq!((s.running, s.waiting, s.completed, s.failed), (0, 0, 35, 5));
    exec.shutdown().await;
    until(|| groups_in(&root) == 0).await;
}

#[test]
fn function_spec_from_ir() {
    let f = cosmos_ir::ExternFunction {
        module: "m".into(),
        name: "resize".into(),
        params: vec![],
        ret: cosmos_ir::Ty::Int,
        settings: cosmos_ir::FunctionSettings {
            command: vec!["prog".into(), "arg".into()],
            pool: "gpu".into(),
            timeout_ms: 30_000,
            warm: 2,
            batch: 8,
            priority: -3,
            env: vec!["AWS_PROFILE".into()],
            heartbeat_ms: Some(1_500),
            retry: None,
        },
    };
    let spec = FunctionSpec::from_ir(&f);
    assert_eq!(spec.heartbeat, Some(Duration::from_millis(1_500)));
    assert_eq!(spec.name, "resize");
    assert_eq!(spec.command, ["prog", "arg"]);
    assert_eq!(spec.pool, "gpu");
    assert_eq!(spec.timeout, Duration::from_secs(30));
    assert_eq!((spec.warm, spec.batch, spec.priority), (2, 8, -3));
    assert_eq!(spec.env, ["AWS_PROFILE"]);
}
