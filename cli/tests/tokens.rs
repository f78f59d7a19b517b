//! Tokens with scopes on a real `cosmosc serve`: admin tokens from the environment and
//! from a tokens file open the API, a worker token is refused outside the worker
//! endpoints (403, naming the token's name, never the token), a missing or unknown
//! token is a 401, and a bad tokens file stops `serve` before it listens, without
//! printing a token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::Value;
use support::server::{Server, agent, call};
use support::workflows::GATE_V1;

fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = agent().get(format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    call(request.call())
}

#[test]
fn each_token_opens_what_its_scope_allows() {
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", GATE_V1),
        (
            "tokens.txt",
            "# who may call this runtime\nadmin ops adm1n-from-file\n\
             worker gpu-farm w0rker-gpu   # the GPU machines\nworker cpu-farm w0rker-cpu\n",
        ),
    ]);
    let server = Server::start(
        project.path(),
        &["--tokens-file", "tokens.txt"],
        &[
            ("COSMOS_TOKEN", "adm1n-from-env,second-adm1n"),
            ("COSMOS_LOG", "info"),
        ],
    );

    for admin in ["adm1n-from-file", "adm1n-from-env", "second-adm1n"] {
        let (status, body) = get(&server, "/v1/instances", Some(admin));
        assert_eq!(status, 200, "an admin token lists instances: {body}");
    }
    for worker in ["w0rker-gpu", "w0rker-cpu"] {
        let (status, body) = get(&server, "/v1/instances", Some(worker));
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("worker token"), "{message}");
        assert!(
            !message.contains(worker),
            "never the token itself: {message}"
        );
    }
    let (_, body) = get(&server, "/v1/instances", Some("w0rker-gpu"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`gpu-farm`"),
        "the refusal names the token: {body}"
    );
    // A worker token changes nothing it may not touch.
    let (status, _) = call(
        agent()
            .post(format!("{}/v1/workflows/Gate/instances", server.base))
            .header("Authorization", "Bearer w0rker-cpu")
            .send_json(serde_json::json!({})),
    );
    assert_eq!(status, 403);
    let (_, list) = get(&server, "/v1/instances", Some("adm1n-from-env"));
    assert_eq!(list["instances"].as_array().unwrap().len(), 0, "{list}");

    for wrong in [None, Some("adm1n"), Some("W0RKER-GPU"), Some("")] {
        let (status, body) = get(&server, "/v1/instances", wrong);
        assert_eq!(status, 401, "{wrong:?}: {body}");
    }
    let (status, _) = get(&server, "/healthz", None);
    assert_eq!(status, 200, "/healthz needs no token");

    // A worker token does not open the console either.
    let (status, page) = call(
        agent()
            .post(format!("{}/login", server.base))
            .header("Origin", &server.base)
            .content_type("application/x-www-form-urlencoded")
            .send("token=w0rker-gpu&next=%2F"),
    );
    assert_eq!(status, 401, "a worker token does not log in: {page}");

    let log = server.log();
    server.terminate();
    for secret in [
        "adm1n-from-file",
        "adm1n-from-env",
        "second-adm1n",
        "w0rker-gpu",
        "w0rker-cpu",
    ] {
        assert!(!log.contains(secret), "a token in the log: {log}");
    }
    assert!(
        log.contains("gpu-farm"),
        "a token used outside its scope is logged by name: {log}"
    );
}

#[test]
fn a_bad_tokens_file_stops_serve_and_names_the_line() {
    let cases = [
        (
            "admin ops s3cret-one\nworker gpu\n",
            "tokens.txt:2: expected",
        ),
        (
            "root ops s3cret-one\n",
            "tokens.txt:1: unknown scope `root`",
        ),
        (
            "admin ops s3cret-one\nworker gpu s3cret-one\n",
            "`gpu` is also configured as `ops`",
        ),
        ("worker gpu s3cret-one\n", "no admin token"),
    ];
    for (text, expected) in cases {
        let project = support::project(&[
            support::MANIFEST,
            ("src/main.emx", GATE_V1),
            ("tokens.txt", text),
        ]);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cosmosc"))
            .args(["serve", ".", "--listen", "127.0.0.1:0"])
            .args(["--tokens-file", "tokens.txt"])
            .env_remove("COSMOS_TOKEN")
            .env_remove("COSMOS_WORKER_TOKEN")
            .current_dir(project.path())
            .output()
            .unwrap();
        let stderr = support::stderr(&output);
        assert_eq!(support::code(&output), 2, "{text}: {stderr}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert!(!stderr.contains("s3cret-one"), "never the token: {stderr}");
        assert!(!stderr.contains("listening"), "{stderr}");
    }
}
