//! JSON values (facts, inputs, outputs, arguments) as collapsible HTML trees, every
//! string and key escaped.

use super::html::esc;
use serde_json::Value as Json;
use std::fmt::Write;

/// The most items of one list or object shown; the rest are counted.
const MAX_ITEMS: usize = 200;

/// `value` as a tree: objects and lists in `<details>` (open for the first `open`
/// levels), scalars as code.
pub fn tree(value: &Json, open: usize) -> String {
    let mut out = String::new();
    node(&mut out, value, 0, open);
    out
}

fn node(out: &mut String, value: &Json, depth: usize, open: usize) {
    match value {
        Json::Null => out.push_str("<code class=\"j-null\">null</code>"),
        Json::Bool(b) => {
            let _ = write!(out, "<code class=\"j-bool\">{b}</code>");
        }
        Json::Number(n) => {
            let _ = write!(out, "<code class=\"j-num\">{n}</code>");
        }
        Json::String(s) => {
            let _ = write!(
                out,
                "<code class=\"j-str\">{}</code>",
                esc(Json::String(s.clone()))
            );
        }
        Json::Array(items) if items.is_empty() => out.push_str("<code>[]</code>"),
        Json::Object(fields) if fields.is_empty() => out.push_str("<code>[:]</code>"),
        Json::Array(items) => {
            let _ = write!(
                out,
                "<details{}><summary>list of {}</summary><ol start=\"0\">",
                if depth < open { " open" } else { "" },
                items.len()
            );
            for item in items.iter().take(MAX_ITEMS) {
                out.push_str("<li>");
                node(out, item, depth + 1, open);
                out.push_str("</li>");
            }
            more(out, items.len());
            out.push_str("</ol></details>");
        }
        Json::Object(fields) => {
            let _ = write!(
                out,
                "<details{}><summary>{} {}</summary><ul>",
                if depth < open { " open" } else { "" },
                fields.len(),
                if fields.len() == 1 { "field" } else { "fields" }
            );
            for (key, item) in fields.iter().take(MAX_ITEMS) {
                let _ = write!(out, "<li><span class=\"key\">{}</span> ", esc(key));
                node(out, item, depth + 1, open);
                out.push_str("</li>");
            }
            more(out, fields.len());
            out.push_str("</ul></details>");
        }
    }
}

fn more(out: &mut String, len: usize) {
    if len > MAX_ITEMS {
        let _ = write!(
            out,
            "<li class=\"muted\">… {} more (the API has them all)</li>",
            len - MAX_ITEMS
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_strings_and_keys_are_text() {
        let html = tree(
            &json!({"<img src=x onerror=alert(1)>": "<script>alert(1)</script>"}),
            2,
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn nesting_is_collapsible_and_long_lists_are_cut() {
        let html = tree(&json!({"a": {"b": [1, 2]}}), 1);
        assert!(
            html.starts_with("<details open><summary>1 field</summary>"),
            "{html}"
        );
        assert!(
            html.contains("<details><summary>1 field</summary>"),
            "{html}"
        );
        let long: Vec<i64> = (0..250).collect();
        let html = tree(&json!(long), 1);
        assert_eq!(html.matches("<li>").count(), MAX_ITEMS);
        assert!(html.contains("… 50 more"), "{html}");
    }
}
