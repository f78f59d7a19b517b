//! Names, qualified paths, fields (`.` and `?.`) and indexing.

use super::expr::TypeLevel;
use super::{BodyKind, Checker, Link, NameRef};
use crate::scope::{DeclKind, Symbol, module_decl};
use crate::signatures::enum_sig;
use crate::suggest::{did_you_mean, offer_name};
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::{Code, Span, words};
use cosmos_syntax::ast::{Expr, ExprKind};

impl Checker<'_> {
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

    pub(super) fn check_name(&mut self, name: &str, span: Span, expr: &Expr) -> Type {
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
                if self.instance_outside_assert(name, span) {
                    return Type::Error;
                }
                self.unknown_name(name, span);
                Type::Error
            }
        }
    }

    pub(super) fn first_variant(&self, name: &str) -> Option<String> {
        match self.cx.scope.get(name)? {
            Symbol::Decl(_, key) => enum_sig(self.db, key)?.variants.first().cloned(),
            Symbol::Module(_) => None,
        }
    }

    pub(crate) fn unknown_name(&mut self, name: &str, span: Span) {
        if let Some((_, kind)) = self.unreadable.iter().find(|(n, _)| n == name) {
            let kind = *kind;
            self.error(
                Code::UNKNOWN_NAME,
                span,
                format!("a default cannot read the {kind} `{name}`"),
            )
            .notes
            .push("defaults are constants, evaluated before any instance exists: write a value, or set it from a rule's `reaction` or a `signal`".to_string());
            return;
        }
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
            offer_name(diagnostic, &suggestion);
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

    pub(super) fn check_field(
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
                            Some(s) => offer_name(diagnostic, &s),
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
                            offer_name(diagnostic, &s);
                        }
                        return Type::Error;
                    }
                }
            }
            Type::Outcome(value) => {
                let fields = Type::outcome_fields(value);
                match fields.iter().find(|(n, _)| *n == name) {
                    Some((_, ty)) => ty.clone(),
                    None => {
                        let suggestion =
                            did_you_mean(name, fields.iter().map(|(n, _)| *n)).map(str::to_string);
                        let diagnostic = self.error(
                            Code::UNKNOWN_FIELD,
                            name_span,
                            format!(
                                "`{base}` has no field `{name}`: it has `ok`, `value` and `error`"
                            ),
                        );
                        if let Some(s) = suggestion {
                            offer_name(diagnostic, &s);
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

    pub(super) fn check_index(&mut self, receiver: &Expr, index: &Expr) -> Type {
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
                    format!(
                        "{} cannot be indexed; only lists and maps can",
                        words::a(&format!("`{other}`"))
                    ),
                );
                Type::Error
            }
        }
    }
}
