//! The HTTP API's contract under misuse, on a real `cosmosc serve` over real HTTP:
//! a finished instance stays finished, idempotency keys mean what they say, and every
//! refusal is the documented JSON error and changes nothing.
//! The PostgreSQL variants use a fresh schema of the server `COSMOS_TEST_POSTGRES`
//! names and are skipped, with a message, without.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::postgres::schema;
use support::server::Server;
use support::workflows::GATE_V1;

use serde_json::{Value, json};

/// The number of history rows of instance `id`.
fn history_len(server: &Server, id: &str) -> usize {
    let (status, history) = server.get(&format!("/v1/instances/{id}/history"));
    assert_eq!(status, 200, "{history}");
    history["history"].as_array().unwrap().len()
}

/// `body` is the documented error with `code`.
fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "an error names the problem: {body}");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(1),
        "only `error`: {body}"
    );
}

/// A completed and a cancelled instance refuse `cancel` with a 409 and keep their
/// status and history.
fn finished_instances_refuse_cancel(store: &[&str]) {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", GATE_V1)]);
    let server = Server::start(project.path(), store, &[]);

    let (status, body) = server.post("/v1/workflows/Gate/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let completed = body["id"].as_str().unwrap().to_string();
    let (status, body) = server.post(
        &format!("/v1/instances/{completed}/signals/approve"),
        json!({"who": "ann"}),
    );
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("COMPLETED")),
        "{body}"
    );

    let (status, body) = server.post("/v1/workflows/Gate/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let cancelled = body["id"].as_str().unwrap().to_string();
    let (status, body) = server.post(&format!("/v1/instances/{cancelled}/cancel"), json!({}));
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("CANCELLED")),
        "{body}"
    );

    for (id, finished) in [(&completed, "COMPLETED"), (&cancelled, "CANCELLED")] {
        let rows = history_len(&server, id);
        let (_, before) = server.get(&format!("/v1/instances/{id}"));
        for _ in 0..3 {
            let (status, body) = server.post(&format!("/v1/instances/{id}/cancel"), json!({}));
            assert_eq!(status, 409, "{body}");
            assert_error(&body, "instance_finished");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.contains(finished), "{message}");
        }
        assert_eq!(
            history_len(&server, id),
            rows,
            "a refused cancel writes no history"
        );
        let (_, after) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(before, after, "a refused cancel changes nothing");
    }
}

#[test]
fn cancel_on_a_finished_instance_is_409_and_changes_nothing() {
    finished_instances_refuse_cancel(&["--store", "state.db"]);
}

#[test]
fn cancel_on_a_finished_instance_is_409_and_changes_nothing_on_postgres() {
    let Some(schema) =
        schema("cancel_on_a_finished_instance_is_409_and_changes_nothing_on_postgres")
    else {
        return;
    };
    finished_instances_refuse_cancel(&["--store", &schema.url]);
}

/// Two workflows that wait for a signal: `Gate` and `Door`.
fn two_workflows() -> String {
    format!(
        "{GATE_V1}\n{}",
        GATE_V1.replace("workflow Gate", "workflow Door")
    )
}

/// Starts `workflow` with `key` (raw header bytes) over a plain socket.
fn start_with_key(server: &Server, workflow: &str, key: &[u8]) -> (u16, Value) {
    let mut header = b"Idempotency-Key: ".to_vec();
    header.extend_from_slice(key);
    let target = format!("/v1/workflows/{workflow}/instances");
    let request = server.request("POST", target.as_bytes(), &[&header], "{}");
    let (status, _, body) = server.raw(&request);
    (status, body)
}

fn idempotency_keys_mean_what_they_say(store: &[&str]) {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", &two_workflows())]);
    let server = Server::start(project.path(), store, &[]);

    // Any UTF-8 key is a key: the second request gets the first instance.
    let key = "commande-é-注文-42".as_bytes();
    let (first, a) = start_with_key(&server, "Gate", key);
    let (second, b) = start_with_key(&server, "Gate", key);
    assert_eq!((first, second), (201, 200), "{a} {b}");
    assert_eq!(a["id"], b["id"]);

    // A key is scoped to its workflow: the same key starts a Door of its own, and
    // each workflow's key keeps answering with its own instance.
    let (status, door) = start_with_key(&server, "Door", key);
    assert_eq!(status, 201, "{door}");
    assert_eq!(door["workflow"], "Door", "{door}");
    assert_ne!(door["id"], a["id"]);
    let (status, again) = start_with_key(&server, "Door", key);
    assert_eq!((status, &again["id"]), (200, &door["id"]), "{again}");
    let (status, again) = start_with_key(&server, "Gate", key);
    assert_eq!((status, &again["id"]), (200, &a["id"]), "{again}");

    // Bytes that are not UTF-8, and an empty key, are refused and start nothing.
    let (_, before) = server.get("/v1/instances");
    for bad in [&b"caf\xe9"[..], b"\xff\xfe", b""] {
        for _ in 0..2 {
            let (status, body) = start_with_key(&server, "Gate", bad);
            assert_eq!(status, 400, "{bad:?}: {body}");
            assert_error(&body, "bad_idempotency_key");
        }
    }
    let (_, after) = server.get("/v1/instances");
    assert_eq!(before, after, "a refused key starts nothing");
    assert_eq!(after["instances"].as_array().unwrap().len(), 2, "{after}");
}

#[test]
fn idempotency_keys_are_utf8_non_empty_and_per_workflow() {
    idempotency_keys_mean_what_they_say(&["--store", "state.db"]);
}

#[test]
fn idempotency_keys_are_utf8_non_empty_and_per_workflow_on_postgres() {
    let Some(schema) = schema("idempotency_keys_are_utf8_non_empty_and_per_workflow_on_postgres")
    else {
        return;
    };
    idempotency_keys_mean_what_they_say(&["--store", &schema.url]);
}
