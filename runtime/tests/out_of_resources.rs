//! A function's process that cannot start for lack of resources is the node's problem,
//! not the function's: with the open-file limit lowered so that no pipe can be made,
//! the call waits (the instance stays `RUNNING`, no `CallFailed` in its history, no
//! attempt charged) and runs once descriptors are free again.
//!
//! One test in its own binary: it lowers this process's own `RLIMIT_NOFILE`, which
//! would starve any other test running beside it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_runtime::engine::{HistoryKind, Status};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use serde_json::json;
use std::time::Duration;

const SOURCE: &str = r#"
function double(n: Int): Int { command "sh functions/double.sh" }

workflow Starved {
    input { seed: Int }
    facts { doubled: Int? }
    rule "double" {
        match { doubled == null }
        action { double(n: seed) }
        reaction { doubled = result }
    }
    complete when { doubled != null }
    output { doubled }
}
"#;

fn open_descriptors() -> u64 {
    std::fs::read_dir("/proc/self/fd").unwrap().count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_cannot_start_for_lack_of_descriptors_waits_and_runs_later() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("functions")).unwrap();
    std::fs::write(
        root.join("functions/double.sh"),
        "read line\nn=$(printf '%s' \"$line\" | tr -dc '0-9')\necho $((n * 2))\n",
    )
    .unwrap();
    let program = support::program(SOURCE);
    let (store, node) = support::start_node(&root, "starved", &program);
    // Let the node open what it keeps open (store connections, its watches).
    let (first, _) = node
        .start_instance("Starved", json!({"seed": 1}), None)
        .await
        .unwrap();
    support::wait_for(&node, &first, Status::Completed).await;

    // No room for a pipe: starting a process fails with EMFILE.
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, open_descriptors() + 1, hard).unwrap();
    let (id, _) = node
        .start_instance("Starved", json!({"seed": 21}), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let starved = node.instance(&id).await.unwrap();
    let rows = store.history(&id, 0).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
    assert_eq!(starved.status, Status::Running, "{starved:?}");
    assert!(
        !rows.iter().any(|r| r.kind == HistoryKind::CallFailed),
        "a call that could not start is not the function's failure: {rows:?}"
    );

    // Descriptors are free again: the call runs, as its first attempt.
    let done = support::wait_for(&node, &id, Status::Completed).await;
    node.stop().await;
    assert_eq!(done.output, Some(json!(42)), "{done:?}");
    let rows = store.history(&id, 0).unwrap();
    assert!(
        !rows
            .iter()
            .any(|r| matches!(r.kind, HistoryKind::CallFailed | HistoryKind::Retrying)),
        "{rows:?}"
    );
}
