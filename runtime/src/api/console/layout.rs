//! The frame every console page shares: head, navigation, the logout form, and the
//! keyboard help; and the few pieces pages repeat (status badges, times).

use super::html::esc;
use super::session::Session;
use crate::engine::Status;
use std::fmt::Write;

/// The navigation's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Instances,
    Workflows,
    System,
    None,
}

/// A whole page around `body`.
pub fn page(
    title: &str,
    section: Section,
    session: Option<&Session>,
    login: bool,
    body: &str,
) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · Cosmos</title>\n<link rel=\"icon\" href=\"data:,\">\n<link rel=\"stylesheet\" href=\"/console/console.css\">\n",
        esc(title)
    );
    if session.is_some() {
        out.push_str("<script src=\"/console/console.js\" defer></script>\n");
    }
    out.push_str("</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header>\n<nav aria-label=\"sections\">\n<a class=\"brand\" href=\"/\">Cosmos</a>\n");
    if session.is_some() {
        for (section_, href, label, key) in [
            (Section::Instances, "/", "Instances", "i"),
            (Section::Workflows, "/workflows", "Workflows", "w"),
            (Section::System, "/system", "Queues &amp; pools", "s"),
        ] {
            let current = if section_ == section {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<a href=\"{href}\"{current} data-key=\"g {key}\">{label}</a>"
            );
        }
    }
    out.push_str("</nav>\n");
    if let (Some(session), true) = (session, login) {
        let _ = writeln!(
            out,
            "<form method=\"post\" action=\"/logout\" class=\"logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Log out</button></form>",
            esc(&session.csrf)
        );
    }
    let _ = write!(
        out,
        "</header>\n<main id=\"main\" tabindex=\"-1\">\n{body}</main>\n"
    );
    if session.is_some() {
        out.push_str(
            "<footer><p>Keys: <kbd>/</kbd> search · <kbd>j</kbd>/<kbd>k</kbd> move in a list · \
             <kbd>Enter</kbd> open · <kbd>g</kbd> then <kbd>i</kbd>, <kbd>w</kbd>, <kbd>s</kbd> \
             go to a section · <kbd>p</kbd> pause refreshing</p></footer>\n",
        );
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// A status as a badge.
pub fn status(status: Status) -> String {
    format!(
        "<span class=\"badge {}\">{}</span>",
        status.as_str().to_ascii_lowercase(),
        status.as_str()
    )
}

/// A time as the API writes it, in a `<time>` element.
pub fn time(ms: i64) -> String {
    let text = cosmos_ir::format_time(ms);
    format!("<time datetime=\"{}\">{}</time>", esc(&text), esc(&text))
}
