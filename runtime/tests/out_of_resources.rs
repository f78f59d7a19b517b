//! A function's process that cannot start for lack of resources is the node's problem,
//! not the function's: with the open-file limit lowered so that no pipe can be made,
//! the call waits (the instance stays `RUNNING`, no `CallFailed` in its history, no
//! attempt charged) and runs once descriptors are free again.
//!
//! One test in its own binary: it lowers this process's own `RLIMIT_NOFILE`, which
//! would starve any other test running beside it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_diagnostics::FileId;
use cosmos_ir::bundle::Bundle;
use cosmos_runtime::deployment::{COMPILER_VERSION, Deployment, Evaluator};
use cosmos_runtime::engine::{HistoryKind, Status};
use cosmos_runtime::node::{Node, NodeConfig, executor_for, now_ms};
use cosmos_runtime::store::{SqliteStore, Store};
use cosmos_semantics::Analysis;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use serde_json::json;
use std::sync::Arc;
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

fn program() -> cosmos_ir::Program {
    let mut analysis = Analysis::new();
    analysis.set_file(FileId(0), "main", SOURCE.to_string());
    let errors: Vec<_> = analysis
        .diagnostics()
        .into_iter()
        .filter(|d| d.severity == cosmos_diagnostics::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    analysis.lower_project().unwrap()
}

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
    let program = program();
    let bytes = Bundle::new(COMPILER_VERSION, "starved", Vec::new(), program.clone())
        .to_bytes()
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&root.join("state.db")).unwrap());
    let deployment = Deployment::deploy(store.as_ref(), &bytes, now_ms(), Evaluator::Jit).unwrap();
    let executor = executor_for(&program, root.clone(), &Default::default());
    let node = Node::start(
        Arc::clone(&store),
        deployment,
        executor,
        NodeConfig::default(),
    );
    // Let the node open what it keeps open (store connections, its watches).
    let (first, _) = node
        .start_instance("Starved", json!({"seed": 1}), None)
        .await
        .unwrap();
    wait_for(&node, &first, Status::Completed).await;

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
    let done = wait_for(&node, &id, Status::Completed).await;
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

async fn wait_for(node: &Node, id: &str, status: Status) -> cosmos_runtime::store::InstanceRecord {
    let mut waited = Duration::ZERO;
    loop {
        let record = node.instance(id).await.unwrap();
        if record.status == status {
            return record;
        }
        assert!(waited < Duration::from_secs(20), "{record:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
}
