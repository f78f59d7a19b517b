//! Child workflows (LANGUAGE.md 10.6): the engine's commands and events for a parent
//! and its children, and a node running a tree of instances on a real SQLite store
//! with real processes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_runtime::engine::HistoryKind;
use cosmos_runtime::engine::{
    CallErrorKind, CallId, Command, Engine, Event, Failure, History, InstanceState, ParentLink,
    Status,
};
use serde_json::{Value as Json, json};

const T0: i64 = 1_767_225_600_000;

const TREE: &str = r#"
type Track { language: String, bytes: Int }
type Manifest { tracks: List<Track>, bytes: Int }

function encode(language: String): Int { command ["sh", "encode.sh"] }

workflow Audio {
    input { language: String }
    facts { bytes: Int = 0 }
    rule "encode" {
        match { bytes == 0 }
        action { encode(language: language) }
        reaction { bytes = result }
    }
    complete when { bytes > 0 }
    output: Track { Track(language: language, bytes: bytes) }
}

workflow Title {
    input { languages: List<String> }
    facts { tracks: List<Track> = [], errors: List<String> = [] }
    rule "audio" {
        match { tracks.isEmpty() }
        action { languages.collect { l -> Audio(language: l) } }
        reaction { tracks = result }
        error {
            errors << "${error.kind} ${error.function} ${error.index}: ${error.message}"
            if (error.attempt < 2) retry() else fail(error.message)
        }
    }
    complete when { !tracks.isEmpty() }
    output: Manifest { Manifest(tracks: tracks, bytes: tracks.sum { it.bytes }) }
}
"#;

fn starts(commands: &[Command]) -> Vec<(CallId, String, String, Json)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::StartChild {
                call,
                child,
                workflow,
                input,
                ..
            } => Some((call.clone(), child.clone(), workflow.clone(), json!(input))),
            _ => None,
        })
        .collect()
}

fn cancels(commands: &[Command]) -> Vec<String> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::CancelChild { child } => Some(child.clone()),
            _ => None,
        })
        .collect()
}

fn notified(commands: &[Command]) -> Vec<(String, Event)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::NotifyParent { parent, event } => Some((parent.clone(), event.clone())),
            _ => None,
        })
        .collect()
}

fn start(engine: &Engine<'_>, id: &str, input: Json) -> (InstanceState, Vec<Command>) {
    let mut i = engine.instantiate(id, &input).unwrap();
    let step = engine.handle(&mut i, T0, Event::Start).unwrap();
    (i, step.commands)
}

#[test]
fn a_fan_out_of_children_starts_one_instance_per_call_with_ids_under_the_parent() {
    let program = support::program(TREE);
    let engine = Engine::new(&program, "Title").unwrap();
    let (i, commands) = start(&engine, "p", json!({"languages": ["en", "fr"]}));
    let started = starts(&commands);
    assert_eq!(started.len(), 2, "{commands:?}");
    assert_eq!(
        started
            .iter()
            .map(|(c, id, w, input)| (c.index, id.as_str(), w.as_str(), input.clone()))
            .collect::<Vec<_>>(),
        [
            (0, "p.1", "Audio", json!({"language": "en"})),
            (1, "p.2", "Audio", json!({"language": "fr"})),
        ]
    );
    assert_eq!(i.status, Status::Running);
    let waiting = i.waiting();
    assert_eq!(
        waiting
            .iter()
            .map(|w| (w.function.as_str(), w.child.as_deref()))
            .collect::<Vec<_>>(),
        [("Audio", Some("p.1")), ("Audio", Some("p.2"))]
    );
    let children: Vec<&str> = i
        .history
        .iter()
        .filter_map(|e| match &e.event {
            History::ChildStarted { child, .. } => Some(child.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(children, ["p.1", "p.2"]);
}

#[test]
fn a_child_that_completes_answers_its_parent_with_its_typed_output() {
    let program = support::program(TREE);
    let parent_engine = Engine::new(&program, "Title").unwrap();
    let (mut parent, commands) = start(&parent_engine, "p", json!({"languages": ["en"]}));
    let (call, child_id, _, input) = starts(&commands).remove(0);

    let engine = Engine::new(&program, "Audio").unwrap();
    let mut child = engine.instantiate(&child_id, &input).unwrap();
    child.parent = Some(ParentLink {
        instance: "p".into(),
        call: call.clone(),
    });
    let step = engine.handle(&mut child, T0, Event::Start).unwrap();
    assert!(matches!(
        &child.history[0].event,
        History::Started { parent: Some(link), .. } if link.instance == "p" && link.call == call
    ));
    let encode = step
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Call { call, .. } => Some(call.clone()),
            _ => None,
        })
        .unwrap();
    let step = engine
        .handle(
            &mut child,
            T0 + 1,
            Event::CallCompleted {
                call: encode,
                result: json!(40),
            },
        )
        .unwrap();
    assert_eq!(child.status, Status::Completed);
    let told = notified(&step.commands);
    assert_eq!(
        told,
        [(
            "p".to_string(),
            Event::CallCompleted {
                call: call.clone(),
                result: json!({"language": "en", "bytes": 40}),
            }
        )]
    );
    let (_, event) = told.into_iter().next().unwrap();
    parent_engine.handle(&mut parent, T0 + 2, event).unwrap();
    assert_eq!(parent.status, Status::Completed);
    assert_eq!(
        parent.output,
        Some(json!({"tracks": [{"language": "en", "bytes": 40}], "bytes": 40}))
    );
}

#[test]
fn a_failed_or_cancelled_child_is_child_failed_with_its_message_and_retry_starts_a_new_one() {
    let program = support::program(TREE);
    let engine = Engine::new(&program, "Audio").unwrap();
    let link = ParentLink {
        instance: "p".into(),
        call: CallId {
            rule: "audio".into(),
            firing: 1,
            index: 0,
            attempt: 1,
        },
    };
    // A child whose function fails, with no `error` block: the child fails.
    let mut child = engine
        .instantiate("p.1", &json!({"language": "en"}))
        .unwrap();
    child.parent = Some(link.clone());
    let step = engine.handle(&mut child, T0, Event::Start).unwrap();
    let encode = step
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Call { call, .. } => Some(call.clone()),
            _ => None,
        })
        .unwrap();
    let failure = Failure {
        message: "encoder down".into(),
        kind: CallErrorKind::Failed,
        stderr: None,
    };
    let step = engine
        .handle(
            &mut child,
            T0,
            Event::CallFailed {
                call: encode,
                failure,
            },
        )
        .unwrap();
    assert_eq!(child.status, Status::Failed);
    let told = notified(&step.commands);
    let [(parent, Event::CallFailed { call, failure })] = told.as_slice() else {
        panic!("{:?}", step.commands)
    };
    assert_eq!((parent.as_str(), call), ("p", &link.call));
    assert_eq!(failure.kind, CallErrorKind::ChildFailed);
    assert!(failure.message.contains("encoder down"), "{failure:?}");

    // A cancelled child says so.
    let mut other = engine
        .instantiate("p.2", &json!({"language": "fr"}))
        .unwrap();
    other.parent = Some(link.clone());
    engine.handle(&mut other, T0, Event::Start).unwrap();
    let step = engine.handle(&mut other, T0, Event::Cancel).unwrap();
    let told = notified(&step.commands);
    let [(_, Event::CallFailed { failure, .. })] = told.as_slice() else {
        panic!("{:?}", step.commands)
    };
    assert_eq!(failure.kind, CallErrorKind::ChildFailed);
    assert!(failure.message.contains("was cancelled"), "{failure:?}");

    // The parent's `error` block sees CHILD_FAILED and the child's message; its
    // `retry()` starts a new child for that call.
    let parent_engine = Engine::new(&program, "Title").unwrap();
    let (mut parent, commands) = start(&parent_engine, "p", json!({"languages": ["en"]}));
    let (call, first, _, _) = starts(&commands).remove(0);
    let failed = Failure {
        message: "encoder down".into(),
        kind: CallErrorKind::ChildFailed,
        stderr: None,
    };
    let step = parent_engine
        .handle(
            &mut parent,
            T0,
            Event::CallFailed {
                call,
                failure: failed,
            },
        )
        .unwrap();
    let again = starts(&step.commands);
    assert_eq!(again.len(), 1, "{:?}", step.commands);
    assert_eq!(again[0].0.attempt, 2);
    assert_ne!(again[0].1, first);
    assert_eq!(again[0].1, "p.2");
    assert_eq!(
        parent_engine.host().facts_to_json(&parent.values)["errors"],
        json!(["CHILD_FAILED Audio 0: encoder down"])
    );
}

#[test]
fn cancelling_a_parent_cancels_the_children_it_waits_for() {
    let program = support::program(TREE);
    let engine = Engine::new(&program, "Title").unwrap();
    let (mut i, _) = start(&engine, "p", json!({"languages": ["en", "fr", "de"]}));
    let step = engine.handle(&mut i, T0, Event::Cancel).unwrap();
    assert_eq!(i.status, Status::Cancelled);
    assert_eq!(cancels(&step.commands), ["p.1", "p.2", "p.3"]);
}

/// A function that answers the length of the language's name after a moment, or,
/// for `slow`, sleeps long enough to be cancelled.
const ENCODE_SH: &str = r#"
read args
case "$args" in
  *slow*) sleep 3; echo 1 ;;
  *) echo 7 ;;
esac
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_runs_a_tree_each_child_an_instance_with_its_parent_and_the_parent_reacts_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("encode.sh"), ENCODE_SH).unwrap();
    let program = support::program(TREE);
    let (store, node) = support::start_node(dir.path(), "tree", &program);
    let (id, _) = node
        .start_instance("Title", json!({"languages": ["en", "fr"]}), None)
        .await
        .unwrap();
    let record = support::wait_for(&node, &id, Status::Completed).await;
    assert_eq!(
        record.output,
        Some(json!({
            "tracks": [{"language": "en", "bytes": 7}, {"language": "fr", "bytes": 7}],
            "bytes": 14
        }))
    );
    let history = store.history(&id, 0).unwrap();
    let reacted = history
        .iter()
        .filter(|r| r.kind == HistoryKind::Reacted)
        .count();
    assert_eq!(reacted, 1);
    let started: Vec<String> = history
        .iter()
        .filter(|r| r.kind == HistoryKind::ChildStarted)
        .map(|r| r.data["child"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(started, [format!("{id}.1"), format!("{id}.2")]);
    for (index, child) in started.iter().enumerate() {
        let child_record = store.instance(child).unwrap().unwrap();
        assert_eq!(child_record.workflow, "Audio");
        assert_eq!(child_record.status, Status::Completed);
        let rows = store.history(child, 0).unwrap();
        let first = rows
            .iter()
            .find(|r| r.kind == HistoryKind::Started)
            .unwrap();
        assert_eq!(first.data["parent"]["instance"], json!(id));
        assert_eq!(first.data["parent"]["call"]["index"], json!(index));
        assert_eq!(
            rows.iter()
                .filter(|r| r.kind == HistoryKind::Completed)
                .count(),
            1
        );
    }
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_parent_on_a_node_cancels_its_running_children() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("encode.sh"), ENCODE_SH).unwrap();
    let program = support::program(TREE);
    let (store, node) = support::start_node(dir.path(), "tree", &program);
    let (id, _) = node
        .start_instance("Title", json!({"languages": ["slow", "slow too"]}), None)
        .await
        .unwrap();
    let child = format!("{id}.1");
    // Wait until both children exist and run.
    for c in [&child, &format!("{id}.2")] {
        support::wait_for(&node, c, Status::Running).await;
    }
    node.send(&id, Event::Cancel).await.unwrap();
    support::wait_for(&node, &id, Status::Cancelled).await;
    support::wait_for(&node, &child, Status::Cancelled).await;
    support::wait_for(&node, &format!("{id}.2"), Status::Cancelled).await;
    let parent = store.instance(&id).unwrap().unwrap();
    assert_eq!(parent.status, Status::Cancelled);
    node.stop().await;
}
