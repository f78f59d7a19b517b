//! List and map literals: their element types, from the items and from the type expected.

use super::Checker;
use crate::types::Type;
use cosmos_diagnostics::{Code, Edit, FileId, Span, Suggestion};
use cosmos_syntax::ast::{Expr, ExprKind, MapKey};

impl Checker<'_> {
    pub(super) fn check_list(
        &mut self,
        items: &[Expr],
        expected: Option<&Type>,
        span: Span,
    ) -> Type {
        // A literal where `T?` is expected is a `T`.
        let expected_element = match expected.map(Type::non_null) {
            Some(Type::List(t)) => Some(*t),
            Some(Type::Json) => Some(Type::Json),
            _ => None,
        };
        if items.is_empty() {
            return match expected_element {
                Some(t) => Type::list(t),
                None => {
                    self.error(
                        Code::CANNOT_INFER,
                        span,
                        "the element type of `[]` is not known here",
                    )
                    .notes
                    .push("give it a type: `def xs: List<String> = []`".to_string());
                    Type::Error
                }
            };
        }
        let mut joined: Option<Type> = None;
        for item in items {
            // Without an expected type, the elements so far guide the next ones, so that
            // `[[1], []]` is a `List<List<Int>>`.
            let ty = match &expected_element {
                Some(t) => self.check_expected(item, t),
                None => {
                    let guide = joined
                        .clone()
                        .filter(|t| !t.is_bottom() && !matches!(t, Type::Null));
                    self.check_expr(item, guide.as_ref())
                }
            };
            joined = Some(match joined {
                None => ty,
                Some(previous) => {
                    match previous.join(&ty) {
                        Some(t) => t,
                        None if expected_element.is_some() => previous,
                        None => {
                            let note = int_float_note(&previous, &ty, items);
                            let fix = int_literals_as_floats(self.cx.file, &previous, &ty, items);
                            let diagnostic = self.error(
                            Code::TYPE_MISMATCH,
                            item.span,
                            format!("list elements must have one type: found `{previous}` and `{ty}`"),
                        );
                            diagnostic.notes.extend(note);
                            diagnostic.suggestions.extend(fix);
                            Type::Error
                        }
                    }
                }
            });
        }
        match expected_element {
            Some(t) => Type::list(t),
            None => Type::list(joined.unwrap_or(Type::Error)),
        }
    }

    pub(super) fn check_map(
        &mut self,
        entries: &[cosmos_syntax::ast::MapEntry],
        expected: Option<&Type>,
        span: Span,
    ) -> Type {
        // A literal where `T?` is expected is a `T`.
        let (expected_key, expected_value) = match expected.map(Type::non_null) {
            Some(Type::Map(k, v)) => (Some(*k), Some(*v)),
            Some(Type::Json) => (Some(Type::String), Some(Type::Json)),
            _ => (None, None),
        };
        if entries.is_empty() {
            return match (expected_key, expected_value) {
                (Some(k), Some(v)) => Type::map(k, v),
                _ => {
                    self.error(
                        Code::CANNOT_INFER,
                        span,
                        "the key and value types of `[:]` are not known here",
                    )
                    .notes
                    .push("give it a type: `def m: Map<String, Int> = [:]`".to_string());
                    Type::Error
                }
            };
        }
        let mut key_type: Option<Type> = None;
        let mut value_type: Option<Type> = None;
        // Without an expected value type, values that do not share one make the map a
        // `Map<String, Json>`: each value's type and where it is, to check that each
        // converts to `Json`.
        let mut values: Vec<(Type, Span)> = Vec::new();
        let mut mixed = false;
        for entry in entries {
            let (k, k_span) = match &entry.key {
                MapKey::Name(ident) => (Type::String, ident.span),
                MapKey::Expr(e) => (
                    match &expected_key {
                        Some(t) => self.check_expected(e, t),
                        None => self.check_expr(e, None),
                    },
                    e.span,
                ),
            };
            if let Some(t) = &expected_key {
                if matches!(entry.key, MapKey::Name(_)) {
                    self.coerce(&k, t, k_span);
                }
            } else if !k.is_map_key() {
                self.error(
                    Code::INVALID_MAP_KEY,
                    k_span,
                    format!("map keys must be `String`, `Int` or an enum, not `{k}`"),
                );
            }
            let v = match &expected_value {
                Some(t) => self.check_expected(&entry.value, t),
                None => {
                    let guide = value_type
                        .clone()
                        .filter(|t| !t.is_bottom() && !matches!(t, Type::Null));
                    self.check_expr(&entry.value, guide.as_ref())
                }
            };
            key_type = Some(match key_type {
                None => k,
                Some(previous) if previous == k || k.is_bottom() => previous,
                Some(previous) if previous.is_bottom() => k,
                Some(previous) => {
                    if expected_key.is_none() {
                        self.error(
                            Code::TYPE_MISMATCH,
                            k_span,
                            format!("map keys must have one type: found `{previous}` and `{k}`"),
                        );
                    }
                    previous
                }
            });
            values.push((v.clone(), entry.value.span));
            value_type = Some(match value_type {
                None => v,
                Some(previous) => match previous.join(&v) {
                    Some(t) => t,
                    None => {
                        mixed = true;
                        Type::Json
                    }
                },
            });
        }
        match (expected_key, expected_value) {
            (Some(k), Some(v)) => Type::map(k, v),
            _ if mixed => self.mixed_map(key_type.unwrap_or(Type::Error), &values),
            _ => Type::map(
                key_type.unwrap_or(Type::Error),
                value_type.unwrap_or(Type::Error),
            ),
        }
    }

    /// A map literal whose values have no one type, with no value type expected: a
    /// `Map<String, Json>`, when its keys are strings and every value converts to
    /// `Json` (docs/language.md, "Map literals mixing value types").
    fn mixed_map(&mut self, key: Type, values: &[(Type, Span)]) -> Type {
        let first = values
            .first()
            .map(|(t, _)| t.clone())
            .unwrap_or(Type::Error);
        if !matches!(key, Type::String | Type::Error | Type::Never) {
            let (other, span) = values
                .iter()
                .find(|(t, _)| first.join(t).is_none())
                .or(values.last())
                .cloned()
                .unwrap_or((Type::Error, Span::default()));
            self.error(
                Code::TYPE_MISMATCH,
                span,
                format!("map values must have one type: found `{first}` and `{other}`"),
            )
            .notes
            .push(format!(
                "a map mixing value types is a `Map<String, Json>`, so its keys must be strings, not `{key}`"
            ));
            return Type::map(key, Type::Error);
        }
        for (ty, span) in values {
            if !ty.is_serialisable() {
                self.error(
                    Code::TYPE_MISMATCH,
                    *span,
                    format!("map values must have one type, or all convert to `Json`: `{ty}` does not"),
                )
                .notes
                .push("a map mixing value types is a `Map<String, Json>`: each value must be data (numbers, strings, lists, maps, records, enums)".to_string());
                return Type::map(Type::String, Type::Error);
            }
        }
        Type::map(Type::String, Type::Json)
    }
}

/// For a literal mixing `Int` and `Float` elements: how to make them one type.
/// In a list mixing `Int` and `Float`, the whole-number literals written as `Float`s.
fn int_literals_as_floats(file: FileId, a: &Type, b: &Type, items: &[Expr]) -> Option<Suggestion> {
    if !matches!((a, b), (Type::Int, Type::Float) | (Type::Float, Type::Int)) {
        return None;
    }
    let edits: Vec<Edit> = items
        .iter()
        .filter_map(|item| match &item.kind {
            ExprKind::Int(n) => Some(Edit::new(file, item.span, format!("{n}.0"))),
            _ => None,
        })
        .collect();
    let message = match edits.as_slice() {
        [] => return None,
        [one] => format!("write `{}`", one.replacement),
        _ => "write the whole numbers as `Float`s".to_string(),
    };
    Some(Suggestion::new(message, edits))
}

fn int_float_note(a: &Type, b: &Type, items: &[Expr]) -> Option<String> {
    let mixed = matches!((a, b), (Type::Int, Type::Float) | (Type::Float, Type::Int));
    if !mixed {
        return None;
    }
    let literal = items.iter().find_map(|item| match &item.kind {
        ExprKind::Int(n) => Some(*n),
        _ => None,
    });
    Some(match literal {
        Some(n) => format!(
            "`Int` does not widen to `Float` in a list: write the whole numbers as `Float`s, such as `{n}.0`"
        ),
        None => "`Int` does not widen to `Float` in a list: convert the `Int`s with `.toFloat()`"
            .to_string(),
    })
}
