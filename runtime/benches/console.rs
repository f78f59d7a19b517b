//! The web console's page times on SQLite (issue 15's target: under 200 ms each): the
//! instances page over `COSMOS_BENCH_INSTANCES` instances (default 100,000), filtered
//! and not, an instance page with `COSMOS_BENCH_HISTORY` history rows (default 10,000),
//! and a workflow page (its statistics over the newest 500 instances). Each time is
//! one whole request over a local TCP connection to the console served by a real node
//! (render and store queries included), the median and the slowest of
//! `COSMOS_BENCH_RUNS` (default 20) requests. The API's JSON answers for the same
//! data are measured in the same run, as references.
//!
//! `cargo bench -p cosmos-runtime --bench console`; `cargo test --release -p
//! cosmos-runtime --bench console` is the same, and without `--release` it measures a
//! debug build (an upper bound).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use cosmos_runtime::api::{self, ApiConfig};
use cosmos_runtime::engine::{Engine, HistoryKind, Status};
use cosmos_runtime::store::{NewHistory, NewInstance, StepCommit};
use serde_json::json;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const T0: i64 = 1_767_225_600_000;

const SOURCE: &str = r#"
workflow Review {
    input { title: String }
    facts { reviewer: String?, notes: List<String> = [], done: Bool = false }
    rule "publish" {
        match { reviewer != null && !done && notes.size() < 3 }
        action { true }
        reaction { done = result }
    }
    signal review(by: String) { reviewer = by }
    complete when { done }
}
"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One GET over a fresh connection: the status, the `Set-Cookie` value, the time and
/// the body.
fn get(address: &str, path: &str, cookie: &str) -> (u16, Option<String>, Duration, String) {
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let cookie = text
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .map(|v| v.split(';').next().unwrap().to_string());
    let body = text
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    (status, cookie, took, body)
}

fn main() {
    let instances = env_usize("COSMOS_BENCH_INSTANCES", 100_000);
    let history = env_usize("COSMOS_BENCH_HISTORY", 10_000);
    let runs = env_usize("COSMOS_BENCH_RUNS", 20);
    let dir = tempfile::tempdir().unwrap();
    let program = support::program(SOURCE);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = tokio.enter();
    let (store, node) = support::start_node(dir.path(), "bench", &program);

    // The instances, written straight to the store: a real engine state each, a
    // third of them stalled (waiting for `review`), the rest completed.
    let engine = Engine::new(&program, "Review").unwrap();
    let filling = Instant::now();
    let mut big = String::new();
    for i in 0..instances {
        let id = format!("{:08x}-0000-7000-8000-{:012x}", i / 1000, i);
        let state = engine
            .instantiate(&id, &json!({"title": format!("t{i}")}))
            .unwrap();
        let status = if i % 3 == 0 {
            Status::Stalled
        } else {
            Status::Completed
        };
        let first = StepCommit {
            instance: id.clone(),
            expected_version: 0,
            status,
            facts: engine.host().facts_to_json(&state.values),
            output: None,
            failure: None,
            state: serde_json::to_value(&state).unwrap(),
            now: T0 + i as i64,
            history: Vec::new(),
            enqueue: Vec::new(),
            ack: None,
            stamp: None,
            children: Vec::new(),
        };
        let new = NewInstance {
            id: id.clone(),
            workflow: "Review".into(),
            bundle: node.deployment().current().hash.clone(),
            input: json!({"title": format!("t{i}")}),
            idempotency_key: None,
            created_at: T0 + i as i64,
        };
        store.create_instance(new, first).unwrap();
        if i == instances / 2 {
            big = id;
        }
    }
    // One of them with a long history.
    let record = store.instance(&big).unwrap().unwrap();
    let rows = (0..history)
        .map(|n| NewHistory {
            at: T0 + n as i64,
            kind: HistoryKind::Log,
            text: format!("log line {n} of a long-lived instance"),
            data: json!({"message": format!("line {n}")}),
        })
        .collect();
    store
        .commit_step(StepCommit {
            instance: big.clone(),
            expected_version: record.version,
            status: record.status,
            facts: record.facts.clone(),
            output: None,
            failure: None,
            state: record.state.clone(),
            now: T0,
            history: rows,
            enqueue: Vec::new(),
            ack: None,
            stamp: None,
            children: Vec::new(),
        })
        .unwrap();
    println!(
        "filled the store with {instances} instances and {history} history rows in {:.1} s",
        filling.elapsed().as_secs_f64()
    );

    let app = api::router(node.clone(), ApiConfig::default());
    let listener = tokio
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio.spawn(async move { axum::serve(listener, app).await });

    let (status, cookie, _, _) = get(&address, "/", "");
    assert_eq!(status, 200);
    let cookie = cookie.expect("a session cookie");
    // The pages hold what they are timed for: a whole page of history, a page of
    // instances, the workflow's statistics.
    let (_, _, _, page) = get(&address, &format!("/instances/{big}"), &cookie);
    assert_eq!(
        page.matches("<li class=\"k-log\"").count(),
        200.min(history)
    );
    assert!(
        page.contains("data-rule=\"publish\""),
        "the rules are explained"
    );
    let (_, _, _, page) = get(&address, "/", &cookie);
    assert_eq!(page.matches("<tr data-row>").count(), 50.min(instances));
    let (_, _, _, page) = get(&address, "/workflows/Review", &cookie);
    assert!(
        page.contains("counts over the 500 newest instances"),
        "{page}"
    );
    let last_page_after = history.saturating_sub(200);
    let pages = [
        ("instances, no filter".to_string(), "/".to_string()),
        (
            "instances, status STALLED".to_string(),
            "/?status=STALLED".to_string(),
        ),
        (
            "instances, workflow and status".to_string(),
            "/?workflow=Review&status=COMPLETED".to_string(),
        ),
        (
            "instances, search by id start".to_string(),
            format!("/?id={}", &big[..13]),
        ),
        (
            format!("instance with {history} history rows (latest page)"),
            format!("/instances/{big}"),
        ),
        (
            format!("instance with {history} history rows (first page)"),
            format!("/instances/{big}?after=0"),
        ),
        (
            format!("instance with {history} history rows (page at {last_page_after})"),
            format!("/instances/{big}?after={}", last_page_after / 2),
        ),
        (
            "workflow (statistics over the newest 500)".to_string(),
            "/workflows/Review".to_string(),
        ),
        // References, measured in the same run: the API's JSON for the same data.
        (
            "reference: GET /v1/instances?limit=50".to_string(),
            "/v1/instances?limit=50".to_string(),
        ),
        (
            "reference: GET /v1/instances/{id}".to_string(),
            format!("/v1/instances/{big}"),
        ),
        (
            "reference: GET /v1/instances/{id}/rules".to_string(),
            format!("/v1/instances/{big}/rules"),
        ),
    ];
    println!("{:<52} {:>10} {:>10}", "page", "median", "slowest");
    for (name, path) in &pages {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let (status, _, took, _) = get(&address, path, &cookie);
                assert_eq!(status, 200, "{path}");
                took
            })
            .collect();
        times.sort();
        println!(
            "{name:<52} {:>8.1}ms {:>8.1}ms",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0
        );
    }
}
