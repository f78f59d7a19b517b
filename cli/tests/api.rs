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
    // Both answers are the instance as the store has it, key included (the 201 is
    // built from what the node wrote, not read back).
    let (_, stored) = server.get(&format!("/v1/instances/{}", a["id"].as_str().unwrap()));
    assert_eq!(a, stored);
    assert_eq!(b, stored);

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

/// A refusal: `status`, a JSON content type, and the documented shape with `code`.
fn assert_json_error(server: &Server, request: &[u8], status: u16, code: &str) {
    let (got, content_type, body) = server.raw(request);
    let shown = String::from_utf8_lossy(request);
    assert_eq!(got, status, "{shown}: {body}");
    assert!(
        content_type.starts_with("application/json"),
        "{shown}: content type {content_type:?}, body {body}"
    );
    assert_error(&body, code);
}

#[test]
fn every_refusal_is_the_documented_json_error() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", GATE_V1)]);
    let server = Server::start(project.path(), &["--store", "state.db"], &[]);
    let (status, body) = server.post("/v1/workflows/Gate/instances", json!({}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let get = |target: &str| server.request("GET", target.as_bytes(), &[], "");

    // Query strings: a negative or zero limit, a history position that is no
    // number, a parameter given twice.
    for target in [
        "/v1/instances?limit=-1",
        "/v1/instances?limit=0",
        "/v1/instances?limit=ten",
        "/v1/instances?limit=1&limit=2",
        "/v1/instances?workflow=Gate&workflow=Gate",
        &format!("/v1/instances/{id}/history?after=abc"),
        &format!("/v1/instances/{id}/history?after=1&after=2"),
    ] {
        assert_json_error(&server, &get(target), 400, "bad_query");
    }
    // The limits that are allowed still work.
    for target in ["/v1/instances?limit=1", "/v1/instances?limit=5000"] {
        let (status, _, body) = server.raw(&get(target));
        assert_eq!(status, 200, "{target}: {body}");
        assert_eq!(body["instances"].as_array().unwrap().len(), 1, "{body}");
    }

    // Path segments that do not decode to UTF-8.
    for target in [
        &b"/v1/instances/%FF"[..],
        b"/v1/instances/%C3%28/history",
        b"/v1/instances/x/signals/%E2%82",
        b"/v1/workflows/%FE%FF/instances",
    ] {
        let method = if target.ends_with(b"instances") || target.starts_with(b"/v1/instances/x/s") {
            "POST"
        } else {
            "GET"
        };
        let request = server.request(
            method,
            target,
            &[],
            if method == "POST" { "{}" } else { "" },
        );
        assert_json_error(&server, &request, 400, "bad_path");
    }
    // Bad percent-encoding is taken literally: no such instance.
    assert_json_error(&server, &get("/v1/instances/%zz"), 404, "unknown_instance");

    // Unknown routes and wrong methods.
    assert_json_error(&server, &get("/nope"), 404, "no_route");
    assert_json_error(
        &server,
        &get(&format!("/v1/instances/{id}/nope")),
        404,
        "no_route",
    );
    for (method, target) in [
        ("DELETE", "/v1/instances"),
        ("GET", "/v1/workflows/Gate/instances"),
        ("PUT", "/healthz"),
        ("GET", &format!("/v1/instances/{id}/cancel")),
    ] {
        let request = server.request(method, target.as_bytes(), &[], "");
        assert_json_error(&server, &request, 405, "method_not_allowed");
    }

    // A body over the limit (1 MiB), announced by its length: refused before it is
    // read.
    let request = b"POST /v1/workflows/Gate/instances HTTP/1.1\r\nHost: x\r\n\
        Connection: close\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n";
    assert_json_error(&server, request, 413, "too_large");

    // Nothing was started by any of it.
    let (_, list) = server.get("/v1/instances");
    assert_eq!(list["instances"].as_array().unwrap().len(), 1, "{list}");
}
