//! The form of a signal, generated from its parameters' types, and the JSON arguments
//! a submitted form stands for. The browser checks what HTML can say (required fields,
//! whole numbers, a choice among an enum's values, JSON text through the console's
//! script); the server checks everything again and names the field that is wrong.

use super::html::esc;
use cosmos_ir::json::ty_name;
use cosmos_ir::{Program, SignalIr, Ty};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::fmt::Write;

/// The prefix of an argument's field name in a signal form.
const ARG: &str = "arg.";

/// A signal's parameters: names and types, in order.
pub fn params(signal: &SignalIr) -> Vec<(String, Ty)> {
    let handler = &signal.handler;
    handler
        .slots
        .iter()
        .take(handler.params as usize)
        .map(|s| (s.name.clone(), s.ty.clone()))
        .collect()
}

/// The form that sends `signal` to instance `id`, with `values` (a refused
/// submission's) filled in.
pub fn signal_form(
    program: &Program,
    id: &str,
    signal: &SignalIr,
    csrf: &str,
    values: &HashMap<String, String>,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<form class=\"signal\" method=\"post\" action=\"/instances/{}/signals/{}\" \
         data-signal=\"{}\">\n<input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <fieldset><legend>signal <code>{}</code></legend>\n",
        super::html::url(id),
        super::html::url(&signal.name),
        esc(&signal.name),
        esc(csrf),
        esc(&signal.name)
    );
    let params = params(signal);
    if params.is_empty() {
        out.push_str("<p class=\"muted\">This signal takes no arguments.</p>\n");
    }
    for (name, ty) in &params {
        let field = format!("{ARG}{name}");
        let input_id = format!("sig-{}-{}", signal.name, name);
        let value = values.get(&field).map(String::as_str).unwrap_or("");
        let (inner, optional) = match ty {
            Ty::Optional(inner) => (inner.as_ref(), true),
            other => (other, false),
        };
        let required = if optional { "" } else { " required" };
        let _ = writeln!(
            out,
            "<label for=\"{}\"><code>{}</code> <span class=\"type\">{}</span></label>",
            esc(&input_id),
            esc(name),
            esc(ty_name(program, ty))
        );
        let common = format!(
            "id=\"{}\" name=\"{}\"{required}",
            esc(&input_id),
            esc(&field)
        );
        match inner {
            Ty::Int | Ty::Duration => {
                let _ = write!(
                    out,
                    "<input type=\"number\" step=\"1\" inputmode=\"numeric\" {common} value=\"{}\">",
                    esc(value)
                );
                if matches!(inner, Ty::Duration) {
                    out.push_str("<small>milliseconds</small>");
                }
            }
            Ty::Float => {
                let _ = write!(
                    out,
                    "<input type=\"number\" step=\"any\" {common} value=\"{}\">",
                    esc(value)
                );
            }
            Ty::Bool => {
                choices(&mut out, &common, optional, &["true", "false"], value);
            }
            Ty::Enum(id) => {
                let variants: Vec<&str> = program
                    .enum_layout(*id)
                    .map(|e| e.variants.iter().map(String::as_str).collect())
                    .unwrap_or_default();
                choices(&mut out, &common, optional, &variants, value);
            }
            Ty::String => {
                let _ = write!(
                    out,
                    "<input type=\"text\" {common} value=\"{}\">",
                    esc(value)
                );
            }
            Ty::Time => {
                let _ = write!(
                    out,
                    "<input type=\"text\" {common} placeholder=\"2026-01-31T12:00:00Z\" \
                     pattern=\"\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}(:\\d{{2}}(\\.\\d+)?)?(Z|[+\\-]\\d{{2}}:\\d{{2}})\" \
                     value=\"{}\">",
                    esc(value)
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "<textarea {common} data-json rows=\"3\" placeholder=\"JSON\">{}</textarea>",
                    esc(value)
                );
            }
        }
        out.push('\n');
    }
    let _ = write!(
        out,
        "<button type=\"submit\">Send {}</button>\n</fieldset>\n</form>\n",
        esc(&signal.name)
    );
    out
}

/// A `<select>` of `options`, with an empty choice (null) when optional.
fn choices(out: &mut String, common: &str, optional: bool, options: &[&str], value: &str) {
    let _ = write!(out, "<select {common}>");
    if optional {
        out.push_str("<option value=\"\">null</option>");
    } else {
        out.push_str("<option value=\"\" disabled");
        if value.is_empty() {
            out.push_str(" selected");
        }
        out.push_str(">choose…</option>");
    }
    for option in options {
        let selected = if *option == value { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{selected}>{}</option>",
            esc(option),
            esc(option)
        );
    }
    out.push_str("</select>");
}

/// The arguments a submitted signal form stands for, or a message naming the field
/// that is wrong.
pub fn arguments(
    program: &Program,
    signal: &SignalIr,
    fields: &HashMap<String, String>,
) -> Result<Json, String> {
    let mut args = Map::new();
    for (name, ty) in params(signal) {
        let text = fields
            .get(&format!("{ARG}{name}"))
            .map(String::as_str)
            .unwrap_or("");
        let value = argument(program, &ty, text).map_err(|why| format!("`{name}`: {why}"))?;
        args.insert(name, value);
    }
    Ok(Json::Object(args))
}

fn argument(program: &Program, ty: &Ty, text: &str) -> Result<Json, String> {
    let (inner, optional) = match ty {
        Ty::Optional(inner) => (inner.as_ref(), true),
        other => (other, false),
    };
    if text.is_empty() && (optional || !matches!(inner, Ty::String)) {
        return if optional {
            Ok(Json::Null)
        } else {
            Err(format!("a value is needed ({})", ty_name(program, ty)))
        };
    }
    match inner {
        Ty::Int | Ty::Duration => text
            .trim()
            .parse::<i64>()
            .map(Json::from)
            .map_err(|_| format!("{text:?} is not a whole number")),
        Ty::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number)
            .ok_or_else(|| format!("{text:?} is not a number")),
        Ty::Bool => match text {
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            _ => Err(format!("{text:?} is neither true nor false")),
        },
        Ty::Enum(id) => {
            let variants = program
                .enum_layout(*id)
                .map(|e| e.variants.clone())
                .unwrap_or_default();
            if variants.iter().any(|v| v == text) {
                Ok(Json::String(text.to_string()))
            } else {
                Err(format!("{text:?} is not one of {}", variants.join(", ")))
            }
        }
        Ty::String | Ty::Time => Ok(Json::String(text.to_string())),
        _ => serde_json::from_str(text).map_err(|e| format!("not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmos_ir::{Block, EnumLayout, Function, SlotInfo};

    fn signal(params: &[(&str, Ty)]) -> SignalIr {
        SignalIr {
            name: "review".into(),
            handler: Function {
                name: "signal review".into(),
                params: params.len() as u32,
                defaults: Vec::new(),
                slots: params
                    .iter()
                    .map(|(n, t)| SlotInfo {
                        name: n.to_string(),
                        ty: t.clone(),
                    })
                    .collect(),
                ret: Ty::Unit,
                body: Block::default(),
            },
        }
    }

    fn program() -> Program {
        Program {
            enums: vec![EnumLayout {
                module: "main".into(),
                name: "Codec".into(),
                variants: vec!["H264".into(), "AV1".into()],
            }],
            ..Program::default()
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("arg.{k}"), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_has_one_typed_input_per_parameter() {
        let program = program();
        let signal = signal(&[
            ("by", Ty::String),
            ("count", Ty::Int),
            ("codec", Ty::Enum(cosmos_ir::EnumId(0))),
            ("note", Ty::Optional(Box::new(Ty::String))),
            ("tags", Ty::List(Box::new(Ty::String))),
        ]);
        let html = signal_form(&program, "i<1>", &signal, "tok\"en", &HashMap::new());
        assert!(
            html.contains("action=\"/instances/i%3C1%3E/signals/review\""),
            "{html}"
        );
        assert!(
            html.contains("name=\"csrf\" value=\"tok&quot;en\""),
            "{html}"
        );
        assert!(
            html.contains("id=\"sig-review-by\" name=\"arg.by\" required"),
            "{html}"
        );
        assert!(html.contains("type=\"number\" step=\"1\""), "{html}");
        assert!(
            html.contains("<option value=\"H264\">H264</option>"),
            "{html}"
        );
        assert!(
            html.contains("id=\"sig-review-note\" name=\"arg.note\" value"),
            "{html}"
        );
        assert!(html.contains("data-json"), "{html}");
        assert!(
            html.contains("<span class=\"type\">List&lt;String&gt;</span>"),
            "{html}"
        );
    }

    #[test]
    fn refused_values_are_filled_in_escaped() {
        let program = program();
        let signal = signal(&[("by", Ty::String)]);
        let html = signal_form(
            &program,
            "i",
            &signal,
            "t",
            &fields(&[("by", "\"><script>x</script>")]),
        );
        assert!(
            html.contains("value=\"&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn fields_become_arguments_of_their_types() {
        let program = program();
        let signal = signal(&[
            ("by", Ty::String),
            ("count", Ty::Int),
            ("ratio", Ty::Float),
            ("ok", Ty::Bool),
            ("codec", Ty::Enum(cosmos_ir::EnumId(0))),
            ("note", Ty::Optional(Box::new(Ty::String))),
            ("tags", Ty::List(Box::new(Ty::String))),
        ]);
        let args = arguments(
            &program,
            &signal,
            &fields(&[
                ("by", "mei"),
                ("count", " 3 "),
                ("ratio", "0.5"),
                ("ok", "true"),
                ("codec", "AV1"),
                ("note", ""),
                ("tags", "[\"a\"]"),
            ]),
        );
        assert_eq!(
            args,
            Ok(serde_json::json!({
                "by": "mei", "count": 3, "ratio": 0.5, "ok": true, "codec": "AV1",
                "note": null, "tags": ["a"],
            }))
        );
    }

    #[test]
    fn a_wrong_field_is_named() {
        let program = program();
        let cases: &[(&str, Ty, &str, &str)] = &[
            (
                "count",
                Ty::Int,
                "2.5",
                "`count`: \"2.5\" is not a whole number",
            ),
            ("count", Ty::Int, "", "`count`: a value is needed (Int)"),
            (
                "ratio",
                Ty::Float,
                "NaN",
                "`ratio`: \"NaN\" is not a number",
            ),
            (
                "ok",
                Ty::Bool,
                "yes",
                "`ok`: \"yes\" is neither true nor false",
            ),
            (
                "codec",
                Ty::Enum(cosmos_ir::EnumId(0)),
                "VP9",
                "`codec`: \"VP9\" is not one of H264, AV1",
            ),
        ];
        for (name, ty, text, message) in cases {
            let signal = signal(&[(name, ty.clone())]);
            assert_eq!(
                arguments(&program, &signal, &fields(&[(name, text)])),
                Err(message.to_string())
            );
        }
        let signal = signal(&[("tags", Ty::List(Box::new(Ty::String)))]);
        let error = arguments(&program, &signal, &fields(&[("tags", "[1,")])).unwrap_err();
        assert!(error.starts_with("`tags`: not JSON"), "{error}");
    }
}
