//! `GET /v1/openapi.json` and `cosmosc compile --emit openapi`: an OpenAPI 3.1
//! document of the API, generated from the deployed bundle. Each workflow gets its
//! own start operation (`start_<Workflow>`, its input as the request body) and each
//! signal name its own operation (`signal_<name>`, on the literal path
//! `/v1/instances/{id}/signals/<name>`, its arguments as the body: when several
//! workflows declare a signal of that name, `anyOf` their argument schemas). The
//! other endpoints are the rows of [`OPERATIONS`], their answers the schemas of
//! [`fixed_schemas`]: adding an endpoint to the document is adding a row there.

use super::workflows::{BundleInfo, output_type, signal_fields};
use crate::engine::{HistoryKind, Status};
use cosmos_ir::schema::{RefStyle, Schemas};
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// What a successful answer carries.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// JSON of the named schema in `components/schemas`.
    Json(&'static str),
    /// Text of this media type.
    Text(&'static str),
}

/// An endpoint whose shape does not depend on the bundle.
#[derive(Debug)]
struct Operation {
    method: &'static str,
    /// `{name}` segments become path parameters (strings).
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    /// Names of [`query_parameter`]s.
    query: &'static [&'static str],
    /// The status of success and what it carries.
    ok: (u16, Answer),
    /// Answered without the token.
    public: bool,
}

/// The API's endpoints, but for starting instances and sending signals (generated per
/// workflow and per signal) and the web console's pages (not part of the API).
const OPERATIONS: &[Operation] = &[
    Operation {
        method: "get",
        path: "/v1/workflows",
        id: "list_workflows",
        summary: "The deployed bundle's workflows, with the JSON Schema of each one's input, signals and output",
        query: &[],
        ok: (200, Answer::Json("Workflows")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/openapi.json",
        id: "openapi",
        summary: "This document",
        query: &[],
        ok: (200, Answer::Json("OpenApiDocument")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/instances",
        id: "list_instances",
        summary: "Instances, oldest first, filtered by workflow and status, a page at a time",
        query: &["workflow", "status", "limit", "after"],
        ok: (200, Answer::Json("InstanceList")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/instances/{id}",
        id: "get_instance",
        summary: "An instance: status, input, facts, output, calls in flight; with `wait_ms`, once it is no longer RUNNING",
        query: &["instance_wait_ms"],
        ok: (200, Answer::Json("Instance")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/instances/{id}/history",
        id: "get_history",
        summary: "An instance's history, after row `after`",
        query: &["history_after"],
        ok: (200, Answer::Json("History")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/instances/{id}/rules",
        id: "explain_instance",
        summary: "Why each rule of an instance does or does not fire (as `cosmosc explain`)",
        query: &[],
        ok: (200, Answer::Json("Rules")),
        public: false,
    },
    Operation {
        method: "post",
        path: "/v1/instances/{id}/cancel",
        id: "cancel_instance",
        summary: "Cancels an instance; 409 `instance_finished` when it has already ended",
        query: &[],
        ok: (200, Answer::Json("Instance")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/queues",
        id: "list_queues",
        summary: "Message counts of each queue",
        query: &[],
        ok: (200, Answer::Json("Queues")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/pools",
        id: "list_pools",
        summary: "The answering node's function pools",
        query: &[],
        ok: (200, Answer::Json("Pools")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/node",
        id: "get_node",
        summary: "The answering node: its id, version, live leases and pools",
        query: &[],
        ok: (200, Answer::Json("Node")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/metrics",
        id: "metrics",
        summary: "Prometheus metrics",
        query: &[],
        ok: (200, Answer::Text("text/plain")),
        public: false,
    },
    Operation {
        method: "post",
        path: "/v1/worker/lease",
        id: "worker_lease",
        summary: "HTTP workers: lease up to `max` calls of the worker's pools, waiting up to `wait_ms` for one (worker or admin token)",
        query: &[],
        ok: (200, Answer::Json("WorkerCalls")),
        public: false,
    },
    Operation {
        method: "post",
        path: "/v1/worker/calls/{id}/heartbeat",
        id: "worker_heartbeat",
        summary: "HTTP workers: extend a call's lease and record its progress; 409 `lease_lost` when the lease is no longer held",
        query: &[],
        ok: (200, Answer::Json("WorkerLease")),
        public: false,
    },
    Operation {
        method: "post",
        path: "/v1/worker/calls/{id}/complete",
        id: "worker_complete",
        summary: "HTTP workers: complete a call with its result or its error; 409 `lease_lost` when late or repeated",
        query: &[],
        ok: (200, Answer::Json("WorkerCompletion")),
        public: false,
    },
    Operation {
        method: "post",
        path: "/v1/worker/calls/{id}/release",
        id: "worker_release",
        summary: "HTTP workers: give a leased call back without charging it an attempt, leasable again at once or after `retry_after_ms`; 409 `lease_lost` when the lease is no longer held",
        query: &[],
        ok: (200, Answer::Json("WorkerRelease")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/healthz",
        id: "healthz",
        summary: "`ok` while the node can take work; 503 `store_failed` once its store cannot be written",
        query: &[],
        ok: (200, Answer::Text("text/plain")),
        public: true,
    },
    Operation {
        method: "get",
        path: "/v1/schedules",
        id: "list_schedules",
        summary: "The deployed bundle's schedules, with their state and next tick",
        query: &[],
        ok: (200, Answer::Json("Schedules")),
        public: false,
    },
    Operation {
        method: "post",
        path: "/v1/schedules/{name}/pause",
        id: "pause_schedule",
        summary: "Pauses a schedule: it starts nothing until resumed",
        query: &[],
        ok: (200, Answer::Json("Schedule")),
        public: false,
    },
    Operation {
        method: "post",
        path: "/v1/schedules/{name}/resume",
        id: "resume_schedule",
        summary: "Resumes a paused schedule from its next tick (missed ticks start nothing)",
        query: &[],
        ok: (200, Answer::Json("Schedule")),
        public: false,
    },
    Operation {
        method: "get",
        path: "/v1/workers",
        id: "list_workers",
        summary: "The registry of workers: every `cosmosc worker` and node that runs functions",
        query: &[],
        ok: (200, Answer::Json("Workers")),
        public: false,
    },
];

/// A query parameter of an [`Operation`], by name.
fn query_parameter(name: &str) -> Json {
    let (name, schema, description) = match name {
        "workflow" => (
            "workflow",
            json!({"type": "string"}),
            "Only this workflow's instances",
        ),
        "status" => (
            "status",
            json!({"type": "string"}),
            "Only instances with this status, in any case (RUNNING, STALLED, COMPLETED, FAILED, CANCELLED)",
        ),
        "limit" => (
            "limit",
            json!({"type": "integer", "minimum": 1, "default": 100}),
            "Rows on the page (more than 1000 is read as 1000)",
        ),
        "after" => (
            "after",
            json!({"type": "string"}),
            "The last id of the previous page",
        ),
        "instance_wait_ms" => (
            "wait_ms",
            json!({"type": "integer", "format": "int64", "minimum": 0, "default": 0}),
            "While the instance is RUNNING, wait up to this many milliseconds for it to finish or stall before answering (a long poll; more than 30000 is read as 30000)",
        ),
        "history_after" => (
            "after",
            json!({"type": "integer", "format": "int64", "minimum": 0, "default": 0}),
            "Only rows with a greater `seq`",
        ),
        other => (other, json!({}), ""),
    };
    json!({
        "name": name,
        "in": "query",
        "required": false,
        "schema": schema,
        "description": description,
    })
}

/// The schemas of the fixed endpoints' answers, by name.
fn fixed_schemas() -> Vec<(&'static str, Json)> {
    let string = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    let count = json!({"type": "integer", "format": "int64", "minimum": 0});
    let nullable = |schema: Json| json!({"anyOf": [schema, {"type": "null"}]});
    let object = |properties: Json| {
        let required: Vec<String> = properties
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        json!({"type": "object", "properties": properties, "required": required})
    };
    let pool = object(json!({
        "pool": string, "max": count, "running": count, "waiting": count,
        "warm_idle": count, "started_processes": count, "completed": count, "failed": count,
    }));
    vec![
        (
            "Error",
            object(json!({"error": object(json!({"code": string, "message": string}))})),
        ),
        ("Status", json!({"type": "string", "enum": Status::NAMES})),
        (
            "InstanceSummary",
            object(json!({
                "id": string, "workflow": string, "status": {"$ref": "#/components/schemas/Status"},
                "created_at": time, "updated_at": time,
            })),
        ),
        (
            "InstanceList",
            object(json!({"instances": {
                "type": "array", "items": {"$ref": "#/components/schemas/InstanceSummary"},
            }})),
        ),
        (
            "CallInFlight",
            object(json!({
                "rule": string, "firing": count, "index": count, "function": string,
                "attempt": count, "progress": nullable(json!({"type": "object"})),
                "progress_at": nullable(time.clone()),
            })),
        ),
        (
            "Instance",
            object(json!({
                "id": string, "workflow": string,
                "status": {"$ref": "#/components/schemas/Status"},
                "input": {"type": "object"}, "facts": {"type": "object"},
                "output": {"description": "the output once COMPLETED, else null"},
                "failure": nullable(string.clone()),
                "in_flight": {"type": "array", "items": {"$ref": "#/components/schemas/CallInFlight"}},
                "wakes_at": nullable(time.clone()), "bundle": string,
                "created_at": time, "updated_at": time,
            })),
        ),
        (
            "HistoryRow",
            json!({
                "type": "object",
                "properties": {
                    "seq": count, "at": time,
                    "kind": {"type": "string", "enum": HistoryKind::NAMES},
                    "text": string, "data": {},
                    "step": object(json!({
                        "node": string, "started_us": count, "finished_us": count,
                    })),
                },
                "required": ["seq", "at", "kind", "text", "data"],
            }),
        ),
        (
            "History",
            object(json!({"history": {
                "type": "array", "items": {"$ref": "#/components/schemas/HistoryRow"},
            }})),
        ),
        (
            "Rules",
            object(json!({"rules": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "rule": string, "priority": {"type": "integer"},
                    "state": {"type": "string", "description": "in_flight, eligible, refracted, not_matching or error"},
                    "fired": count, "reads": {"type": "array", "items": string},
                    "parts": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["rule", "priority", "state", "fired", "reads", "parts"],
            }}})),
        ),
        (
            "Queues",
            object(json!({"queues": {"type": "array", "items": object(json!({
                "queue": string, "ready": count, "delayed": count, "leased": count, "dead": count,
            }))}})),
        ),
        (
            "Pools",
            object(json!({"pools": {"type": "array", "items": pool.clone()}})),
        ),
        (
            "Node",
            object(json!({
                "node": string, "version": string,
                "leases": {"type": "array", "items": object(json!({"queue": string, "leases": count}))},
                "pools": {"type": "array", "items": pool},
            })),
        ),
        (
            "Workflows",
            object(json!({
                "bundle": object(json!({"project": string, "hash": string, "compiler_version": string})),
                "workflows": {"type": "array", "items": object(json!({
                    "name": string, "module": string,
                    "input": {"description": "a JSON Schema (2020-12)"},
                    "signals": {"type": "object", "additionalProperties": {"description": "a JSON Schema (2020-12)"}},
                    "output": {"description": "a JSON Schema (2020-12)"},
                }))},
            })),
        ),
        (
            "Schedule",
            json!({
                "type": "object",
                "properties": {
                    "name": string, "workflow": string,
                    "cron": {"type": "string", "description": "the five-field UTC cron expression, for a `cron` schedule"},
                    "every": {"type": "string", "description": "the period as Emx writes it (`6.h`), for an `every` schedule"},
                    "every_ms": {"type": "integer", "format": "int64", "minimum": 1},
                    "overlap": {"type": "string", "enum": ["skip", "allow"]},
                    "paused": {"type": "boolean"},
                    "next_tick": nullable(time.clone()),
                    "last_tick": nullable(time.clone()),
                    "last_instance": nullable(string.clone()),
                },
                "required": ["name", "workflow", "overlap", "paused", "next_tick", "last_tick", "last_instance"],
            }),
        ),
        (
            "Schedules",
            object(json!({"schedules": {
                "type": "array", "items": {"$ref": "#/components/schemas/Schedule"},
            }})),
        ),
        (
            "Workers",
            object(json!({"workers": {"type": "array", "items": object(json!({
                "name": string, "kind": string, "pools": {"type": "array", "items": string},
                "version": string, "alive": {"type": "boolean"}, "started_at": time,
                "last_seen": time, "heartbeat_ms": count, "stopped_at": nullable(time.clone()),
                "leased": count, "completed": count, "failed": count,
            }))}})),
        ),
        (
            "WorkerLeaseRequest",
            json!({
                "type": "object",
                "properties": {
                    "worker": string, "pools": {"type": "array", "items": string, "minItems": 1},
                    "functions": {"type": "array", "items": string, "minItems": 1},
                    "max": {"type": "integer", "minimum": 1, "maximum": 100, "default": 1},
                    "wait_ms": {"type": "integer", "minimum": 0, "default": 0, "description": "capped at 30000"},
                    "lease_ms": {"type": "integer", "minimum": 100, "maximum": 3_600_000, "default": 30_000},
                },
                "required": ["worker", "pools"],
            }),
        ),
        (
            "WorkerCalls",
            object(json!({"calls": {"type": "array", "items": object(json!({
                "id": string, "lease": string, "function": string, "pool": string,
                "arguments": {"type": "object"}, "attempt": count,
                "timeout_ms": nullable(count.clone()), "heartbeat_ms": nullable(count.clone()),
                "lease_expires_at": time, "instance": string, "idempotency_key": string,
            }))}})),
        ),
        (
            "WorkerHeartbeat",
            json!({
                "type": "object",
                "properties": {"lease": string, "progress": {"type": "object"}},
                "required": ["lease"],
            }),
        ),
        ("WorkerLease", object(json!({"lease_expires_at": time}))),
        (
            "WorkerCompletionRequest",
            json!({
                "type": "object",
                "properties": {
                    "lease": string,
                    "result": {"description": "the function's value, checked against its declared result type"},
                    "error": {
                        "type": "object",
                        "properties": {
                            "kind": {"type": "string", "enum": ["FAILED", "TIMEOUT", "BAD_OUTPUT", "CRASHED"]},
                            "message": string, "stderr": string,
                        },
                        "required": ["kind", "message"],
                    },
                },
                "required": ["lease"],
                "oneOf": [{"required": ["result"]}, {"required": ["error"]}],
            }),
        ),
        (
            "WorkerReleaseRequest",
            json!({
                "type": "object",
                "properties": {
                    "lease": string,
                    "retry_after_ms": {"type": "integer", "minimum": 0, "maximum": 3_600_000, "default": 0},
                },
                "required": ["lease"],
            }),
        ),
        (
            "WorkerRelease",
            object(json!({"released": {"type": "boolean", "const": true}})),
        ),
        (
            "WorkerCompletion",
            object(json!({"outcome": {"type": "string", "enum": ["completed", "failed"]}})),
        ),
        ("OpenApiDocument", json!({"type": "object"})),
    ]
}

/// A `responses` member answering `schema` as JSON.
fn json_response(description: &str, schema: Json) -> Json {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema}},
    })
}

fn component(name: &str) -> Json {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The `parameters` of a path: each `{name}` segment, a required string.
fn path_parameters(path: &str) -> Vec<Json> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

/// The `responses` of an operation: its success and the API's error shape.
fn responses(ok: (u16, Answer)) -> Json {
    let (status, answer) = ok;
    let mut out = Map::new();
    let success = match answer {
        Answer::Json(schema) => json_response("success", component(schema)),
        Answer::Text(media) => json!({
            "description": "success",
            "content": {media: {"schema": {"type": "string"}}},
        }),
    };
    out.insert(status.to_string(), success);
    out.insert(
        "default".to_string(),
        json!({"$ref": "#/components/responses/Error"}),
    );
    Json::Object(out)
}

fn fixed_operation(op: &Operation) -> Json {
    let mut parameters = path_parameters(op.path);
    parameters.extend(op.query.iter().map(|q| query_parameter(q)));
    let mut operation = json!({
        "operationId": op.id,
        "summary": op.summary,
        "responses": responses(op.ok),
    });
    if !parameters.is_empty() {
        operation["parameters"] = Json::Array(parameters);
    }
    if op.public {
        operation["security"] = json!([]);
    }
    if let Some(body) = request_body(op.id) {
        operation["requestBody"] = json!({
            "required": true,
            "content": {"application/json": {"schema": component(body)}},
        });
    }
    operation
}

/// The schema of an [`Operation`]'s JSON request body, by its id.
fn request_body(id: &str) -> Option<&'static str> {
    match id {
        "worker_lease" => Some("WorkerLeaseRequest"),
        "worker_heartbeat" => Some("WorkerHeartbeat"),
        "worker_complete" => Some("WorkerCompletionRequest"),
        "worker_release" => Some("WorkerReleaseRequest"),
        _ => None,
    }
}

/// Adds `operation` under `method` of `path`.
fn add(paths: &mut BTreeMap<String, Map<String, Json>>, path: &str, method: &str, op: Json) {
    paths
        .entry(path.to_string())
        .or_default()
        .insert(method.to_string(), op);
}

/// The operation starting an instance of `workflow`, whose input schema is the
/// component `input` (`required`: the input has a required field).
fn start_operation(workflow: &str, input: &str, required: bool) -> Json {
    json!({
        "operationId": format!("start_{workflow}"),
        "summary": format!("Starts an instance of workflow `{workflow}`"),
        "description": "The body is the instance's input; an empty body is `{}`. 400 `bad_input` names the field that is wrong.",
        "parameters": [{
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "schema": {"type": "string", "minLength": 1},
            "description": "Starts at most one instance of this workflow per key; a key used before answers 200 and the earlier instance",
        }],
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": component(input)}},
        },
        "responses": {
            "201": json_response("the new instance", component("Instance")),
            "200": json_response("the earlier instance started with this Idempotency-Key", component("Instance")),
            "default": {"$ref": "#/components/responses/Error"},
        },
    })
}

/// The operation sending signal `signal`, declared by each of `declared` (workflow,
/// name of its arguments' schema component).
fn signal_operation(signal: &str, declared: &[(&str, String)]) -> Json {
    let mut bodies: Vec<Json> = declared.iter().map(|(_, name)| component(name)).collect();
    let schema = match bodies.len() {
        1 => bodies.remove(0),
        _ => json!({"anyOf": bodies}),
    };
    let workflows: Vec<String> = declared.iter().map(|(w, _)| format!("`{w}`")).collect();
    json!({
        "operationId": format!("signal_{signal}"),
        "summary": format!("Sends signal `{signal}` to an instance (of {})", workflows.join(", ")),
        "description": "The body is the signal's arguments. 404 `unknown_signal` when the instance's workflow has no such signal, 409 `instance_finished` when it has ended.",
        "parameters": path_parameters("/v1/instances/{id}"),
        "requestBody": {
            "required": true,
            "content": {"application/json": {"schema": schema}},
        },
        "responses": responses((200, Answer::Json("Instance"))),
    })
}

/// The OpenAPI 3.1 document of the API serving `bundle`.
pub fn document(bundle: BundleInfo<'_>) -> Json {
    let fixed = fixed_schemas();
    // A record or enum named like one of the API's own schemas (`Error`, `Status`)
    // is defined as `module.Name`.
    let mut schemas = Schemas::new(bundle.program, RefStyle::Components)
        .reserving(fixed.iter().map(|(name, _)| name.to_string()));
    let mut named: BTreeMap<String, Json> = BTreeMap::new();
    let mut paths: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    for op in OPERATIONS {
        add(&mut paths, op.path, op.method, fixed_operation(op));
    }

    // Signal name → the (workflow, schema name) pairs that declare it.
    let mut signals: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    for workflow in &bundle.program.workflows {
        let input_name = format!("{}.input", workflow.name);
        let input = schemas.object(&workflow.inputs);
        let required = input.get("required").is_some();
        named.insert(input_name.clone(), input);
        let output = schemas.of(&output_type(workflow));
        named.insert(format!("{}.output", workflow.name), output);
        let path = format!("/v1/workflows/{}/instances", workflow.name);
        let start = start_operation(&workflow.name, &input_name, required);
        add(&mut paths, &path, "post", start);
        for signal in &workflow.signals {
            let name = format!("{}.signals.{}", workflow.name, signal.name);
            named.insert(name.clone(), schemas.object(&signal_fields(signal)));
            signals
                .entry(signal.name.as_str())
                .or_default()
                .push((workflow.name.as_str(), name));
        }
    }
    for (signal, declared) in &signals {
        let path = format!("/v1/instances/{{id}}/signals/{signal}");
        add(
            &mut paths,
            &path,
            "post",
            signal_operation(signal, declared),
        );
    }

    let mut components = Map::new();
    for (name, schema) in fixed {
        components.insert(name.to_string(), schema);
    }
    components.extend(schemas.into_definitions());
    components.extend(named);
    let paths: Map<String, Json> = paths
        .into_iter()
        .map(|(path, ops)| (path, Json::Object(ops)))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} (Cosmos)", bundle.project),
            "version": bundle.hash,
            "description": format!(
                "The HTTP API of `cosmosc serve` running bundle {} of project `{}`, compiled by cosmosc {}. \
                 See docs/runtime.md.",
                bundle.hash, bundle.project, bundle.compiler_version
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                "Error": json_response(
                    "an error: `{\"error\": {\"code\", \"message\"}}`",
                    component("Error"),
                ),
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer TOKEN`, required when the runtime has a token (COSMOS_TOKEN)",
                },
            },
        },
    })
}
