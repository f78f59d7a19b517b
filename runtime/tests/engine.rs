//! The engine's rules (LANGUAGE.md section 5), one test each, on small workflows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_runtime::engine::{
    CallErrorKind, Command, Engine, EngineError, Event, Failure, History, InstanceState, Status,
};
use serde_json::{Value as Json, json};

const T0: i64 = 1_767_225_600_000;

fn start<'p>(engine: &Engine<'p>, input: Json) -> (InstanceState, Vec<Command>) {
    let mut i = engine.instantiate("i1", &input).unwrap();
    let step = engine.handle(&mut i, T0, Event::Start).unwrap();
    (i, step.commands)
}

fn calls(commands: &[Command]) -> Vec<(cosmos_runtime::engine::CallId, String, Json)> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Call {
                call, key, args, ..
            } => Some((call.clone(), key.clone(), json!(args))),
            _ => None,
        })
        .collect()
}

fn fact(engine: &Engine<'_>, i: &InstanceState, name: &str) -> Json {
    engine.host().facts_to_json(&i.values)[name].clone()
}

const PURE: &str = r#"
workflow P {
    input { n: Int }
    facts { a: Int = 0, b: Int = 0, log: List<String> = [] }
    rule "low" { match { a < n }
        action { a + 1 }
        reaction { a = result; log << "low" } }
    rule "high" { priority 5
        match { b < 1 }
        action { 1 }
        reaction { b = result; log << "high" } }
    complete when { a == n && b == 1 }
    output { [a: a, log: log] }
}
"#;

#[test]
fn pure_actions_chain_in_priority_order_with_eligibility_recomputed() {
    let program = support::program(PURE);
    let engine = Engine::new(&program, "P").unwrap();
    let (i, commands) = start(&engine, json!({ "n": 3 }));
    assert!(commands.is_empty());
    assert_eq!(i.status, Status::Completed);
    // "high" (priority 5) first; "low" re-fires because `a`, in its read set, changed.
    assert_eq!(
        fact(&engine, &i, "log"),
        json!(["high", "low", "low", "low"])
    );
    assert_eq!((i.fired("low"), i.fired("high")), (3, 1));
    assert_eq!(
        i.output,
        Some(json!({ "a": 3, "log": ["high", "low", "low", "low"] }))
    );
}

const CALLS: &str = r#"
function get(k: String): Int { command "get" }
workflow C {
    input { keys: List<String> }
    facts { one: Int?, all: List<Int> = [], errors: Int = 0, done: Bool = false }
    rule "one" {
        match { one == null }
        action { get(k: "x") }
        reaction { one = result }
        error {
            errors += 1
            if (error.attempt < 3) retry(after: 5.s) else fail("gave up: ${error.message}")
        }
    }
    rule "all" {
        match { one != null && all.isEmpty() }
        action { keys.collect { k -> get(k: k) } }
        reaction { all = result }
    }
    rule "nap" { match { !all.isEmpty() && !done }
        action { sleep(1.min) }
        reaction { done = true } }
    complete when { done }
    output { all.sum() }
}
"#;

#[test]
fn a_call_puts_the_rule_in_flight_with_an_idempotency_key() {
    let program = support::program(CALLS);
    let engine = Engine::new(&program, "C").unwrap();
    let (i, commands) = start(&engine, json!({ "keys": ["a", "b"] }));
    let asked = calls(&commands);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].1, "i1/one/1/0/1");
    assert_eq!(asked[0].2, json!({ "k": "x" }));
    assert_eq!(i.status, Status::Running);
    assert_eq!(i.in_flight().collect::<Vec<_>>(), vec!["one"]);
}

#[test]
fn fan_out_collects_results_in_order_then_sleep_is_a_timer() {
    let program = support::program(CALLS);
    let engine = Engine::new(&program, "C").unwrap();
    let (mut i, commands) = start(&engine, json!({ "keys": ["a", "b"] }));
    let first = calls(&commands).remove(0).0;
    let step = engine
        .handle(
            &mut i,
            T0,
            Event::CallCompleted {
                call: first,
                result: json!(1),
            },
        )
        .unwrap();
    let fan = calls(&step.commands);
    assert_eq!(fan.len(), 2);
    // Results arrive out of order; the reaction sees them in call order.
    engine
        .handle(
            &mut i,
            T0,
            Event::CallCompleted {
                call: fan[1].0.clone(),
                result: json!(20),
            },
        )
        .unwrap();
    assert_eq!(fact(&engine, &i, "all"), json!([]));
    let step = engine
        .handle(
            &mut i,
            T0,
            Event::CallCompleted {
                call: fan[0].0.clone(),
                result: json!(10),
            },
        )
        .unwrap();
    assert_eq!(fact(&engine, &i, "all"), json!([10, 20]));
    let Some(Command::StartTimer { timer, at }) = step.commands.first().cloned() else {
        panic!("sleep starts a timer: {:?}", step.commands);
    };
    assert_eq!(at, T0 + 60_000);
    assert_eq!(i.status, Status::Running);
    engine
        .handle(&mut i, at, Event::TimerFired { timer })
        .unwrap();
    assert_eq!(i.status, Status::Completed);
    assert_eq!(i.output, Some(json!(30)));
}

fn failure() -> Failure {
    Failure {
        message: "boom".into(),
        kind: CallErrorKind::Failed,
        stderr: None,
    }
}

#[test]
fn retry_after_waits_then_repeats_the_same_call_with_the_next_attempt() {
    let program = support::program(CALLS);
    let engine = Engine::new(&program, "C").unwrap();
    let (mut i, commands) = start(&engine, json!({ "keys": [] }));
    let call = calls(&commands).remove(0).0;
    let step = engine
        .handle(
            &mut i,
            T0,
            Event::CallFailed {
                call: call.clone(),
                failure: failure(),
            },
        )
        .unwrap();
    assert_eq!(fact(&engine, &i, "errors"), json!(1));
    let Some(Command::StartTimer { timer, at }) = step.commands.first().cloned() else {
        panic!("retry(after:) starts a timer");
    };
    assert_eq!(at, T0 + 5_000);
    let step = engine
        .handle(&mut i, at, Event::TimerFired { timer })
        .unwrap();
    let again = calls(&step.commands);
    assert_eq!(again[0].0.attempt, 2);
    assert_eq!(again[0].1, "i1/one/1/0/2");
    assert_eq!(again[0].2, json!({ "k": "x" }));
    // A stale result for attempt 1 is ignored.
    engine
        .handle(
            &mut i,
            at,
            Event::CallCompleted {
                call,
                result: json!(9),
            },
        )
        .unwrap();
    assert_eq!(fact(&engine, &i, "one"), json!(null));
}

#[test]
fn fail_in_an_error_handler_fails_the_instance() {
    let program = support::program(CALLS);
    let engine = Engine::new(&program, "C").unwrap();
    let (mut i, commands) = start(&engine, json!({ "keys": [] }));
    let mut call = calls(&commands).remove(0).0;
    for attempt in 1..=3 {
        call.attempt = attempt;
        let step = engine
            .handle(
                &mut i,
                T0,
                Event::CallFailed {
                    call: call.clone(),
                    failure: failure(),
                },
            )
            .unwrap();
        if let Some(Command::StartTimer { timer, .. }) = step.commands.first() {
            engine
                .handle(&mut i, T0 + 5_000, Event::TimerFired { timer: *timer })
                .unwrap();
        }
    }
    assert_eq!(i.status, Status::Failed);
    assert_eq!(i.failure.as_deref(), Some("gave up: boom"));
}

#[test]
fn a_rule_without_an_error_block_fails_the_instance() {
    let program = support::program(CALLS);
    let engine = Engine::new(&program, "C").unwrap();
    let (mut i, commands) = start(&engine, json!({ "keys": [] }));
    let one = calls(&commands).remove(0).0;
    let step = engine
        .handle(
            &mut i,
            T0,
            Event::CallCompleted {
                call: one,
                result: json!(1),
            },
        )
        .unwrap();
    // keys is empty: "all" fans out to nothing, so its reaction runs at once.
    assert!(calls(&step.commands).is_empty());
    let program2 = support::program(CALLS);
    let engine2 = Engine::new(&program2, "C").unwrap();
    let (mut j, commands) = start(&engine2, json!({ "keys": ["a"] }));
    let one = calls(&commands).remove(0).0;
    let step = engine2
        .handle(
            &mut j,
            T0,
            Event::CallCompleted {
                call: one,
                result: json!(1),
            },
        )
        .unwrap();
    let a = calls(&step.commands).remove(0).0;
    engine2
        .handle(
            &mut j,
            T0,
            Event::CallFailed {
                call: a,
                failure: failure(),
            },
        )
        .unwrap();
    assert_eq!(j.status, Status::Failed);
    assert!(j.failure.as_deref().unwrap().contains("rule \"all\""));
}

const SIGNALLED: &str = r#"
workflow S {
    facts { approved: String?, runs: Int = 0 }
    rule "go" { match { approved != null }
        action { "ok" }
        reaction { runs += 1; complete() } }
    signal approve(by: String) { approved = by }
    output { runs }
}
"#;

#[test]
fn stalled_until_a_signal_then_complete_evaluates_output() {
    let program = support::program(SIGNALLED);
    let engine = Engine::new(&program, "S").unwrap();
    let (mut i, _) = start(&engine, json!({}));
    assert_eq!(i.status, Status::Stalled);
    assert!(i.history.iter().any(|h| h.event == History::Stalled));
    let bad = engine.handle(
        &mut i,
        T0,
        Event::Signal {
            name: "nope".into(),
            args: json!({}),
        },
    );
    assert!(bad.is_err());
    assert_eq!(i.status, Status::Stalled);
    engine
        .handle(
            &mut i,
            T0,
            Event::Signal {
                name: "approve".into(),
                args: json!({ "by": "ana" }),
            },
        )
        .unwrap();
    assert_eq!(i.status, Status::Completed);
    assert_eq!(i.output, Some(json!(1)));
    assert!(
        engine
            .handle(
                &mut i,
                T0,
                Event::Signal {
                    name: "approve".into(),
                    args: json!({ "by": "x" })
                }
            )
            .is_err()
    );
}

#[test]
fn refraction_stops_a_rule_refiring_on_the_same_facts_and_cancel_ends_it() {
    let source = r#"
function ping(n: Int): Int { command "ping" }
workflow R {
    facts { n: Int = 0, seen: Int = 0 }
    rule "count" { match { n >= 0 }
        action { ping(n: n) }
        reaction { seen = result } }
}
"#;
    let program = support::program(source);
    let engine = Engine::new(&program, "R").unwrap();
    let (mut i, commands) = start(&engine, json!({}));
    let call = calls(&commands).remove(0).0;
    let step = engine
        .handle(
            &mut i,
            T0,
            Event::CallCompleted {
                call,
                result: json!(5),
            },
        )
        .unwrap();
    // `seen` is not in the read set ({n}), so the rule does not fire again.
    assert!(step.commands.is_empty());
    assert_eq!((i.fired("count"), i.status), (1, Status::Stalled));
    engine.handle(&mut i, T0, Event::Cancel).unwrap();
    assert_eq!(i.status, Status::Cancelled);
    // Finished is finished: a second cancel is refused and changes nothing.
    let before = i.clone();
    assert_eq!(
        engine.handle(&mut i, T0, Event::Cancel),
        Err(EngineError::Finished(Status::Cancelled))
    );
    assert_eq!(i, before);
}
