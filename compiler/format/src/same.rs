//! "The same program": two texts parse to the same tree once spans are erased, and
//! hold the same comments in the same order. `format` checks its output with it,
//! and the tests use it on every example file.

use cosmos_syntax::ast::{CommentKind, Module};
use serde_json::Value;

/// Object keys whose values are spans.
const SPAN_KEYS: [&str; 4] = ["span", "keyword", "op_span", "body_span"];

/// The module's declarations as JSON with every span erased.
pub fn erased(module: &Module) -> Value {
    let mut value = serde_json::to_value(&module.items).unwrap_or(Value::Null);
    erase(&mut value);
    value
}

fn erase(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if SPAN_KEYS.contains(&key.as_str()) {
                    *inner = Value::Null;
                } else {
                    erase(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(erase),
        _ => {}
    }
}

/// The texts of the module's comments, in order. A line comment's trailing
/// whitespace is not part of it.
pub fn comment_texts(text: &str, module: &Module) -> Vec<String> {
    module
        .comments
        .iter()
        .map(|c| {
            let raw = text.get(c.span.range()).unwrap_or("");
            match c.kind {
                CommentKind::Line => raw.trim_end().to_string(),
                _ => raw.to_string(),
            }
        })
        .collect()
}

/// `Ok` when `after` parses without errors to the same tree and comments as `before`;
/// otherwise says what differs.
pub fn check(before: &str, after: &str) -> Result<(), String> {
    let (old, _) = cosmos_syntax::parse(before);
    let (new, errors) = cosmos_syntax::parse(after);
    if let Some(error) = errors.first() {
        return Err(format!(
            "the output does not parse at byte {}: {}",
            error.span.start,
            error.message()
        ));
    }
    if erased(&old) != erased(&new) {
        return Err("the output's syntax tree differs from the input's".to_string());
    }
    if comment_texts(before, &old) != comment_texts(after, &new) {
        return Err("the output's comments differ from the input's".to_string());
    }
    Ok(())
}

/// The spans of the nodes that can be printed as written: declarations, members,
/// clauses, settings, fields, types, statements and expressions. Every node with
/// both a `kind` and a `span`, or a `ty` and a `span`, is one of those.
pub(crate) fn node_spans(module: &Module) -> Vec<(u32, u32)> {
    let value = serde_json::to_value(&module.items).unwrap_or(Value::Null);
    let mut out = Vec::new();
    collect(&value, &mut out);
    out
}

fn collect(value: &Value, out: &mut Vec<(u32, u32)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("kind") || map.contains_key("ty") {
                let span = map.get("span");
                let start = span.and_then(|s| s.get("start")).and_then(Value::as_u64);
                let end = span.and_then(|s| s.get("end")).and_then(Value::as_u64);
                if let (Some(start), Some(end)) = (start, end) {
                    let start = u32::try_from(start).unwrap_or(u32::MAX);
                    let end = u32::try_from(end).unwrap_or(u32::MAX);
                    out.push((start, end));
                }
            }
            map.values().for_each(|inner| collect(inner, out));
        }
        Value::Array(items) => items.iter().for_each(|inner| collect(inner, out)),
        _ => {}
    }
}
