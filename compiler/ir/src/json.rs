//! Values to and from JSON, exactly following the declared types (docs/language.md,
//! "Crossing to a function process"): `Duration` as integer milliseconds, `Time` as
//! RFC 3339 text, enums by name, records as objects, optionals as the value or `null`.

use crate::value::{CallTarget, Value};
use crate::{Program, Ty};
use serde_json::{Map, Number, Value as Json};

/// A JSON value of the wrong shape for its declared type: where, what was expected,
/// what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}`: expected {expected}, found {found}")]
pub struct ShapeError {
    /// `$` for the root, then `.field` and `[index]`.
    pub path: String,
    pub expected: String,
    pub found: String,
}

/// Converts a value to JSON; the value's own shape decides (records and enums know
/// their declarations).
pub fn to_json(program: &Program, value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Int(n) => Json::from(*n),
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Bool(b) => Json::Bool(*b),
        Value::Str(s) => Json::String(s.clone()),
        Value::Duration(ms) => Json::from(*ms),
        Value::Time(ms) => Json::String(crate::time::format_time(*ms)),
        Value::List(items) => Json::Array(items.iter().map(|i| to_json(program, i)).collect()),
        Value::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Value::Str(s) => s.clone(),
                    other => crate::value::format(program, other),
                };
                out.insert(key, to_json(program, v));
            }
            Json::Object(out)
        }
        Value::Record(id, fields) => {
            let mut out = Map::new();
            if let Some(layout) = program.record(*id) {
                for (field, v) in layout.fields.iter().zip(fields) {
                    out.insert(field.name.clone(), to_json(program, v));
                }
            }
            Json::Object(out)
        }
        Value::Enum(id, variant) => {
            Json::String(crate::value::enum_name(program, *id, *variant).to_string())
        }
        Value::Json(j) => j.clone(),
        Value::Call(call) => {
            let name = match call.target {
                CallTarget::Function(f) => program
                    .functions
                    .get(f.0 as usize)
                    .map_or("?".to_string(), |f| f.name.clone()),
                CallTarget::Sleep => "sleep".to_string(),
                CallTarget::Settle => "settle".to_string(),
            };
            serde_json::json!({ "call": name })
        }
    }
}

fn describe(json: &Json) -> String {
    match json {
        Json::Null => "null".to_string(),
        Json::Bool(b) => format!("`{b}`"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) if s.chars().count() <= 40 => format!("the string {json}"),
        Json::String(_) => "a string".to_string(),
        Json::Array(_) => "an array".to_string(),
        Json::Object(_) => "an object".to_string(),
    }
}

/// Reads a JSON value as a value of type `ty`.
pub fn from_json(program: &Program, ty: &Ty, json: &Json) -> Result<Value, ShapeError> {
    read(program, ty, json, "$")
}

fn read(program: &Program, ty: &Ty, json: &Json, path: &str) -> Result<Value, ShapeError> {
    let wrong = |expected: &str| ShapeError {
        path: path.to_string(),
        expected: expected.to_string(),
        found: describe(json),
    };
    Ok(match (ty, json) {
        (Ty::Optional(_) | Ty::Null | Ty::Json, Json::Null) => Value::Null,
        (Ty::Optional(inner), _) => read(program, inner, json, path)?,
        (Ty::Json, _) => Value::Json(json.clone()),
        (Ty::Int, Json::Number(n)) => {
            Value::Int(n.as_i64().ok_or_else(|| wrong("an integer (Int)"))?)
        }
        (Ty::Int, _) => return Err(wrong("an integer (Int)")),
        (Ty::Float, Json::Number(n)) => {
            Value::Float(n.as_f64().ok_or_else(|| wrong("a number (Float)"))?)
        }
        (Ty::Float, _) => return Err(wrong("a number (Float)")),
        (Ty::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Ty::Bool, _) => return Err(wrong("`true` or `false` (Bool)")),
        (Ty::String, Json::String(s)) => Value::Str(s.clone()),
        (Ty::String, _) => return Err(wrong("a string")),
        (Ty::Duration, Json::Number(n)) => Value::Duration(
            n.as_i64()
                .ok_or_else(|| wrong("integer milliseconds (Duration)"))?,
        ),
        (Ty::Duration, _) => return Err(wrong("integer milliseconds (Duration)")),
        (Ty::Time, Json::String(s)) => {
            Value::Time(crate::time::parse_time(s).ok_or_else(|| wrong("an RFC 3339 time (Time)"))?)
        }
        (Ty::Time, _) => return Err(wrong("an RFC 3339 time (Time)")),
        (Ty::List(element), Json::Array(items)) => Value::List(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| read(program, element, item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::List(_), _) => return Err(wrong("an array")),
        (Ty::Map(key, value), Json::Object(entries)) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key_path = format!("{path}.{k}");
                let k = match &**key {
                    Ty::String => Value::Str(k.clone()),
                    Ty::Int => Value::Int(k.parse().map_err(|_| ShapeError {
                        path: key_path.clone(),
                        expected: "an integer key".to_string(),
                        found: format!("the key {k:?}"),
                    })?),
                    other => read(program, other, &Json::String(k.clone()), &key_path)?,
                };
                out.push((k, read(program, value, v, &key_path)?));
            }
            Value::Map(out)
        }
        (Ty::Map(..), _) => return Err(wrong("an object")),
        (Ty::Enum(id), Json::String(s)) => {
            let layout = program.enum_layout(*id);
            let variants = layout.map(|l| l.variants.as_slice()).unwrap_or_default();
            match variants.iter().position(|v| v == s) {
                Some(i) => Value::Enum(*id, i as u32),
                None => {
                    return Err(wrong(&format!(
                        "one of {} ({})",
                        variants.join(", "),
                        layout.map_or("an enum", |l| l.name.as_str())
                    )));
                }
            }
        }
        (Ty::Enum(_), _) => return Err(wrong("the name of an enum member")),
        (Ty::Record(id), Json::Object(entries)) => {
            let Some(layout) = program.record(*id) else {
                return Err(wrong("a record"));
            };
            let mut fields = Vec::with_capacity(layout.fields.len());
            for field in &layout.fields {
                let field_path = format!("{path}.{}", field.name);
                fields.push(match entries.get(&field.name) {
                    Some(v) => read(program, &field.ty, v, &field_path)?,
                    None => match &field.default {
                        Some(default) => {
                            crate::interp::eval_const(program, default).map_err(|e| ShapeError {
                                path: field_path.clone(),
                                expected: "a default that evaluates".to_string(),
                                found: e.to_string(),
                            })?
                        }
                        None if matches!(field.ty, Ty::Optional(_)) => Value::Null,
                        None => {
                            return Err(ShapeError {
                                path: field_path,
                                expected: format!(
                                    "a field `{}` ({})",
                                    field.name,
                                    ty_name(program, &field.ty)
                                ),
                                found: "nothing".to_string(),
                            });
                        }
                    },
                });
            }
            if let Some(extra) = entries
                .keys()
                .find(|k| !layout.fields.iter().any(|f| &f.name == *k))
            {
                return Err(ShapeError {
                    path: format!("{path}.{extra}"),
                    expected: format!("only the fields of `{}`", layout.name),
                    found: format!("an unknown field `{extra}`"),
                });
            }
            Value::Record(*id, fields)
        }
        (Ty::Record(id), _) => {
            return Err(wrong(&format!(
                "an object ({})",
                program.record(*id).map_or("a record", |l| l.name.as_str())
            )));
        }
        (Ty::Call(_) | Ty::Unit | Ty::Never | Ty::Null, _) => return Err(wrong("no value")),
    })
}

/// A type as Emx writes it, for messages.
pub fn ty_name(program: &Program, ty: &Ty) -> String {
    match ty {
        Ty::Int => "Int".into(),
        Ty::Float => "Float".into(),
        Ty::Bool => "Bool".into(),
        Ty::String => "String".into(),
        Ty::Duration => "Duration".into(),
        Ty::Time => "Time".into(),
        Ty::Json => "Json".into(),
        Ty::List(t) => format!("List<{}>", ty_name(program, t)),
        Ty::Map(k, v) => format!("Map<{}, {}>", ty_name(program, k), ty_name(program, v)),
        Ty::Optional(t) => format!("{}?", ty_name(program, t)),
        Ty::Record(id) => program.record(*id).map_or("?".into(), |r| r.name.clone()),
        Ty::Enum(id) => program
            .enum_layout(*id)
            .map_or("?".into(), |e| e.name.clone()),
        Ty::Call(t) => format!("Call<{}>", ty_name(program, t)),
        Ty::Null => "null".into(),
        Ty::Unit => "no value".into(),
        Ty::Never => "Nothing".into(),
    }
}
