//! A history replays to the same facts: an instance run for real (SQLite store, real
//! processes, a real timer, a failure and its retry, a signal, `now()` in a reaction)
//! is rebuilt from its stored history alone, and must equal the stored instance.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_diagnostics::FileId;
use cosmos_ir::bundle::Bundle;
use cosmos_runtime::deployment::{COMPILER_VERSION, Deployment, Evaluator};
use cosmos_runtime::engine::{Engine, Event, HistoryKind, Status};
use cosmos_runtime::node::{Node, NodeConfig, executor_for, now_ms};
use cosmos_runtime::replay::replay;
use cosmos_runtime::store::{SqliteStore, Store};
use cosmos_semantics::Analysis;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const SOURCE: &str = r#"
function double(n: Int): Int { command "sh functions/double.sh" }
function flaky(): Int { command "sh functions/flaky.sh" }

workflow Replayed {
    input { seed: Int }
    facts {
        doubled: Int?
        flaky: Int?
        failures: Int = 0
        woke: Time?
        stamp: Time?
        approved: String?
    }
    rule "double" {
        match { doubled == null }
        action { double(n: seed) }
        reaction {
            doubled = result
            stamp = now()
        }
    }
    rule "flaky" {
        match { flaky == null }
        action { flaky() }
        reaction { flaky = result }
        error {
            failures += 1
            retry(after: 20.ms)
        }
    }
    rule "nap" {
        match { woke == null && doubled != null }
        action { sleep(30.ms) }
        reaction { woke = result }
    }
    signal approve(by: String) { approved = by }
    complete when { approved != null && woke != null && flaky != null }
    output { [doubled: doubled, failures: failures, by: approved] }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_history_replays_to_the_stored_instance() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("functions")).unwrap();
    std::fs::write(
        root.join("functions/double.sh"),
        "read line\nn=$(printf '%s' \"$line\" | tr -dc '0-9')\necho $((n * 2))\n",
    )
    .unwrap();
    std::fs::write(
        root.join("functions/flaky.sh"),
        "if [ -e tried ]; then echo 5; else touch tried; exit 1; fi\n",
    )
    .unwrap();
    let program = program();
    let bytes = Bundle::new(COMPILER_VERSION, "replay", Vec::new(), program.clone())
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

    let input = json!({"seed": 21});
    let (id, _) = node
        .start_instance("Replayed", input.clone(), None)
        .await
        .unwrap();
    // Wait until everything but the signal happened, then send it.
    let mut waited = Duration::ZERO;
    loop {
        let record = node.instance(&id).await.unwrap();
        if record.status == Status::Stalled {
            break;
        }
        assert!(waited < Duration::from_secs(20), "{record:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    node.send(
        &id,
        Event::Signal {
            name: "approve".to_string(),
            args: json!({"by": "ann"}),
        },
    )
    .await
    .unwrap();
    let record = node.instance(&id).await.unwrap();
    node.stop().await;
    assert_eq!(record.status, Status::Completed, "{record:?}");
    assert_eq!(
        record.output,
        Some(json!({"doubled": 42, "failures": 1, "by": "ann"}))
    );

    let rows = store.history(&id, 0).unwrap();
    assert!(
        rows.iter().any(|r| r.kind == HistoryKind::Received),
        "{rows:?}"
    );
    let engine = Engine::new(&program, "Replayed").unwrap();
    let replayed = replay(&engine, &id, &input, &rows).unwrap();
    assert_eq!(engine.host().facts_to_json(&replayed.values), record.facts);
    assert_eq!(replayed.status, record.status);
    assert_eq!(replayed.output, record.output);
    assert_eq!(serde_json::to_value(&replayed).unwrap(), record.state);
    // `now()` came from the step's recorded time, not from the clock of the replay.
    assert!(record.facts["stamp"].is_string());
}
