//! Queues, pools, workers, schedules and the node (`/system`): the data of
//! `/v1/queues`, `/v1/pools`, `/v1/workers`, `/v1/schedules` and `/v1/node` as tables.

use super::html::esc;
use super::layout::{self, Section};
use super::{Console, Failure, Shown};
use axum::Extension;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value as Json;
use std::fmt::Write;

pub async fn page(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
) -> Result<Response, Failure> {
    let now = crate::node::now_ms();
    let (queues, leases, workers) = console
        .read(move |store| {
            Ok((
                store.queue_stats(now)?,
                store.leases_by_owner(now)?,
                store.workers()?,
            ))
        })
        .await
        .map_err(|e| shown.failed(e))?;
    let schedules = console
        .node
        .schedules()
        .await
        .map_err(|e| shown.failed(e))?;
    let owner = console.node.owner().to_string();
    let mut body = String::from("<h1>Queues, pools and node</h1>\n<div id=\"system\" data-live>\n");
    let _ = writeln!(
        body,
        "<section><h2>Node</h2><dl class=\"summary\"><dt>node</dt><dd><code>{}</code></dd>\
         <dt>version</dt><dd>{}</dd><dt>bundle</dt><dd><code>{}</code></dd></dl></section>",
        esc(&owner),
        env!("CARGO_PKG_VERSION"),
        esc(&console.node.deployment().current().hash)
    );
    body.push_str("<section><h2>Queues</h2>");
    if queues.is_empty() {
        body.push_str("<p class=\"empty\">No messages in any queue.</p>");
    } else {
        body.push_str("<div class=\"scroll\"><table><thead><tr><th>queue</th><th>ready</th><th>delayed</th><th>leased</th><th>dead</th></tr></thead><tbody>");
        for q in &queues {
            let _ = write!(body, "<tr><td>{}</td>", esc(&q.queue));
            for (_, n) in q.counts() {
                let _ = write!(body, "<td>{n}</td>");
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</section>\n<section><h2>Pools</h2>");
    let pools = serde_json::to_value(console.node.executor().stats()).unwrap_or(Json::Null);
    table(&mut body, &pools);
    body.push_str("</section>\n");
    workers_section(
        &mut body,
        &workers,
        &owner,
        console.node.runs_functions(),
        now,
    );
    body.push_str("<section><h2>Leases by node</h2>");
    if leases.is_empty() {
        body.push_str("<p class=\"empty\">No live lease.</p>");
    } else {
        body.push_str("<div class=\"scroll\"><table><thead><tr><th>node</th><th>queue</th><th>leases</th></tr></thead><tbody>");
        for l in &leases {
            let mine = if l.owner == owner { " (this node)" } else { "" };
            let _ = write!(
                body,
                "<tr><td><code>{}</code>{mine}</td><td>{}</td><td>{}</td></tr>",
                esc(&l.owner),
                esc(&l.queue),
                l.leases
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str("</section>\n");
    schedules_section(&mut body, &schedules);
    body.push_str("</div>\n");
    let html = layout::page(
        "Queues and pools",
        Section::System,
        Some(&shown.session),
        shown.login,
        &body,
    );
    Ok(Html(html).into_response())
}

/// The registry of workers: each process that runs (or ran) functions on this store.
fn workers_section(
    out: &mut String,
    workers: &[crate::store::WorkerRecord],
    owner: &str,
    runs_functions: bool,
    now: i64,
) {
    out.push_str("<section id=\"workers\"><h2>Workers</h2>");
    if !runs_functions {
        out.push_str(
            "<p>This node runs no functions (<code>--no-functions</code>): workers run them.</p>",
        );
    }
    if workers.is_empty() {
        out.push_str(
            "<p class=\"empty\">No worker has run functions on this store.</p></section>\n",
        );
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>worker</th><th>kind</th><th>pools</th>\
         <th>state</th><th>last seen</th><th>started</th><th>leased</th><th>completed</th>\
         <th>failed</th></tr></thead><tbody>",
    );
    for w in workers {
        let mine = if w.name == owner { " (this node)" } else { "" };
        let state = if w.alive(now) {
            "<span class=\"badge completed\">alive</span>"
        } else if w.stopped_at.is_some() {
            "<span class=\"badge cancelled\">stopped</span>"
        } else {
            "<span class=\"badge failed\">gone</span>"
        };
        let _ = write!(
            out,
            "<tr><td><code>{}</code>{mine}</td><td>{}</td><td>{}</td><td>{state}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.name),
            esc(w.kind.as_str()),
            esc(w.pools.join(", ")),
            esc(cosmos_ir::format_time(w.last_seen)),
            esc(cosmos_ir::format_time(w.started_at)),
            w.leased,
            w.completed,
            w.failed
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

/// A list of JSON objects as a table, its columns the objects' keys.
fn table(out: &mut String, rows: &Json) {
    let rows: Vec<&serde_json::Map<String, Json>> = rows
        .as_array()
        .map(|a| a.iter().filter_map(Json::as_object).collect())
        .unwrap_or_default();
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">none</p>");
        return;
    }
    let mut columns: Vec<&String> = Vec::new();
    for row in &rows {
        for key in row.keys() {
            if !columns.contains(&key) {
                columns.push(key);
            }
        }
    }
    // The name first (`pool`), then the counts.
    columns.sort_by_key(|c| c.as_str() != "pool");
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for c in &columns {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for c in &columns {
            let cell = match row.get(*c) {
                Some(Json::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            let _ = write!(out, "<td>{}</td>", esc(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

/// The deployed bundle's schedules (LANGUAGE.md 10.7) and their state, as
/// `GET /v1/schedules` gives them; `POST /v1/schedules/{name}/pause|resume` changes it.
fn schedules_section(out: &mut String, schedules: &[crate::node::schedules::ScheduleView]) {
    out.push_str("<section id=\"schedules\"><h2>Schedules</h2>");
    if schedules.is_empty() {
        out.push_str(
            "<p class=\"empty\">The deployed bundle declares no schedule.</p></section>\n",
        );
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>schedule</th><th>workflow</th>\
         <th>when</th><th>overlap</th><th>state</th><th>next tick</th><th>last tick</th>\
         <th>last instance</th></tr></thead><tbody>",
    );
    for s in schedules {
        let when = match (&s.cron, &s.every) {
            (Some(cron), _) => format!("cron <code>{}</code>", esc(cron)),
            (None, Some(every)) => format!("every <code>{}</code>", esc(every)),
            (None, None) => String::new(),
        };
        let state = if s.paused { "paused" } else { "active" };
        let instance = s.last_instance.as_deref().map_or(String::new(), |id| {
            format!("<a href=\"/instances/{0}\"><code>{0}</code></a>", esc(id))
        });
        let _ = write!(
            out,
            "<tr><td>{}</td><td><a href=\"/workflows/{}\">{}</a></td><td>{when}</td><td>{}</td>\
             <td>{state}</td><td>{}</td><td>{}</td><td>{instance}</td></tr>",
            esc(&s.name),
            esc(&s.workflow),
            esc(&s.workflow),
            s.overlap,
            esc(s.next_tick.as_deref().unwrap_or("—")),
            esc(s.last_tick.as_deref().unwrap_or("—")),
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}
