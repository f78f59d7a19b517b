//! A history replays to the same facts: an instance run for real (SQLite store, real
//! processes, a real timer, a failure and its retry, a signal, `now()` in a reaction)
//! is rebuilt from its stored history alone, and must equal the stored instance.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_runtime::engine::{Engine, Event, HistoryKind, Status};
use cosmos_runtime::replay::replay;
use serde_json::json;

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
    let program = support::program(SOURCE);
    let (store, node) = support::start_node(&root, "replay", &program);

    let input = json!({"seed": 21});
    let (id, _) = node
        .start_instance("Replayed", input.clone(), None)
        .await
        .unwrap();
    // Wait until everything but the signal happened, then send it.
    support::wait_for(&node, &id, Status::Stalled).await;
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
