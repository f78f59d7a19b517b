//! `cosmosc explain`: why did, or didn't, each rule of an instance fire — read from the
//! store, on the bundle the instance runs on. The same answer as
//! `GET /v1/instances/{id}/rules`.

use std::io::Write;
use std::path::Path;

use cosmos_ir::bundle::{Bundle, BundleError};
use cosmos_project::{ProjectError, find_project_root, load_project};
use cosmos_runtime::connect::{ConnectError, default_store, open_store};
use cosmos_runtime::deployment::COMPILER_VERSION;
use cosmos_runtime::engine::InstanceState;
use cosmos_runtime::explain::RuleExplanation;
use cosmos_runtime::node::{NodeError, explain_record};
use cosmos_runtime::store::{CallProgress, InstanceRecord, StoreError};

use crate::Status;
use crate::args::ExplainArgs;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ExplainError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("no instance {0:?} in the store")]
    UnknownInstance(String),
    #[error("the store has lost bundle {0}, which the instance runs on")]
    MissingBundle(String),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

pub(crate) fn run(args: &ExplainArgs) -> Result<Status, ExplainError> {
    let root = find_project_root(Path::new(&args.dir))?;
    let project = load_project(&root)?;
    let url = args
        .store
        .clone()
        .or_else(|| std::env::var("COSMOS_STORE").ok())
        .or_else(|| project.config.runtime.store.clone())
        .unwrap_or_else(|| default_store(&root).display().to_string());
    let store = open_store(&url, &root)?;
    let record = store
        .instance(&args.instance)?
        .ok_or_else(|| ExplainError::UnknownInstance(args.instance.clone()))?;
    let bytes = store
        .bundle(&record.bundle)?
        .ok_or_else(|| ExplainError::MissingBundle(record.bundle.clone()))?;
    let program = Bundle::read_stored(&record.bundle, &bytes, COMPILER_VERSION)?.program;
    let rules = explain_record(&program, &record)?;
    let mut children = std::collections::BTreeMap::new();
    for child in cosmos_runtime::node::child_ids(&record) {
        if let Some(status) = store.instance_status(&child)? {
            children.insert(child, status);
        }
    }
    let calls = in_flight(&record, &store.call_progress(&record.id)?, &children);
    let mut out = std::io::stdout().lock();
    if args.json {
        let document = serde_json::json!({ "rules": rules, "in_flight": calls });
        writeln!(out, "{document}")?;
    } else {
        writeln!(
            out,
            "instance {} of {}: {}",
            record.id, record.workflow, record.status
        )?;
        for rule in &rules {
            write_rule(&mut out, rule)?;
            for call in calls.iter().filter(|c| c["rule"] == rule.rule.as_str()) {
                write_call(&mut out, call)?;
            }
        }
    }
    out.flush()?;
    Ok(Status::Clean)
}

/// The calls the instance waits for, each with its latest progress report, and the
/// child workflows with their instances' ids and statuses.
fn in_flight(
    record: &InstanceRecord,
    progress: &[CallProgress],
    children: &std::collections::BTreeMap<String, cosmos_runtime::engine::Status>,
) -> Vec<serde_json::Value> {
    serde_json::from_value::<InstanceState>(record.state.clone())
        .map(|s| s.waiting())
        .unwrap_or_default()
        .into_iter()
        .map(|w| {
            let latest = progress.iter().find(|p| p.key == w.key(&record.id));
            let child = w.child.as_ref().map(|id| {
                serde_json::json!({
                    "id": id,
                    "status": children.get(id).map(|s| s.as_str()),
                })
            });
            serde_json::json!({
                "rule": w.rule,
                "firing": w.firing,
                "index": w.index,
                "function": w.function,
                "attempt": w.attempt,
                "child": child,
                "progress": latest.map(|p| p.report.clone()),
                "progress_at": latest.map(|p| cosmos_ir::format_time(p.at)),
            })
        })
        .collect()
}

/// `    call probe #0 (attempt 2): progress 0.42, pass 1 of 2 (at …)`, or for a child
/// workflow `    child Transcode #0 (attempt 1): instance 0193….1, RUNNING`.
fn write_call(out: &mut impl Write, call: &serde_json::Value) -> std::io::Result<()> {
    if let Some(child) = call["child"].as_object() {
        return writeln!(
            out,
            "    child {} #{} (attempt {}): instance {}, {}",
            call["function"].as_str().unwrap_or("?"),
            call["index"],
            call["attempt"],
            child.get("id").and_then(|v| v.as_str()).unwrap_or("?"),
            child
                .get("status")
                .and_then(|v| v.as_str())
                .unwrap_or("not created yet")
        );
    }
    let report = &call["progress"];
    let said = match report {
        serde_json::Value::Null => "no progress reported".to_string(),
        serde_json::Value::Object(fields) => {
            let mut parts = Vec::new();
            if let Some(p) = fields.get("progress") {
                parts.push(format!("progress {p}"));
            }
            if let Some(serde_json::Value::String(d)) = fields.get("detail") {
                parts.push(d.clone());
            }
            if parts.is_empty() {
                parts.push(report.to_string());
            }
            match call["progress_at"].as_str() {
                Some(at) => format!("{} (at {at})", parts.join(", ")),
                None => parts.join(", "),
            }
        }
        other => other.to_string(),
    };
    writeln!(
        out,
        "    call {} #{} (attempt {}): {said}",
        call["function"].as_str().unwrap_or("?"),
        call["index"],
        call["attempt"]
    )
}

fn write_rule(out: &mut impl Write, rule: &RuleExplanation) -> std::io::Result<()> {
    writeln!(
        out,
        "\nrule {:?} (priority {}, fired {}×): {}",
        rule.rule,
        rule.priority,
        rule.fired,
        rule.state.describe()
    )?;
    let width = rule
        .parts
        .iter()
        .map(|p| p.expr.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    for part in &rule.parts {
        let value = match &part.error {
            Some(error) => format!("error: {error}"),
            None => part.value.to_string(),
        };
        writeln!(out, "    {:<width$}  = {value}", part.expr)?;
    }
    if let Some(wake) = &rule.wake {
        if wake.starts_holding {
            writeln!(out, "    fires at {} when {}", wake.at, wake.condition)?;
        } else {
            writeln!(out, "    at {} {} stops holding", wake.at, wake.condition)?;
        }
    }
    Ok(())
}
