//! Retry policies (LANGUAGE.md 10.3) in the engine: a failed call of a function with a
//! `retry` setting runs again after `min(delay × factor^(n−2), max)`, on a timer, with
//! a new attempt (and idempotency key) each time; the rule's `error` block runs only
//! when the policy gives up, and its `retry()` starts the policy afresh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_runtime::engine::{
    CallErrorKind, CallId, Command, Engine, Event, Failure, History, InstanceState, Status,
};
use serde_json::{Value as Json, json};

const T0: i64 = 1_767_225_600_000;

fn source(policy: &str, error: &str) -> String {
    format!(
        r#"
function probe(url: String): Int {{
    command "probe"
    {policy}
}}

workflow W {{
    facts {{ size: Int = 0, attempts: Int = 0, kind: String = "" }}
    rule "probe" {{
        match {{ size == 0 && attempts == 0 }}
        action {{ probe(url: "u") }}
        reaction {{ size = result }}
        error {{ {error} }}
    }}
}}
"#
    )
}

/// The one call a step asked for: its id and idempotency key.
fn call(commands: &[Command]) -> Option<(CallId, String)> {
    let calls: Vec<(CallId, String)> = commands
        .iter()
        .filter_map(|c| match c {
            Command::Call { call, key, .. } => Some((call.clone(), key.clone())),
            _ => None,
        })
        .collect();
    assert!(calls.len() <= 1, "{commands:?}");
    calls.into_iter().next()
}

fn timer(commands: &[Command]) -> Option<(u64, i64)> {
    commands.iter().find_map(|c| match c {
        Command::StartTimer { timer, at } => Some((*timer, *at)),
        _ => None,
    })
}

fn failed(call: CallId, kind: CallErrorKind) -> Event {
    Event::CallFailed {
        call,
        failure: Failure {
            message: "boom".into(),
            kind,
            stderr: None,
        },
    }
}

fn fact(engine: &Engine<'_>, i: &InstanceState, name: &str) -> Json {
    engine.host().facts_to_json(&i.values)[name].clone()
}

struct Run<'p> {
    engine: Engine<'p>,
    instance: InstanceState,
    now: i64,
}

impl Run<'_> {
    fn handle(&mut self, event: Event) -> Vec<Command> {
        let step = self
            .engine
            .handle(&mut self.instance, self.now, event)
            .unwrap();
        step.commands
    }
}

#[test]
fn a_policy_retries_after_growing_delays_on_timers_and_then_hands_the_failure_to_error() {
    let program = support::program(&source(
        "retry attempts: 4, delay: 1.s, factor: 2.0, max: 3.s",
        "attempts = error.attempt",
    ));
    let engine = Engine::new(&program, "W").unwrap();
    let instance = engine.instantiate("i1", &json!({})).unwrap();
    let mut run = Run {
        engine,
        instance,
        now: T0,
    };
    let mut commands = run.handle(Event::Start);
    let mut keys = Vec::new();
    let mut waits = Vec::new();
    for attempt in 1..=4 {
        let (id, key) = call(&commands).expect("a call");
        assert_eq!(id.attempt, attempt);
        keys.push(key);
        commands = run.handle(failed(id, CallErrorKind::Failed));
        if attempt == 4 {
            break;
        }
        // No call yet: the next attempt waits for a timer, and no error block ran.
        assert!(call(&commands).is_none(), "{commands:?}");
        assert_eq!(fact(&run.engine, &run.instance, "attempts"), json!(0));
        assert_eq!(run.instance.status, Status::Running);
        let (id, at) = timer(&commands).expect("a timer");
        waits.push(at - run.now);
        run.now = at;
        commands = run.handle(Event::TimerFired { timer: id });
    }
    // min(1s × 2^(n−2), 3s) for n = 2, 3, 4.
    assert_eq!(waits, [1_000, 2_000, 3_000]);
    assert_eq!(
        keys,
        [
            "i1/probe/1/0/1",
            "i1/probe/1/0/2",
            "i1/probe/1/0/3",
            "i1/probe/1/0/4"
        ]
    );
    // The policy gave up: the error block saw the attempts made.
    assert_eq!(fact(&run.engine, &run.instance, "attempts"), json!(4));
    let failed: Vec<i64> = run
        .instance
        .history
        .iter()
        .filter_map(|e| match &e.event {
            History::CallFailed { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [1, 2, 3, 4], "each attempt is in the history");
    let retrying: Vec<(i64, Option<i64>, Option<i64>)> = run
        .instance
        .history
        .iter()
        .filter_map(|e| match &e.event {
            History::Retrying {
                attempt,
                after_ms,
                policy,
                ..
            } => Some((*attempt, *after_ms, *policy)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retrying,
        [
            (2, Some(1_000), Some(4)),
            (3, Some(2_000), Some(4)),
            (4, Some(3_000), Some(4))
        ]
    );
    let text: Vec<String> = run.instance.history.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter().any(|l| l.ends_with(
            "retrying probe of \"probe\" (attempt 2, by its retry policy of 4 attempts) after 1s"
        )),
        "{text:#?}"
    );
}

#[test]
fn a_call_that_succeeds_on_a_later_attempt_reacts_with_its_result() {
    let program = support::program(&source("retry attempts: 3, delay: 0.s", "attempts = -1"));
    let engine = Engine::new(&program, "W").unwrap();
    let instance = engine.instantiate("i1", &json!({})).unwrap();
    let mut run = Run {
        engine,
        instance,
        now: T0,
    };
    let commands = run.handle(Event::Start);
    let (first, _) = call(&commands).unwrap();
    // A zero delay sends the next attempt at once, without a timer.
    let commands = run.handle(failed(first, CallErrorKind::Crashed));
    assert!(timer(&commands).is_none());
    let (second, key) = call(&commands).unwrap();
    assert_eq!(key, "i1/probe/1/0/2");
    run.handle(Event::CallCompleted {
        call: second,
        result: json!(42),
    });
    assert_eq!(fact(&run.engine, &run.instance, "size"), json!(42));
    assert_eq!(fact(&run.engine, &run.instance, "attempts"), json!(0));
}

#[test]
fn a_failure_the_policy_does_not_cover_reaches_the_error_block_at_once() {
    let program = support::program(&source(
        "retry attempts: 5, on: [TIMEOUT]",
        "attempts = error.attempt; kind = error.kind.name()",
    ));
    let engine = Engine::new(&program, "W").unwrap();
    let instance = engine.instantiate("i1", &json!({})).unwrap();
    let mut run = Run {
        engine,
        instance,
        now: T0,
    };
    let commands = run.handle(Event::Start);
    let (id, _) = call(&commands).unwrap();
    let commands = run.handle(failed(id, CallErrorKind::Failed));
    assert!(call(&commands).is_none() && timer(&commands).is_none());
    assert_eq!(fact(&run.engine, &run.instance, "attempts"), json!(1));
    assert_eq!(fact(&run.engine, &run.instance, "kind"), json!("FAILED"));
}

/// `BAD_OUTPUT` is not retried by default: it is a bug, not bad luck.
#[test]
fn bad_output_is_not_retried_by_the_default_policy() {
    let program = support::program(&source("retry attempts: 5", "attempts = error.attempt"));
    let engine = Engine::new(&program, "W").unwrap();
    let instance = engine.instantiate("i1", &json!({})).unwrap();
    let mut run = Run {
        engine,
        instance,
        now: T0,
    };
    let commands = run.handle(Event::Start);
    let (id, _) = call(&commands).unwrap();
    run.handle(failed(id, CallErrorKind::BadOutput));
    assert_eq!(fact(&run.engine, &run.instance, "attempts"), json!(1));
}

#[test]
fn retry_in_the_error_block_starts_a_fresh_policy() {
    let program = support::program(&source(
        "retry attempts: 2, delay: 0.s",
        "attempts = error.attempt; if (error.attempt < 4) retry()",
    ));
    let engine = Engine::new(&program, "W").unwrap();
    let instance = engine.instantiate("i1", &json!({})).unwrap();
    let mut run = Run {
        engine,
        instance,
        now: T0,
    };
    let mut commands = run.handle(Event::Start);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (id, _) = call(&commands).expect("a call");
        commands = run.handle(failed(id, CallErrorKind::Failed));
        seen.push(fact(&run.engine, &run.instance, "attempts"));
    }
    // Attempts 1 and 2 under the first policy, `retry()`, then 3 and 4 under a new one.
    assert_eq!(seen, [json!(0), json!(2), json!(2), json!(4)]);
    assert!(call(&commands).is_none());
    assert_eq!(run.instance.status, Status::Stalled);
}

/// The rule's `timeout` covers the policy's waits: when it passes during one, the
/// `error` block runs at once, and its `retry()` replaces the wait (the old timer
/// sends nothing).
#[test]
fn a_rule_timeout_during_a_policy_wait_reaches_the_error_block() {
    let source = r#"
function probe(url: String): Int {
    command "probe"
    retry attempts: 5, delay: 1.min
}

workflow W {
    facts { size: Int = 0, attempts: Int = 0 }
    rule "probe" {
        timeout 10.s
        match { size == 0 }
        action { probe(url: "u") }
        reaction { size = result }
        error { attempts = error.attempt; if (error.attempt < 3) retry() }
    }
}
"#;
    let program = support::program(source);
    let engine = Engine::new(&program, "W").unwrap();
    let instance = engine.instantiate("i1", &json!({})).unwrap();
    let mut run = Run {
        engine,
        instance,
        now: T0,
    };
    let commands = run.handle(Event::Start);
    let (first, _) = call(&commands).unwrap();
    let deadline = timer(&commands).expect("the rule's deadline");
    assert_eq!(deadline.1, T0 + 10_000);
    // Attempt 1 fails: the policy waits a minute, longer than the rule's timeout.
    let commands = run.handle(failed(first, CallErrorKind::Failed));
    let wait = timer(&commands).expect("the policy's wait");
    assert_eq!(wait.1, T0 + 60_000);
    run.now = deadline.1;
    let commands = run.handle(Event::TimerFired { timer: deadline.0 });
    // The error block saw the timeout on attempt 2 (the one waiting) and retried.
    assert_eq!(fact(&run.engine, &run.instance, "attempts"), json!(2));
    let (third, key) = call(&commands).expect("retry() calls at once");
    assert_eq!(key, "i1/probe/1/0/3");
    // The policy's old wait is gone: its timer firing sends no second call.
    run.now = wait.1;
    let commands = run.handle(Event::TimerFired { timer: wait.0 });
    assert!(call(&commands).is_none(), "{commands:?}");
    run.handle(Event::CallCompleted {
        call: third,
        result: json!(9),
    });
    assert_eq!(fact(&run.engine, &run.instance, "size"), json!(9));
}
