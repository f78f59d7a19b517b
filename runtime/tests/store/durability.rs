//! What survives: a reopen, and a writer process killed with `kill -9` in the middle
//! of its steps (the test runs this binary again as the child, `crash_child_writer`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cosmos_runtime::store::NewMessage;
use serde_json::json;

use crate::{Db, T0, first_step, msg, new_instance, request, stats, step};

fn everything_survives_a_reopen(db: &Db) {
    let (event, timer) = {
        let store = db.open();
        let mut first = first_step("i1");
        first.enqueue = vec![msg("calls", json!("call"))];
        store
            .create_instance(new_instance("i1", Some("k")), first)
            .unwrap();
        store.commit_step(step("i1", 1, T0 + 1)).unwrap();
        store.put_bundle("h", b"bundle", T0).unwrap();
        let event = store.enqueue(&[msg("engine", json!("e"))], T0).unwrap()[0];
        store.lease(&request("engine", "w", T0, 1)).unwrap();
        let timer = store
            .enqueue(&[NewMessage::new("timers", json!("t"), T0 + 60_000)], T0)
            .unwrap()[0];
        (event, timer)
    };
    let store = db.open();
    let record = store.instance("i1").unwrap().unwrap();
    assert_eq!((record.version, record.facts), (2, json!({"step": 1})));
    assert_eq!(store.history("i1", 0).unwrap().len(), 1);
    assert_eq!(store.bundle("h").unwrap(), Some(b"bundle".to_vec()));
    assert_eq!(stats(&*store, "calls", T0), (1, 0, 0, 0));
    assert_eq!(stats(&*store, "engine", T0), (0, 0, 1, 0));
    assert_eq!(
        store.next_visible_at("timers", T0).unwrap(),
        Some(T0 + 60_000)
    );
    // The lease survived too: the owner can still ack.
    assert!(store.ack(event, "w", T0 + 1).unwrap());
    let leased = store
        .lease(&request("timers", "w", T0 + 60_000, 1))
        .unwrap();
    assert_eq!(leased[0].id, timer);
}

const CRASH_ENV: &str = "COSMOS_STORE_CRASH_CHILD";
const CRASH_INSTANCES: usize = 4;

/// Not a test on its own: the child process of `kill_9_leaves_no_partial_step`. Each
/// step of instance `c{i}` leases the one message of queue `crash-{i}`, and commits
/// (1 history row, version + 1, the ack of that message, one new message whose
/// payload is the new version) in one transaction, then prints "committed ID V".
#[test]
fn crash_child_writer() {
    let Ok(target) = std::env::var(CRASH_ENV) else {
        return;
    };
    let store = cosmos_runtime::connect::open_store(&target, Path::new(".")).unwrap();
    store.release_all_leases().unwrap();
    for i in 0..CRASH_INSTANCES {
        let id = format!("c{i}");
        let mut first = first_step(&id);
        first.enqueue = vec![msg(&format!("crash-{i}"), json!(1))];
        store
            .create_instance(new_instance(&id, Some(&id)), first)
            .unwrap();
    }
    let started = Instant::now();
    let mut stdout = std::io::stdout();
    for n in 0.. {
        if started.elapsed() > Duration::from_secs(60) {
            break; // the parent is gone
        }
        let i = n % CRASH_INSTANCES;
        let id = format!("c{i}");
        let version = store.instance(&id).unwrap().unwrap().version;
        let leased = store
            .lease(&request(&format!("crash-{i}"), "child", T0 + n as i64, 1))
            .unwrap();
        assert_eq!(leased.len(), 1, "instance {id} has no message");
        let mut commit = step(&id, version, T0 + n as i64);
        commit.facts = json!({"version": version + 1, "padding": "x".repeat(n % 3000)});
        commit.ack = Some((leased[0].id, "child".into()));
        commit.enqueue = vec![msg(&format!("crash-{i}"), json!(version + 1))];
        store.commit_step(commit).unwrap();
        writeln!(stdout, "committed {id} {}", version + 1).unwrap();
        stdout.flush().unwrap();
    }
}

fn check_crash_invariants(db: &Db, reported: &BTreeMap<String, i64>) {
    let store = db.open();
    db.check_integrity();
    for i in 0..CRASH_INSTANCES {
        let id = format!("c{i}");
        let Some(record) = store.instance(&id).unwrap() else {
            assert!(!reported.contains_key(&id));
            continue;
        };
        let history = store.history(&id, 0).unwrap();
        // Each step wrote exactly one history row and one version: all or nothing.
        assert_eq!(history.len() as i64, record.version - 1, "instance {id}");
        assert!(history.iter().zip(1..).all(|(h, seq)| h.seq == seq));
        if record.version > 1 {
            assert_eq!(record.facts["version"], json!(record.version));
        }
        // Every step the child reported as committed is there.
        assert!(
            record.version >= reported.get(&id).copied().unwrap_or(0),
            "instance {id}: version {} but {:?} was reported",
            record.version,
            reported.get(&id)
        );
        // Exactly one live message per instance, produced by the latest step.
        let live = db.live_messages(&format!("crash-{i}"));
        assert_eq!(live.len(), 1, "instance {id}: {live:?}");
        assert_eq!(live[0].0, record.version.to_string(), "instance {id}");
    }
}

fn kill_9_leaves_no_partial_step(db: &Db) {
    let exe = std::env::current_exe().unwrap();
    let mut reported = BTreeMap::new();
    for round in 0..4u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "durability::crash_child_writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_ENV, db.target())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = 0;
        let wanted = 40 + round * 37;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("committed ") {
                let (id, version) = rest.split_once(' ').unwrap();
                reported.insert(id.to_string(), version.parse::<i64>().unwrap());
                seen += 1;
                if seen >= wanted {
                    break;
                }
            }
        }
        assert!(seen >= wanted, "the child stopped early (round {round})");
        // Land the kill at a different point of a step each round.
        std::thread::sleep(Duration::from_micros(round * 150));
        child.kill().unwrap();
        child.wait().unwrap();
        // Lines printed before the kill report commits too.
        for line in lines {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("committed ") {
                let (id, version) = rest.split_once(' ').unwrap();
                reported.insert(id.to_string(), version.parse::<i64>().unwrap());
            }
        }
        check_crash_invariants(db, &reported);
    }
    assert!(reported.values().all(|&v| v > 10), "{reported:?}");
}

on_both_backends!(everything_survives_a_reopen, kill_9_leaves_no_partial_step,);
