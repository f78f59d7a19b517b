//! Schedules (LANGUAGE.md 10.7) end to end: a real `cosmosc serve` starts an instance
//! per tick of an `every` schedule, and `cosmosc schedules` lists, pauses and resumes
//! it through the server (`--server`) and directly on its store (`--store`); with
//! `COSMOS_TEST_POSTGRES`, three nodes on one PostgreSQL store start exactly one
//! instance per tick.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::postgres::schema;
use support::server::{Server, agent};
use support::{code, cosmosc, stderr, stdout};

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const SOURCE: &str = r#"
workflow Stamp {
    input { at: Time }
    facts { seen: Bool = false }
    rule "see" {
        match { !seen }
        action { at }
        reaction { seen = true }
    }
    complete when { seen }
}

schedule "every two seconds" {
    every 2.s
    overlap allow
    start { Stamp(at: now()) }
}
"#;

const NAME: &str = "every two seconds";

/// The ticks (each instance's `at`) of every `Stamp` instance the server lists, with
/// how many instances each has.
fn ticks(server: &Server) -> BTreeMap<String, usize> {
    let (status, page) = server.get("/v1/instances?workflow=Stamp&limit=1000");
    assert_eq!(status, 200, "{page}");
    let mut out = BTreeMap::new();
    for row in page["instances"].as_array().unwrap() {
        let id = row["id"].as_str().unwrap();
        let (_, instance) = server.get(&format!("/v1/instances/{id}"));
        let at = instance["input"]["at"].as_str().unwrap().to_string();
        *out.entry(at).or_insert(0) += 1;
    }
    out
}

/// Waits up to 40 s until `done` holds for the server's ticks.
fn wait_ticks(
    server: &Server,
    what: &str,
    done: impl Fn(&BTreeMap<String, usize>) -> bool,
) -> BTreeMap<String, usize> {
    let start = Instant::now();
    loop {
        let ticks = ticks(server);
        if done(&ticks) {
            return ticks;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "{what}: gave up with ticks {ticks:?}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `cosmosc schedules ARGS` in `root`; its stdout, which must come with exit 0.
fn schedules(root: &Path, args: &[&str]) -> String {
    let mut all = vec!["schedules"];
    all.extend_from_slice(args);
    let output = cosmosc(&all, root);
    assert_eq!(code(&output), 0, "{args:?}: {}", stderr(&output));
    stdout(&output)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

/// Now, as the RFC 3339 text ticks are written in (UTC, whole seconds sort right
/// against millisecond ones only up to the second, so this is truncated).
fn now_text() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    cosmos_ir::format_time(ms - ms % 1000)
}

#[test]
fn serve_starts_an_instance_per_tick_and_the_cli_pauses_and_resumes_the_schedule() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", SOURCE)]);
    let root = project.path();
    let server = Server::start(root, &[], &[]);

    let before = wait_ticks(&server, "two ticks", |t| t.len() >= 2);
    assert!(
        before.values().all(|n| *n == 1),
        "one instance per tick: {before:?}"
    );
    for tick in before.keys() {
        let seconds: u32 = tick[17..19].parse().unwrap();
        assert!(
            tick.ends_with('Z') && !tick.contains('.') && seconds.is_multiple_of(2),
            "ticks fall on even seconds: {tick}"
        );
    }

    // Through the server.
    let listed = json(&schedules(
        root,
        &["list", "--server", &server.base, "--json"],
    ));
    let listed = &listed["schedules"][0];
    assert_eq!(listed["name"], NAME);
    assert_eq!(listed["workflow"], "Stamp");
    assert_eq!(listed["every"], "2.s");
    assert_eq!(listed["every_ms"], 2000);
    assert_eq!(listed["overlap"], "allow");
    assert_eq!(listed["paused"], false);
    assert!(
        listed["next_tick"].is_string() && listed["last_instance"].is_string(),
        "{listed}"
    );
    // The console's system page shows it, with its state and its last instance.
    let mut page = agent()
        .get(format!("{}/system", server.base))
        .call()
        .unwrap();
    let page = page.body_mut().read_to_string().unwrap();
    assert!(
        page.contains(
            "<td>every two seconds</td><td><a href=\"/workflows/Stamp\">Stamp</a></td>\
             <td>every <code>2.s</code></td><td>allow</td><td>active</td>"
        ),
        "{page}"
    );
    // Its last instance (a tick may have started a newer one since the listing above).
    let section = page.split("id=\"schedules\"").nth(1).unwrap_or_default();
    assert!(section.contains("<a href=\"/instances/"), "{section}");
    let table = schedules(root, &["list", "--server", &server.base]);
    assert!(table.starts_with("NAME "), "{table}");
    assert!(
        table.contains("every two seconds  Stamp     every 2.s  allow    active"),
        "{table}"
    );

    let paused = json(&schedules(
        root,
        &["pause", NAME, "--server", &server.base, "--json"],
    ));
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["next_tick"], Value::Null);
    let paused_at = now_text();
    // Three ticks' time: none of them starts anything.
    std::thread::sleep(Duration::from_secs(6));
    let during = ticks(&server);
    assert!(
        during.keys().all(|tick| *tick <= paused_at),
        "an instance for a tick after the pause at {paused_at}: {during:?}"
    );

    // Directly on the store the server uses: the server notices within 5 s.
    let resumed = json(&schedules(
        root,
        &["resume", NAME, "--store", ".cosmos/cosmos.db", "--json"],
    ));
    assert_eq!(resumed["paused"], false);
    assert!(resumed["next_tick"].is_string(), "{resumed}");
    let resumed_at = now_text();
    let after = wait_ticks(&server, "a tick after resuming", |t| {
        t.keys().any(|tick| *tick > resumed_at)
    });
    assert!(after.values().all(|n| *n == 1), "{after:?}");
    let skipped = after
        .keys()
        .filter(|tick| **tick > paused_at && **tick <= resumed_at)
        .count();
    assert!(
        skipped <= 1,
        "ticks missed while paused start nothing: {after:?} ({paused_at} to {resumed_at})"
    );

    let text = schedules(root, &["pause", NAME, "--store", ".cosmos/cosmos.db"]);
    assert_eq!(
        text,
        "schedule every two seconds (Stamp, every 2.s) is paused; next tick -\n"
    );
    let listed = json(&schedules(
        root,
        &["list", "--store", ".cosmos/cosmos.db", "--json"],
    ));
    assert_eq!(listed["schedules"][0]["paused"], true);
    let (status, api) = server.get("/v1/schedules");
    assert_eq!(status, 200);
    assert_eq!(
        api["schedules"][0]["paused"], true,
        "the server reads the same row: {api}"
    );
    let text = schedules(root, &["resume", NAME, "--server", &server.base]);
    assert!(
        text.starts_with("schedule every two seconds (Stamp, every 2.s) is active; next tick 20"),
        "{text}"
    );

    // Unknown names, and no target at all.
    let output = cosmosc(
        &["schedules", "pause", "nightly", "--server", &server.base],
        root,
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output)
            .contains("404 unknown_schedule: no schedule \"nightly\" in the deployed bundle"),
        "{}",
        stderr(&output)
    );
    let (status, body) = server.post("/v1/schedules/nightly/resume", Value::Null);
    assert_eq!(
        (status, &body["error"]["code"]),
        (404, &Value::from("unknown_schedule"))
    );
    let output = cosmosc(
        &[
            "schedules",
            "resume",
            "nightly",
            "--store",
            ".cosmos/cosmos.db",
        ],
        root,
    );
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no schedule \"nightly\" in the store"),
        "{}",
        stderr(&output)
    );
    // No target: the default address, as for `cosmosc instances`; nothing listens on
    // port 9 (discard), so the error names the address and how to choose another.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(["schedules", "list"])
        .current_dir(root)
        .env("COSMOS_SERVER", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cannot reach the runtime at http://127.0.0.1:9")
            && stderr(&output).contains("--server or COSMOS_SERVER"),
        "{}",
        stderr(&output)
    );
    server.terminate();
}

#[test]
fn three_nodes_on_one_postgres_store_start_exactly_one_instance_per_tick() {
    let Some(schema) =
        schema("three_nodes_on_one_postgres_store_start_exactly_one_instance_per_tick")
    else {
        return;
    };
    let project = support::project(&[support::MANIFEST, ("src/main.emx", SOURCE)]);
    let root = project.path();
    let nodes: Vec<Server> = (0..3)
        .map(|_| Server::start(root, &["--store", &schema.url], &[]))
        .collect();
    let ticks = wait_ticks(&nodes[0], "six ticks", |t| t.len() >= 6);
    for node in nodes {
        node.terminate();
    }
    // Read the database itself: every instance, by the tick it was started for.
    let mut client = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    let rows = client
        .query(
            "SELECT input, idempotency_key FROM instances WHERE workflow = 'Stamp'",
            &[],
        )
        .unwrap();
    let mut per_tick: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &rows {
        let input: String = row.get(0);
        let key: Option<String> = row.get(1);
        let at = json(&input)["at"].as_str().unwrap().to_string();
        per_tick.entry(at).or_default().push(key.unwrap());
    }
    assert!(per_tick.len() >= ticks.len(), "{per_tick:?}");
    for (tick, keys) in &per_tick {
        assert_eq!(
            keys,
            &[format!("schedule/{NAME}/{tick}")],
            "exactly one instance for tick {tick}"
        );
    }
    let row = client
        .query_one(
            "SELECT last_tick, last_instance FROM schedules WHERE name = $1",
            &[&NAME],
        )
        .unwrap();
    let last_tick: i64 = row.get(0);
    assert_eq!(
        per_tick.keys().last().unwrap(),
        &cosmos_ir::format_time(last_tick),
        "the row records the latest tick"
    );
    let last_instance: Option<String> = row.get(1);
    assert!(last_instance.is_some());
}
