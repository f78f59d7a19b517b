//! `cosmosc explain`: why did, or didn't, each rule of an instance fire — read from the
//! store, on the bundle the instance runs on. The same answer as
//! `GET /v1/instances/{id}/rules`.

use std::io::Write;
use std::path::Path;

use cosmos_ir::bundle::{Bundle, BundleError};
use cosmos_project::{ProjectError, find_project_root, load_project};
use cosmos_runtime::connect::{ConnectError, default_store, open_store};
use cosmos_runtime::deployment::COMPILER_VERSION;
use cosmos_runtime::explain::RuleExplanation;
use cosmos_runtime::node::{NodeError, explain_record};
use cosmos_runtime::store::StoreError;

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
    let mut out = std::io::stdout().lock();
    if args.json {
        let document = serde_json::json!({ "rules": rules });
        writeln!(out, "{document}")?;
    } else {
        writeln!(
            out,
            "instance {} of {}: {}",
            record.id, record.workflow, record.status
        )?;
        for rule in &rules {
            write_rule(&mut out, rule)?;
        }
    }
    out.flush()?;
    Ok(Status::Clean)
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
    Ok(())
}
