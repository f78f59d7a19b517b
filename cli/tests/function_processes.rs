//! A function's processes end with its call, under a real `cosmosc serve`: a
//! function that leaves a `setsid` sleeper holding its stdout still has its output
//! accepted, the sleeper is killed when the call ends, and the node (a child
//! subreaper) reaps it: no zombie is left behind.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::server::Server;
use support::workflows::{chain, chain_total};

/// Doubles n, leaving behind a sleeper in a session of its own that keeps stdout
/// open; the sleeper's pid goes to `pids/gc.PID`.
const ESCAPING_WORK: &str = r#"read line
n=$(printf '%s' "$line" | tr -dc '0-9-')
me=$$
setsid sh -c "echo \$\$ > pids/tmp.$me; mv pids/tmp.$me pids/gc.$me; exec sleep 300" </dev/null &
while [ ! -s pids/gc.$me ]; do sleep 0.01; done
echo $(( n * 2 ))
"#;

/// The fields of `/proc/PID/stat` after the command name: state, ppid, …
fn stat(pid: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(") ")?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn alive(pid: &str) -> bool {
    stat(pid).is_some_and(|fields| fields[0] != "Z")
}

/// The zombie children of process `parent`.
fn zombies_of(parent: u32) -> Vec<String> {
    let parent = parent.to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name.chars().all(|c| c.is_ascii_digit()))
        .filter(|pid| stat(pid).is_some_and(|f| f[0] == "Z" && f[1] == parent))
        .collect()
}

/// Waits (at most 5 s) until `cond` holds, failing with `what`.
fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(5), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_functions_escaped_processes_end_with_its_call_and_are_reaped() {
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", &chain("20.s")),
        ("functions/work.sh", ESCAPING_WORK),
        ("pids/.keep", ""),
    ]);
    let root = project.path();
    let server = Server::start(root, &["--store", "state.db"], &[]);
    let mut ids = Vec::new();
    for seed in 0..3 {
        let (status, body) = server.post("/v1/workflows/Chain/instances", json!({"seed": seed}));
        assert_eq!(status, 201, "{body}");
        ids.push((seed, body["id"].as_str().unwrap().to_string()));
    }
    let only_ids: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    server.wait_all_finished(&only_ids, Duration::from_secs(60));
    for (seed, id) in &ids {
        let (_, body) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(
            body["output"],
            json!({"total": chain_total(*seed), "steps": 5}),
            "{body}"
        );
    }
    let pids: Vec<String> = std::fs::read_dir(root.join("pids"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("gc.")
                .map(str::to_string)
        })
        .map(|f| std::fs::read_to_string(root.join("pids").join(format!("gc.{f}"))).unwrap())
        .map(|pid| pid.trim().to_string())
        .collect();
    assert_eq!(pids.len(), 15, "one sleeper per call: {pids:?}");
    for pid in &pids {
        until(&format!("sleeper {pid} outlived its call"), || !alive(pid));
    }
    let node = server.child.id();
    until(
        &format!("the node left zombies: {:?}", zombies_of(node)),
        || zombies_of(node).is_empty(),
    );
    assert!(alive(&node.to_string()), "the node still runs");
}
