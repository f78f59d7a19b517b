//! Time in a `match` (LANGUAGE.md 10.1) in the engine: the one wake-up an instance
//! keeps at the earliest threshold still ahead, its replacement when a fact moves the
//! threshold (the old one then changes nothing), refraction counting a passed
//! threshold as a change, `now()` as a fact's default, and finished instances
//! ignoring their timers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use cosmos_runtime::engine::{Command, Engine, Event, InstanceState, Status};
use serde_json::{Value as Json, json};

const T0: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

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

const APPROVAL: &str = r#"
workflow Approval {
    facts {
        asked: Time = now()
        approved: String?
        reminders: Int = 0
    }
    rule "remind" {
        match { approved == null && now() >= asked + 2.h }
        action { "two hours passed" }
        reaction { reminders += 1 }
    }
    signal approve(by: String) { approved = by }
    signal postpone() { asked = now() }
    complete when { approved != null }
}
"#;

#[test]
fn a_threshold_wakes_the_instance_and_the_rule_fires_once() {
    let program = support::program(APPROVAL);
    let engine = Engine::new(&program, "Approval").unwrap();
    let mut i = engine.instantiate("i1", &json!({})).unwrap();
    let step = engine.handle(&mut i, T0, Event::Start).unwrap();
    // `now()` as a default is the start time.
    assert_eq!(fact(&engine, &i, "asked"), json!("2026-01-01T00:00:00Z"));
    let wake = timers(&step.commands);
    assert_eq!(wake.len(), 1, "{:?}", step.commands);
    assert_eq!(wake[0].1, T0 + 2 * HOUR);
    assert_eq!(i.wakes_at(), Some(T0 + 2 * HOUR));
    // Waiting on a wake-up is running, not stalled.
    assert_eq!(i.status, Status::Running);

    let step = engine
        .handle(
            &mut i,
            T0 + 2 * HOUR,
            Event::TimerFired { timer: wake[0].0 },
        )
        .unwrap();
    assert!(!step.ignored);
    assert_eq!(i.fired("remind"), 1);
    assert_eq!(fact(&engine, &i, "reminders"), json!(1));
    // The threshold is behind: no wake-up is left, and the rule does not fire again.
    assert!(timers(&step.commands).is_empty());
    assert_eq!(i.wakes_at(), None);
    assert_eq!(i.status, Status::Stalled);
}

#[test]
fn a_moved_threshold_replaces_the_wake_up_and_the_old_one_changes_nothing() {
    let program = support::program(APPROVAL);
    let engine = Engine::new(&program, "Approval").unwrap();
    let mut i = engine.instantiate("i1", &json!({})).unwrap();
    let first = timers(&engine.handle(&mut i, T0, Event::Start).unwrap().commands)[0];
    let step = engine
        .handle(
            &mut i,
            T0 + HOUR,
            Event::Signal {
                name: "postpone".into(),
                args: json!({}),
            },
        )
        .unwrap();
    let second = timers(&step.commands);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].1, T0 + 3 * HOUR);
    assert_eq!(i.wakes_at(), Some(T0 + 3 * HOUR));

    // The replaced wake-up arrives: ignored, nothing recorded.
    let history = i.history.len();
    let stale = engine
        .handle(&mut i, first.1, Event::TimerFired { timer: first.0 })
        .unwrap();
    assert!(stale.ignored);
    assert!(stale.history.is_empty() && stale.commands.is_empty());
    assert_eq!(i.history.len(), history);
    assert_eq!(i.fired("remind"), 0);

    engine
        .handle(
            &mut i,
            second[0].1,
            Event::TimerFired { timer: second[0].0 },
        )
        .unwrap();
    assert_eq!(i.fired("remind"), 1);
}

#[test]
fn approval_before_the_threshold_leaves_nothing_to_wake_for() {
    let program = support::program(APPROVAL);
    let engine = Engine::new(&program, "Approval").unwrap();
    let mut i = engine.instantiate("i1", &json!({})).unwrap();
    let wake = timers(&engine.handle(&mut i, T0, Event::Start).unwrap().commands)[0];
    engine
        .handle(
            &mut i,
            T0 + HOUR,
            Event::Signal {
                name: "approve".into(),
                args: json!({"by": "ana"}),
            },
        )
        .unwrap();
    assert_eq!(i.status, Status::Completed);
    assert_eq!(i.wakes_at(), None);
    // Its wake-up, still in a queue somewhere, does nothing to a finished instance.
    let step = engine
        .handle(&mut i, wake.1, Event::TimerFired { timer: wake.0 })
        .unwrap();
    assert!(step.ignored && step.history.is_empty());
    assert_eq!(i.fired("remind"), 0);
}

const WINDOWS: &str = r#"
workflow Windows {
    facts {
        opened: Time = now()
        count: Int = 0
    }
    rule "outside the quiet hour" {
        match { now() < opened + 1.h || opened + 2.h <= now() }
        action { 1 }
        reaction { count += result }
    }
}
"#;

/// The rule's facts never change (`count` is not read by its match), yet it fires
/// again once the second threshold passes: refraction counts that as a change.
#[test]
fn refraction_counts_a_passed_threshold_as_a_change() {
    let program = support::program(WINDOWS);
    let engine = Engine::new(&program, "Windows").unwrap();
    let mut i = engine.instantiate("i1", &json!({})).unwrap();
    let step = engine.handle(&mut i, T0, Event::Start).unwrap();
    assert_eq!(i.fired("outside the quiet hour"), 1);
    let wake = timers(&step.commands);
    assert_eq!(wake, vec![(wake[0].0, T0 + HOUR)]);

    // At one hour the match turns false; the next change is at two hours.
    let step = engine
        .handle(&mut i, T0 + HOUR, Event::TimerFired { timer: wake[0].0 })
        .unwrap();
    assert_eq!(i.fired("outside the quiet hour"), 1);
    let wake = timers(&step.commands);
    assert_eq!(
        wake.iter().map(|w| w.1).collect::<Vec<_>>(),
        [T0 + 2 * HOUR]
    );

    engine
        .handle(
            &mut i,
            T0 + 2 * HOUR,
            Event::TimerFired { timer: wake[0].0 },
        )
        .unwrap();
    assert_eq!(i.fired("outside the quiet hour"), 2);
    assert_eq!(fact(&engine, &i, "count"), json!(2));
    // Both thresholds are behind; refraction holds it from now on.
    assert_eq!(i.wakes_at(), None);
    assert_eq!(i.status, Status::Stalled);
}

const SLEEPER: &str = r#"
workflow Sleeper {
    facts { done: Bool = false }
    rule "nap" {
        match { !done }
        action { sleep(1.h) }
        reaction { done = true }
    }
    signal finish() { complete() }
}
"#;

#[test]
fn a_finished_instance_ignores_its_pending_timer() {
    let program = support::program(SLEEPER);
    let engine = Engine::new(&program, "Sleeper").unwrap();
    let mut i = engine.instantiate("i1", &json!({})).unwrap();
    let timer = timers(&engine.handle(&mut i, T0, Event::Start).unwrap().commands)[0];
    engine
        .handle(
            &mut i,
            T0 + 1,
            Event::Signal {
                name: "finish".into(),
                args: json!({}),
            },
        )
        .unwrap();
    assert_eq!(i.status, Status::Completed);
    assert_eq!(i.timers().count(), 0);
    let history = i.history.len();
    let step = engine
        .handle(&mut i, timer.1, Event::TimerFired { timer: timer.0 })
        .unwrap();
    assert!(step.ignored && step.history.is_empty() && step.commands.is_empty());
    assert_eq!(i.history.len(), history);
    assert_eq!(engine.host().facts_to_json(&i.values)["done"], json!(false));
}

const HELPED: &str = r#"
def overdue(since: Time, wait: Duration): Bool { now() >= since + wait }
workflow Helped {
    facts {
        asked: Time = now()
        done: Bool = false
    }
    rule "late" {
        match { !done && overdue(asked, 1.h) }
        action { true }
        reaction { done = result }
    }
}
"#;

/// A comparison of `now()` in a helper the match calls is a threshold too.
#[test]
fn a_threshold_inside_a_helper_wakes_the_instance() {
    let program = support::program(HELPED);
    let engine = Engine::new(&program, "Helped").unwrap();
    let mut i = engine.instantiate("i1", &json!({})).unwrap();
    let step = engine.handle(&mut i, T0, Event::Start).unwrap();
    let wake = timers(&step.commands);
    assert_eq!(wake.iter().map(|w| w.1).collect::<Vec<_>>(), [T0 + HOUR]);
    engine
        .handle(&mut i, T0 + HOUR, Event::TimerFired { timer: wake[0].0 })
        .unwrap();
    assert_eq!(i.fired("late"), 1);
    assert_eq!(fact(&engine, &i, "done"), json!(true));
}
