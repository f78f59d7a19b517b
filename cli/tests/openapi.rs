//! The API describes the bundle it serves: `GET /v1/workflows` gives the JSON Schema of
//! each workflow's input, signals and output; `GET /v1/openapi.json` an OpenAPI 3.1
//! document with an operation per workflow and per signal; `cosmosc compile --emit
//! openapi` prints the same document for the same bundle. (`openapi_client.rs`
//! checks these documents with real tools from the package registry.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::server::Server;
use support::workflows::KINDS;
use support::{code, cosmosc, stderr, stdout};

#[test]
fn workflows_describes_inputs_signals_and_outputs_as_json_schemas() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", KINDS)]);
    let server = Server::start(project.path(), &["--store", "state.db"], &[]);
    let (status, described) = server.get("/v1/workflows");
    assert_eq!(status, 200, "{described}");

    let (status, started) = server.post("/v1/workflows/Kinds/instances", json!({"count": 1}));
    assert_eq!(status, 201, "{started}");
    assert_eq!(
        described["bundle"],
        json!({
            "project": "demo",
            "hash": started["bundle"],
            "compiler_version": env!("CARGO_PKG_VERSION"),
        })
    );
    let names: Vec<&str> = described["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kinds", "Other"]);

    let kinds = &described["workflows"][0];
    let int = json!({"type": "integer", "format": "int64"});
    let person_ref = json!({"$ref": "#/$defs/Person"});
    let nullable = |schema: &Value| json!({"anyOf": [schema, {"type": "null"}]});
    assert_eq!(
        kinds["input"],
        json!({
            "type": "object",
            "properties": {
                "count": int,
                "ratio": {"type": "number", "format": "double", "default": 0.5},
                "flag": nullable(&json!({"type": "boolean"})),
                "label": {"type": "string", "default": "none"},
                "wait": {
                    "type": "integer", "format": "int64",
                    "description": "a Duration, in milliseconds", "default": 2000,
                },
                "due": nullable(&json!({"type": "string", "format": "date-time"})),
                "scores": {"type": "object", "additionalProperties": int, "default": {}},
                "ids": {
                    "type": "object", "additionalProperties": {"type": "string"},
                    "propertyNames": {"pattern": "^[+-]?[0-9]+$"}, "default": {},
                },
                "tiers": {
                    "type": "object", "additionalProperties": int,
                    "propertyNames": {"$ref": "#/$defs/Tier"}, "default": {},
                },
                "people": {"type": "array", "items": person_ref, "default": []},
                "owner": nullable(&person_ref),
            },
            "required": ["count"],
            "additionalProperties": false,
            "$defs": {
                "Tier": {"title": "Tier", "type": "string", "enum": ["Bronze", "Gold"]},
                "Person": {
                    "title": "Person",
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "age": {"type": "integer", "format": "int64", "default": 30},
                        "tier": {"$ref": "#/$defs/Tier"},
                        "address": nullable(&json!({"$ref": "#/$defs/Address"})),
                        "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                    },
                    "required": ["name", "tier"],
                    "additionalProperties": false,
                },
                "Address": {
                    "title": "Address",
                    "type": "object",
                    "properties": {
                        "city": {"type": "string"},
                        "zip": nullable(&json!({"type": "string"})),
                    },
                    "required": ["city"],
                    "additionalProperties": false,
                },
            },
        })
    );
    assert_eq!(
        kinds["signals"],
        json!({
            "note": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "urgent": nullable(&json!({"type": "boolean"})),
                    "at": nullable(&json!({"type": "string", "format": "date-time"})),
                },
                "required": ["text"],
                "additionalProperties": false,
            },
            "bump": {
                "type": "object",
                "properties": {"by": int},
                "required": ["by"],
                "additionalProperties": false,
            },
        })
    );
    // Every output is `Json` today.
    assert_eq!(kinds["output"], json!({}));
    let other = &described["workflows"][1];
    assert_eq!(
        other["input"],
        json!({"type": "object", "properties": {}, "additionalProperties": false})
    );
    assert_eq!(other["signals"]["bump"]["required"], json!(["by"]));
}

#[test]
fn the_openapi_document_has_an_operation_per_workflow_and_signal() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", KINDS)]);
    let server = Server::start(project.path(), &["--store", "state.db"], &[]);
    let (status, document) = server.get("/v1/openapi.json");
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["openapi"], "3.1.0");
    let (_, described) = server.get("/v1/workflows");
    assert_eq!(document["info"]["version"], described["bundle"]["hash"]);

    let mut operations = Vec::new();
    for (path, methods) in document["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            operations.push(format!(
                "{} {method} {path}",
                operation["operationId"].as_str().unwrap()
            ));
        }
    }
    operations.sort();
    assert_eq!(
        operations,
        [
            "cancel_instance post /v1/instances/{id}/cancel",
            "explain_instance get /v1/instances/{id}/rules",
            "get_history get /v1/instances/{id}/history",
            "get_instance get /v1/instances/{id}",
            "get_node get /v1/node",
            "healthz get /healthz",
            "list_instances get /v1/instances",
            "list_pools get /v1/pools",
            "list_queues get /v1/queues",
            "list_schedules get /v1/schedules",
            "list_workers get /v1/workers",
            "list_workflows get /v1/workflows",
            "metrics get /metrics",
            "openapi get /v1/openapi.json",
            "pause_schedule post /v1/schedules/{name}/pause",
            "resume_schedule post /v1/schedules/{name}/resume",
            "signal_bump post /v1/instances/{id}/signals/bump",
            "signal_note post /v1/instances/{id}/signals/note",
            "start_Kinds post /v1/workflows/Kinds/instances",
            "start_Other post /v1/workflows/Other/instances",
            "worker_complete post /v1/worker/calls/{id}/complete",
            "worker_heartbeat post /v1/worker/calls/{id}/heartbeat",
            "worker_lease post /v1/worker/lease",
            "worker_release post /v1/worker/calls/{id}/release",
        ]
    );
    // The worker protocol's bodies and answers are documented schemas.
    let lease = &document["paths"]["/v1/worker/lease"]["post"];
    assert_eq!(
        lease["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/WorkerLeaseRequest"
    );
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["WorkerLeaseRequest"]["required"],
        json!(["worker", "pools"])
    );
    for field in [
        "id",
        "lease",
        "arguments",
        "lease_expires_at",
        "idempotency_key",
    ] {
        assert!(
            schemas["WorkerCalls"]["properties"]["calls"]["items"]["properties"][field].is_object(),
            "{field}: {}",
            schemas["WorkerCalls"]
        );
    }
    assert_eq!(
        schemas["WorkerCompletionRequest"]["properties"]["error"]["properties"]["kind"]["enum"],
        json!(["FAILED", "TIMEOUT", "BAD_OUTPUT", "CRASHED"])
    );

    let paths = &document["paths"];
    let start = &paths["/v1/workflows/Kinds/instances"]["post"];
    assert_eq!(
        start["requestBody"],
        json!({
            "required": true,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Kinds.input"}}},
        })
    );
    assert_eq!(
        start["responses"]["201"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/Instance"})
    );
    // `Other` needs no input: an empty body is `{}`.
    assert_eq!(
        paths["/v1/workflows/Other/instances"]["post"]["requestBody"]["required"],
        false
    );
    // Two workflows declare `bump`, with different parameters.
    assert_eq!(
        paths["/v1/instances/{id}/signals/bump"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"],
        json!({"anyOf": [
            {"$ref": "#/components/schemas/Kinds.signals.bump"},
            {"$ref": "#/components/schemas/Other.signals.bump"},
        ]})
    );
    let schemas = &document["components"]["schemas"];
    assert_eq!(
        schemas["Kinds.input"]["properties"]["people"]["items"],
        json!({"$ref": "#/components/schemas/Person"})
    );
    assert_eq!(schemas["Tier"]["enum"], json!(["Bronze", "Gold"]));
    assert_eq!(
        schemas["Other.signals.bump"]["properties"]["reason"],
        json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(document["security"], json!([{"bearer": []}]));
    assert_eq!(paths["/healthz"]["get"]["security"], json!([]));
}

#[test]
fn compile_emit_openapi_prints_the_document_the_bundle_is_served_with() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", KINDS)]);
    let output = cosmosc(
        &["compile", "--emit", "openapi", "-o", "kinds.cosmos"],
        project.path(),
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let emitted: Value = serde_json::from_str(&stdout(&output)).unwrap();

    let server = Server::start(
        project.path(),
        &["--bundle", "kinds.cosmos", "--store", "state.db"],
        &[],
    );
    let (status, served) = server.get("/v1/openapi.json");
    assert_eq!(status, 200);
    assert_eq!(emitted, served);
    // Serving the sources builds the same bundle, so the same document.
    drop(server);
    let server = Server::start(project.path(), &["--store", "other.db"], &[]);
    assert_eq!(server.get("/v1/openapi.json").1, emitted);

    // `--emit openapi` alone writes no bundle.
    let output = cosmosc(&["compile", "--emit", "openapi"], project.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&output)).unwrap(),
        emitted
    );
    assert!(!project.path().join("target").exists());
}

#[test]
fn the_documents_need_the_token_as_the_rest_of_the_api_does() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", KINDS)]);
    let server = Server::start(
        project.path(),
        &["--store", "state.db"],
        &[("COSMOS_TOKEN", "doc-token")],
    );
    let agent = support::server::agent();
    for path in ["/v1/workflows", "/v1/openapi.json"] {
        let url = format!("{}{path}", server.base);
        let (status, body) = support::server::call(agent.get(&url).call());
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        let (status, body) = support::server::call(
            agent
                .get(&url)
                .header("Authorization", "Bearer doc-token")
                .call(),
        );
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.is_object(), "{path}: {body}");
    }
}

#[test]
fn every_operation_of_the_document_is_served() {
    let project = support::project(&[support::MANIFEST, ("src/main.emx", KINDS)]);
    let server = Server::start(project.path(), &["--store", "state.db"], &[]);
    let (_, document) = server.get("/v1/openapi.json");
    let (status, started) = server.post("/v1/workflows/Other/instances", json!({}));
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap();
    let mut served = 0;
    for (path, methods) in document["paths"].as_object().unwrap() {
        let target = path.replace("{id}", id);
        for method in methods.as_object().unwrap().keys() {
            let (status, body) = match method.as_str() {
                "get" => server.get(&target),
                "post" => server.post(&target, json!({})),
                other => panic!("a method the API does not use: {other}"),
            };
            // Served: whatever the answer, it is not "no such endpoint" or "no such
            // method" (a signal or start with an empty body may be refused as bad input).
            assert_ne!(body["error"]["code"], "no_route", "{method} {path}");
            assert_ne!(status, 405, "{method} {path}");
            assert!(status < 500, "{method} {path}: {status} {body}");
            served += 1;
        }
    }
    assert_eq!(served, 24);
}

#[test]
fn a_type_named_like_one_of_the_apis_schemas_does_not_replace_it() {
    let source = r#"
enum Status { Open, Shut }
type Error { reason: String }

workflow Door {
    input { status: Status, error: Error? }
    complete when { true }
}
"#;
    let project = support::project(&[support::MANIFEST, ("src/main.emx", source)]);
    let output = cosmosc(&["compile", "--emit", "openapi"], project.path());
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let document: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["Status"]["enum"][0], "RUNNING");
    assert_eq!(schemas["Error"]["required"], json!(["error"]));
    assert_eq!(schemas["main.Status"]["enum"], json!(["Open", "Shut"]));
    assert_eq!(schemas["main.Error"]["required"], json!(["reason"]));
    assert_eq!(
        schemas["Door.input"]["properties"]["status"],
        json!({"$ref": "#/components/schemas/main.Status"})
    );
}
