//! An instance's history: the entries a step appends ([`HistoryEntry`], [`History`])
//! and how each reads as one line of text.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

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
        attempt: i64,
        kind: String,
        message: String,
    },
    ErrorHandled {
        rule: String,
        changed: Vec<(String, Json)>,
    },
    Retrying {
        rule: String,
        function: String,
        attempt: i64,
        after_ms: Option<i64>,
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
            History::Started { input } => write!(f, "started with {input}"),
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
                attempt,
                kind,
                message,
            } => write!(
                f,
                "call {function} of {rule:?} failed ({kind}, attempt {attempt}): {message}"
            ),
            History::ErrorHandled { rule, changed } => {
                write!(f, "error handler of {rule:?}{}", changes(changed))
            }
            History::Retrying {
                rule,
                function,
                attempt,
                after_ms,
            } => match after_ms {
                Some(ms) => write!(
                    f,
                    "retrying {function} of {rule:?} (attempt {attempt}) after {}",
                    cosmos_ir::value::format_duration(*ms)
                ),
                None => write!(f, "retrying {function} of {rule:?} (attempt {attempt})"),
            },
            History::Signalled { name, changed } => {
                write!(f, "signal {name}{}", changes(changed))
            }
            History::Log { message } => write!(f, "log: {message}"),
            History::Completed { output: Some(o) } => write!(f, "COMPLETED with output {o}"),
            History::Completed { output: None } => write!(f, "COMPLETED"),
            History::Failed { message } => write!(f, "FAILED: {message}"),
            History::Cancelled => write!(f, "CANCELLED"),
            History::Stalled => write!(f, "STALLED: nothing in flight, no rule eligible"),
        }
    }
}
