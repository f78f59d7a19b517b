//! A store that fails under a running `cosmosc serve`: the node notices, says so on
//! stderr and on `/healthz`, and refuses new work with a 503 instead of writing it
//! where no restart will find it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::server::Server;
use support::workflows::GATE_V1;

#[test]
fn a_deleted_store_file_fails_healthz_and_refuses_new_work() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", GATE_V1)]);
    let root = project.path();
    let server = Server::start(root, &["--store", "state.db"], &[]);
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
    let (status, body) = server.post("/v1/workflows/Gate/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();

    std::fs::remove_file(root.join("state.db")).unwrap();

    // Noticed at the latest by the node's periodic check; /healthz looks itself.
    let start = Instant::now();
    let body = loop {
        let (status, body) = server.get("/healthz");
        if status == 503 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "/healthz still answers 200 after the store file was deleted"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(body["error"]["code"], "store_failed", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("state.db"), "{message}");
    assert!(message.contains("restart"), "{message}");

    let (status, body) = server.post("/v1/workflows/Gate/instances", json!({}));
    assert_eq!(status, 503, "a new instance is refused: {body}");
    assert_eq!(body["error"]["code"], "store_failed", "{body}");
    let (status, body) = server.post(
        &format!("/v1/instances/{id}/signals/approve"),
        json!({"who": "ann"}),
    );
    assert_eq!(status, 503, "a signal is refused: {body}");
    assert_eq!(body["error"]["code"], "store_failed", "{body}");
    let (status, body) = server.post(&format!("/v1/instances/{id}/cancel"), json!({}));
    assert_eq!(status, 503, "a cancel is refused: {body}");

    // Said loudly, once, on stderr.
    let start = Instant::now();
    while !server.log().contains("ERROR") && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log();
    assert!(log.contains("ERROR"), "an error is logged: {log}");
    assert!(log.contains("state.db"), "{log}");
    assert_eq!(log.matches("ERROR").count(), 1, "logged once: {log}");

    // A restarted node starts on a new, empty file: what the old one held is gone, and
    // nothing was accepted that would have vanished with it.
    drop(server);
    let server = Server::start(root, &["--store", "state.db"], &[]);
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
    let (_, list) = server.get("/v1/instances");
    assert_eq!(list["instances"], json!([]), "{list}");
}

#[test]
fn a_deleted_store_file_is_noticed_without_any_request() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", GATE_V1)]);
    let root = project.path();
    let server = Server::start(root, &["--store", "state.db"], &[]);
    std::fs::remove_file(root.join("state.db")).unwrap();
    let start = Instant::now();
    while !server.log().contains("ERROR") {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "nothing logged: {}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.log();
    assert!(log.contains("was deleted or moved"), "{log}");
    assert!(log.contains("until it is restarted"), "{log}");
}
