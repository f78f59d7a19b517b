//! The HTTP worker protocol (docs/runtime.md, "HTTP workers"): a worker that is not
//! `cosmosc` leases calls from `cosmosc serve --no-functions` over HTTP, renews their
//! leases with progress and completes them; and every refusal is a 4xx with its
//! documented code that changes nothing in the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::server::{Server, agent, call};
use support::worker::Worker;

/// `Double`: one call of `double` (pool `py`), whose result becomes the output.
const DOUBLE: &str = r#"
/** Returns n * 2. */
function double(n: Int): Int {
    command ["sh", "functions/double.sh"]
    pool "py"
    timeout 1.min
    heartbeat 20.s
}

workflow Double {
    input { n: Int }
    facts { r: Int? }
    rule "double" {
        match { r == null }
        action { double(n: n) }
        reaction { r = result }
    }
    complete when { r != null }
    output { [r: r] }
}
"#;

const ADMIN: &str = "adm1n-s3cret";
const WORKER: &str = "w0rker-s3cret";

fn project() -> tempfile::TempDir {
    support::project(&[
        (
            "cosmos.toml",
            "[project]\nname = \"double\"\n\n[pools.py]\nmax = 2\n",
        ),
        ("src/main.emx", DOUBLE),
        (
            "functions/double.sh",
            "n=$(tr -dc '0-9')\necho $(( n * 2 ))\n",
        ),
        (
            "tokens.txt",
            &format!("admin ops {ADMIN}\nworker py {WORKER}\n"),
        ),
    ])
}

fn serve(root: &std::path::Path) -> Server {
    Server::start(
        root,
        &["--no-functions", "--tokens-file", "tokens.txt"],
        &[],
    )
}

fn post(server: &Server, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = agent()
        .post(format!("{}{path}", server.base))
        .content_type("application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    call(request.send(body))
}

fn get(server: &Server, path: &str) -> Value {
    let (status, body) = call(
        agent()
            .get(format!("{}{path}", server.base))
            .header("Authorization", format!("Bearer {ADMIN}"))
            .call(),
    );
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn start(server: &Server, n: i64) -> String {
    let (status, body) = post(
        server,
        "/v1/workflows/Double/instances",
        Some(ADMIN),
        &json!({ "n": n }).to_string(),
    );
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

/// Leases for `worker`, waiting up to 10 s, until `want` calls came.
fn lease(server: &Server, worker: &str, lease_ms: i64, want: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut calls = Vec::new();
    while calls.len() < want {
        assert!(Instant::now() < deadline, "no call to lease: {calls:?}");
        let body = json!({"worker": worker, "pools": ["py"], "max": want - calls.len(),
                          "wait_ms": 10_000, "lease_ms": lease_ms});
        let (status, got) = post(server, "/v1/worker/lease", Some(WORKER), &body.to_string());
        assert_eq!(status, 200, "{got}");
        calls.extend(got["calls"].as_array().unwrap().iter().cloned());
    }
    calls
}

fn complete(server: &Server, call: &Value, body: Value) -> (u16, Value) {
    let mut body = body;
    body["lease"] = call["lease"].clone();
    let id = call["id"].as_str().unwrap();
    post(
        server,
        &format!("/v1/worker/calls/{id}/complete"),
        Some(WORKER),
        &body.to_string(),
    )
}

fn heartbeat(server: &Server, call: &Value, progress: Option<Value>) -> (u16, Value) {
    let mut body = json!({"lease": call["lease"]});
    if let Some(progress) = progress {
        body["progress"] = progress;
    }
    let id = call["id"].as_str().unwrap();
    post(
        server,
        &format!("/v1/worker/calls/{id}/heartbeat"),
        Some(WORKER),
        &body.to_string(),
    )
}

fn release(server: &Server, call: &Value, retry_after_ms: i64) -> (u16, Value) {
    let body = json!({"lease": call["lease"], "retry_after_ms": retry_after_ms});
    let id = call["id"].as_str().unwrap();
    post(
        server,
        &format!("/v1/worker/calls/{id}/release"),
        Some(WORKER),
        &body.to_string(),
    )
}

/// A lease token's JSON (it is hex of JSON; opaque to workers, but a hostile worker
/// can read and rewrite it).
fn token_json(call: &Value) -> Value {
    let hex = call["lease"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    serde_json::from_slice(&bytes).unwrap()
}

fn token_text(token: &Value) -> String {
    token
        .to_string()
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn wait_finished(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let instance = get(server, &format!("/v1/instances/{id}"));
        if instance["status"] != "RUNNING" {
            return instance;
        }
        assert!(Instant::now() < deadline, "still running: {instance}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `received` rows of call outcomes: (type, worker).
fn received(server: &Server, id: &str) -> Vec<(String, String)> {
    get(server, &format!("/v1/instances/{id}/history"))["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "received")
        .filter(|r| r["data"]["type"] == "call_completed" || r["data"]["type"] == "call_failed")
        .map(|r| {
            (
                r["data"]["type"].as_str().unwrap().to_string(),
                r["data"]["worker"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_worker_leases_renews_and_completes_calls_over_http() {
    let project = project();
    let server = serve(project.path());
    let id = start(&server, 21);
    let calls = lease(&server, "py-1", 30_000, 1);
    let leased = &calls[0];
    assert_eq!(leased["function"], "double", "{leased}");
    assert_eq!(leased["pool"], "py");
    assert_eq!(leased["arguments"], json!({"n": 21}));
    assert_eq!(leased["attempt"], 1);
    assert_eq!(leased["timeout_ms"], 60_000);
    assert_eq!(leased["heartbeat_ms"], 20_000);
    assert_eq!(leased["instance"], id.as_str());
    assert!(leased["idempotency_key"].is_string(), "{leased}");
    assert!(leased["lease_expires_at"].is_string(), "{leased}");

    // The registry shows the worker as soon as it leased.
    let workers = get(&server, "/v1/workers");
    let me = workers["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "py-1")
        .unwrap_or_else(|| panic!("{workers}"))
        .clone();
    assert_eq!(me["kind"], "http", "{me}");
    assert_eq!(me["pools"], json!(["py"]));
    assert_eq!(me["alive"], true);
    assert_eq!(me["leased"], 1);

    // A heartbeat extends the lease and records the progress, shown on the instance.
    let (status, beat) = heartbeat(&server, leased, Some(json!({"done": 1, "of": 2})));
    assert_eq!(status, 200, "{beat}");
    assert!(beat["lease_expires_at"].is_string(), "{beat}");
    let instance = get(&server, &format!("/v1/instances/{id}"));
    assert_eq!(
        instance["in_flight"][0]["progress"],
        json!({"done": 1, "of": 2}),
        "{instance}"
    );

    let (status, done) = complete(&server, leased, json!({"result": 42}));
    assert_eq!(status, 200, "{done}");
    assert_eq!(done, json!({"outcome": "completed"}));
    let instance = wait_finished(&server, &id);
    assert_eq!(instance["status"], "COMPLETED", "{instance}");
    assert_eq!(instance["output"], json!({"r": 42}));
    assert_eq!(
        received(&server, &id),
        [("call_completed".to_string(), "py-1".to_string())]
    );
    let workers = get(&server, "/v1/workers");
    let me = workers["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "py-1")
        .unwrap()
        .clone();
    assert_eq!(me["completed"], 1, "{me}");
    let metrics = call(
        agent()
            .get(format!("{}/metrics", server.base))
            .header("Authorization", format!("Bearer {ADMIN}"))
            .call(),
    );
    let text = metrics.1.as_str().unwrap().to_string();
    assert!(
        text.contains("cosmos_worker_alive{worker=\"py-1\",kind=\"http\"} 1"),
        "{text}"
    );
}

#[test]
fn refusals_are_4xx_with_their_code_and_change_nothing() {
    let project = project();
    let server = serve(project.path());
    let lease_body = json!({"worker": "py-1", "pools": ["py"], "wait_ms": 0}).to_string();

    // Scopes: no token 401, a wrong one 401; an admin token may use the endpoints.
    for token in [None, Some("nope")] {
        let (status, body) = post(&server, "/v1/worker/lease", token, &lease_body);
        assert_eq!(status, 401, "{token:?}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, body) = post(&server, "/v1/worker/lease", Some(ADMIN), &lease_body);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"calls": []}));

    // Malformed lease requests.
    for (body, code) in [
        ("{", "bad_json"),
        ("[]", "bad_json"),
        (r#"{"pools": ["py"]}"#, "bad_body"),
        (r#"{"worker": "w", "pools": []}"#, "bad_body"),
        (r#"{"worker": "w", "pools": ["py"], "max": 0}"#, "bad_body"),
        (
            r#"{"worker": "w", "pools": ["py"], "lease_ms": 5}"#,
            "bad_body",
        ),
    ] {
        let (status, answer) = post(&server, "/v1/worker/lease", Some(WORKER), body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }

    let id = start(&server, 5);
    let leased = lease(&server, "py-1", 300, 1).remove(0);
    let history_len = || {
        get(&server, &format!("/v1/instances/{id}/history"))["history"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = history_len();

    // Malformed completions and heartbeats, an unknown call, a bogus lease.
    let call_id = leased["id"].as_str().unwrap();
    let lease_token = leased["lease"].as_str().unwrap();
    for (path, body, status, code) in [
        (
            format!("/v1/worker/calls/{call_id}/complete"),
            json!({"lease": lease_token, "result": 1, "error": {"kind": "FAILED", "message": "m"}}),
            400,
            "bad_body",
        ),
        (
            format!("/v1/worker/calls/{call_id}/complete"),
            json!({"lease": lease_token}),
            400,
            "bad_body",
        ),
        (
            format!("/v1/worker/calls/{call_id}/complete"),
            json!({"lease": lease_token, "error": {"kind": "OOPS", "message": "m"}}),
            400,
            "bad_body",
        ),
        (
            format!("/v1/worker/calls/{call_id}/complete"),
            json!({"lease": "not-a-lease", "result": 10}),
            400,
            "bad_lease",
        ),
        (
            format!("/v1/worker/calls/{call_id}/heartbeat"),
            json!({"lease": lease_token, "progress": 3}),
            400,
            "bad_body",
        ),
        (
            "/v1/worker/calls/999999/complete".to_string(),
            json!({"lease": lease_token, "result": 10}),
            404,
            "unknown_call",
        ),
        (
            "/v1/worker/calls/999999/heartbeat".to_string(),
            json!({"lease": lease_token}),
            404,
            "unknown_call",
        ),
    ] {
        let (got, answer) = post(&server, &path, Some(WORKER), &body.to_string());
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{path} {body}: {answer}");
    }
    // A worker token is refused elsewhere (403), and no token here is a 401.
    let (status, _) = post(
        &server,
        "/v1/workflows/Double/instances",
        Some(WORKER),
        "{\"n\": 1}",
    );
    assert_eq!(status, 403);
    let (status, _) = post(
        &server,
        &format!("/v1/worker/calls/{call_id}/complete"),
        None,
        &json!({"lease": lease_token, "result": 10}).to_string(),
    );
    assert_eq!(status, 401);
    assert_eq!(history_len(), before, "no refusal changed the history");

    // The lease expires (300 ms, not renewed): a late heartbeat, completion or
    // release is 409 `lease_lost` even before another worker took the call, and a
    // late heartbeat after another worker took the call too.
    std::thread::sleep(Duration::from_millis(600));
    let (status, answer) = heartbeat(&server, &leased, None);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "lease_lost");
    let (status, answer) = complete(&server, &leased, json!({"result": 10}));
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "lease_lost");
    let (status, answer) = release(&server, &leased, 0);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "lease_lost");
    let again = lease(&server, "py-2", 30_000, 1).remove(0);
    assert_eq!(again["id"], leased["id"]);
    assert_eq!(again["attempt"], 2);
    let (status, answer) = heartbeat(&server, &leased, None);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "lease_lost");
    assert_eq!(history_len(), before, "a late completion changed nothing");

    // A result that is not of the declared type is recorded as the call's
    // BAD_OUTPUT failure, naming the JSON path, like a process's bad stdout.
    let (status, answer) = complete(&server, &again, json!({"result": {"r": "ten"}}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"outcome": "failed"}));
    // Completing twice: 409, and the history has one outcome.
    let (status, answer) = complete(&server, &again, json!({"result": 10}));
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "lease_lost");
    let instance = wait_finished(&server, &id);
    assert_eq!(instance["status"], "FAILED", "{instance}");
    assert_eq!(
        received(&server, &id),
        [("call_failed".to_string(), "py-2".to_string())]
    );
    let history = get(&server, &format!("/v1/instances/{id}/history"));
    let failed = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["data"]["type"] == "call_failed")
        .unwrap()
        .to_string();
    assert!(failed.contains("BAD_OUTPUT"), "{failed}");
}

/// A released call is leased again, by anyone, without being charged an attempt; a
/// release with `retry_after_ms` hides it until then; a released lease is gone.
#[test]
fn a_released_call_is_leased_again_without_an_attempt() {
    let project = project();
    let server = serve(project.path());
    let id = start(&server, 21);
    let first = lease(&server, "py-1", 30_000, 1).remove(0);
    assert_eq!(first["attempt"], 1);
    for bad in [-1, 3_600_001] {
        let (status, answer) = release(&server, &first, bad);
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "bad_body");
    }
    let (status, answer) = release(&server, &first, 0);
    assert_eq!((status, &answer), (200, &json!({"released": true})));
    // Released: its token is spent.
    for (status, answer) in [
        heartbeat(&server, &first, None),
        complete(&server, &first, json!({"result": 42})),
        release(&server, &first, 0),
    ] {
        assert_eq!(status, 409, "{answer}");
        assert_eq!(answer["error"]["code"], "lease_lost");
    }
    let second = lease(&server, "py-2", 30_000, 1).remove(0);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["attempt"], 1, "a release charges no attempt");
    // Given back for 1.5 s: not leasable before.
    let (status, answer) = release(&server, &second, 1_500);
    assert_eq!(status, 200, "{answer}");
    let body = json!({"worker": "py-3", "pools": ["py"], "wait_ms": 0}).to_string();
    let (_, none) = post(&server, "/v1/worker/lease", Some(WORKER), &body);
    assert_eq!(none, json!({"calls": []}));
    let third = lease(&server, "py-3", 30_000, 1).remove(0);
    assert_eq!((&third["id"], &third["attempt"]), (&first["id"], &json!(1)));
    let (status, answer) = complete(&server, &third, json!({"result": 42}));
    assert_eq!(status, 200, "{answer}");
    let instance = wait_finished(&server, &id);
    assert_eq!(instance["output"], json!({"r": 42}), "{instance}");
    assert_eq!(
        received(&server, &id),
        [("call_completed".to_string(), "py-3".to_string())]
    );
}

/// A lease token is a handle, not the call: rewriting it to name another call, another
/// worker or an earlier delivery changes nothing, and a completion always goes to the
/// call that was leased, as the store holds it.
#[test]
fn a_rewritten_lease_token_changes_nothing() {
    let project = project();
    let server = serve(project.path());
    let a = start(&server, 1);
    let b = start(&server, 2);
    let mine = lease(&server, "py-1", 30_000, 1).remove(0);
    let theirs = lease(&server, "py-2", 30_000, 1).remove(0);
    assert_ne!(mine["id"], theirs["id"]);
    let mut forged = token_json(&mine);
    // py-1 points its token at py-2's call; then also claims to be py-2 but with the
    // wrong attempt.
    forged["id"] = theirs["id"]
        .as_str()
        .unwrap()
        .parse::<i64>()
        .unwrap()
        .into();
    let theirs_id = theirs["id"].as_str().unwrap();
    let attempts = [forged.clone(), {
        let mut f = forged.clone();
        f["worker"] = json!("py-2");
        f["attempt"] = json!(2);
        f
    }];
    for token in attempts {
        let body = json!({"lease": token_text(&token), "result": 999}).to_string();
        let (status, answer) = post(
            &server,
            &format!("/v1/worker/calls/{theirs_id}/complete"),
            Some(WORKER),
            &body,
        );
        assert_eq!(status, 409, "{token}: {answer}");
        assert_eq!(answer["error"]["code"], "lease_lost");
    }
    // py-1 completes its own call with a token that also names py-2's call (every
    // member of py-2's token but the lease itself, and its instance and key): the
    // result goes to the call py-1 leased, as the store holds it.
    let mut redirected = token_json(&mine);
    for (member, value) in token_json(&theirs).as_object().unwrap() {
        if !["id", "attempt", "worker", "lease_ms"].contains(&member.as_str()) {
            redirected[member] = value.clone();
        }
    }
    redirected["instance"] = theirs["instance"].clone();
    redirected["key"] = theirs["idempotency_key"].clone();
    let mine_id = mine["id"].as_str().unwrap();
    let body = json!({"lease": token_text(&redirected), "result": 10}).to_string();
    let (status, answer) = post(
        &server,
        &format!("/v1/worker/calls/{mine_id}/complete"),
        Some(WORKER),
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(complete(&server, &theirs, json!({"result": 20})).0, 200);
    let (mine_instance, theirs_instance) = (
        mine["instance"].as_str().unwrap(),
        theirs["instance"].as_str().unwrap(),
    );
    assert!([&a, &b].contains(&&mine_instance.to_string()));
    assert_eq!(
        wait_finished(&server, mine_instance)["output"],
        json!({"r": 10})
    );
    assert_eq!(
        wait_finished(&server, theirs_instance)["output"],
        json!({"r": 20})
    );
    for id in [mine_instance, theirs_instance] {
        assert_eq!(received(&server, id).len(), 1, "one outcome each");
    }
}

/// A copy of `examples/ladder` in a temporary folder.
fn copy_of_ladder() -> tempfile::TempDir {
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() && entry.file_name() != ".cosmos" {
                copy(&entry.path(), &to.join(entry.file_name()));
            } else if kind.is_file() {
                std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/ladder"),
        dir.path(),
    );
    dir
}

/// `examples/python-worker/worker.py`, written from the documentation alone, serves
/// the ladder example's functions for a node without functions: every instance
/// completes, and the history names the Python worker as the runner of every call.
#[test]
fn the_python_worker_runs_the_ladder_example() {
    let project = copy_of_ladder();
    let root = project.path();
    let server = Server::start(
        root,
        &["--no-functions"],
        &[("COSMOS_TOKEN", ADMIN), ("COSMOS_WORKER_TOKEN", WORKER)],
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/python-worker/worker.py");
    let mut python = std::process::Command::new("python3")
        .arg(script)
        .env("COSMOS_URL", &server.base)
        .env("COSMOS_WORKER_TOKEN", WORKER)
        .env("COSMOS_WORKER_NAME", "py-ladder")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let (status, body) = post(
                &server,
                "/v1/workflows/Ladder/instances",
                Some(ADMIN),
                &json!({"source": format!("s3://media/{i}.mov")}).to_string(),
            );
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().unwrap().to_string()
        })
        .collect();
    for id in &ids {
        let instance = wait_finished(&server, id);
        assert_eq!(instance["status"], "COMPLETED", "{instance}");
        assert_eq!(instance["output"]["renditions"], 4, "{instance}");
        assert_eq!(
            instance["output"]["published"],
            json!([1080, 720, 480]),
            "{instance}"
        );
        let ran = received(&server, id);
        assert_eq!(ran.len(), 8, "four transcodes, four publications: {ran:?}");
        assert!(
            ran.iter().all(|(_, worker)| worker == "py-ladder"),
            "{ran:?}"
        );
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &python.id().to_string()])
        .status();
    let exit = python.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// `cosmosc worker --server URL` runs a project's calls leased over HTTP from a node
/// without functions, with a worker token from `COSMOS_WORKER_TOKEN`; the history and
/// the registry name it.
#[test]
fn cosmosc_worker_runs_calls_over_http() {
    let project = project();
    let server = serve(project.path());
    let worker = Worker::start(
        project.path(),
        "over-http",
        &["--server", &server.base, "--pools", "py"],
        &[("COSMOS_WORKER_TOKEN", WORKER), ("COSMOS_LEASE_MS", "3000")],
    );
    let ids: Vec<(i64, String)> = (1..=6).map(|n| (n, start(&server, n))).collect();
    for (n, id) in &ids {
        let instance = wait_finished(&server, id);
        assert_eq!(instance["status"], "COMPLETED", "{instance}");
        assert_eq!(instance["output"], json!({"r": n * 2}), "{instance}");
        assert_eq!(
            received(&server, id),
            [("call_completed".to_string(), "over-http".to_string())]
        );
    }
    let workers = get(&server, "/v1/workers");
    let row = workers["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "over-http")
        .unwrap_or_else(|| panic!("{workers}"))
        .clone();
    assert_eq!(row["completed"], 6, "{row}");
    let (exit, log) = worker.terminate();
    assert!(exit.success(), "{exit:?}\n{log}");
}
