//! The instances page (`/`): counts per status, a filter by workflow, status and
//! creation time, a search by id, and the instances newest first, a page at a time.

use super::html::{esc, url};
use super::layout::{self, Section};
use super::{Console, Failure, Shown};
use crate::engine::Status;
use crate::store::{InstanceFilter, InstanceSummary};
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::fmt::Write;

/// Rows on one page.
pub const PAGE: usize = 50;

/// The page's query: every field may be empty (a form sends them all).
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    workflow: Option<String>,
    status: Option<String>,
    id: Option<String>,
    from: Option<String>,
    until: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A time from a `datetime-local` field (`2026-12-04T20:00`, read as UTC) or RFC 3339.
pub fn parse_when(text: &str) -> Option<i64> {
    cosmos_ir::parse_time(text)
        .or_else(|| cosmos_ir::parse_time(&format!("{text}Z")))
        .or_else(|| cosmos_ir::parse_time(&format!("{text}:00Z")))
}

pub async fn page(
    State(console): State<Console>,
    Extension(shown): Extension<Shown>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Failure> {
    let Query(query) = query.map_err(|e| shown.bad_request(e.body_text()))?;
    let status = match given(&query.status) {
        Some(s) => Some(
            s.to_ascii_uppercase()
                .parse::<Status>()
                .map_err(|e| shown.bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let mut times = [None, None];
    for (slot, field, name) in [(0, &query.from, "from"), (1, &query.until, "until")] {
        if let Some(text) = given(field) {
            times[slot] = Some(parse_when(text).ok_or_else(|| {
                shown.bad_request(format!(
                    "`{name}` must be a time like 2026-12-04T20:00 (UTC), not {text:?}"
                ))
            })?);
        }
    }
    let workflow = given(&query.workflow).map(str::to_string);
    let search = given(&query.id).map(str::to_string);
    // A whole id goes straight to its instance.
    if let Some(id) = &search
        && console.node.instance(id).await.is_ok()
    {
        return Ok(Redirect::to(&format!("/instances/{}", url(id))).into_response());
    }
    let newer = given(&query.after).map(str::to_string);
    let filter = InstanceFilter {
        workflow: workflow.clone(),
        status,
        limit: PAGE,
        after: newer.clone(),
        before: given(&query.before).map(str::to_string),
        id_prefix: search.clone(),
        created_from: times[0],
        created_until: times[1],
        newest_first: newer.is_none(),
    };
    let counted = workflow.clone();
    let (mut rows, counts) = console
        .read(move |store| {
            Ok((
                store.list_instances(&filter)?,
                store.count_instances(counted.as_deref())?,
            ))
        })
        .await
        .map_err(|e| shown.failed(e))?;
    if newer.is_some() {
        rows.reverse();
    }

    let mut body = String::new();
    body.push_str("<h1>Instances</h1>\n");
    counts_html(&mut body, &counts, workflow.as_deref(), status);
    filter_form(&mut body, &console, &query, workflow.as_deref(), status);
    list_html(&mut body, &rows, &query);
    let html = layout::page(
        "Instances",
        Section::Instances,
        Some(&shown.session),
        shown.login,
        &body,
    );
    Ok(axum::response::Html(html).into_response())
}

fn counts_html(
    out: &mut String,
    counts: &[(Status, u64)],
    workflow: Option<&str>,
    current: Option<Status>,
) {
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    let base = match workflow {
        Some(w) => format!("/?workflow={}", url(w)),
        None => "/?".to_string(),
    };
    out.push_str("<section id=\"counts\" data-live aria-label=\"instances by status\"><ul class=\"counts\">\n");
    let _ = writeln!(
        out,
        "<li><a href=\"{}\"{}>all <strong>{total}</strong></a></li>",
        esc(&base),
        if current.is_none() {
            " aria-current=\"true\""
        } else {
            ""
        }
    );
    for &status in Status::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n);
        let sep = if base.ends_with('?') { "" } else { "&" };
        let _ = writeln!(
            out,
            "<li><a class=\"{}\" href=\"{}{sep}status={}\"{}>{} <strong>{n}</strong></a></li>",
            status.as_str().to_ascii_lowercase(),
            esc(&base),
            status.as_str(),
            if current == Some(status) {
                " aria-current=\"true\""
            } else {
                ""
            },
            status.as_str().to_ascii_lowercase()
        );
    }
    out.push_str("</ul></section>\n");
}

fn filter_form(
    out: &mut String,
    console: &Console,
    query: &ListQuery,
    workflow: Option<&str>,
    status: Option<Status>,
) {
    out.push_str("<form class=\"filters\" method=\"get\" action=\"/\" role=\"search\">\n");
    let _ = writeln!(
        out,
        "<label>id <input type=\"search\" name=\"id\" id=\"search\" placeholder=\"an id or its start\" value=\"{}\"></label>",
        esc(given(&query.id).unwrap_or(""))
    );
    out.push_str("<label>workflow <select name=\"workflow\"><option value=\"\">any</option>");
    for name in console.workflow_names() {
        let selected = if Some(name.as_str()) == workflow {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option{selected}>{}</option>", esc(&name));
    }
    out.push_str(
        "</select></label>\n<label>status <select name=\"status\"><option value=\"\">any</option>",
    );
    for &s in Status::ALL {
        let selected = if Some(s) == status { " selected" } else { "" };
        let _ = write!(out, "<option{selected}>{}</option>", s.as_str());
    }
    out.push_str("</select></label>\n");
    for (name, label, value) in [
        ("from", "created from", &query.from),
        ("until", "until", &query.until),
    ] {
        let _ = writeln!(
            out,
            "<label>{label} <input type=\"datetime-local\" name=\"{name}\" value=\"{}\"> <small>UTC</small></label>",
            esc(given(value).unwrap_or(""))
        );
    }
    out.push_str("<button type=\"submit\">Filter</button> <a href=\"/\">clear</a>\n</form>\n");
}

/// The query string of this page with `before`/`after` replaced.
fn paged(query: &ListQuery, key: &str, id: &str) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("workflow", &query.workflow),
        ("status", &query.status),
        ("id", &query.id),
        ("from", &query.from),
        ("until", &query.until),
    ] {
        if let Some(v) = given(value) {
            parts.push(format!("{name}={}", url(v)));
        }
    }
    if !id.is_empty() {
        parts.push(format!("{key}={}", url(id)));
    }
    format!("/?{}", parts.join("&"))
}

fn list_html(out: &mut String, rows: &[InstanceSummary], query: &ListQuery) {
    out.push_str("<section id=\"list\" data-live aria-label=\"instances\">\n");
    if rows.is_empty() {
        out.push_str("<p class=\"empty\">No instance matches.</p>\n");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table class=\"rows\"><thead><tr><th>id</th><th>workflow</th>\
             <th>status</th><th>created</th><th>updated</th></tr></thead><tbody>\n",
        );
        for row in rows {
            let _ = writeln!(
                out,
                "<tr data-row><td><a class=\"id\" href=\"/instances/{}\">{}</a></td>\
                 <td><a href=\"/workflows/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                url(&row.id),
                esc(&row.id),
                url(&row.workflow),
                esc(&row.workflow),
                layout::status(row.status),
                layout::time(row.created_at),
                layout::time(row.updated_at)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("<nav class=\"pager\" aria-label=\"pages\">");
    let paging = given(&query.before).is_some() || given(&query.after).is_some();
    if paging {
        let _ = write!(out, "<a href=\"{}\">newest</a> ", esc(paged(query, "", "")));
        if let Some(first) = rows.first() {
            let _ = write!(
                out,
                "<a href=\"{}\" rel=\"prev\">← newer</a> ",
                esc(paged(query, "after", &first.id))
            );
        }
    }
    if rows.len() == PAGE
        && let Some(last) = rows.last()
    {
        let _ = write!(
            out,
            "<a href=\"{}\" rel=\"next\">older →</a>",
            esc(paged(query, "before", &last.id))
        );
    }
    out.push_str("</nav>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_utc() {
        assert_eq!(parse_when("1970-01-01T00:01"), Some(60_000));
        assert_eq!(parse_when("1970-01-01T00:00:02Z"), Some(2_000));
        assert_eq!(parse_when("yesterday"), None);
    }

    #[test]
    fn paging_links_keep_the_filters() {
        let query = ListQuery {
            workflow: Some("Transcode".into()),
            status: Some("".into()),
            id: Some("01&9".into()),
            ..ListQuery::default()
        };
        assert_eq!(
            paged(&query, "before", "x y"),
            "/?workflow=Transcode&id=01%269&before=x%20y"
        );
    }
}
