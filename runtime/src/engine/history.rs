//! An instance's history: the entries a step appends ([`HistoryEntry`], [`History`]),
//! the kind each is stored under ([`HistoryKind`]) and how each reads as one line of
//! text.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{CallErrorKind, ParentLink, Status};

/// One line of an instance's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The logical time of the step, so that a history replays to the same facts.
    pub at: i64,
    pub event: History,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum History {
    Started {
        input: Json,
        /// Set for a child workflow's instance: its parent and the parent's call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentLink>,
    },
    /// A rule's call of a child workflow started the child instance `child`.
    ChildStarted {
        rule: String,
        workflow: String,
        /// The call's position in a fan-out; absent for a single call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<usize>,
        attempt: i64,
        child: String,
    },
    /// A rule fired; `calls` is 0 for a pure action.
    Fired {
        rule: String,
        firing: u64,
        calls: usize,
    },
    Reacted {
        rule: String,
        changed: Vec<(String, Json)>,
    },
    CallFailed {
        rule: String,
        function: String,
        /// The call's position in a fan-out; absent for a single call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<usize>,
        attempt: i64,
        kind: CallErrorKind,
        message: String,
    },
    ErrorHandled {
        rule: String,
        changed: Vec<(String, Json)>,
    },
    Retrying {
        rule: String,
        function: String,
        /// The call's position in a fan-out; absent for a single call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        index: Option<usize>,
        attempt: i64,
        after_ms: Option<i64>,
        /// The `attempts` of the function's retry policy when the policy, not an
        /// `error` block, retries.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        policy: Option<i64>,
    },
    Signalled {
        name: String,
        changed: Vec<(String, Json)>,
    },
    Log {
        message: String,
    },
    Completed {
        output: Option<Json>,
    },
    Failed {
        message: String,
    },
    Cancelled,
    Stalled,
}

crate::names::named_enum! {
    /// The kind of a stored history row: the `event` tag of a [`History`] entry, or
    /// [`HistoryKind::Received`] for the row holding the event a step applied
    /// (`crate::replay`).
    pub enum HistoryKind("history kind") {
        /// The event a step applied, for replay (`crate::replay::received`).
        Received = "received",
        Started = "started",
        ChildStarted = "child_started",
        Fired = "fired",
        Reacted = "reacted",
        CallFailed = "call_failed",
        ErrorHandled = "error_handled",
        Retrying = "retrying",
        Signalled = "signalled",
        Log = "log",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
        Stalled = "stalled",
    }
}

impl History {
    /// The kind this entry is stored under (its serialised `event` tag).
    pub fn kind(&self) -> HistoryKind {
        match self {
            History::Started { .. } => HistoryKind::Started,
            History::ChildStarted { .. } => HistoryKind::ChildStarted,
            History::Fired { .. } => HistoryKind::Fired,
            History::Reacted { .. } => HistoryKind::Reacted,
            History::CallFailed { .. } => HistoryKind::CallFailed,
            History::ErrorHandled { .. } => HistoryKind::ErrorHandled,
            History::Retrying { .. } => HistoryKind::Retrying,
            History::Signalled { .. } => HistoryKind::Signalled,
            History::Log { .. } => HistoryKind::Log,
            History::Completed { .. } => HistoryKind::Completed,
            History::Failed { .. } => HistoryKind::Failed,
            History::Cancelled => HistoryKind::Cancelled,
            History::Stalled => HistoryKind::Stalled,
        }
    }
}

/// A call as a history line names it: `encode`, or `encode[2]` in a fan-out.
fn call_name(function: &str, index: Option<usize>) -> String {
    match index {
        Some(i) => format!("{function}[{i}]"),
        None => function.to_string(),
    }
}

fn changes(changed: &[(String, Json)]) -> String {
    if changed.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = changed.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!(": {}", parts.join(", "))
}

impl fmt::Display for HistoryEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", cosmos_ir::format_time(self.at))?;
        match &self.event {
            History::Started {
                input,
                parent: None,
            } => write!(f, "started with {input}"),
            History::Started {
                input,
                parent: Some(parent),
            } => write!(
                f,
                "started with {input} as a child of {} (rule {:?}, firing {}, call {}, attempt {})",
                parent.instance,
                parent.call.rule,
                parent.call.firing,
                parent.call.index,
                parent.call.attempt
            ),
            History::ChildStarted {
                rule,
                workflow,
                index,
                attempt,
                child,
            } => write!(
                f,
                "started child {} {child} for {rule:?} (attempt {attempt})",
                call_name(workflow, *index)
            ),
            History::Fired {
                rule,
                firing,
                calls,
            } => match calls {
                0 => write!(f, "fired {rule:?} (#{firing}, pure)"),
                1 => write!(f, "fired {rule:?} (#{firing}, 1 call)"),
                n => write!(f, "fired {rule:?} (#{firing}, {n} calls)"),
            },
            History::Reacted { rule, changed } => {
                write!(f, "reaction of {rule:?}{}", changes(changed))
            }
            History::CallFailed {
                rule,
                function,
                index,
                attempt,
                kind,
                message,
            } => write!(
                f,
                "call {} of {rule:?} failed ({kind}, attempt {attempt}): {message}",
                call_name(function, *index)
            ),
            History::ErrorHandled { rule, changed } => {
                write!(f, "error handler of {rule:?}{}", changes(changed))
            }
            History::Retrying {
                rule,
                function,
                index,
                attempt,
                after_ms,
                policy,
            } => {
                let call = call_name(function, *index);
                let by = match policy {
                    Some(n) => format!(", by its retry policy of {n} attempts"),
                    None => String::new(),
                };
                match after_ms {
                    Some(ms) => write!(
                        f,
                        "retrying {call} of {rule:?} (attempt {attempt}{by}) after {}",
                        cosmos_ir::value::format_duration(*ms)
                    ),
                    None => write!(f, "retrying {call} of {rule:?} (attempt {attempt}{by})"),
                }
            }
            History::Signalled { name, changed } => {
                write!(f, "signal {name}{}", changes(changed))
            }
            History::Log { message } => write!(f, "log: {message}"),
            History::Completed { output: Some(o) } => {
                write!(f, "{} with output {o}", Status::Completed)
            }
            History::Completed { output: None } => write!(f, "{}", Status::Completed),
            History::Failed { message } => write!(f, "{}: {message}", Status::Failed),
            History::Cancelled => write!(f, "{}", Status::Cancelled),
            History::Stalled => write!(
                f,
                "{}: nothing in flight, no rule eligible",
                Status::Stalled
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_kinds_round_trip_through_their_strings() {
        crate::names::tests::round_trip(
            HistoryKind::ALL,
            &[
                "received",
                "started",
                "child_started",
                "fired",
                "reacted",
                "call_failed",
                "error_handled",
                "retrying",
                "signalled",
                "log",
                "completed",
                "failed",
                "cancelled",
                "stalled",
            ],
            HistoryKind::as_str,
            "history kind",
            &["fact", "step", "event", "call-failed", "Received"],
        );
    }

    /// A row's kind is the `event` tag its data is serialised with, and every kind
    /// but `received` (the replay's rows) is the kind of some entry.
    #[test]
    fn each_entry_is_stored_under_its_event_tag() {
        let changed = vec![("n".to_string(), json!(1))];
        let entries = [
            History::Started {
                input: json!({}),
                parent: None,
            },
            History::ChildStarted {
                rule: "r".into(),
                workflow: "W".into(),
                index: None,
                attempt: 1,
                child: "i.1".into(),
            },
            History::Fired {
                rule: "r".into(),
                firing: 1,
                calls: 0,
            },
            History::Reacted {
                rule: "r".into(),
                changed: changed.clone(),
            },
            History::CallFailed {
                rule: "r".into(),
                function: "f".into(),
                index: None,
                attempt: 1,
                kind: CallErrorKind::BadOutput,
                message: "m".into(),
            },
            History::ErrorHandled {
                rule: "r".into(),
                changed: changed.clone(),
            },
            History::Retrying {
                rule: "r".into(),
                function: "f".into(),
                index: Some(1),
                attempt: 2,
                after_ms: None,
                policy: None,
            },
            History::Signalled {
                name: "s".into(),
                changed,
            },
            History::Log {
                message: "m".into(),
            },
            History::Completed { output: None },
            History::Failed {
                message: "m".into(),
            },
            History::Cancelled,
            History::Stalled,
        ];
        let mut kinds: Vec<HistoryKind> = Vec::new();
        for entry in &entries {
            let data = serde_json::to_value(entry).unwrap();
            assert_eq!(data["event"], json!(entry.kind().as_str()), "{data}");
            kinds.push(entry.kind());
        }
        kinds.insert(0, HistoryKind::Received);
        assert_eq!(kinds, HistoryKind::ALL);
    }

    #[test]
    fn the_last_entries_read_with_the_status_they_leave() {
        let text = |event: History| {
            let line = HistoryEntry { at: 0, event }.to_string();
            line.split_once(' ').map(|(_, rest)| rest.to_string())
        };
        let lines = [
            (
                History::Completed {
                    output: Some(json!(3)),
                },
                "COMPLETED with output 3",
            ),
            (History::Completed { output: None }, "COMPLETED"),
            (
                History::Failed {
                    message: "no".into(),
                },
                "FAILED: no",
            ),
            (History::Cancelled, "CANCELLED"),
            (
                History::Stalled,
                "STALLED: nothing in flight, no rule eligible",
            ),
        ];
        for (event, line) in lines {
            assert_eq!(text(event).as_deref(), Some(line));
        }
    }

    #[test]
    fn a_failed_call_reads_with_its_error_kind() {
        let entry = HistoryEntry {
            at: 0,
            event: History::CallFailed {
                rule: "r".into(),
                function: "f".into(),
                index: None,
                attempt: 2,
                kind: CallErrorKind::Timeout,
                message: "too slow".into(),
            },
        };
        assert!(
            entry
                .to_string()
                .ends_with("call f of \"r\" failed (TIMEOUT, attempt 2): too slow"),
            "{entry}"
        );
        let data = serde_json::to_value(&entry.event).unwrap();
        assert_eq!(data["kind"], json!("TIMEOUT"));
    }

    /// A call of a fan-out is named with its position, in the text and in the data;
    /// a single call's data has no `index`.
    #[test]
    fn a_fan_out_call_is_named_with_its_index() {
        let failed = HistoryEntry {
            at: 0,
            event: History::CallFailed {
                rule: "ladder".into(),
                function: "transcode".into(),
                index: Some(2),
                attempt: 1,
                kind: CallErrorKind::Failed,
                message: "disk full".into(),
            },
        };
        assert!(
            failed
                .to_string()
                .ends_with("call transcode[2] of \"ladder\" failed (FAILED, attempt 1): disk full"),
            "{failed}"
        );
        assert_eq!(
            serde_json::to_value(&failed.event).unwrap()["index"],
            json!(2)
        );
        let retrying = HistoryEntry {
            at: 0,
            event: History::Retrying {
                rule: "ladder".into(),
                function: "transcode".into(),
                index: Some(2),
                attempt: 2,
                after_ms: Some(10_000),
                policy: None,
            },
        };
        assert!(
            retrying
                .to_string()
                .ends_with("retrying transcode[2] of \"ladder\" (attempt 2) after 10s"),
            "{retrying}"
        );
        let single = History::CallFailed {
            rule: "r".into(),
            function: "f".into(),
            index: None,
            attempt: 1,
            kind: CallErrorKind::Failed,
            message: "m".into(),
        };
        let data = serde_json::to_value(&single).unwrap();
        assert!(data.get("index").is_none(), "{data}");
        // Rows written before fan-out calls were named still read.
        let old = json!({"event": "call_failed", "rule": "r", "function": "f", "attempt": 1, "kind": "FAILED", "message": "m"});
        assert_eq!(serde_json::from_value::<History>(old).unwrap(), single);
    }
}
