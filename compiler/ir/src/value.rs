//! Run-time values of the reference interpreter, with the language's value semantics:
//! a Rust `clone` is an Emx copy, `==` is structural, maps keep insertion order, and
//! every value formats in interpolation one documented way (docs/language.md,
//! "Formatting values").

use crate::{EnumId, FunctionId, Program, RecordId};
use serde::{Deserialize, Serialize};
pub use smol_str::SmolStr;
use std::cmp::Ordering;
use std::fmt::Write;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Up to 23 bytes held inline, longer strings shared: a copy is a copy of 24
    /// bytes or a reference count, never an allocation.
    Str(SmolStr),
    /// Milliseconds.
    Duration(i64),
    /// Milliseconds since the Unix epoch.
    Time(i64),
    List(Vec<Value>),
    /// Entries in insertion order; keys are unique.
    Map(Vec<(Value, Value)>),
    /// Fields in layout order.
    Record(RecordId, Vec<Value>),
    Enum(EnumId, u32),
    Json(serde_json::Value),
    Call(PendingCall),
}

/// A call an action asks the runtime to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingCall {
    pub target: CallTarget,
    /// In parameter order.
    pub args: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallTarget {
    Function(FunctionId),
    /// A child instance of a workflow; its arguments are the inputs, in layout order.
    Child(crate::WorkflowId),
    /// `sleep(d)`; its one argument is the duration.
    Sleep,
    /// `settle(calls)`; its one argument is the list of calls.
    Settle,
}

/// A copy; a map's copy keeps room to grow ([`map_with_room`]), as a hash map's does.
impl Clone for Value {
    fn clone(&self) -> Self {
        match self {
            Value::Null => Value::Null,
            Value::Int(n) => Value::Int(*n),
            Value::Float(f) => Value::Float(*f),
            Value::Bool(b) => Value::Bool(*b),
            Value::Str(s) => Value::Str(s.clone()),
            Value::Duration(ms) => Value::Duration(*ms),
            Value::Time(ms) => Value::Time(*ms),
            Value::List(items) => Value::List(items.clone()),
            Value::Map(entries) => {
                let mut copy = map_with_room(entries.len());
                copy.extend(entries.iter().cloned());
                Value::Map(copy)
            }
            Value::Record(id, fields) => Value::Record(*id, fields.clone()),
            Value::Enum(id, variant) => Value::Enum(*id, *variant),
            Value::Json(json) => Value::Json(json.clone()),
            Value::Call(call) => Value::Call(call.clone()),
        }
    }

    /// A string copied over a string reuses nothing but skips the move of a whole
    /// value; everything else is `*self = source.clone()`.
    fn clone_from(&mut self, source: &Self) {
        match (&mut *self, source) {
            (Value::Str(to), Value::Str(from)) => to.clone_from(from),
            _ => *self = source.clone(),
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// Structural equality: lists element by element, maps as sets of entries, records
/// field by field; an `Int` equals the `Float` of the same number.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| map_get(y, k).is_some_and(|other| equal(v, other)))
        }
        (Value::Record(r, x), Value::Record(s, y)) => {
            r == s && x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        // A `Json` value (a test's `output`) against a value written in Emx: compare
        // the JSON the Emx value would become, where that needs no declarations.
        (Value::Json(json), other) | (other, Value::Json(json)) => {
            plain_json(other).is_some_and(|converted| json_equal(json, &converted))
        }
        _ => a == b,
    }
}

/// The JSON of a value built only from scalars, strings, durations, lists and
/// string-keyed maps (records, enums and times need the program; see `json::to_json`).
fn plain_json(value: &Value) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match value {
        Value::Null => J::Null,
        Value::Int(i) | Value::Duration(i) => J::from(*i),
        Value::Float(f) => J::from(*f),
        Value::Bool(b) => J::Bool(*b),
        Value::Str(s) => J::String(s.to_string()),
        Value::Json(json) => json.clone(),
        Value::List(items) => J::Array(items.iter().map(plain_json).collect::<Option<_>>()?),
        Value::Map(entries) => {
            let mut object = serde_json::Map::new();
            for (key, value) in entries {
                let Value::Str(key) = key else {
                    return None;
                };
                object.insert(key.to_string(), plain_json(value)?);
            }
            J::Object(object)
        }
        Value::Time(_) | Value::Record(..) | Value::Enum(..) | Value::Call(_) => return None,
    })
}

/// JSON equality where an integer equals the float of the same number.
fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|other| json_equal(v, other)))
        }
        _ => a == b,
    }
}

/// The order of `<`, `sort`, `min`, `max` and `sortBy`: numbers (an `Int` against a
/// `Float` compares as numbers), strings by code point, durations, times. `None` for
/// values without an order (the checker rules them out).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y))
        | (Value::Duration(x), Value::Duration(y))
        | (Value::Time(x), Value::Time(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Enum(e, x), Value::Enum(f, y)) if e == f => Some(x.cmp(y)),
        _ => None,
    }
}

/// The value of `key` in a map's entries.
pub fn map_get<'a>(entries: &'a [(Value, Value)], key: &Value) -> Option<&'a Value> {
    entries.iter().find(|(k, _)| equal(k, key)).map(|(_, v)| v)
}

/// Room for a map of `len` entries read in (from JSON, from the store) and the few a
/// reaction adds next, as a hash map keeps: up to 3 entries in room for 4, then the
/// next power of two above the entries. An empty map allocates nothing.
pub fn map_with_room(len: usize) -> Vec<(Value, Value)> {
    if len == 0 {
        Vec::new()
    } else {
        Vec::with_capacity((len + 1).next_power_of_two().max(4))
    }
}

/// Inserts or replaces, keeping the first insertion's position.
pub fn map_put(entries: &mut Vec<(Value, Value)>, key: Value, value: Value) {
    match entries.iter_mut().find(|(k, _)| equal(k, &key)) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

/// Formats a value as `"${value}"` does.
pub fn format(program: &Program, value: &Value) -> String {
    let mut out = String::new();
    format_into(program, value, &mut out);
    out
}

fn format_into(program: &Program, value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Str(s) => out.push_str(s),
        Value::Duration(ms) => out.push_str(&format_duration(*ms)),
        Value::Time(ms) => out.push_str(&crate::time::format_time(*ms)),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_into(program, item, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            if entries.is_empty() {
                out.push_str("[:]");
                return;
            }
            out.push('[');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                format_into(program, k, out);
                out.push_str(": ");
                format_into(program, v, out);
            }
            out.push(']');
        }
        Value::Record(id, fields) => {
            let layout = program.record(*id);
            out.push_str(layout.map_or("?", |l| l.name.as_str()));
            out.push('(');
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let name = layout
                    .and_then(|l| l.fields.get(i))
                    .map_or("?", |f| f.name.as_str());
                out.push_str(name);
                out.push_str(": ");
                format_into(program, field, out);
            }
            out.push(')');
        }
        Value::Enum(id, variant) => out.push_str(enum_name(program, *id, *variant)),
        Value::Json(json) => out.push_str(&json.to_string()),
        Value::Call(call) => {
            let name = match call.target {
                CallTarget::Function(f) => program
                    .functions
                    .get(f.0 as usize)
                    .map_or("?", |f| f.name.as_str()),
                CallTarget::Child(w) => program
                    .workflows
                    .get(w.0 as usize)
                    .map_or("?", |w| w.name.as_str()),
                CallTarget::Sleep => "sleep",
                CallTarget::Settle => "settle",
            };
            out.push_str("<call ");
            out.push_str(name);
            out.push('>');
        }
    }
}

/// The name of an enum member.
pub fn enum_name(program: &Program, id: EnumId, variant: u32) -> &str {
    program
        .enum_layout(id)
        .and_then(|e| e.variants.get(variant as usize))
        .map_or("?", String::as_str)
}

/// Floats: the shortest text that reads back as the same number, with `.0` on whole
/// numbers; `NaN`, `Infinity`, `-Infinity`.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        format!("{f:?}")
    }
}

/// Durations: in the largest unit that divides them exactly, written as the unit's
/// suffix: `2h`, `90min`, `1500ms`, `0s`.
pub fn format_duration(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "min"),
        (1_000, "s"),
    ];
    if ms == 0 {
        return "0s".to_string();
    }
    for (size, suffix) in UNITS {
        if ms % size == 0 {
            return format!("{}{suffix}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_the_largest_exact_unit() {
        let cases = [
            (0, "0s"),
            (1_500, "1500ms"),
            (90_000, "90s"),
            (5_400_000, "90min"),
            (7_200_000, "2h"),
            (-86_400_000, "-1d"),
        ];
        for (ms, text) in cases {
            assert_eq!(format_duration(ms), text);
        }
    }

    /// A string of up to 23 bytes is held in the value, which stays five words, so
    /// that a copy of it (a constant assigned, a key put) allocates nothing.
    #[test]
    fn short_strings_are_held_in_the_value() {
        assert_eq!(std::mem::size_of::<Value>(), 40);
        let short = Value::Str("twenty-three bytes long".into());
        let long = Value::Str("twenty-four bytes long!!".into());
        let (Value::Str(s), Value::Str(l)) = (short.clone(), long.clone()) else {
            unreachable!()
        };
        assert!(!s.is_heap_allocated());
        assert!(l.is_heap_allocated());
        assert_eq!((s.len(), l.len()), (23, 24));
        assert!(equal(&long, &Value::Str(l)));
    }

    /// Maps read in and maps copied keep room for the entries a reaction puts next,
    /// as a hash map does; an empty map allocates nothing.
    #[test]
    fn maps_read_or_copied_have_room_to_grow() {
        assert_eq!(map_with_room(0).capacity(), 0);
        for (len, room) in [(1, 4), (3, 4), (4, 8), (7, 8), (8, 16), (1000, 1024)] {
            assert_eq!(map_with_room(len).capacity(), room, "{len} entries");
        }
        let entries: Vec<(Value, Value)> = (0..3)
            .map(|i| (Value::Str(format!("k{i}").into()), Value::Int(i)))
            .collect();
        assert_eq!(entries.capacity(), 3);
        let Value::Map(copy) = Value::Map(entries.clone()).clone() else {
            unreachable!()
        };
        assert_eq!(copy, entries);
        assert_eq!(copy.capacity(), 4);
    }

    #[test]
    fn floats_read_back() {
        assert_eq!(format_float(3.0), "3.0");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn json_equals_the_emx_value_it_would_become() {
        let output = Value::Json(serde_json::json!({"labels": ["1080p", "720p"], "bytes": 40}));
        let written = Value::Map(vec![
            (Value::Str("bytes".into()), Value::Int(40)),
            (
                Value::Str("labels".into()),
                Value::List(vec![Value::Str("1080p".into()), Value::Str("720p".into())]),
            ),
        ]);
        assert!(equal(&output, &written));
        assert!(equal(&written, &output));
        let other = Value::Map(vec![(Value::Str("bytes".into()), Value::Int(41))]);
        assert!(!equal(&output, &other));
        assert!(equal(&Value::Json(serde_json::json!(2.0)), &Value::Int(2)));
    }

    #[test]
    fn equality_is_structural_and_maps_ignore_order() {
        let a = Value::Map(vec![
            (Value::Str("a".into()), Value::Int(1)),
            (Value::Str("b".into()), Value::Int(2)),
        ]);
        let b = Value::Map(vec![
            (Value::Str("b".into()), Value::Int(2)),
            (Value::Str("a".into()), Value::Int(1)),
        ]);
        assert!(equal(&a, &b));
        assert!(equal(&Value::Int(1), &Value::Float(1.0)));
        assert!(!equal(
            &Value::List(vec![Value::Int(1)]),
            &Value::List(vec![])
        ));
        let mut m = Vec::new();
        map_put(&mut m, Value::Int(1), Value::Int(1));
        map_put(&mut m, Value::Int(2), Value::Int(2));
        map_put(&mut m, Value::Int(1), Value::Int(3));
        assert_eq!(
            m,
            vec![
                (Value::Int(1), Value::Int(3)),
                (Value::Int(2), Value::Int(2))
            ]
        );
    }
}
