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
