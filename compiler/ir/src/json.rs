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
        Value::Str(s) => Json::String(s.to_string()),
        Value::Duration(ms) => Json::from(*ms),
        Value::Time(ms) => Json::String(crate::time::format_time(*ms)),
        Value::List(items) => Json::Array(items.iter().map(|i| to_json(program, i)).collect()),
        Value::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Value::Str(s) => s.to_string(),
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
                CallTarget::Child(w) => program
                    .workflows
                    .get(w.0 as usize)
                    .map_or("?".to_string(), |w| w.name.clone()),
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

/// How a record treats an object member it does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknown {
    /// Refused: inputs, facts and signal arguments name exactly what they mean.
    Refuse,
    /// Ignored: a function's result may carry more than the program reads (a tool
    /// whose JSON grows keeps working).
    Ignore,
}

/// Reads a JSON value as a value of type `ty`; a record refuses members it does not
/// declare.
pub fn from_json(program: &Program, ty: &Ty, json: &Json) -> Result<Value, ShapeError> {
    read(program, Unknown::Refuse, ty, json, "$")
}

/// Reads an external function's result as a value of type `ty`: as [`from_json`],
/// except that a record ignores members it does not declare (a tolerant reader). A
/// missing required field or a value of the wrong type is still an error naming its
/// path.
pub fn result_from_json(program: &Program, ty: &Ty, json: &Json) -> Result<Value, ShapeError> {
    read(program, Unknown::Ignore, ty, json, "$")
}

fn read(
    program: &Program,
    unknown: Unknown,
    ty: &Ty,
    json: &Json,
    path: &str,
) -> Result<Value, ShapeError> {
    let read = |ty: &Ty, json: &Json, path: &str| read(program, unknown, ty, json, path);
    let wrong = |expected: &str| ShapeError {
        path: path.to_string(),
        expected: expected.to_string(),
        found: describe(json),
    };
    Ok(match (ty, json) {
        (Ty::Optional(_) | Ty::Null | Ty::Json, Json::Null) => Value::Null,
        (Ty::Optional(inner), _) => read(inner, json, path)?,
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
        (Ty::String, Json::String(s)) => Value::Str(s.as_str().into()),
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
                .map(|(i, item)| read(element, item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        (Ty::List(_), _) => return Err(wrong("an array")),
        (Ty::Map(key, value), Json::Object(entries)) => {
            let mut out = crate::value::map_with_room(entries.len());
            for (k, v) in entries {
                let key_path = format!("{path}.{k}");
                let k = match &**key {
                    Ty::String => Value::Str(k.as_str().into()),
                    Ty::Int => Value::Int(k.parse().map_err(|_| ShapeError {
                        path: key_path.clone(),
                        expected: "an integer key".to_string(),
                        found: format!("the key {k:?}"),
                    })?),
                    other => read(other, &Json::String(k.clone()), &key_path)?,
                };
                out.push((k, read(value, v, &key_path)?));
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
                    Some(v) => read(&field.ty, v, &field_path)?,
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
            if unknown == Unknown::Refuse
                && let Some(extra) = entries
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FieldLayout, RecordId, RecordLayout};
    use serde_json::json;

    /// `type Rendition { height: Int, label: String? }` and
    /// `type Manifest { renditions: List<Rendition> }`.
    fn program() -> Program {
        let field = |name: &str, ty: Ty| FieldLayout {
            name: name.to_string(),
            ty,
            default: None,
        };
        Program {
            records: vec![
                RecordLayout {
                    module: "main".to_string(),
                    name: "Rendition".to_string(),
                    fields: vec![
                        field("height", Ty::Int),
                        field("label", Ty::Optional(Box::new(Ty::String))),
                    ],
                },
                RecordLayout {
                    module: "main".to_string(),
                    name: "Manifest".to_string(),
                    fields: vec![field(
                        "renditions",
                        Ty::List(Box::new(Ty::Record(RecordId(0)))),
                    )],
                },
            ],
            ..Program::default()
        }
    }

    const MANIFEST: Ty = Ty::Record(RecordId(1));

    #[test]
    fn results_ignore_members_their_records_do_not_declare() {
        let program = program();
        let grown = json!({
            "renditions": [{"height": 720, "label": "720p", "codec": "h264"}],
            "tool_version": "2.1",
        });
        let value = result_from_json(&program, &MANIFEST, &grown).unwrap();
        assert_eq!(
            to_json(&program, &value),
            json!({"renditions": [{"height": 720, "label": "720p"}]})
        );
        // Inputs, facts and signal arguments stay strict.
        let error = from_json(&program, &MANIFEST, &grown).unwrap_err();
        assert_eq!(error.path, "$.renditions[0].codec");
        assert_eq!(error.found, "an unknown field `codec`");
    }

    #[test]
    fn results_still_need_every_required_field_and_the_right_types() {
        let program = program();
        let missing = json!({"renditions": [{"height": 1080}, {"label": "x", "extra": 1}]});
        let error = result_from_json(&program, &MANIFEST, &missing).unwrap_err();
        assert_eq!(error.path, "$.renditions[1].height");
        assert_eq!(error.found, "nothing");
        let wrong = json!({"renditions": [{"height": 1}, {"height": 2}, {"height": "720"}]});
        let error = result_from_json(&program, &MANIFEST, &wrong).unwrap_err();
        assert_eq!(
            error.to_string(),
            "at `$.renditions[2].height`: expected an integer (Int), found the string \"720\""
        );
        // An optional field left out is null, whatever else the object carries.
        let value = result_from_json(
            &program,
            &Ty::Record(RecordId(0)),
            &json!({"height": 1, "x": 2}),
        )
        .unwrap();
        assert_eq!(
            value,
            Value::Record(RecordId(0), vec![Value::Int(1), Value::Null])
        );
    }
}
