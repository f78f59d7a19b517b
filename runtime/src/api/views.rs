//! Instances, histories and instance lists as the API shows them in JSON. One place
//! builds them, so that `cosmosc instances … --json` on a store prints exactly what
//! the API answers over HTTP.

use crate::engine::{InstanceState, Status};
use crate::store::{CallProgress, HistoryRow, InstanceRecord, InstanceSummary};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// An instance, each call in flight with its latest progress report (`null` when it
/// reported none) and when it came (`progress_at`), and each child workflow it waits
/// for with its id and status (`children` gives the statuses, by id).
pub fn instance(
    record: &InstanceRecord,
    progress: &[CallProgress],
    children: &BTreeMap<String, Status>,
) -> Json {
    let state = serde_json::from_value::<InstanceState>(record.state.clone()).ok();
    let wakes_at = state
        .as_ref()
        .and_then(InstanceState::wakes_at)
        .filter(|_| !record.status.is_finished())
        .map(cosmos_ir::format_time);
    let waiting: Vec<Json> = state
        .as_ref()
        .map(|s| s.waiting())
        .unwrap_or_default()
        .into_iter()
        .map(|w| {
            let key = w.key(&record.id);
            let latest = progress.iter().find(|p| p.key == key);
            let child = w.child.clone();
            let mut entry = serde_json::to_value(&w).unwrap_or(Json::Null);
            if let Json::Object(fields) = &mut entry {
                if let Some(child) = child {
                    let status = children.get(&child).map(|s| s.as_str());
                    fields.insert("child".to_string(), json!({"id": child, "status": status}));
                }
                fields.insert(
                    "progress".to_string(),
                    latest.map_or(Json::Null, |p| p.report.clone()),
                );
                fields.insert(
                    "progress_at".to_string(),
                    latest.map_or(Json::Null, |p| json!(cosmos_ir::format_time(p.at))),
                );
            }
            entry
        })
        .collect();
    let parent = state.as_ref().and_then(|s| s.parent.as_ref()).map(|p| {
        json!({
            "id": p.instance,
            "rule": p.call.rule,
            "firing": p.call.firing,
            "index": p.call.index,
            "attempt": p.call.attempt,
        })
    });
    json!({
        "id": record.id,
        "workflow": record.workflow,
        "status": record.status,
        "parent": parent,
        "input": record.input,
        "facts": record.facts,
        "output": record.output,
        "failure": record.failure,
        "in_flight": waiting,
        "wakes_at": wakes_at,
        "bundle": record.bundle,
        "created_at": cosmos_ir::format_time(record.created_at),
        "updated_at": cosmos_ir::format_time(record.updated_at),
    })
}

/// `{"history": [...]}`: an instance's history rows.
pub fn history(rows: Vec<HistoryRow>) -> Json {
    let rows: Vec<Json> = rows
        .into_iter()
        .map(|row| {
            let mut line = json!({
                "seq": row.seq,
                "at": cosmos_ir::format_time(row.at),
                "kind": row.kind,
                "text": row.text,
                "data": row.data,
            });
            if let (Some(stamp), Some(fields)) = (row.step, line.as_object_mut()) {
                fields.insert("step".into(), json!(stamp));
            }
            line
        })
        .collect();
    json!({ "history": rows })
}

/// `{"instances": [...]}`: a page of an instance list.
pub fn instance_list(rows: Vec<InstanceSummary>) -> Json {
    let rows: Vec<Json> = rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "workflow": r.workflow,
                "status": r.status,
                "created_at": cosmos_ir::format_time(r.created_at),
                "updated_at": cosmos_ir::format_time(r.updated_at),
            })
        })
        .collect();
    json!({ "instances": rows })
}

/// Why a list query's `status` or `limit` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListQueryError {
    #[error("{0}")]
    Status(String),
    #[error("limit must be at least 1 (pages hold at most 1000 instances)")]
    Limit,
}

/// The `status` of a list query, in any case (`running` is `RUNNING`).
pub fn status_filter(status: Option<&str>) -> Result<Option<Status>, ListQueryError> {
    status
        .map(|s| s.to_ascii_uppercase().parse::<Status>())
        .transpose()
        .map_err(|e| ListQueryError::Status(e.to_string()))
}

/// The rows a list page holds: `limit` (100 when not given), at most 1000; a limit of
/// 0 is refused (a page of nothing would page forever).
pub fn page_limit(limit: Option<usize>) -> Result<usize, ListQueryError> {
    match limit {
        None => Ok(100),
        Some(0) => Err(ListQueryError::Limit),
        Some(n) => Ok(n.min(1000)),
    }
}
