//! The warm function the runtime benchmarks call: `tick(n) = n + 1`, served by the
//! benchmark's own executable, which acts as the worker when the executor starts it
//! with `COSMOS_PROTOCOL=lines`; and the project around it.

use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// If this process was started as the worker, serves until stdin closes and returns
/// true: answers `{"id", "calls": [{"n": N}, …]}` with `N + 1` for each call. With
/// `stamps`, it appends `received NS` on each message and `answered NS` before each
/// answer to that file in the current folder (the project's root).
pub fn serve_if_worker(stamps: Option<&str>) -> bool {
    if std::env::var("COSMOS_PROTOCOL").as_deref() != Ok("lines") {
        return false;
    }
    let mut log = stamps.map(|name| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(name)
            .unwrap()
    });
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let received = now_ns();
        let message: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let results: Vec<Value> = message["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| json!({"ok": c["n"].as_i64().unwrap_or(0) + 1}))
            .collect();
        let answer = json!({"id": message["id"], "results": results});
        if let Some(log) = log.as_mut() {
            let answered = now_ns();
            writeln!(log, "received {received}\nanswered {answered}").unwrap();
        }
        writeln!(stdout, "{answer}").unwrap();
        stdout.flush().unwrap();
    }
    true
}

/// Writes a project in `dir` whose `tick` runs `exe` as a warm worker (pool `default`:
/// at most 4 processes, 2 kept warm), with `workflows` (Emx source) after it.
pub fn project(dir: &Path, exe: &str, workflows: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("cosmos.toml"),
        "[project]\nname = \"bench\"\n\n[pools.default]\nmax = 4\nwarm = 2\n",
    )
    .unwrap();
    let source = format!(
        "
function tick(n: Int): Int {{
    command [{exe:?}]
    warm 1
}}
{workflows}"
    );
    std::fs::write(dir.join("src/main.emx"), source).unwrap();
}

/// A workflow `Three` of three warm calls.
pub const THREE: &str = r#"
/** Three warm calls. */
workflow Three {
    input { seed: Int }
    facts { n: Int = 0 }
    rule "call" {
        match { n < 3 }
        action { tick(n: n) }
        reaction { n = result }
    }
    complete when { n >= 3 }
}
"#;

/// Starts instances `0..instances` of [`THREE`] (the seed is the number) through the
/// API of the nodes at `bases`, instance `i` on node `i % bases.len()`, from four
/// client threads, and returns once every one was created (201).
#[allow(dead_code)] // the runtime benchmark starts its instances one at a time
pub fn start_three(bases: &[String], instances: usize) {
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let bases = bases.to_vec();
            std::thread::spawn(move || {
                let agent = ureq::agent();
                for seed in (client..instances).step_by(4) {
                    let base = &bases[seed % bases.len()];
                    let mut response = agent
                        .post(format!("{base}/v1/workflows/Three/instances"))
                        .send_json(json!({"seed": seed}))
                        .unwrap();
                    assert_eq!(response.status().as_u16(), 201);
                    let _ = response.body_mut().read_to_string();
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}
