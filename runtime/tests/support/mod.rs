//! What the runtime's integration tests share: a program from Emx source, a node on a
//! fresh SQLite store with real processes, and waiting for an instance's status.

#![allow(dead_code)]

use cosmos_diagnostics::FileId;
use cosmos_ir::bundle::Bundle;
use cosmos_runtime::deployment::{COMPILER_VERSION, Deployment, Evaluator};
use cosmos_runtime::engine::Status;
use cosmos_runtime::node::{Node, NodeConfig, executor_for, now_ms};
use cosmos_runtime::store::{InstanceRecord, SqliteStore, Store};
use cosmos_semantics::Analysis;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The program of one module, `main`, which must check without errors.
pub fn program(source: &str) -> cosmos_ir::Program {
    let mut analysis = Analysis::new();
    analysis.set_file(FileId(0), "main", source.to_string());
    let errors: Vec<_> = analysis
        .diagnostics()
        .into_iter()
        .filter(|d| d.severity == cosmos_diagnostics::Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    analysis.lower_project().expect("the program lowers")
}

/// A node running `program` (deployed as `name`, JIT-compiled) on a new SQLite store
/// in `root`, whose functions run as real processes in `root`.
pub fn start_node(root: &Path, name: &str, program: &cosmos_ir::Program) -> (Arc<dyn Store>, Node) {
    let bytes = Bundle::new(COMPILER_VERSION, name, Vec::new(), program.clone())
        .to_bytes()
        .expect("the bundle encodes");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&root.join("state.db")).expect("the store opens"));
    let deployment = Deployment::deploy(store.as_ref(), &bytes, now_ms(), Evaluator::Jit)
        .expect("the bundle deploys");
    let executor = executor_for(program, root.to_path_buf(), &Default::default());
    let node = Node::start(
        Arc::clone(&store),
        deployment,
        executor,
        NodeConfig::default(),
    );
    (store, node)
}

/// Waits up to 20 s for the instance to reach `status`.
pub async fn wait_for(node: &Node, id: &str, status: Status) -> InstanceRecord {
    let mut waited = Duration::ZERO;
    loop {
        let record = node.instance(id).await.expect("the instance exists");
        if record.status == status {
            return record;
        }
        assert!(waited < Duration::from_secs(20), "{record:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
}
