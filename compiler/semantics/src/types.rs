//! Semantic types of Emx (LANGUAGE.md section 3) and the relations between them:
//! assignability, joins of branches, serialisability.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A declared record, enum, function, helper or workflow, named by its module and name.
/// Holds no spans, so signatures built from it survive edits that only move code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeclKey {
    pub module: String,
    pub name: String,
}

impl DeclKey {
    pub fn new(module: impl Into<String>, name: impl Into<String>) -> Self {
        DeclKey {
            module: module.into(),
            name: name.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Type {
    Int,
    Float,
    Bool,
    String,
    Duration,
    Time,
    /// Any serialisable value; only ever an expected type.
    Json,
    List(Box<Type>),
    Map(Box<Type>, Box<Type>),
    Optional(Box<Type>),
    Record(DeclKey),
    Enum(DeclKey),
    /// A pending call of an external function (only inside `action`).
    Call(Box<Type>),
    /// `Outcome<T>`, the built-in generic record a `settle` gives one of per call:
    /// `{ ok: Bool, value: T?, error: CallError? }`.
    Outcome(Box<Type>),
    /// The type of the `null` literal before an expected type gives it one.
    Null,
    /// The value of a statement that has none.
    Unit,
    /// The value of `return`, `fail(…)`: control does not continue.
    Never,
    /// Already reported; accepted everywhere so that one mistake gives one diagnostic.
    Error,
}

impl Type {
    /// The obvious value of this type to write where one is missing (`0`, `""`, `[]`,
    /// `null`…), for types that have one.
    pub fn plain_default(&self) -> Option<&'static str> {
        Some(match self {
            Type::Int => "0",
            Type::Float => "0.0",
            Type::Bool => "false",
            Type::String => "\"\"",
            Type::List(_) => "[]",
            Type::Map(_, _) => "[:]",
            Type::Optional(_) => "null",
            _ => return None,
        })
    }

    /// The fields of `Outcome<T>` in layout order: `ok`, `value: T?`, `error: CallError?`.
    pub fn outcome_fields(value: &Type) -> [(&'static str, Type); 3] {
        [
            ("ok", Type::Bool),
            ("value", Type::optional(value.clone())),
            (
                "error",
                Type::optional(Type::Record(DeclKey::new(
                    crate::scope::PRELUDE,
                    "CallError",
                ))),
            ),
        ]
    }

    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    pub fn map(key: Type, value: Type) -> Type {
        Type::Map(Box::new(key), Box::new(value))
    }

    /// `T?`; optional of optional collapses, and `null`'s own type stays as is.
    pub fn optional(inner: Type) -> Type {
        match inner {
            Type::Optional(_) | Type::Null | Type::Error | Type::Never => inner,
            other => Type::Optional(Box::new(other)),
        }
    }

    pub fn is_optional(&self) -> bool {
        matches!(self, Type::Optional(_) | Type::Null)
    }

    /// `T` for `T?`, the type itself otherwise.
    pub fn non_null(&self) -> Type {
        match self {
            Type::Optional(inner) => (**inner).clone(),
            other => other.clone(),
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Type::Error)
    }

    /// Error or never: a type that has already stopped the analysis of this value.
    pub fn is_bottom(&self) -> bool {
        matches!(self, Type::Error | Type::Never)
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }

    /// Types with an order: numbers, strings, durations and times.
    pub fn is_comparable(&self) -> bool {
        matches!(
            self,
            Type::Int | Type::Float | Type::String | Type::Duration | Type::Time
        )
    }

    /// Map keys: `String`, `Int` or an enum.
    pub fn is_map_key(&self) -> bool {
        matches!(
            self,
            Type::String | Type::Int | Type::Enum(_) | Type::Error | Type::Never
        )
    }

    /// Whether the type contains a `Call<T>` anywhere.
    pub fn contains_call(&self) -> bool {
        match self {
            Type::Call(_) => true,
            Type::List(t) | Type::Optional(t) | Type::Outcome(t) => t.contains_call(),
            Type::Map(k, v) => k.contains_call() || v.contains_call(),
            _ => false,
        }
    }

    /// Whether a value of this type can cross to a process as JSON (and convert to `Json`).
    pub fn is_serialisable(&self) -> bool {
        match self {
            Type::Int
            | Type::Float
            | Type::Bool
            | Type::String
            | Type::Duration
            | Type::Time
            | Type::Json
            | Type::Record(_)
            | Type::Enum(_)
            | Type::Null
            | Type::Error
            | Type::Never => true,
            Type::List(t) | Type::Optional(t) | Type::Outcome(t) => t.is_serialisable(),
            Type::Map(k, v) => k.is_serialisable() && v.is_serialisable(),
            Type::Call(_) | Type::Unit => false,
        }
    }

    /// Whether a value of type `self` may be used where `target` is expected. Only
    /// `T → T?`, `null → T?`, anything serialisable → `Json` and the same rules inside
    /// list, map and optional element types hold; `Int` does not become `Float` here.
    pub fn is_assignable_to(&self, target: &Type) -> bool {
        if self == target {
            return true;
        }
        match (self, target) {
            (Type::Error | Type::Never, _) | (_, Type::Error) => true,
            (Type::Null, Type::Optional(_)) => true,
            (Type::Null, Type::Json) => true,
            (_, Type::Json) => self.is_serialisable(),
            (Type::Optional(a), Type::Optional(b)) => a.is_assignable_to(b),
            (_, Type::Optional(b)) => self.is_assignable_to(b),
            (Type::List(a), Type::List(b)) => a.is_assignable_to(b),
            (Type::Map(ka, va), Type::Map(kb, vb)) => ka == kb && va.is_assignable_to(vb),
            (Type::Call(a), Type::Call(b)) => a == b,
            _ => false,
        }
    }

    /// The type of a value that is either `self` or `other` (branches, list elements),
    /// or `None` when they do not agree.
    pub fn join(&self, other: &Type) -> Option<Type> {
        if self == other {
            return Some(self.clone());
        }
        match (self, other) {
            (Type::Error, _) | (_, Type::Error) => Some(Type::Error),
            (Type::Never, t) | (t, Type::Never) => Some(t.clone()),
            (Type::Null, t) | (t, Type::Null) => Some(Type::optional(t.clone())),
            // `Json` holds any data: a map literal mixing value types is a
            // `Map<String, Json>`, and joins with maps of one value type.
            (Type::Json, t) | (t, Type::Json) if t.is_serialisable() => Some(Type::Json),
            (Type::Optional(a), b) | (b, Type::Optional(a)) => {
                a.join(&b.non_null()).map(Type::optional)
            }
            (Type::List(a), Type::List(b)) => a.join(b).map(Type::list),
            (Type::Map(ka, va), Type::Map(kb, vb)) if ka == kb => {
                va.join(vb).map(|v| Type::map((**ka).clone(), v))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Int => write!(f, "Int"),
            Type::Float => write!(f, "Float"),
            Type::Bool => write!(f, "Bool"),
            Type::String => write!(f, "String"),
            Type::Duration => write!(f, "Duration"),
            Type::Time => write!(f, "Time"),
            Type::Json => write!(f, "Json"),
            Type::List(t) => write!(f, "List<{t}>"),
            Type::Map(k, v) => write!(f, "Map<{k}, {v}>"),
            Type::Optional(t) => write!(f, "{t}?"),
            Type::Record(key) | Type::Enum(key) => write!(f, "{}", key.name),
            Type::Call(t) => write!(f, "Call<{t}>"),
            Type::Outcome(t) => write!(f, "Outcome<{t}>"),
            Type::Null => write!(f, "null"),
            Type::Unit => write!(f, "no value"),
            Type::Never => write!(f, "Nothing"),
            Type::Error => write!(f, "<error>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignability_follows_the_spec() {
        assert!(Type::Int.is_assignable_to(&Type::optional(Type::Int)));
        assert!(Type::Null.is_assignable_to(&Type::optional(Type::String)));
        assert!(!Type::Null.is_assignable_to(&Type::String));
        assert!(!Type::Int.is_assignable_to(&Type::Float));
        assert!(!Type::optional(Type::Int).is_assignable_to(&Type::Int));
        assert!(Type::list(Type::Int).is_assignable_to(&Type::Json));
        assert!(!Type::Call(Box::new(Type::Int)).is_assignable_to(&Type::Json));
        assert!(Type::list(Type::Int).is_assignable_to(&Type::list(Type::optional(Type::Int))));
    }

    #[test]
    fn joins() {
        assert_eq!(Type::Null.join(&Type::Int), Some(Type::optional(Type::Int)));
        assert_eq!(Type::Int.join(&Type::Float), None);
        assert_eq!(Type::Never.join(&Type::String), Some(Type::String));
        assert_eq!(
            Type::list(Type::Null).join(&Type::list(Type::Int)),
            Some(Type::list(Type::optional(Type::Int)))
        );
    }

    #[test]
    fn display_reads_like_source() {
        let t = Type::map(Type::String, Type::list(Type::optional(Type::Int)));
        assert_eq!(t.to_string(), "Map<String, List<Int?>>");
    }
}
