//! `cosmosc instances list|show|history|signal|cancel`: operates the instances of a
//! deployment through [`crate::remote`] (a running `cosmosc serve`, or its store), and
//! prints the answer for people (aligned tables, an instance's fields) or, with
//! `--json`, as the API's JSON.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value as Json};

use crate::Status;
use crate::args::{InstancesArgs, InstancesCommand};
use crate::remote::{ListFilter, RemoteError, Target, TargetSpec};

#[derive(Debug, thiserror::Error)]
pub(crate) enum InstancesError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("--server and --store name two deployments: give one of them")]
    TwoTargets,
    #[error("--data is not valid JSON: {0}")]
    BadData(serde_json::Error),
    #[error("{} is not valid JSON: {source}", path.display())]
    BadDataFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    DataFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the signal's arguments must be a JSON object of its parameters by name, not {0}")]
    NotAnObject(&'static str),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

pub(crate) fn run(args: &InstancesArgs) -> Result<Status, InstancesError> {
    if args.server.is_some() && args.store.is_some() {
        return Err(InstancesError::TwoTargets);
    }
    // Bad arguments are refused before anything is asked of the deployment.
    let data = match &args.command {
        InstancesCommand::Signal {
            data, data_file, ..
        } => Some(signal_arguments(data.as_deref(), data_file.as_deref())?),
        _ => None,
    };
    let target = Target::open(&TargetSpec {
        server: args.server.clone(),
        token: args.token.clone(),
        store: args.store.clone(),
    })?;
    let answer = match &args.command {
        InstancesCommand::List {
            workflow,
            status,
            limit,
            after,
        } => target.list(&ListFilter {
            workflow: workflow.clone(),
            status: status.clone(),
            limit: *limit,
            after: after.clone(),
        }),
        InstancesCommand::Show { id } => target.instance(id),
        InstancesCommand::History { id } => target.history(id),
        InstancesCommand::Signal { id, signal, .. } => {
            target.signal(id, signal, data.unwrap_or_default())
        }
        InstancesCommand::Cancel { id } => target.cancel(id),
    };
    let answer = match answer {
        Ok(answer) => answer,
        // A refusal is the deployment's answer, not a failure to ask: exit 1.
        Err(RemoteError::Refused { message, code, .. }) => {
            let mut err = std::io::stderr().lock();
            writeln!(err, "error: {message} ({code})")?;
            return Ok(Status::Failed);
        }
        Err(other) => return Err(other.into()),
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &answer).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        let text = match &args.command {
            InstancesCommand::List { .. } => list_table(&answer),
            InstancesCommand::History { .. } => history_table(&answer),
            InstancesCommand::Show { .. }
            | InstancesCommand::Signal { .. }
            | InstancesCommand::Cancel { .. } => instance_text(&answer),
        };
        out.write_all(text.as_bytes())?;
        if let InstancesCommand::List { limit, .. } = &args.command
            && let Some(last) = full_page_last_id(&answer, *limit)
        {
            let mut err = std::io::stderr().lock();
            writeln!(
                err,
                "the page is full; more may follow: cosmosc instances list --after {last}"
            )?;
        }
    }
    out.flush()?;
    Ok(Status::Clean)
}

/// The signal's arguments from `--data` or `--data-file` (`{}` without either).
fn signal_arguments(
    data: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<Map<String, Json>, InstancesError> {
    let value: Json = match (data, file) {
        (Some(text), _) => serde_json::from_str(text).map_err(InstancesError::BadData)?,
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| InstancesError::DataFile {
                    path: path.to_path_buf(),
                    source,
                })?;
            serde_json::from_str(&text).map_err(|source| InstancesError::BadDataFile {
                path: path.to_path_buf(),
                source,
            })?
        }
        (None, None) => return Ok(Map::new()),
    };
    match value {
        Json::Object(map) => Ok(map),
        Json::Array(_) => Err(InstancesError::NotAnObject("an array")),
        Json::String(_) => Err(InstancesError::NotAnObject("a string")),
        Json::Number(_) => Err(InstancesError::NotAnObject("a number")),
        Json::Bool(_) => Err(InstancesError::NotAnObject("a boolean")),
        Json::Null => Err(InstancesError::NotAnObject("null")),
    }
}

/// `value` as a table cell: a string as it is, anything else as compact JSON.
fn cell(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// Rows under a header, each column as wide as its widest cell; the last column is
/// not padded.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, value) in widths.iter_mut().zip(row) {
            *width = (*width).max(value.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (i, value) in row.iter().enumerate() {
            if i == last {
                out.push_str(value);
            } else {
                let pad = widths[i] - value.chars().count();
                out.push_str(value);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
    }
    out
}

/// The last id of a list page that holds as many rows as it may (`limit`, 100 by
/// default, at most 1000): where the next page starts.
fn full_page_last_id(answer: &Json, limit: Option<usize>) -> Option<String> {
    let rows = answer["instances"].as_array()?;
    let page = limit.unwrap_or(100).min(1000);
    (!rows.is_empty() && rows.len() >= page)
        .then(|| rows.last()?["id"].as_str().map(str::to_string))
        .flatten()
}

fn list_table(answer: &Json) -> String {
    let rows: Vec<Vec<String>> = answer["instances"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            ["id", "workflow", "status", "created_at", "updated_at"]
                .iter()
                .map(|key| cell(&i[*key]))
                .collect()
        })
        .collect();
    if rows.is_empty() {
        return "no instances\n".to_string();
    }
    table(&["ID", "WORKFLOW", "STATUS", "CREATED", "UPDATED"], &rows)
}

fn history_table(answer: &Json) -> String {
    let rows: Vec<Vec<String>> = answer["history"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|row| {
            ["seq", "at", "kind", "text"]
                .iter()
                .map(|key| cell(&row[*key]))
                .collect()
        })
        .collect();
    table(&["SEQ", "AT", "KIND", "TEXT"], &rows)
}

/// An instance's fields, one a line, its facts and calls in flight indented below.
fn instance_text(instance: &Json) -> String {
    let mut lines: Vec<(String, String)> = Vec::new();
    let mut field = |name: &str, value: String| lines.push((name.to_string(), value));
    field("id", cell(&instance["id"]));
    field("workflow", cell(&instance["workflow"]));
    field("status", cell(&instance["status"]));
    field("created", cell(&instance["created_at"]));
    field("updated", cell(&instance["updated_at"]));
    if !instance["wakes_at"].is_null() {
        field("wakes at", cell(&instance["wakes_at"]));
    }
    if !instance["failure"].is_null() {
        field("failure", cell(&instance["failure"]));
    }
    field("bundle", cell(&instance["bundle"]));
    field("input", instance["input"].to_string());
    if !instance["output"].is_null() {
        field("output", instance["output"].to_string());
    }
    let width = lines.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, value) in &lines {
        out.push_str(&format!("{name:width$}  {value}\n"));
    }
    if let Some(facts) = instance["facts"].as_object().filter(|f| !f.is_empty()) {
        out.push_str("facts\n");
        let width = facts.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        for (name, value) in facts {
            out.push_str(&format!("  {name:width$}  {value}\n"));
        }
    }
    if let Some(calls) = instance["in_flight"].as_array().filter(|c| !c.is_empty()) {
        out.push_str("in flight\n");
        for call in calls {
            let progress = match &call["progress"] {
                Json::Null => String::new(),
                report => format!(", progress {report}"),
            };
            out.push_str(&format!(
                "  {}[{}] for rule {} (firing {}, attempt {}){progress}\n",
                cell(&call["function"]),
                cell(&call["index"]),
                call["rule"],
                cell(&call["firing"]),
                cell(&call["attempt"]),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_aligns_its_columns_and_leaves_the_last_unpadded() {
        let rows = vec![
            vec!["1".to_string(), "started".to_string(), "a".to_string()],
            vec!["12".to_string(), "completed".to_string(), "bb".to_string()],
        ];
        assert_eq!(
            table(&["SEQ", "KIND", "TEXT"], &rows),
            "SEQ  KIND       TEXT\n1    started    a\n12   completed  bb\n"
        );
    }

    #[test]
    fn signal_arguments_must_be_an_object() {
        assert_eq!(signal_arguments(None, None).unwrap(), Map::new());
        assert_eq!(
            signal_arguments(Some(r#"{"by": "mei"}"#), None).unwrap(),
            json!({"by": "mei"}).as_object().unwrap().clone()
        );
        assert!(matches!(
            signal_arguments(Some("[1]"), None),
            Err(InstancesError::NotAnObject("an array"))
        ));
        assert!(matches!(
            signal_arguments(Some("{by: mei}"), None),
            Err(InstancesError::BadData(_))
        ));
    }
}
