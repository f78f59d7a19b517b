//! `GET /v1/workflows`: the deployed bundle describes itself — each workflow with the
//! JSON Schema of its input, of each signal's arguments and of its output
//! (`cosmos_ir::schema`), and the bundle's project, hash and compiler version. The
//! OpenAPI document ([`super::openapi`]) is built from the same pieces.

use cosmos_ir::schema::{RefStyle, Schemas};
use cosmos_ir::{FieldLayout, Program, Ty, WorkflowIr};
use serde_json::{Map, Value as Json, json};

/// The bundle a document describes.
#[derive(Debug, Clone, Copy)]
pub struct BundleInfo<'a> {
    /// The project's name, from `cosmos.toml`.
    pub project: &'a str,
    /// The SHA-256 that names the bundle (what `GET /v1/instances/{id}` calls
    /// `bundle`).
    pub hash: &'a str,
    /// The `cosmosc` that compiled it (the only one that runs it).
    pub compiler_version: &'a str,
    pub program: &'a Program,
}

impl BundleInfo<'_> {
    /// `{"project", "hash", "compiler_version"}`.
    pub fn header(&self) -> Json {
        json!({
            "project": self.project,
            "hash": self.hash,
            "compiler_version": self.compiler_version,
        })
    }
}

/// A signal's parameters as fields: each is required unless it is optional (signal
/// parameters have no defaults).
pub fn signal_fields(signal: &cosmos_ir::SignalIr) -> Vec<FieldLayout> {
    signal
        .handler
        .slots
        .iter()
        .take(signal.handler.params as usize)
        .map(|slot| FieldLayout {
            name: slot.name.clone(),
            ty: slot.ty.clone(),
            default: None,
        })
        .collect()
}

/// The type of a workflow's `output`, as the API returns it once the instance has
/// completed: the declared `output: T` (LANGUAGE.md 10.6), else `Json`.
pub fn output_type(workflow: &WorkflowIr) -> Ty {
    workflow.output_ty()
}

/// The document of `GET /v1/workflows`.
pub fn document(bundle: BundleInfo<'_>) -> Json {
    let mut schemas = Schemas::new(bundle.program, RefStyle::Defs);
    let workflows: Vec<Json> = bundle
        .program
        .workflows
        .iter()
        .map(|workflow| {
            let input = schemas.object(&workflow.inputs);
            let mut signals = Map::new();
            for signal in &workflow.signals {
                let schema = schemas.object(&signal_fields(signal));
                signals.insert(signal.name.clone(), schemas.standalone(schema));
            }
            let output = schemas.of(&output_type(workflow));
            json!({
                "name": workflow.name,
                "module": workflow.module,
                "input": schemas.standalone(input),
                "signals": signals,
                "output": schemas.standalone(output),
            })
        })
        .collect();
    json!({
        "bundle": bundle.header(),
        "workflows": workflows,
    })
}
