//! The implementations of `std.core`'s built-ins, keyed by the names of the one
//! built-ins table (`cosmos_semantics::builtins::BUILTINS`). A test in
//! cosmos-semantics checks that every method of that table has an implementation here.

use super::loops::{add, zero};
use super::{Eval, Machine, RuntimeErrorKind, fail, internal};
use crate::value::{self, SmolStr, Value};
use crate::{Receiver, Span, Ty};

/// Every `(receiver, name)` this interpreter implements.
pub const IMPLEMENTED: &[(Receiver, &str)] = &[
    (Receiver::String, "size"),
    (Receiver::String, "isEmpty"),
    (Receiver::String, "contains"),
    (Receiver::String, "startsWith"),
    (Receiver::String, "endsWith"),
    (Receiver::String, "toUpperCase"),
    (Receiver::String, "toLowerCase"),
    (Receiver::String, "trim"),
    (Receiver::String, "split"),
    (Receiver::String, "replace"),
    (Receiver::String, "substring"),
    (Receiver::String, "toInteger"),
    (Receiver::String, "toFloat"),
    (Receiver::String, "matches"),
    (Receiver::List, "size"),
    (Receiver::List, "isEmpty"),
    (Receiver::List, "contains"),
    (Receiver::List, "first"),
    (Receiver::List, "last"),
    (Receiver::List, "sum"),
    (Receiver::List, "min"),
    (Receiver::List, "max"),
    (Receiver::List, "sort"),
    (Receiver::List, "join"),
    (Receiver::List, "indexOf"),
    (Receiver::List, "take"),
    (Receiver::List, "drop"),
    (Receiver::List, "unique"),
    (Receiver::List, "flatten"),
    (Receiver::Map, "size"),
    (Receiver::Map, "isEmpty"),
    (Receiver::Map, "containsKey"),
    (Receiver::Map, "get"),
    (Receiver::Map, "keys"),
    (Receiver::Map, "values"),
    (Receiver::Int, "abs"),
    (Receiver::Int, "toFloat"),
    (Receiver::Int, "round"),
    (Receiver::Int, "floor"),
    (Receiver::Int, "ceil"),
    (Receiver::Float, "abs"),
    (Receiver::Float, "toFloat"),
    (Receiver::Float, "round"),
    (Receiver::Float, "floor"),
    (Receiver::Float, "ceil"),
    (Receiver::Duration, "toMillis"),
    (Receiver::Duration, "toSeconds"),
    (Receiver::Time, "toEpochMillis"),
    (Receiver::Enum, "name"),
    (Receiver::Global, "min"),
    (Receiver::Global, "max"),
];

fn invalid<T>(message: impl Into<String>, span: Span) -> Eval<T> {
    fail(RuntimeErrorKind::InvalidArgument(message.into()), span)
}

fn to_int(f: f64, span: Span) -> Eval<Value> {
    // Every f64 in this range converts exactly; outside it (or NaN) there is no Int.
    if f.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        return fail(RuntimeErrorKind::IntOverflow, span);
    }
    Ok(Value::Int(f as i64))
}

pub(super) fn call(
    m: &mut Machine<'_, '_>,
    receiver: Receiver,
    name: &str,
    args: Vec<Value>,
    ty: &Ty,
    span: Span,
) -> Eval<Value> {
    let mut args = args.into_iter();
    let this = args.next().unwrap_or(Value::Null);
    let arg = args.next();
    let arg2 = args.next();
    Ok(match (receiver, name, this) {
        (Receiver::String, _, Value::Str(s)) => string(name, s, arg, arg2, span)?,
        (Receiver::List, _, Value::List(items)) => list(m, name, items, arg, ty, span)?,
        (Receiver::Map, _, Value::Map(entries)) => match (name, arg) {
            ("size", _) => Value::Int(entries.len() as i64),
            ("isEmpty", _) => Value::Bool(entries.is_empty()),
            ("containsKey", Some(k)) => Value::Bool(value::map_get(&entries, &k).is_some()),
            ("get", Some(k)) => value::map_get(&entries, &k).cloned().unwrap_or(Value::Null),
            ("keys", _) => Value::List(entries.into_iter().map(|(k, _)| k).collect()),
            ("values", _) => Value::List(entries.into_iter().map(|(_, v)| v).collect()),
            _ => return internal(format!("no map built-in `{name}`")),
        },
        (Receiver::Int, _, Value::Int(n)) => match name {
            "abs" => match n.checked_abs() {
                Some(n) => Value::Int(n),
                None => return fail(RuntimeErrorKind::IntOverflow, span),
            },
            "toFloat" => Value::Float(n as f64),
            "round" | "floor" | "ceil" => Value::Int(n),
            _ => return internal(format!("no Int built-in `{name}`")),
        },
        (Receiver::Float, _, Value::Float(f)) => match name {
            "abs" => Value::Float(f.abs()),
            "toFloat" => Value::Float(f),
            "round" => to_int(f.round(), span)?,
            "floor" => to_int(f.floor(), span)?,
            "ceil" => to_int(f.ceil(), span)?,
            _ => return internal(format!("no Float built-in `{name}`")),
        },
        (Receiver::Duration, "toMillis", Value::Duration(ms)) => Value::Int(ms),
        (Receiver::Duration, "toSeconds", Value::Duration(ms)) => Value::Float(ms as f64 / 1000.0),
        (Receiver::Time, "toEpochMillis", Value::Time(ms)) => Value::Int(ms),
        (Receiver::Enum, "name", Value::Enum(id, variant)) => {
            Value::Str(value::enum_name(m.program, id, variant).into())
        }
        (Receiver::Global, "min" | "max", a) => {
            let Some(b) = arg else {
                return internal("`min`/`max` with one argument");
            };
            let order = value::compare(&a, &b).unwrap_or(std::cmp::Ordering::Equal);
            let take_a = if name == "min" {
                order.is_le()
            } else {
                order.is_ge()
            };
            if take_a { a } else { b }
        }
        (receiver, name, this) => {
            return internal(format!("no built-in `{name}` on {receiver:?} for {this:?}"));
        }
    })
}

fn string(
    name: &str,
    s: SmolStr,
    arg: Option<Value>,
    arg2: Option<Value>,
    span: Span,
) -> Eval<Value> {
    let text = |v: Option<Value>| match v {
        Some(Value::Str(t)) => Ok(t),
        _ => internal(format!("`{name}` without its string argument")),
    };
    Ok(match name {
        "size" => Value::Int(s.chars().count() as i64),
        "isEmpty" => Value::Bool(s.is_empty()),
        "contains" => Value::Bool(s.contains(&*text(arg)?)),
        "startsWith" => Value::Bool(s.starts_with(&*text(arg)?)),
        "endsWith" => Value::Bool(s.ends_with(&*text(arg)?)),
        "toUpperCase" => Value::Str(s.to_uppercase().into()),
        "toLowerCase" => Value::Str(s.to_lowercase().into()),
        "trim" => Value::Str(s.trim().into()),
        "split" => {
            let sep = text(arg)?;
            if sep.is_empty() {
                Value::List(
                    s.chars()
                        .map(|c| Value::Str(c.to_string().into()))
                        .collect(),
                )
            } else {
                Value::List(s.split(&*sep).map(|p| Value::Str(p.into())).collect())
            }
        }
        "replace" => {
            let (a, b) = (text(arg)?, text(arg2)?);
            if a.is_empty() {
                Value::Str(s)
            } else {
                Value::Str(s.replace(&*a, &b).into())
            }
        }
        "substring" => {
            let chars: Vec<char> = s.chars().collect();
            let len = chars.len();
            let from = match arg {
                Some(Value::Int(n)) => n,
                _ => return internal("`substring` without `from`"),
            };
            // `to` left out or `null`: the end of the string.
            let (to, call) = match arg2 {
                Some(Value::Int(n)) => (n, format!("substring({from}, {n})")),
                Some(Value::Null) => (len as i64, format!("substring({from}, null)")),
                None => (len as i64, format!("substring({from})")),
                Some(_) => return internal("`substring` with a `to` that is not an `Int`"),
            };
            let out_of_range = |index: i64| {
                invalid(
                    format!(
                        "`{call}`: index {index} is out of range for a string of {len} character{}",
                        if len == 1 { "" } else { "s" }
                    ),
                    span,
                )
            };
            let (Ok(a), Ok(b)) = (usize::try_from(from), usize::try_from(to)) else {
                return out_of_range(if from < 0 { from } else { to });
            };
            if a > len || b > len {
                return out_of_range(if a > len { from } else { to });
            }
            if a > b {
                return invalid(format!("`{call}`: `from` is after `to`"), span);
            }
            Value::Str(
                chars
                    .get(a..b)
                    .unwrap_or_default()
                    .iter()
                    .collect::<String>()
                    .into(),
            )
        }
        "toInteger" => s.trim().parse::<i64>().map_or(Value::Null, Value::Int),
        "toFloat" => s.trim().parse::<f64>().map_or(Value::Null, Value::Float),
        "matches" => {
            let pattern = text(arg)?;
            // The whole string must match, as Groovy's `==~` and Kotlin's `matches` do.
            match regex::Regex::new(&format!("^(?:{pattern})$")) {
                Ok(re) => Value::Bool(re.is_match(&s)),
                Err(e) => {
                    return invalid(
                        format!("`{pattern}` is not a regular expression: {e}"),
                        span,
                    );
                }
            }
        }
        _ => return internal(format!("no String built-in `{name}`")),
    })
}

fn list(
    m: &mut Machine<'_, '_>,
    name: &str,
    mut items: Vec<Value>,
    arg: Option<Value>,
    ty: &Ty,
    span: Span,
) -> Eval<Value> {
    let count = |v: Option<Value>| match v {
        Some(Value::Int(n)) => Ok(usize::try_from(n.max(0)).unwrap_or(usize::MAX)),
        _ => internal(format!("`{name}` without its count")),
    };
    Ok(match name {
        "size" => Value::Int(items.len() as i64),
        "isEmpty" => Value::Bool(items.is_empty()),
        "contains" => {
            let x = arg.unwrap_or(Value::Null);
            Value::Bool(items.iter().any(|i| value::equal(i, &x)))
        }
        "indexOf" => {
            let x = arg.unwrap_or(Value::Null);
            Value::Int(
                items
                    .iter()
                    .position(|i| value::equal(i, &x))
                    .map_or(-1, |p| p as i64),
            )
        }
        "first" => items.into_iter().next().unwrap_or(Value::Null),
        "last" => items.pop().unwrap_or(Value::Null),
        "sum" => {
            let mut sum = zero(ty);
            for item in items {
                sum = add(sum, item, span)?;
            }
            sum
        }
        "min" | "max" => {
            let mut best: Option<Value> = None;
            for item in items {
                best = Some(match best {
                    None => item,
                    Some(b) => {
                        let order = value::compare(&item, &b).unwrap_or(std::cmp::Ordering::Equal);
                        let better = if name == "min" {
                            order.is_lt()
                        } else {
                            order.is_gt()
                        };
                        if better { item } else { b }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        "sort" => {
            items.sort_by(|a, b| value::compare(a, b).unwrap_or(std::cmp::Ordering::Equal));
            Value::List(items)
        }
        "join" => {
            let Some(Value::Str(sep)) = arg else {
                return internal("`join` without its separator");
            };
            let parts: Vec<String> = items.iter().map(|i| value::format(m.program, i)).collect();
            Value::Str(parts.join(&*sep).into())
        }
        "take" => {
            items.truncate(count(arg)?);
            Value::List(items)
        }
        "drop" => {
            let n = count(arg)?.min(items.len());
            Value::List(items.split_off(n))
        }
        "unique" => {
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                if !out.iter().any(|o| value::equal(o, &item)) {
                    out.push(item);
                }
            }
            Value::List(out)
        }
        "flatten" => {
            if items.iter().all(|i| matches!(i, Value::List(_))) && !items.is_empty() {
                let mut out = Vec::new();
                for item in items {
                    if let Value::List(inner) = item {
                        out.extend(inner);
                    }
                }
                Value::List(out)
            } else {
                Value::List(items)
            }
        }
        _ => return internal(format!("no List built-in `{name}`")),
    })
}
