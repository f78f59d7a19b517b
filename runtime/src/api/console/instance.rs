//! An instance's page (`/instances/{id}`): its status, why each rule does or does not
//! fire (the explanation `cosmosc explain` gives), its facts, input and output, the
//! calls and timers it waits for, its history a page at a time, and the forms that
//! send it a signal or cancel it.

use super::html::{esc, url};
use super::layout::{self, Section};
use super::{Console, Failure, Shown, forms, session, tree};
use crate::engine::{Event, InstanceState};
use crate::explain::{RuleExplanation, RuleState};
use crate::node::{NodeError, explain_record};
use crate::store::{HistoryRow, InstanceRecord};
use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use cosmos_ir::json::ty_name;
use cosmos_ir::{FieldLayout, Program, WorkflowIr};
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

/// History rows on one page of the timeline.
pub const HISTORY_PAGE: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// The timeline page: rows after this seq (the last page when absent).
    after: Option<i64>,
    /// What the last form did, for the notice at the top.
    done: Option<String>,
}

/// Everything the page shows, read in one go.
struct Loaded {
    record: InstanceRecord,
    program: Arc<Program>,
    rules: Result<Vec<RuleExplanation>, String>,
    history: Vec<HistoryRow>,
    history_len: i64,
    after: i64,
}

async fn load(console: &Console, id: &str, after: Option<i64>) -> Result<Loaded, NodeError> {
    let node = console.node.clone();
    let id = id.to_string();
    tokio::task::spawn_blocking(move || {
        let store = node.store().as_ref();
        let record = store
            .instance(&id)?
            .ok_or_else(|| NodeError::UnknownInstance(id.clone()))?;
        let program = node.deployment().program(store, &record.bundle)?;
        let history_len = store.history_len(&id)?;
        let last_page = (history_len - HISTORY_PAGE as i64).max(0);
        let after = after.unwrap_or(last_page).clamp(0, last_page.max(0));
        let history = store.history_page(&id, after, HISTORY_PAGE)?;
        let rules = explain_record(&program, &record).map_err(|e| e.to_string());
        Ok(Loaded {
            record,
            program,
            rules,
            history,
            history_len,
            after,
        })
    })
    .await
    .map_err(|e| NodeError::Internal(e.to_string()))?
}

fn not_found(shown: &Shown, e: NodeError) -> Failure {
    match e {
        NodeError::UnknownInstance(id) => shown.failure(
            StatusCode::NOT_FOUND,
            format!("There is no instance {id:?} in this runtime's store."),
        ),
        other => shown.failed(other),
    }
}

pub async fn page(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Failure> {
    let Query(query) = query.map_err(|e| shown.bad_request(e.body_text()))?;
    let loaded = load(&console, &id, query.after)
        .await
        .map_err(|e| not_found(&shown, e))?;
    // Only notices the console's own redirects make: a link cannot put words here.
    let signals: Vec<&str> = loaded
        .program
        .workflows
        .iter()
        .filter(|w| w.name == loaded.record.workflow)
        .flat_map(|w| w.signals.iter().map(|s| s.name.as_str()))
        .collect();
    let notice = match query.done.as_deref() {
        Some("cancelled") => Some(Notice::Done("The instance was cancelled.".into())),
        Some(done) => done
            .strip_prefix("signal:")
            .filter(|name| signals.contains(name))
            .map(|name| Notice::Done(format!("Signal {name} was sent."))),
        None => None,
    };
    let html = render(&loaded, &shown, notice, None, &HashMap::new());
    Ok(Html(html).into_response())
}

/// A line at the top of the page about the last form.
enum Notice {
    Done(String),
    Refused(String),
}

fn render(
    loaded: &Loaded,
    shown: &Shown,
    notice: Option<Notice>,
    open_signal: Option<&str>,
    values: &HashMap<String, String>,
) -> String {
    let record = &loaded.record;
    let workflow = loaded
        .program
        .workflows
        .iter()
        .find(|w| w.name == record.workflow);
    let mut body = String::new();
    let _ = write!(
        body,
        "<p class=\"crumbs\"><a href=\"/\">Instances</a> › <a href=\"/workflows/{}\">{}</a></p>\n\
         <h1>{} <code class=\"id\">{}</code></h1>\n",
        url(&record.workflow),
        esc(&record.workflow),
        esc(&record.workflow),
        esc(&record.id)
    );
    match notice {
        Some(Notice::Done(text)) => {
            let _ = writeln!(
                body,
                "<p class=\"notice\" role=\"status\">{}</p>",
                esc(text)
            );
        }
        Some(Notice::Refused(text)) => {
            let _ = writeln!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(text));
        }
        None => {}
    }
    summary(&mut body, loaded);
    body.push_str("<div class=\"columns\">\n<div>\n");
    rules(&mut body, &loaded.rules);
    in_flight(&mut body, record);
    actions(&mut body, loaded, workflow, shown, open_signal, values);
    body.push_str("</div>\n<div>\n");
    facts(&mut body, &loaded.program, workflow, record);
    body.push_str("</div>\n</div>\n");
    history(&mut body, loaded);
    layout::page(
        &format!("{} {}", record.workflow, record.id),
        Section::Instances,
        Some(&shown.session),
        shown.login,
        &body,
    )
}

fn summary(out: &mut String, loaded: &Loaded) {
    let record = &loaded.record;
    let _ = write!(
        out,
        "<section id=\"summary\" data-live aria-label=\"summary\"><dl class=\"summary\">\
         <dt>status</dt><dd data-status=\"{}\">{}</dd>\
         <dt>bundle</dt><dd><code title=\"{}\">{}</code></dd>\
         <dt>created</dt><dd>{}</dd><dt>updated</dt><dd>{}</dd>\
         <dt>history</dt><dd>{} rows</dd>",
        record.status.as_str(),
        layout::status(record.status),
        esc(&record.bundle),
        esc(record.bundle.get(..12).unwrap_or(&record.bundle)),
        layout::time(record.created_at),
        layout::time(record.updated_at),
        loaded.history_len
    );
    if let Some(key) = &record.idempotency_key {
        let _ = write!(
            out,
            "<dt>idempotency key</dt><dd><code>{}</code></dd>",
            esc(key)
        );
    }
    // Child workflows (LANGUAGE.md 10.6) are not built yet: an instance has no parent.
    out.push_str("<dt>parent</dt><dd class=\"muted\">none</dd></dl>\n");
    if let Some(failure) = &record.failure {
        let _ = writeln!(
            out,
            "<h2>Failure</h2><pre class=\"failure\">{}</pre>",
            esc(failure)
        );
    }
    if let Some(output) = &record.output {
        let _ = writeln!(
            out,
            "<h2>Output</h2><div class=\"tree\">{}</div>",
            tree::tree(output, 2)
        );
    }
    out.push_str("</section>\n");
}

fn rules(out: &mut String, rules: &Result<Vec<RuleExplanation>, String>) {
    out.push_str("<section id=\"rules\" data-live aria-labelledby=\"rules-h\"><h2 id=\"rules-h\">Rules: why each fires or not</h2>\n");
    match rules {
        Err(e) => {
            let _ = write!(
                out,
                "<p class=\"error\">The rules cannot be explained: {}</p>",
                esc(e)
            );
        }
        Ok(rules) if rules.is_empty() => {
            out.push_str("<p class=\"empty\">This workflow has no rules.</p>")
        }
        Ok(rules) => {
            for rule in rules {
                rule_html(out, rule);
            }
        }
    }
    out.push_str("</section>\n");
}

fn state_class(state: &RuleState) -> &'static str {
    match state {
        RuleState::InFlight => "in-flight",
        RuleState::Eligible => "eligible",
        RuleState::Refracted => "refracted",
        RuleState::NotMatching => "not-matching",
        RuleState::Error => "error",
    }
}

fn rule_html(out: &mut String, rule: &RuleExplanation) {
    let _ = write!(
        out,
        "<article class=\"rule {}\" data-rule=\"{}\">\n<h3><span class=\"k\">rule</span> {} \
         <span class=\"state\">{}</span></h3>\n<p class=\"meta\">priority {} · fired {}× · reads {}</p>\n",
        state_class(&rule.state),
        esc(&rule.rule),
        esc(serde_json::to_string(&rule.rule).unwrap_or_default()),
        esc(rule.state.describe()),
        rule.priority,
        rule.fired,
        if rule.reads.is_empty() {
            "nothing".to_string()
        } else {
            rule.reads
                .iter()
                .map(|r| format!("<code>{}</code>", esc(r)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if !rule.parts.is_empty() {
        out.push_str("<table class=\"parts\"><tbody>\n");
        for part in &rule.parts {
            let (class, value) = match (&part.error, &part.value) {
                (Some(e), _) => ("error", format!("error: {e}")),
                (None, Json::Bool(true)) => ("true", "true".to_string()),
                (None, Json::Bool(false)) => ("false", "false".to_string()),
                (None, v) => ("value", v.to_string()),
            };
            let _ = writeln!(
                out,
                "<tr class=\"{class}\"><td><code>{}</code></td><td>=</td><td><code>{}</code></td></tr>",
                esc(&part.expr),
                esc(&value)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</article>\n");
}

fn in_flight(out: &mut String, record: &InstanceRecord) {
    out.push_str("<section id=\"inflight\" data-live aria-labelledby=\"inflight-h\"><h2 id=\"inflight-h\">In flight</h2>\n");
    let state = serde_json::from_value::<InstanceState>(record.state.clone()).ok();
    let waiting: Vec<Json> = state
        .as_ref()
        .map(|s| {
            s.waiting()
                .iter()
                .filter_map(|w| serde_json::to_value(w).ok())
                .collect()
        })
        .unwrap_or_default();
    if waiting.is_empty() {
        out.push_str("<p class=\"empty\">No call or timer is running.</p>\n");
    } else {
        // Columns from the calls themselves, so fields the runtime adds (progress)
        // show without a change here.
        let mut columns: Vec<String> = Vec::new();
        for call in &waiting {
            if let Json::Object(fields) = call {
                for key in fields.keys() {
                    if !columns.contains(key) {
                        columns.push(key.clone());
                    }
                }
            }
        }
        out.push_str("<div class=\"scroll\"><table><thead><tr>");
        for column in &columns {
            let _ = write!(out, "<th>{}</th>", esc(column));
        }
        out.push_str("</tr></thead><tbody>\n");
        for call in &waiting {
            out.push_str("<tr>");
            for column in &columns {
                let cell = match call.get(column) {
                    Some(Json::String(s)) => esc(s).to_string(),
                    Some(other) => esc(other.to_string()).to_string(),
                    None => String::new(),
                };
                let _ = write!(out, "<td>{cell}</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
    }
    if let Some(state) = &state {
        let timers: Vec<(u64, i64)> = state.timers().collect();
        if !timers.is_empty() {
            out.push_str("<h3>Timers</h3><ul>");
            for (id, at) in timers {
                let _ = write!(out, "<li>timer {id} due {}</li>", layout::time(at));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</section>\n");
}

fn actions(
    out: &mut String,
    loaded: &Loaded,
    workflow: Option<&WorkflowIr>,
    shown: &Shown,
    open_signal: Option<&str>,
    values: &HashMap<String, String>,
) {
    let record = &loaded.record;
    // Live, so that the forms go once the instance ends; the script keeps what was
    // typed and never replaces a form that has the focus.
    out.push_str("<section id=\"actions\" data-live aria-labelledby=\"actions-h\"><h2 id=\"actions-h\">Act on it</h2>\n");
    if record.status.is_finished() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">The instance is {}: it takes no more signals and cannot be cancelled.</p>",
            record.status.as_str()
        );
        out.push_str("</section>\n");
        return;
    }
    let signals = workflow.map(|w| w.signals.as_slice()).unwrap_or_default();
    if signals.is_empty() {
        out.push_str("<p class=\"muted\">This workflow declares no signal.</p>\n");
    }
    for signal in signals {
        let filled = if open_signal == Some(signal.name.as_str()) {
            values
        } else {
            &HashMap::new()
        };
        out.push_str(&forms::signal_form(
            &loaded.program,
            &record.id,
            signal,
            &shown.session.csrf,
            filled,
        ));
    }
    let _ = write!(
        out,
        "<p><a class=\"button danger\" href=\"/instances/{}/cancel\">Cancel this instance…</a></p>\n</section>\n",
        url(&record.id)
    );
}

fn facts(
    out: &mut String,
    program: &Program,
    workflow: Option<&WorkflowIr>,
    record: &InstanceRecord,
) {
    out.push_str("<section id=\"facts\" data-live aria-labelledby=\"facts-h\"><h2 id=\"facts-h\">Facts</h2>\n");
    let types = |layouts: fn(&WorkflowIr) -> &[FieldLayout]| -> HashMap<&str, String> {
        workflow
            .map(|w| {
                layouts(w)
                    .iter()
                    .map(|f| (f.name.as_str(), ty_name(program, &f.ty)))
                    .collect()
            })
            .unwrap_or_default()
    };
    fields(out, &record.facts, &types(|w| &w.facts));
    out.push_str("<h2>Input</h2>\n");
    fields(out, &record.input, &types(|w| &w.inputs));
    out.push_str("</section>\n");
}

/// The fields of a JSON object, each with its declared type and its value as a tree.
fn fields(out: &mut String, value: &Json, types: &HashMap<&str, String>) {
    let Json::Object(map) = value else {
        let _ = write!(out, "<div class=\"tree\">{}</div>", tree::tree(value, 1));
        return;
    };
    if map.is_empty() {
        out.push_str("<p class=\"empty\">none</p>\n");
        return;
    }
    out.push_str("<dl class=\"fields\">\n");
    for (name, value) in map {
        let _ = writeln!(
            out,
            "<dt><code>{}</code> <span class=\"type\">{}</span></dt><dd class=\"tree\" data-fact=\"{}\">{}</dd>",
            esc(name),
            esc(types.get(name.as_str()).map_or("", String::as_str)),
            esc(name),
            tree::tree(value, 1)
        );
    }
    out.push_str("</dl>\n");
}

fn history(out: &mut String, loaded: &Loaded) {
    let live = loaded.after + HISTORY_PAGE as i64 >= loaded.history_len;
    let _ = writeln!(
        out,
        "<section id=\"history\"{} aria-labelledby=\"history-h\"><h2 id=\"history-h\">History</h2>",
        if live { " data-live" } else { "" }
    );
    let first = loaded.history.first().map_or(0, |r| r.seq);
    let last = loaded.history.last().map_or(0, |r| r.seq);
    let _ = writeln!(
        out,
        "<p class=\"meta\">rows {first}–{last} of {}</p>",
        loaded.history_len
    );
    pager(out, loaded);
    out.push_str("<ol class=\"timeline\">\n");
    let mut firings: HashMap<(String, u64), i64> = HashMap::new();
    for row in &loaded.history {
        let call = call_time(row, &mut firings);
        let took = row
            .step
            .as_ref()
            .map(|s| {
                format!(
                    " · step {:.1} ms on {}",
                    (s.finished_us - s.started_us) as f64 / 1000.0,
                    esc(&s.node)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<li class=\"k-{}\" value=\"{}\"><span class=\"when\">{}</span> <span class=\"kind\">{}</span> \
             <span class=\"text\">{}</span>{call}<small class=\"muted\">{took}</small>",
            row.kind.as_str(),
            row.seq,
            layout::time(row.at),
            row.kind.as_str(),
            esc(without_time(&row.text, row.at))
        );
        if !row.data.is_null() {
            let _ = write!(
                out,
                "<details class=\"data\"><summary>data</summary><div class=\"tree\">{}</div></details>",
                tree::tree(&row.data, 2)
            );
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
    pager(out, loaded);
    out.push_str("</section>\n");
}

/// For a row that received a call's result or failure, how long after its rule fired
/// it came (when the firing is on this page), as a badge; records each `fired` row's
/// time in `firings`, by (rule, firing).
fn call_time(row: &HistoryRow, firings: &mut HashMap<(String, u64), i64>) -> String {
    let rule_of = |data: &Json| {
        Some((
            data.get("rule")?.as_str()?.to_string(),
            data.get("firing")?.as_u64()?,
        ))
    };
    match row.kind {
        crate::engine::HistoryKind::Fired => {
            if let Some(key) = rule_of(&row.data) {
                firings.insert(key, row.at);
            }
            String::new()
        }
        crate::engine::HistoryKind::Received => {
            let Some(call) = row.data.get("call") else {
                return String::new();
            };
            let attempt = call.get("attempt").and_then(Json::as_i64).unwrap_or(1);
            match rule_of(call).and_then(|key| firings.get(&key)) {
                Some(fired) => format!(
                    " <span class=\"call-time\" title=\"from the firing to this result, retries included\">{} after the firing{}</span>",
                    esc(cosmos_ir::value::format_duration(row.at - fired)),
                    if attempt > 1 {
                        format!(", attempt {attempt}")
                    } else {
                        String::new()
                    }
                ),
                None => String::new(),
            }
        }
        _ => String::new(),
    }
}

/// A history row's text without the time it starts with (the timeline shows it).
fn without_time(text: &str, at: i64) -> &str {
    let stamp = cosmos_ir::format_time(at);
    text.strip_prefix(stamp.as_str())
        .map_or(text, str::trim_start)
}

fn pager(out: &mut String, loaded: &Loaded) {
    let id = url(&loaded.record.id);
    let page = HISTORY_PAGE as i64;
    let last_page = (loaded.history_len - page).max(0);
    out.push_str("<nav class=\"pager\" aria-label=\"history pages\">");
    if loaded.after > 0 {
        let _ = write!(
            out,
            "<a href=\"/instances/{id}?after=0#history\">first</a> \
             <a href=\"/instances/{id}?after={}#history\" rel=\"prev\">← earlier</a> ",
            (loaded.after - page).max(0)
        );
    }
    if loaded.after < last_page {
        let _ = write!(
            out,
            "<a href=\"/instances/{id}?after={}#history\" rel=\"next\">later →</a> \
             <a href=\"/instances/{id}#history\">latest</a>",
            (loaded.after + page).min(last_page)
        );
    }
    out.push_str("</nav>\n");
}

pub async fn signal(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
    Path((id, name)): Path<(String, String)>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response, Failure> {
    let Form(form) = form.map_err(|e| shown.bad_request(e.body_text()))?;
    session::check_csrf(&shown.session, form.get("csrf").map(String::as_str)).map_err(|r| {
        shown.failure(
            StatusCode::FORBIDDEN,
            format!("Refused: {r}. Nothing was changed."),
        )
    })?;
    let loaded = load(&console, &id, None)
        .await
        .map_err(|e| not_found(&shown, e))?;
    let signal = loaded
        .program
        .workflows
        .iter()
        .find(|w| w.name == loaded.record.workflow)
        .and_then(|w| w.signals.iter().find(|s| s.name == name));
    let Some(signal) = signal else {
        return Err(shown.failure(
            StatusCode::NOT_FOUND,
            format!(
                "Workflow {} has no signal {name:?}.",
                loaded.record.workflow
            ),
        ));
    };
    let refuse = |message: String| {
        let html = render(
            &loaded,
            &shown,
            Some(Notice::Refused(message)),
            Some(&name),
            &form,
        );
        (StatusCode::BAD_REQUEST, Html(html)).into_response()
    };
    let args = match forms::arguments(&loaded.program, signal, &form) {
        Ok(args) => args,
        Err(message) => return Ok(refuse(format!("Signal {name} was not sent: {message}."))),
    };
    match console
        .node
        .send(
            &id,
            Event::Signal {
                name: name.clone(),
                args,
            },
        )
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/instances/{}?done=signal:{}",
            url(&id),
            url(&name)
        ))
        .into_response()),
        Err(e) => Ok(refuse(format!(
            "Signal {name} was not sent: {}.",
            super::super::ApiError::from(e).message
        ))),
    }
}

pub async fn confirm_cancel(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let record = console
        .node
        .instance(&id)
        .await
        .map_err(|e| not_found(&shown, e))?;
    let body = format!(
        "<p class=\"crumbs\"><a href=\"/\">Instances</a> › <a href=\"/instances/{u}\">{w} {i}</a></p>\n\
         <h1>Cancel {w} <code class=\"id\">{i}</code>?</h1>\n\
         <p>The instance is {s}. Cancelling it ends it for good: no rule fires after, its calls' \
         results are discarded, and it takes no more signals.</p>\n\
         <form method=\"post\" action=\"/instances/{u}/cancel\" class=\"confirm\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{c}\">\
         <button type=\"submit\" class=\"danger\" autofocus>Yes, cancel the instance</button> \
         <a href=\"/instances/{u}\">No, keep it</a></form>\n",
        u = url(&record.id),
        w = esc(&record.workflow),
        i = esc(&record.id),
        s = layout::status(record.status),
        c = esc(&shown.session.csrf),
    );
    let html = layout::page(
        "Cancel an instance",
        Section::Instances,
        Some(&shown.session),
        shown.login,
        &body,
    );
    Ok(Html(html).into_response())
}

pub async fn cancel(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
    Path(id): Path<String>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Result<Response, Failure> {
    let Form(form) = form.map_err(|e| shown.bad_request(e.body_text()))?;
    session::check_csrf(&shown.session, form.get("csrf").map(String::as_str)).map_err(|r| {
        shown.failure(
            StatusCode::FORBIDDEN,
            format!("Refused: {r}. Nothing was changed."),
        )
    })?;
    match console.node.send(&id, Event::Cancel).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/instances/{}?done=cancelled", url(&id))).into_response())
        }
        Err(NodeError::UnknownInstance(id)) => {
            Err(not_found(&shown, NodeError::UnknownInstance(id)))
        }
        Err(e) => {
            let error = super::super::ApiError::from(e);
            Err(shown.failure(
                error.status,
                format!("The instance was not cancelled: {}.", error.message),
            ))
        }
    }
}
