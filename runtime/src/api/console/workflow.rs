//! The workflows (`/workflows`) and a workflow's page (`/workflows/{name}`): its
//! inputs, facts, signals and rules, the graph of what each rule reads and writes,
//! how often each rule fired and how many instances wait on it, and its source.

use super::html::{esc, url};
use super::layout::{self, Section};
use super::{Console, Failure, Shown, forms, graph, highlight};
use crate::engine::Status;
use crate::explain::RuleState;
use crate::node::explain_record;
use crate::store::InstanceFilter;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use cosmos_ir::json::ty_name;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The instances a workflow's rule statistics are taken over: its newest ones.
pub const SAMPLE: usize = 500;

pub async fn list(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
) -> Result<Response, Failure> {
    let names = console.workflow_names();
    let wanted = names.clone();
    let counts = console
        .read(move |store| {
            wanted
                .iter()
                .map(|name| store.count_instances(Some(name)))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| shown.failed(e))?;
    let mut body = String::from(
        "<h1>Workflows</h1>\n<p class=\"meta\">of the bundle new instances start on</p>\n",
    );
    body.push_str("<div class=\"scroll\"><table class=\"rows\"><thead><tr><th>workflow</th>");
    for s in Status::ALL {
        let _ = write!(body, "<th>{}</th>", s.as_str().to_ascii_lowercase());
    }
    body.push_str("</tr></thead><tbody>\n");
    for (name, counts) in names.iter().zip(counts) {
        let _ = write!(
            body,
            "<tr data-row><td><a href=\"/workflows/{}\">{}</a></td>",
            url(name),
            esc(name)
        );
        for s in Status::ALL {
            let n = counts.iter().find(|(c, _)| c == s).map_or(0, |(_, n)| *n);
            let _ = write!(
                body,
                "<td><a href=\"/?workflow={}&amp;status={}\">{n}</a></td>",
                url(name),
                s.as_str()
            );
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody></table></div>\n");
    let html = layout::page(
        "Workflows",
        Section::Workflows,
        Some(&shown.session),
        shown.login,
        &body,
    );
    Ok(Html(html).into_response())
}

/// Per rule, over the sampled instances: firings, instances where it is in flight,
/// and stalled instances waiting on it (it never fired there and its match does not
/// hold).
#[derive(Debug, Default, Clone, Copy)]
struct RuleStats {
    fired: u64,
    in_flight: u64,
    blocking: u64,
}

pub async fn page(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
    Path(name): Path<String>,
) -> Result<Response, Failure> {
    let program = std::sync::Arc::clone(&console.node.deployment().current().program);
    let Some(workflow) = program.workflows.iter().find(|w| w.name == name).cloned() else {
        return Err(shown.failure(
            StatusCode::NOT_FOUND,
            format!("The deployed bundle has no workflow {name:?}."),
        ));
    };
    let node = console.node.clone();
    let wanted = name.clone();
    let (stats, sampled) = tokio::task::spawn_blocking(move || {
        let store = node.store().as_ref();
        let ids = store.list_instances(&InstanceFilter {
            workflow: Some(wanted),
            limit: SAMPLE,
            newest_first: true,
            ..InstanceFilter::default()
        })?;
        let mut stats: BTreeMap<String, RuleStats> = BTreeMap::new();
        for summary in &ids {
            let Some(record) = store.instance(&summary.id)? else {
                continue;
            };
            if record.status.is_finished() {
                if let Ok(state) =
                    serde_json::from_value::<crate::engine::InstanceState>(record.state.clone())
                {
                    for (rule, n) in state.fired_counts() {
                        stats.entry(rule.clone()).or_default().fired += n;
                    }
                }
                continue;
            }
            let Ok(program) = node.deployment().program(store, &record.bundle) else {
                continue;
            };
            let Ok(rules) = explain_record(&program, &record) else {
                continue;
            };
            for rule in rules {
                let entry = stats.entry(rule.rule.clone()).or_default();
                entry.fired += rule.fired;
                match rule.state {
                    RuleState::InFlight => entry.in_flight += 1,
                    RuleState::NotMatching
                        if record.status == Status::Stalled && rule.fired == 0 =>
                    {
                        entry.blocking += 1
                    }
                    _ => {}
                }
            }
        }
        Ok::<_, crate::node::NodeError>((stats, ids.len()))
    })
    .await
    .map_err(|e| shown.failed(e))?
    .map_err(|e| shown.failed(e))?;

    let mut body = String::new();
    let _ = write!(
        body,
        "<p class=\"crumbs\"><a href=\"/workflows\">Workflows</a></p>\n<h1>workflow {}</h1>\n\
         <p class=\"meta\">module <code>{}</code> · <a href=\"/?workflow={}\">its instances</a></p>\n",
        esc(&workflow.name),
        esc(&workflow.module),
        url(&workflow.name)
    );
    body.push_str("<section aria-labelledby=\"graph-h\"><h2 id=\"graph-h\">What each rule reads and writes</h2>\n");
    body.push_str("<p class=\"legend\"><span class=\"reads\">read by a match</span> <span class=\"writes\">assigned by a reaction, error block or signal</span></p>\n<div class=\"scroll\">");
    body.push_str(&graph::svg(&workflow));
    body.push_str("</div></section>\n");

    let _ = write!(
        body,
        "<section aria-labelledby=\"rules-h\"><h2 id=\"rules-h\">Rules</h2>\n<p class=\"meta\">counts over the {sampled} newest instances{}; \
         a stalled instance waits on a rule that never fired there and whose match does not hold</p>\n\
         <div class=\"scroll\"><table class=\"rows\"><thead><tr><th>rule</th><th>priority</th><th>reads</th><th>writes</th>\
         <th>fired</th><th>in flight in</th><th>stalled waiting on it</th></tr></thead><tbody>\n",
        if sampled == SAMPLE { " (at most)" } else { "" }
    );
    let codes = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("<code>{}</code>", esc(n)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for rule in &workflow.rules {
        let s = stats.get(&rule.name).copied().unwrap_or_default();
        let _ = writeln!(
            body,
            "<tr data-row id=\"rule-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            url(&rule.name),
            esc(serde_json::to_string(&rule.name).unwrap_or_default()),
            rule.priority,
            codes(&rule.reads),
            codes(&rule.writes),
            s.fired,
            s.in_flight,
            s.blocking
        );
    }
    body.push_str("</tbody></table></div></section>\n");

    body.push_str("<section class=\"columns\" aria-label=\"declarations\"><div><h2>Inputs</h2>");
    declarations(&mut body, &program, &workflow.inputs);
    body.push_str("<h2>Signals</h2>");
    if workflow.signals.is_empty() {
        body.push_str("<p class=\"empty\">none</p>");
    } else {
        body.push_str("<ul>");
        for signal in &workflow.signals {
            let params: Vec<String> = forms::params(signal)
                .iter()
                .map(|(n, t)| format!("{}: {}", esc(n), esc(ty_name(&program, t))))
                .collect();
            let writes = graph::signal_writes(&workflow, &signal.handler.body);
            let _ = write!(
                body,
                "<li><code>signal {}({})</code> assigns {}</li>",
                esc(&signal.name),
                params.join(", "),
                if writes.is_empty() {
                    "nothing".to_string()
                } else {
                    codes(&writes)
                }
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("</div><div><h2>Facts</h2>");
    declarations(&mut body, &program, &workflow.facts);
    body.push_str("</div></section>\n");

    body.push_str("<section aria-labelledby=\"source-h\"><h2 id=\"source-h\">Source</h2>\n");
    match console.sources.iter().find(|s| s.module == workflow.module) {
        Some(source) => {
            let _ = writeln!(
                body,
                "<p class=\"meta\"><code>{}</code></p><pre class=\"source\"><code>{}</code></pre>",
                esc(&source.path),
                highlight::highlight(&source.text)
            );
        }
        None => body.push_str(
            "<p class=\"empty\">The source is not available: this runtime was started from a bundle \
             whose files it could not find (or that no longer match it).</p>\n",
        ),
    }
    body.push_str("</section>\n");
    let html = layout::page(
        &format!("workflow {}", workflow.name),
        Section::Workflows,
        Some(&shown.session),
        shown.login,
        &body,
    );
    Ok(Html(html).into_response())
}

fn declarations(out: &mut String, program: &cosmos_ir::Program, fields: &[cosmos_ir::FieldLayout]) {
    if fields.is_empty() {
        out.push_str("<p class=\"empty\">none</p>");
        return;
    }
    out.push_str("<ul>");
    for field in fields {
        let _ = write!(
            out,
            "<li><code>{}: {}</code>{}</li>",
            esc(&field.name),
            esc(ty_name(program, &field.ty)),
            if field.default.is_some() {
                " <small class=\"muted\">with a default</small>"
            } else {
                ""
            }
        );
    }
    out.push_str("</ul>");
}
