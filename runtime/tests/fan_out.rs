//! Failures inside a fan-out (LANGUAGE.md 10.2), on the engine: each failed call runs
//! the `error` block once with its `index` and `arguments`, `retry()` runs that call
//! alone, an `error` block that gives up ends the firing, and `settle` turns failures
//! into outcomes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_runtime::engine::{
    CallErrorKind, CallId, Command, Engine, Event, Failure, History, InstanceState, Status,
};
use serde_json::{Value as Json, json};

const T0: i64 = 1_767_225_600_000;

const LADDER: &str = r#"
function transcode(height: Int): Int { command "t" }
workflow Ladder {
    input { heights: List<Int> }
    facts {
        sizes: List<Int> = []
        seen: List<String> = []
        round: Int = 0
    }
    rule "ladder" {
        match { sizes.isEmpty() && round >= 0 }
        action { heights.collect { h -> transcode(height: h) } }
        reaction { sizes = result }
        error {
            seen << "${error.index ?: -1} ${error.arguments} #${error.attempt}"
            if (error.message == "again") retry()
            else if (error.message == "later") retry(after: 1.s)
        }
    }
    rule "single" {
        match { round == 7 }
        action { transcode(height: 1) }
        reaction { sizes = [result] }
        error { seen << "single ${error.index ?: -1} ${error.arguments}" }
    }
    signal again() { round = round + 1 }
    signal single() { round = 7 }
}
"#;

fn calls(commands: &[Command]) -> Vec<(CallId, Json)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Call { call, args, .. } => Some((call.clone(), json!(args))),
            _ => None,
        })
        .collect()
}

fn timers(commands: &[Command]) -> Vec<(u64, i64)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::StartTimer { timer, at } => Some((*timer, *at)),
            _ => None,
        })
        .collect()
}

fn fact(engine: &Engine<'_>, i: &InstanceState, name: &str) -> Json {
    engine.host().facts_to_json(&i.values)[name].clone()
}

fn failed(call: &CallId, message: &str) -> Event {
    Event::CallFailed {
        call: call.clone(),
        failure: Failure {
            message: message.into(),
            kind: CallErrorKind::Failed,
            stderr: None,
        },
    }
}

fn done(call: &CallId, result: Json) -> Event {
    Event::CallCompleted {
        call: call.clone(),
        result,
    }
}

fn start(engine: &Engine<'_>, input: Json) -> (InstanceState, Vec<(CallId, Json)>) {
    let mut i = engine.instantiate("i1", &input).unwrap();
    let step = engine.handle(&mut i, T0, Event::Start).unwrap();
    (i, calls(&step.commands))
}

fn history_lines(i: &InstanceState) -> Vec<String> {
    i.history
        .iter()
        .map(|e| e.to_string().split_once(' ').unwrap().1.to_string())
        .collect()
}

#[test]
fn a_failed_call_is_retried_alone_and_the_reaction_runs_once_with_every_result() {
    let program = support::program(LADDER);
    let engine = Engine::new(&program, "Ladder").unwrap();
    let (mut i, fan) = start(&engine, json!({"heights": [1080, 720, 480]}));
    assert_eq!(fan.len(), 3);
    engine
        .handle(&mut i, T0, done(&fan[0].0, json!(10)))
        .unwrap();
    // The middle call fails; the error block knows which call it was.
    let step = engine
        .handle(&mut i, T0, failed(&fan[1].0, "later"))
        .unwrap();
    assert_eq!(fact(&engine, &i, "seen"), json!([r#"1 {"height":720} #1"#]));
    assert!(calls(&step.commands).is_empty(), "{:?}", step.commands);
    let [(timer, at)] = timers(&step.commands)[..] else {
        panic!("retry(after:) starts one timer: {:?}", step.commands);
    };
    assert_eq!(at, T0 + 1_000);
    // The other calls run on meanwhile.
    engine
        .handle(&mut i, T0, done(&fan[2].0, json!(30)))
        .unwrap();
    assert_eq!(fact(&engine, &i, "sizes"), json!([]));
    assert_eq!(i.status, Status::Running);
    // Only the failed call runs again, at its next attempt, with the same arguments.
    let step = engine
        .handle(&mut i, at, Event::TimerFired { timer })
        .unwrap();
    let again = calls(&step.commands);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(
        (again[0].0.index, again[0].0.attempt, &again[0].1),
        (1, 2, &json!({"height": 720}))
    );
    engine
        .handle(&mut i, at, done(&again[0].0, json!(20)))
        .unwrap();
    assert_eq!(fact(&engine, &i, "sizes"), json!([10, 20, 30]));
    let reactions = i
        .history
        .iter()
        .filter(|e| matches!(e.event, History::Reacted { .. }))
        .count();
    assert_eq!(reactions, 1);
    let lines = history_lines(&i);
    assert!(
        lines.contains(
            &r#"call transcode[1] of "ladder" failed (FAILED, attempt 1): later"#.to_string()
        ),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&r#"retrying transcode[1] of "ladder" (attempt 2) after 1s"#.to_string()),
        "{lines:#?}"
    );
}

#[test]
fn each_failed_call_runs_the_error_block_once() {
    let program = support::program(LADDER);
    let engine = Engine::new(&program, "Ladder").unwrap();
    let (mut i, fan) = start(&engine, json!({"heights": [1080, 720, 480]}));
    let mut retried = Vec::new();
    for (call, _) in fan.iter().rev() {
        let step = engine.handle(&mut i, T0, failed(call, "again")).unwrap();
        retried.extend(calls(&step.commands));
    }
    assert_eq!(
        fact(&engine, &i, "seen"),
        json!([
            r#"2 {"height":480} #1"#,
            r#"1 {"height":720} #1"#,
            r#"0 {"height":1080} #1"#
        ])
    );
    // `retry()` without a delay sends each call out again at once.
    let indices: Vec<(usize, i64)> = retried.iter().map(|(c, _)| (c.index, c.attempt)).collect();
    assert_eq!(indices, [(2, 2), (1, 2), (0, 2)]);
    for (call, args) in &retried {
        let height = args["height"].as_i64().unwrap();
        engine
            .handle(&mut i, T0, done(call, json!(height)))
            .unwrap();
    }
    assert_eq!(fact(&engine, &i, "sizes"), json!([1080, 720, 480]));
    assert_eq!(i.status, Status::Stalled);
}

#[test]
fn an_error_block_that_gives_up_ends_the_firing_and_the_rule_fires_again_on_new_facts() {
    let program = support::program(LADDER);
    let engine = Engine::new(&program, "Ladder").unwrap();
    let (mut i, fan) = start(&engine, json!({"heights": [1080, 720]}));
    // The first call fails and the error block neither retries nor finishes.
    engine.handle(&mut i, T0, failed(&fan[0].0, "no")).unwrap();
    assert_eq!(i.in_flight().count(), 0);
    assert_eq!(i.status, Status::Stalled);
    // The other call's result comes in late: it is discarded, no reaction runs.
    let step = engine
        .handle(&mut i, T0, done(&fan[1].0, json!(2)))
        .unwrap();
    assert!(step.history.is_empty(), "{:?}", step.history);
    assert_eq!(fact(&engine, &i, "sizes"), json!([]));
    assert_eq!(i.fired("ladder"), 1);
    // When a fact its match reads changes, the rule fires again, with fresh calls.
    let step = engine
        .handle(
            &mut i,
            T0,
            Event::Signal {
                name: "again".into(),
                args: json!({}),
            },
        )
        .unwrap();
    assert_eq!(i.fired("ladder"), 2);
    let fresh = calls(&step.commands);
    assert_eq!(fresh.len(), 2);
    assert!(fresh.iter().all(|(c, _)| c.firing == 2 && c.attempt == 1));
    for (call, args) in &fresh {
        engine
            .handle(&mut i, T0, done(call, args["height"].clone()))
            .unwrap();
    }
    assert_eq!(fact(&engine, &i, "sizes"), json!([1080, 720]));
}

#[test]
fn a_single_call_has_no_index() {
    let program = support::program(LADDER);
    let engine = Engine::new(&program, "Ladder").unwrap();
    let (mut i, fan) = start(&engine, json!({"heights": [5]}));
    engine
        .handle(&mut i, T0, done(&fan[0].0, json!(5)))
        .unwrap();
    let step = engine
        .handle(
            &mut i,
            T0,
            Event::Signal {
                name: "single".into(),
                args: json!({}),
            },
        )
        .unwrap();
    let single = calls(&step.commands);
    engine
        .handle(&mut i, T0, failed(&single[0].0, "no"))
        .unwrap();
    assert_eq!(
        fact(&engine, &i, "seen"),
        json!([r#"single -1 {"height":1}"#])
    );
    let lines = history_lines(&i);
    assert!(
        lines.contains(&r#"call transcode of "single" failed (FAILED, attempt 1): no"#.to_string()),
        "{lines:#?}"
    );
}

const SETTLE: &str = r#"
function upload(cdn: String): String { command "u" }
workflow Publish {
    input { cdns: List<String> }
    facts {
        urls: List<String> = []
        errors: List<String> = []
        handled: Int = 0
    }
    rule "publish" {
        timeout 1.min
        match { urls.isEmpty() && errors.isEmpty() }
        action { settle(cdns.collect { c -> upload(cdn: c) }) }
        reaction {
            for (o in result) {
                if (o.ok && o.value != null) urls << o.value
                def e = o.error
                if (e != null) errors << "${e.index ?: -1} ${e.kind.name()} ${e.arguments} ${e.message}"
            }
        }
        error { handled += 1 }
    }
}
"#;

#[test]
fn settle_gives_every_outcome_in_order_and_runs_no_error_block() {
    let program = support::program(SETTLE);
    let engine = Engine::new(&program, "Publish").unwrap();
    let (mut i, fan) = start(&engine, json!({"cdns": ["a", "b", "c"]}));
    assert_eq!(fan.len(), 3);
    engine
        .handle(&mut i, T0, done(&fan[2].0, json!("https://c")))
        .unwrap();
    let step = engine
        .handle(&mut i, T0, failed(&fan[1].0, "b is down"))
        .unwrap();
    // No error block ran and nothing was retried; the failure is in the history.
    assert_eq!(fact(&engine, &i, "handled"), json!(0));
    assert!(calls(&step.commands).is_empty());
    assert!(history_lines(&i).contains(
        &r#"call upload[1] of "publish" failed (FAILED, attempt 1): b is down"#.to_string()
    ));
    assert_eq!(fact(&engine, &i, "urls"), json!([]));
    engine
        .handle(&mut i, T0, done(&fan[0].0, json!("https://a")))
        .unwrap();
    assert_eq!(fact(&engine, &i, "urls"), json!(["https://a", "https://c"]));
    assert_eq!(
        fact(&engine, &i, "errors"),
        json!([r#"1 FAILED {"cdn":"b"} b is down"#])
    );
    assert_eq!(i.status, Status::Stalled);
}

#[test]
fn the_rule_timeout_settles_every_call_still_out_as_a_timeout() {
    let program = support::program(SETTLE);
    let engine = Engine::new(&program, "Publish").unwrap();
    let mut i = engine
        .instantiate("i1", &json!({"cdns": ["a", "b", "c"]}))
        .unwrap();
    let step = engine.handle(&mut i, T0, Event::Start).unwrap();
    let fan = calls(&step.commands);
    let [(deadline, at)] = timers(&step.commands)[..] else {
        panic!("the rule's timeout is a timer: {:?}", step.commands);
    };
    assert_eq!(at, T0 + 60_000);
    engine
        .handle(&mut i, T0, done(&fan[0].0, json!("https://a")))
        .unwrap();
    engine
        .handle(&mut i, at, Event::TimerFired { timer: deadline })
        .unwrap();
    assert_eq!(fact(&engine, &i, "urls"), json!(["https://a"]));
    assert_eq!(
        fact(&engine, &i, "errors"),
        json!([
            r#"1 TIMEOUT {"cdn":"b"} the rule's timeout passed"#,
            r#"2 TIMEOUT {"cdn":"c"} the rule's timeout passed"#
        ])
    );
    assert_eq!(fact(&engine, &i, "handled"), json!(0));
    // A result after the deadline is discarded.
    let step = engine
        .handle(&mut i, at, done(&fan[1].0, json!("late")))
        .unwrap();
    assert!(step.history.is_empty());
}

const REAL: &str = r#"
function size(n: Int): Int { command "sh functions/size.sh" }
workflow Real {
    input { ns: List<Int> }
    facts {
        sizes: List<Int> = []
        settled: List<Outcome<Int>> = []
        failures: List<String> = []
    }
    rule "fan out" {
        match { sizes.isEmpty() }
        action { ns.collect { n -> size(n: n) } }
        reaction { sizes = result }
        error {
            failures << "${error.index ?: -1} ${error.arguments}"
            retry(after: 20.ms)
        }
    }
    rule "settle" {
        match { !sizes.isEmpty() && settled.isEmpty() }
        action { settle(ns.collect { n -> size(n: n + 10) }) }
        reaction { settled = result }
    }
    complete when { !settled.isEmpty() }
}
"#;

/// A real node, real processes: the call for 2 fails once (a marker file) and is
/// retried alone; under `settle`, the call for 13 fails and is an outcome. The stored
/// history replays to the stored instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_with_a_retry_and_a_settle_runs_for_real_and_replays() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("functions")).unwrap();
    std::fs::write(
        root.join("functions/size.sh"),
        "read line\nn=$(printf '%s' \"$line\" | tr -dc '0-9')\n\
         if [ \"$n\" = 2 ] && [ ! -e tried ]; then touch tried; exit 1; fi\n\
         if [ \"$n\" = 13 ]; then echo 'no 13' >&2; exit 4; fi\n\
         echo $((n * 100))\n",
    )
    .unwrap();
    let program = support::program(REAL);
    let (store, node) = support::start_node(&root, "fan-out", &program);
    let input = json!({"ns": [1, 2, 3]});
    let (id, _) = node
        .start_instance("Real", input.clone(), None)
        .await
        .unwrap();
    let record = support::wait_for(&node, &id, Status::Completed).await;
    node.stop().await;
    assert_eq!(record.facts["sizes"], json!([100, 200, 300]));
    assert_eq!(record.facts["failures"], json!([r#"1 {"n":2}"#]));
    let settled = &record.facts["settled"];
    assert_eq!(
        settled[0],
        json!({"ok": true, "value": 1100, "error": null})
    );
    assert_eq!(
        settled[1],
        json!({"ok": true, "value": 1200, "error": null})
    );
    assert_eq!(settled[2]["ok"], json!(false));
    assert_eq!(settled[2]["error"]["index"], json!(2));
    assert_eq!(settled[2]["error"]["arguments"], json!({"n": 13}));
    assert_eq!(settled[2]["error"]["kind"], json!("FAILED"));

    let rows = store.history(&id, 0).unwrap();
    let engine = Engine::new(&program, "Real").unwrap();
    let replayed = cosmos_runtime::replay::replay(&engine, &id, &input, &rows).unwrap();
    assert_eq!(engine.host().facts_to_json(&replayed.values), record.facts);
    assert_eq!(serde_json::to_value(&replayed).unwrap(), record.state);
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains(r#"call size[1] of "fan out" failed"#)),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains(r#"call size[2] of "settle" failed"#)),
        "{texts:#?}"
    );
}
