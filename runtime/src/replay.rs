//! A history replays to the same facts. Every step's history starts with a
//! [`HistoryKind::Received`] row holding the event the step applied (a call's result
//! or failure, a timer, a signal, a cancel) and every row holds the step's logical
//! time, so running the engine again over those events at those times rebuilds the
//! instance exactly: the engine is deterministic and reads the clock only through the
//! time it is given.

use crate::engine::{Engine, EngineError, Event, HistoryKind, InstanceState};
use crate::store::{HistoryRow, NewHistory};
use serde_json::Value as Json;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the history does not begin with the instance's start")]
    NoStart,
    #[error("history row {seq}: unreadable event: {message}")]
    BadEvent { seq: i64, message: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// The `received` row of a step that applies `event` at `at`.
pub fn received(event: &Event, at: i64) -> NewHistory {
    received_from(event, at, None)
}

/// [`received`] for a call's result or failure that `worker` (a `cosmosc worker`, or a
/// node, by the name it leases under) ran: its text says where (`…, attempt 1, on
/// w1): …`) and its data holds the event with `"worker": "w1"` beside it (replay
/// reads the event and ignores the name).
pub fn received_from(event: &Event, at: i64, worker: Option<&str>) -> NewHistory {
    let on = match (event, worker) {
        (Event::CallCompleted { .. } | Event::CallFailed { .. }, Some(worker)) => {
            format!(", on {worker}")
        }
        _ => String::new(),
    };
    let text = match event {
        Event::Start => "started".to_string(),
        Event::CallCompleted { call, result } => {
            let mut value = result.to_string();
            if value.len() > 200 {
                let cut = (0..=200)
                    .rev()
                    .find(|i| value.is_char_boundary(*i))
                    .unwrap_or(0);
                value.truncate(cut);
                value.push('…');
            }
            format!(
                "result for {:?} (#{}, call {}, attempt {}{on}): {value}",
                call.rule,
                call.firing,
                call.index + 1,
                call.attempt
            )
        }
        Event::CallFailed { call, failure } => format!(
            "failure for {:?} (#{}, call {}, attempt {}{on}): {}",
            call.rule,
            call.firing,
            call.index + 1,
            call.attempt,
            failure.kind
        ),
        Event::TimerFired { timer } => format!("timer {timer} fired"),
        Event::Signal { name, args } => format!("signal {name}({args})"),
        Event::Cancel => "cancel".to_string(),
    };
    let mut data = serde_json::to_value(event).unwrap_or(Json::Null);
    if let (false, Some(worker), Json::Object(members)) = (on.is_empty(), worker, &mut data) {
        members.insert("worker".to_string(), Json::String(worker.to_string()));
    }
    NewHistory {
        at,
        kind: HistoryKind::Received,
        text,
        data,
    }
}

/// The instance `rows` describe, rebuilt from its input by applying each received
/// event at its recorded time.
pub fn replay(
    engine: &Engine<'_>,
    id: &str,
    input: &Json,
    rows: &[HistoryRow],
) -> Result<InstanceState, ReplayError> {
    let start = rows
        .iter()
        .find(|r| r.kind == HistoryKind::Started)
        .ok_or(ReplayError::NoStart)?;
    let mut state = engine.instantiate(id, input)?;
    // A child workflow's instance knows its parent from its `started` row.
    state.parent = serde_json::from_value(start.data["parent"].clone()).unwrap_or(None);
    engine.handle(&mut state, start.at, Event::Start)?;
    for row in rows.iter().filter(|r| r.kind == HistoryKind::Received) {
        let event: Event =
            serde_json::from_value(row.data.clone()).map_err(|e| ReplayError::BadEvent {
                seq: row.seq,
                message: e.to_string(),
            })?;
        // A child's first step was a queued `Start`, which the start above replays.
        if event == Event::Start {
            continue;
        }
        // A refused event was refused when it happened too, and changed nothing.
        match engine.handle(&mut state, row.at, event) {
            Ok(_) | Err(EngineError::Finished(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(state)
}
