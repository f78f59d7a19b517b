//! `cosmosc schedules list|pause NAME|resume NAME` (LANGUAGE.md 10.7): the schedules
//! of a running `cosmosc serve` (`--server`, through its HTTP API) or of a store
//! (`--store`, read and written directly), as a table or as JSON.

mod client;

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::Status;
use client::{Client, ClientError};

/// Lists, pauses and resumes schedules.
#[derive(Debug, Args)]
#[command(
    long_about = "Lists, pauses and resumes the schedules of a running `cosmosc serve` \
(--server, through its HTTP API) or of a store directly (--store: a SQLite file or a \
postgres:// URL, as `cosmosc serve` takes it). Through a store, the schedules listed are \
those the last node started on it registered.\n\n\
A paused schedule starts nothing; resuming it starts nothing for the ticks it missed \
while paused. Through a store, a running node notices a pause or a resume within 5 \
seconds.",
    after_help = "Output:\n  \
stdout  `list`: a table (name, workflow, when, overlap, state, next tick, last tick, last \
instance), or with --json {\"schedules\": [...]}; `pause`/`resume`: the schedule, one line, \
or with --json its object\n\n\
Environment:\n  \
COSMOS_SERVER  the server, when neither --server nor --store is given (default \
http://127.0.0.1:8080)\n  \
COSMOS_TOKEN   the API token, when --token is not given\n\n\
Exit status:\n  \
0  done\n  \
2  usage error, no such schedule, or the server or store could not be reached; one \
`error:` line on stderr"
)]
pub(crate) struct SchedulesArgs {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Action {
    /// Lists the schedules with their state and next tick
    List(Target),
    /// Pauses a schedule: it starts nothing until resumed
    Pause(Named),
    /// Resumes a paused schedule from its next tick
    Resume(Named),
}

/// Where the schedules are.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// A running `cosmosc serve`'s address [default: COSMOS_SERVER, else
    /// http://127.0.0.1:8080]
    #[arg(long, value_name = "URL", conflicts_with = "store")]
    pub server: Option<String>,

    /// A store instead of a server: a SQLite file path (relative to the project's
    /// root) or a postgres:// URL
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// The server's API token, sent as `Authorization: Bearer` [default: COSMOS_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Named {
    /// The schedule's name, as written after `schedule`
    pub name: String,

    #[command(flatten)]
    pub target: Target,
}

pub(crate) fn run(args: &SchedulesArgs) -> Result<Status, ClientError> {
    let (target, name) = match &args.action {
        Action::List(target) => (target, None),
        Action::Pause(named) | Action::Resume(named) => (&named.target, Some(&named.name)),
    };
    let client = Client::from_target(target)?;
    let mut out = std::io::stdout().lock();
    let written = match (&args.action, name) {
        (Action::Pause(_), Some(name)) | (Action::Resume(_), Some(name)) => {
            let paused = matches!(args.action, Action::Pause(_));
            let schedule = client.set_paused(name, paused)?;
            if target.json {
                writeln!(out, "{schedule}")
            } else {
                writeln!(out, "{}", summary(&schedule))
            }
        }
        _ => {
            let schedules = client.list()?;
            if target.json {
                writeln!(out, "{}", serde_json::json!({ "schedules": schedules }))
            } else {
                write!(out, "{}", table(&schedules))
            }
        }
    };
    written.map_err(ClientError::Output)?;
    Ok(Status::Clean)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    }
}

/// How a schedule ticks: `cron 0 3 * * *` or `every 6.h`.
fn when(schedule: &Value) -> String {
    match (schedule.get("cron"), schedule.get("every")) {
        (Some(cron), _) => format!("cron {}", text(cron)),
        (_, Some(every)) => format!("every {}", text(every)),
        _ => "-".to_string(),
    }
}

fn state(schedule: &Value) -> &'static str {
    if schedule["paused"] == Value::Bool(true) {
        "paused"
    } else {
        "active"
    }
}

/// One line about one schedule, for `pause` and `resume`.
fn summary(schedule: &Value) -> String {
    format!(
        "schedule {} ({}, {}) is {}; next tick {}",
        text(&schedule["name"]),
        text(&schedule["workflow"]),
        when(schedule),
        state(schedule),
        text(&schedule["next_tick"]),
    )
}

/// The schedules as aligned columns under a header.
fn table(schedules: &[Value]) -> String {
    let header = [
        "NAME",
        "WORKFLOW",
        "WHEN",
        "OVERLAP",
        "STATE",
        "NEXT TICK",
        "LAST TICK",
        "LAST INSTANCE",
    ];
    let rows: Vec<[String; 8]> = schedules
        .iter()
        .map(|s| {
            [
                text(&s["name"]),
                text(&s["workflow"]),
                when(s),
                text(&s["overlap"]),
                state(s).to_string(),
                text(&s["next_tick"]),
                text(&s["last_tick"]),
                text(&s["last_instance"]),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        line.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in &rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    if rows.is_empty() {
        out.push_str("(no schedules)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_aligns_its_columns_and_shows_what_is_missing_as_a_dash() {
        let schedules = [
            json!({"name": "nightly cleanup", "workflow": "Cleanup", "cron": "0 3 * * *",
                   "overlap": "skip", "paused": false, "next_tick": "2026-12-05T03:00:00Z",
                   "last_tick": null, "last_instance": null}),
            json!({"name": "poll", "workflow": "Poll", "every": "6.h", "every_ms": 21600000,
                   "overlap": "allow", "paused": true, "next_tick": null,
                   "last_tick": "2026-12-04T18:00:00Z", "last_instance": "0193"}),
        ];
        assert_eq!(
            table(&schedules),
            "NAME             WORKFLOW  WHEN            OVERLAP  STATE   NEXT TICK             LAST TICK             LAST INSTANCE\n\
             nightly cleanup  Cleanup   cron 0 3 * * *  skip     active  2026-12-05T03:00:00Z  -                     -\n\
             poll             Poll      every 6.h       allow    paused  -                     2026-12-04T18:00:00Z  0193\n"
        );
        assert_eq!(
            table(&[]),
            "NAME  WORKFLOW  WHEN  OVERLAP  STATE  NEXT TICK  LAST TICK  LAST INSTANCE\n(no schedules)\n"
        );
        assert_eq!(
            summary(&schedules[1]),
            "schedule poll (Poll, every 6.h) is paused; next tick -"
        );
    }
}
