//! Expressions: literals, names and paths, operators, conditionals.

use super::{BodyKind, Checker, Link, NameRef};
use crate::scope::{DeclKind, Symbol, module_decl};
use crate::signatures::enum_sig;
use crate::suggest::did_you_mean;
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::{Code, Span};
use cosmos_syntax::ast::{BinaryOp, Else, Expr, ExprKind, MapKey, StrPart, UnaryOp};

/// A name or qualified name that denotes a declaration rather than a value.
#[derive(Debug, Clone)]
pub(crate) enum TypeLevel {
    Decl(DeclKind, DeclKey),
    Module(String),
}

impl Checker<'_> {
    /// Checks `expr` where a value of type `expected` (if any) is wanted, reports a
    /// mismatch, and returns the expression's own type.
    pub(crate) fn check_expected(&mut self, expr: &Expr, expected: &Type) -> Type {
        let actual = self.check_expr(expr, Some(expected));
        self.coerce(&actual, expected, expr.span);
        actual
    }

    /// Reports a value of type `actual` used where `expected` is needed.
    pub(crate) fn coerce(&mut self, actual: &Type, expected: &Type, span: Span) -> bool {
        if actual.is_assignable_to(expected) {
            return true;
        }
        if matches!(actual, Type::Unit) {
            self.error(
                Code::MISSING_VALUE,
                span,
                format!("expected a value of type `{expected}`, but this has no value"),
            );
            return false;
        }
        if matches!(actual, Type::Null) {
            self.error(
                Code::NULL_NOT_ALLOWED,
                span,
                format!("`null` is not a `{expected}`"),
            )
            .notes
            .push(format!(
                "only optional types hold null: declare it as `{expected}?`"
            ));
            return false;
        }
        if actual.is_optional() && actual.non_null().is_assignable_to(expected) {
            let path = self.describe_span(span);
            let diagnostic = self.error(
                Code::NULLABLE_VALUE,
                span,
                format!("{path} may be null here, but `{expected}` is needed"),
            );
            diagnostic
                .notes
                .push("check it with `!= null` first, or give a fallback with `?:`".to_string());
            return false;
        }
        let diagnostic = self.error(
            Code::TYPE_MISMATCH,
            span,
            format!("expected `{expected}`, found `{actual}`"),
        );
        if matches!((actual, expected), (Type::Int, Type::Float)) {
            diagnostic
                .notes
                .push("Int does not convert to Float implicitly: write `.toFloat()` or a Float literal such as `1.0`".to_string());
        }
        false
    }

    fn describe_span(&self, _span: Span) -> String {
        "this value".to_string()
    }

    pub(crate) fn check_expr(&mut self, expr: &Expr, expected: Option<&Type>) -> Type {
        let ty = self.check_expr_kind(expr, expected);
        // Recorded for the IDE (hover, completion after `.`); spans stay body-relative.
        self.out.types.push((expr.span, ty.clone()));
        ty
    }

    fn check_expr_kind(&mut self, expr: &Expr, expected: Option<&Type>) -> Type {
        match &expr.kind {
            ExprKind::Int(_) => Type::Int,
            ExprKind::Float(_) => Type::Float,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Null => Type::Null,
            ExprKind::Duration { .. } => Type::Duration,
            ExprKind::Str(s) => {
                for part in &s.parts {
                    if let StrPart::Expr(e) = part {
                        let ty = self.check_expr(e, None);
                        self.interpolated(&ty, e.span);
                    }
                }
                Type::String
            }
            ExprKind::Paren(inner) => self.check_expr(inner, expected),
            ExprKind::List(items) => self.check_list(items, expected, expr.span),
            ExprKind::Map(entries) => self.check_map(entries, expected, expr.span),
            ExprKind::Name(name) => self.check_name(&name.text, name.span, expr),
            ExprKind::Field {
                receiver,
                name,
                safe,
            } => self.check_field(expr, receiver, &name.text, name.span, *safe),
            ExprKind::Call {
                callee,
                args,
                closure,
            } => self.check_call(expr, callee, args, closure.as_ref(), expected),
            ExprKind::Index { receiver, index } => self.check_index(receiver, index),
            ExprKind::Unary { op, operand } => self.check_unary(*op, operand, expr.span),
            ExprKind::Binary { op, lhs, rhs } => {
                self.check_binary(*op, lhs, rhs, expected, expr.span)
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                self.check_condition(cond);
                let narrowing = self.narrowing(cond);
                let saved = self.narrowed.clone();
                self.assume(&narrowing.when_true);
                let a = self.check_expr(then, expected);
                self.narrowed = saved.clone();
                self.assume(&narrowing.when_false);
                let b = self.check_expr(otherwise, expected);
                self.narrowed = saved;
                self.join_branches(&a, &b, expected, expr.span)
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => self.check_if(cond, then, otherwise.as_deref(), expected, true, expr.span),
        }
    }

    /// A value inside `"${…}"`: anything with a value, but not a pending call.
    fn interpolated(&mut self, ty: &Type, span: Span) {
        if ty.contains_call() {
            self.error(
                Code::CALL_MISUSE,
                span,
                "a pending call cannot be formatted; its result exists only in the reaction",
            );
        } else if matches!(ty, Type::Unit) {
            self.error(Code::MISSING_VALUE, span, "this has no value to format");
        }
    }

    /// The type of two branches together, or an error naming both.
    pub(crate) fn join_branches(
        &mut self,
        a: &Type,
        b: &Type,
        expected: Option<&Type>,
        span: Span,
    ) -> Type {
        if let Some(expected) = expected
            && a.is_assignable_to(expected)
            && b.is_assignable_to(expected)
        {
            return expected.clone();
        }
        match a.join(b) {
            Some(t) => t,
            None => {
                self.error(
                    Code::TYPE_MISMATCH,
                    span,
                    format!("the branches have different types: `{a}` and `{b}`"),
                );
                Type::Error
            }
        }
    }

    /// Checks a condition: it must be a `Bool`.
    pub(crate) fn check_condition(&mut self, cond: &Expr) {
        let ty = self.check_expr(cond, Some(&Type::Bool));
        if ty.is_bottom() || ty == Type::Bool {
            return;
        }
        let diagnostic = self.error(
            Code::NON_BOOL_CONDITION,
            cond.span,
            format!("a condition must be a `Bool`, not `{ty}`"),
        );
        let hint = match &ty {
            Type::List(_) | Type::Map(_, _) | Type::String => {
                Some("Emx has no truthiness: write `!x.isEmpty()`".to_string())
            }
            Type::Optional(_) => Some("Emx has no truthiness: write `x != null`".to_string()),
            Type::Int | Type::Float => Some("Emx has no truthiness: write `x != 0`".to_string()),
            _ => None,
        };
        if let Some(hint) = hint {
            diagnostic.notes.push(hint);
        }
    }

    pub(crate) fn check_if(
        &mut self,
        cond: &Expr,
        then: &cosmos_syntax::ast::Block,
        otherwise: Option<&Else>,
        expected: Option<&Type>,
        want_value: bool,
        span: Span,
    ) -> Type {
        self.check_condition(cond);
        let narrowing = self.narrowing(cond);
        let saved = self.narrowed.clone();
        self.assume(&narrowing.when_true);
        let want = want_value && otherwise.is_some();
        let a = self.check_block(then, want, expected);
        self.narrowed = saved.clone();
        self.assume(&narrowing.when_false);
        let b = match otherwise {
            None => Type::Unit,
            Some(Else::Block(block)) => self.check_block(block, want, expected),
            Some(Else::If(e)) => match &e.kind {
                ExprKind::If {
                    cond,
                    then,
                    otherwise,
                } => self.check_if(cond, then, otherwise.as_deref(), expected, want, e.span),
                _ => self.check_expr(e, expected),
            },
        };
        self.narrowed = saved;
        // A branch that cannot complete leaves the other branch's narrowing in force.
        match (a == Type::Never, b == Type::Never) {
            (true, false) => self.assume(&narrowing.when_false),
            (false, true) => self.assume(&narrowing.when_true),
            _ => {}
        }
        if !want {
            return if a == Type::Never && b == Type::Never {
                Type::Never
            } else {
                Type::Unit
            };
        }
        self.join_branches(&a, &b, expected, span)
    }

    fn check_list(&mut self, items: &[Expr], expected: Option<&Type>, span: Span) -> Type {
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
                            self.error(
                            Code::TYPE_MISMATCH,
                            item.span,
                            format!("list elements must have one type: found `{previous}` and `{ty}`"),
                        );
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

    fn check_map(
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
            value_type = Some(match value_type {
                None => v,
                Some(previous) => match previous.join(&v) {
                    Some(t) => t,
                    None => {
                        if expected_value.is_none() {
                            self.error(
                                Code::TYPE_MISMATCH,
                                entry.value.span,
                                format!("map values must have one type: found `{previous}` and `{v}`"),
                            )
                            .notes
                            .push("where the map is `Json` (an `output`, a function argument of type `Json`), its values may differ".to_string());
                        }
                        previous
                    }
                },
            });
        }
        match (expected_key, expected_value) {
            (Some(k), Some(v)) => Type::map(k, v),
            _ => Type::map(
                key_type.unwrap_or(Type::Error),
                value_type.unwrap_or(Type::Error),
            ),
        }
    }

    /// The type of a value at `path` whose declared type is `declared`, after narrowing.
    pub(crate) fn narrowed_type(&self, expr: &Expr, declared: Type) -> Type {
        if declared.is_optional()
            && let Some(path) = self.path_of(expr)
            && self.is_narrowed(&path)
        {
            return declared.non_null();
        }
        declared
    }

    fn check_name(&mut self, name: &str, span: Span, expr: &Expr) -> Type {
        let found = self.lookup(name);
        if let Some(found) = &found {
            self.link_name(span, found);
        }
        match found {
            Some(NameRef::Local(index)) => {
                let Some(local) = self.locals.get_mut(index) else {
                    return Type::Error;
                };
                local.reads += 1;
                let ty = local.ty.clone();
                self.narrowed_type(expr, ty)
            }
            Some(NameRef::Input(field)) | Some(NameRef::Fact(field)) => {
                if self.cx.workflow.is_some() {
                    self.out.reads.insert(name.to_string());
                }
                self.narrowed_type(expr, field.ty)
            }
            Some(NameRef::Symbol(symbol)) => {
                let message = match symbol {
                    Symbol::Decl(DeclKind::Enum, _) => format!(
                        "`{name}` is an enum, not a value: write one of its members, such as `{name}.{}`",
                        self.first_variant(name).unwrap_or_else(|| "A".to_string())
                    ),
                    Symbol::Decl(DeclKind::Record, _) => {
                        format!(
                            "`{name}` is a type, not a value: build one with `{name}(field: value)`"
                        )
                    }
                    Symbol::Decl(DeclKind::Function | DeclKind::Def, _) => {
                        format!("`{name}` must be called: `{name}(…)`")
                    }
                    Symbol::Decl(DeclKind::Workflow, _) => {
                        format!("workflow `{name}` is not a value")
                    }
                    Symbol::Module(_) => {
                        format!("`{name}` is a module, not a value: write `{name}.Name`")
                    }
                };
                self.error(Code::TYPE_MISMATCH, span, message);
                Type::Error
            }
            None => {
                if let Some(ty) = self.test_name(name) {
                    return ty;
                }
                self.unknown_name(name, span);
                Type::Error
            }
        }
    }

    fn first_variant(&self, name: &str) -> Option<String> {
        match self.cx.scope.get(name)? {
            Symbol::Decl(_, key) => enum_sig(self.db, key)?.variants.first().cloned(),
            Symbol::Module(_) => None,
        }
    }

    pub(crate) fn unknown_name(&mut self, name: &str, span: Span) {
        let candidates = self.visible_names();
        let suggestion =
            did_you_mean(name, candidates.iter().map(String::as_str)).map(str::to_string);
        let in_wrong_place = match name {
            "result" => Some("`result` is only in scope in a rule's `reaction`"),
            "error" => Some("`error` is only in scope in a rule's `error` block"),
            "it" => Some("`it` is only in scope in a closure with no named parameters"),
            _ => None,
        };
        let diagnostic = self.error(
            Code::UNKNOWN_NAME,
            span,
            format!("cannot find `{name}` in this scope"),
        );
        if let Some(note) = in_wrong_place {
            diagnostic.notes.push(note.to_string());
        } else if let Some(suggestion) = suggestion {
            diagnostic
                .notes
                .push(format!("did you mean `{suggestion}`?"));
        }
    }

    /// A name or `module.Name` that denotes a declaration, when it is not shadowed by a
    /// value.
    pub(crate) fn type_level(&mut self, expr: &Expr) -> Option<TypeLevel> {
        match &expr.kind {
            ExprKind::Name(name) => {
                let shadowed = self.locals.iter().any(|l| l.name == name.text)
                    || [&self.cx.workflow, &self.test.workflow]
                        .into_iter()
                        .flatten()
                        .any(|w| w.input(&name.text).is_some() || w.fact(&name.text).is_some());
                if shadowed {
                    return None;
                }
                match self.lookup(&name.text)? {
                    NameRef::Symbol(Symbol::Decl(kind, key)) => {
                        self.link(name.span, Link::Decl(key.clone()));
                        Some(TypeLevel::Decl(kind, key))
                    }
                    NameRef::Symbol(Symbol::Module(m)) => Some(TypeLevel::Module(m)),
                    _ => None,
                }
            }
            ExprKind::Field {
                receiver,
                name,
                safe: false,
            } => match self.type_level(receiver)? {
                TypeLevel::Module(m) => match module_decl(self.db, &m, &name.text) {
                    Some(Symbol::Decl(kind, key)) => {
                        self.link(name.span, Link::Decl(key.clone()));
                        Some(TypeLevel::Decl(kind, key))
                    }
                    _ => {
                        self.error(
                            Code::UNKNOWN_NAME,
                            name.span,
                            format!("module `{m}` has no `{}`", name.text),
                        );
                        Some(TypeLevel::Decl(DeclKind::Def, DeclKey::new("", "")))
                    }
                },
                TypeLevel::Decl(..) => None,
            },
            ExprKind::Paren(inner) => self.type_level(inner),
            _ => None,
        }
    }

    fn check_field(
        &mut self,
        expr: &Expr,
        receiver: &Expr,
        name: &str,
        name_span: Span,
        safe: bool,
    ) -> Type {
        if let Some(level) = self.type_level(receiver) {
            return match level {
                TypeLevel::Decl(DeclKind::Enum, key) => {
                    let variants = enum_sig(self.db, &key)
                        .map(|s| s.variants)
                        .unwrap_or_default();
                    if variants.iter().any(|v| v == name) {
                        self.link(name_span, Link::EnumMember(key.clone(), name.to_string()));
                        Type::Enum(key)
                    } else {
                        let suggestion = did_you_mean(name, variants.iter().map(String::as_str))
                            .map(str::to_string);
                        let diagnostic = self.error(
                            Code::UNKNOWN_ENUM_MEMBER,
                            name_span,
                            format!("enum `{}` has no member `{name}`", key.name),
                        );
                        match suggestion {
                            Some(s) => diagnostic.notes.push(format!("did you mean `{s}`?")),
                            None => diagnostic
                                .notes
                                .push(format!("its members are {}", variants.join(", "))),
                        }
                        Type::Error
                    }
                }
                TypeLevel::Decl(DeclKind::Def, key) if key.name.is_empty() => Type::Error,
                TypeLevel::Decl(kind, key) => {
                    self.error(
                        Code::TYPE_MISMATCH,
                        expr.span,
                        format!("{} `{}` is not a value", kind.describe(), key.name),
                    );
                    Type::Error
                }
                TypeLevel::Module(m) => {
                    self.error(
                        Code::TYPE_MISMATCH,
                        expr.span,
                        format!("`{m}` is a module, not a value"),
                    );
                    Type::Error
                }
            };
        }
        let receiver_type = self.check_expr(receiver, None);
        let base = match &receiver_type {
            Type::Error | Type::Never => return Type::Error,
            Type::Optional(inner) if safe => (**inner).clone(),
            Type::Optional(_) | Type::Null => {
                self.nullable_receiver(receiver, &receiver_type, name_span);
                receiver_type.non_null()
            }
            other => {
                if safe {
                    // `?.` on a value that is never null is allowed and behaves like `.`.
                }
                other.clone()
            }
        };
        if let Type::Call(_) = base {
            self.error(
                Code::CALL_MISUSE,
                name_span,
                "a pending call cannot be inspected; its result exists only in the reaction",
            );
            return Type::Error;
        }
        let field_type = match &base {
            Type::Record(key) => {
                let sig = crate::signatures::record_sig(self.db, key).unwrap_or_default();
                match sig.fields.iter().find(|f| f.name == name) {
                    Some(field) => {
                        self.link(name_span, Link::RecordField(key.clone(), name.to_string()));
                        field.ty.clone()
                    }
                    None => {
                        let suggestion =
                            did_you_mean(name, sig.fields.iter().map(|f| f.name.as_str()))
                                .map(str::to_string);
                        let diagnostic = self.error(
                            Code::UNKNOWN_FIELD,
                            name_span,
                            format!("type `{}` has no field `{name}`", key.name),
                        );
                        if let Some(s) = suggestion {
                            diagnostic.notes.push(format!("did you mean `{s}`?"));
                        }
                        return Type::Error;
                    }
                }
            }
            Type::Null => return Type::Error,
            other => {
                let diagnostic = self.error(
                    Code::UNKNOWN_FIELD,
                    name_span,
                    format!("`{other}` has no field `{name}`"),
                );
                if crate::builtins::receiver_of(other)
                    .and_then(|r| crate::builtins::lookup(r, name))
                    .is_some()
                {
                    diagnostic
                        .notes
                        .push(format!("`{name}` is a method: write `{name}()`"));
                }
                return Type::Error;
            }
        };
        let ty = if safe && receiver_type.is_optional() {
            Type::optional(field_type)
        } else {
            field_type
        };
        self.narrowed_type(expr, ty)
    }

    /// Reports use of an optional value as a receiver.
    pub(crate) fn nullable_receiver(&mut self, receiver: &Expr, ty: &Type, at: Span) {
        let path = self.path_of(receiver).map(|p| p.join("."));
        let carried = path
            .as_ref()
            .is_some_and(|p| self.cx.match_narrowed.iter().any(|m| &m.join(".") == p));
        let kind = self.cx.kind;
        let subject = match &path {
            Some(p) => format!("`{p}`"),
            None => "this value".to_string(),
        };
        let diagnostic = self.error(
            Code::NULLABLE_VALUE,
            receiver.span,
            format!("{subject} may be null here (its type is `{ty}`)"),
        );
        diagnostic.labels.push(cosmos_diagnostics::Label::new(
            diagnostic.primary.file,
            at,
            "used here as if it were not null",
        ));
        if carried && matches!(kind, BodyKind::Reaction | BodyKind::Error) {
            diagnostic.notes.push(format!(
                "the rule's `match` checked it, but {} runs later, when facts may have changed: check {subject} again here, or use `?.` or `?:`",
                kind.describe()
            ));
        } else if let Some(p) = &path {
            let place = if matches!(kind, BodyKind::Action) {
                "in this rule's `match`"
            } else {
                "first"
            };
            diagnostic.notes.push(format!(
                "check `{p} != null` {place}, or use `{p}?.` or `?:`"
            ));
        } else {
            diagnostic
                .notes
                .push("use `?.` or give a fallback with `?:`".to_string());
        }
    }

    fn check_index(&mut self, receiver: &Expr, index: &Expr) -> Type {
        let receiver_type = self.check_expr(receiver, None);
        let base = match &receiver_type {
            Type::Optional(_) | Type::Null => {
                self.nullable_receiver(receiver, &receiver_type, index.span);
                receiver_type.non_null()
            }
            other => other.clone(),
        };
        match &base {
            Type::List(element) => {
                self.check_expected(index, &Type::Int);
                (**element).clone()
            }
            Type::Map(key, value) => {
                self.check_expected(index, key);
                Type::optional((**value).clone())
            }
            Type::Error | Type::Never | Type::Null => {
                self.check_expr(index, None);
                Type::Error
            }
            other => {
                self.check_expr(index, None);
                self.error(
                    Code::INVALID_OPERANDS,
                    receiver.span,
                    format!("a `{other}` cannot be indexed; only lists and maps can"),
                );
                Type::Error
            }
        }
    }

    fn check_unary(&mut self, op: UnaryOp, operand: &Expr, span: Span) -> Type {
        let ty = self.check_expr(operand, None);
        if ty.is_bottom() {
            return ty;
        }
        match op {
            UnaryOp::Not => {
                if ty != Type::Bool {
                    self.check_condition_type(&ty, operand.span);
                }
                Type::Bool
            }
            UnaryOp::Neg => match ty {
                Type::Int | Type::Float | Type::Duration => ty,
                other => {
                    self.error(
                        Code::INVALID_OPERANDS,
                        span,
                        format!("`-` does not apply to `{other}`"),
                    );
                    Type::Error
                }
            },
        }
    }

    fn check_condition_type(&mut self, ty: &Type, span: Span) {
        let diagnostic = self.error(
            Code::NON_BOOL_CONDITION,
            span,
            format!("`!` needs a `Bool`, not `{ty}`"),
        );
        if matches!(ty, Type::List(_) | Type::Map(..) | Type::String) {
            diagnostic
                .notes
                .push("Emx has no truthiness: write `x.isEmpty()`".to_string());
        }
    }

    fn check_binary(
        &mut self,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        expected: Option<&Type>,
        span: Span,
    ) -> Type {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.check_condition(lhs);
                let narrowing = self.narrowing(lhs);
                let saved = self.narrowed.clone();
                let proven = if op == BinaryOp::And {
                    narrowing.when_true
                } else {
                    narrowing.when_false
                };
                self.assume(&proven);
                self.check_condition(rhs);
                self.narrowed = saved;
                return Type::Bool;
            }
            BinaryOp::Elvis => {
                let left =
                    self.check_expr(lhs, expected.map(|t| Type::optional(t.clone())).as_ref());
                let inner = left.non_null();
                let right = match expected {
                    Some(t) => self.check_expr(rhs, Some(t)),
                    None => self.check_expr(rhs, Some(&inner)),
                };
                return self.join_branches(&inner, &right, expected, span);
            }
            _ => {}
        }
        let (l, r) = if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
            let l = self.check_expr(lhs, None);
            let r = self.check_expr(rhs, Some(&l));
            (l, r)
        } else {
            (self.check_expr(lhs, None), self.check_expr(rhs, None))
        };
        if l.is_bottom() || r.is_bottom() {
            return match op {
                BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge
                | BinaryOp::In => Type::Bool,
                BinaryOp::Range | BinaryOp::RangeExclusive => Type::list(Type::Int),
                _ => Type::Error,
            };
        }
        if l.contains_call() || r.contains_call() {
            let list_concat =
                op == BinaryOp::Add && matches!((&l, &r), (Type::List(_), Type::List(_)));
            if !list_concat {
                self.error(
                    Code::CALL_MISUSE,
                    span,
                    "a pending call cannot be used in an operation; its result exists only in the reaction",
                );
                return Type::Error;
            }
        }
        let result = match op {
            BinaryOp::Eq | BinaryOp::Ne => {
                let comparable = l.is_assignable_to(&r)
                    || r.is_assignable_to(&l)
                    || (l.non_null().is_numeric() && r.non_null().is_numeric());
                comparable.then_some(Type::Bool)
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let ok = (l.is_numeric() && r.is_numeric()) || (l == r && l.is_comparable());
                ok.then_some(Type::Bool)
            }
            BinaryOp::In => {
                let ok = match &r {
                    Type::List(element) => {
                        l.is_assignable_to(element)
                            || element.is_assignable_to(&l)
                            || (l.is_numeric() && element.is_numeric())
                    }
                    Type::Map(key, _) => l.is_assignable_to(key),
                    Type::String => l == Type::String,
                    _ => false,
                };
                ok.then_some(Type::Bool)
            }
            BinaryOp::Range | BinaryOp::RangeExclusive => {
                (l == Type::Int && r == Type::Int).then(|| Type::list(Type::Int))
            }
            BinaryOp::Add => match (&l, &r) {
                (Type::Int, Type::Int) => Some(Type::Int),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float),
                (Type::String, other) => {
                    self.interpolated(other, rhs.span);
                    Some(Type::String)
                }
                (Type::List(_), Type::List(_)) => l.join(&r),
                (Type::Map(..), Type::Map(..)) => l.join(&r),
                (Type::Duration, Type::Duration) => Some(Type::Duration),
                (Type::Time, Type::Duration) | (Type::Duration, Type::Time) => Some(Type::Time),
                _ => None,
            },
            BinaryOp::Sub => match (&l, &r) {
                (Type::Int, Type::Int) => Some(Type::Int),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float),
                (Type::Duration, Type::Duration) => Some(Type::Duration),
                (Type::Time, Type::Time) => Some(Type::Duration),
                (Type::Time, Type::Duration) => Some(Type::Time),
                _ => None,
            },
            BinaryOp::Mul => match (&l, &r) {
                (Type::Int, Type::Int) => Some(Type::Int),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float),
                (Type::Duration, Type::Int) | (Type::Int, Type::Duration) => Some(Type::Duration),
                _ => None,
            },
            BinaryOp::Div => match (&l, &r) {
                (Type::Int, Type::Int) => Some(Type::Int),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float),
                (Type::Duration, Type::Int) => Some(Type::Duration),
                _ => None,
            },
            BinaryOp::Rem => match (&l, &r) {
                (Type::Int, Type::Int) => Some(Type::Int),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float),
                _ => None,
            },
            BinaryOp::And | BinaryOp::Or | BinaryOp::Elvis => Some(Type::Bool),
        };
        match result {
            Some(t) => t,
            None => {
                let diagnostic = self.error(
                    Code::INVALID_OPERANDS,
                    span,
                    format!("`{}` cannot be applied to `{l}` and `{r}`", op.symbol()),
                );
                if l.is_optional() || r.is_optional() {
                    diagnostic.notes.push(
                        "an optional value must be checked with `!= null` or given a fallback with `?:` first".to_string(),
                    );
                }
                match op {
                    BinaryOp::Eq
                    | BinaryOp::Ne
                    | BinaryOp::Lt
                    | BinaryOp::Le
                    | BinaryOp::Gt
                    | BinaryOp::Ge
                    | BinaryOp::In => Type::Bool,
                    _ => Type::Error,
                }
            }
        }
    }
}
