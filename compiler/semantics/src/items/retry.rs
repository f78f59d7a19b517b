//! The checks of a function's `retry` policy and `heartbeat` (LANGUAGE.md 10.3, 10.4):
//! each argument's name, type and range, and that `attempts` is there.

use super::ItemChecker;
use crate::retry::{ARGUMENTS, OnKind, on_kinds};
use crate::types::Type;
use cosmos_diagnostics::{Code, Diagnostic, Label, Span, Suggestion};
use cosmos_ir::value::Value;
use cosmos_syntax::ast;
use std::collections::BTreeMap;

impl ItemChecker<'_> {
    /// `retry attempts: N, delay: D, factor: F, max: D, on: [KINDS]`.
    pub(super) fn retry(&mut self, setting: &ast::FunctionSetting) {
        let ast::ExprKind::Call { args, .. } = &setting.value.kind else {
            return;
        };
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut unnamed = false;
        for arg in args {
            let Some(name) = &arg.name else {
                unnamed = true;
                self.out.push(
                    Diagnostic::new(
                        Code::RETRY_UNKNOWN_NAME,
                        "`retry` takes named arguments; this one has no name",
                        Label::new(self.id, arg.value.span, "which argument is this?"),
                    )
                    .with_note(
                        "name each argument: `retry attempts: 3, delay: 1.s, factor: 2.0, max: 1.min, on: [FAILED, TIMEOUT]`",
                    ),
                );
                continue;
            };
            if let Some(first) = seen.insert(&name.text, name.span) {
                self.out.push(
                    Diagnostic::new(
                        Code::DUPLICATE_CLAUSE,
                        format!("`{}` is given twice in `retry`", name.text),
                        Label::new(self.id, name.span, "given again here"),
                    )
                    .with_label(Label::new(self.id, first, "first given here")),
                );
                continue;
            }
            match name.text.as_str() {
                "attempts" => {
                    if let Some(Value::Int(n)) = self.retry_value(name, &arg.value, &[Type::Int])
                        && n < 1
                    {
                        self.out_of_range(
                            arg.value.span,
                            format!("`attempts` is {n}, but a call is made at least once"),
                            "`attempts` counts every attempt, the first included: `attempts: 1` never retries",
                        );
                    }
                }
                "delay" | "max" => {
                    if let Some(Value::Duration(ms)) =
                        self.retry_value(name, &arg.value, &[Type::Duration])
                        && ms < 0
                    {
                        self.out_of_range(
                            arg.value.span,
                            format!("`{}` is negative", name.text),
                            "write a duration of 0 or more, such as `1.s`",
                        );
                    }
                }
                "factor" => {
                    let factor = match self.retry_value(name, &arg.value, &[Type::Float, Type::Int])
                    {
                        Some(Value::Float(f)) => Some(f),
                        Some(Value::Int(n)) => Some(n as f64),
                        _ => None,
                    };
                    if let Some(f) = factor
                        && !(f >= 1.0 && f.is_finite())
                    {
                        self.out_of_range(
                            arg.value.span,
                            format!("`factor` is {f}, but delays may not shrink"),
                            "write 1.0 for a constant delay, or more for a growing one, such as `factor: 2.0`",
                        );
                    }
                }
                "on" => self.retry_on(&arg.value),
                other => {
                    let mut diagnostic = Diagnostic::new(
                        Code::RETRY_UNKNOWN_NAME,
                        format!("`retry` has no argument `{other}`"),
                        Label::new(self.id, name.span, ""),
                    );
                    match crate::suggest::did_you_mean(other, ARGUMENTS) {
                        Some(s) => crate::suggest::offer(&mut diagnostic, &format!("`{s}`"), s),
                        None => {
                            diagnostic = diagnostic.with_note(
                                "its arguments are `attempts`, `delay`, `factor`, `max` and `on`",
                            )
                        }
                    }
                    self.out.push(diagnostic);
                }
            }
        }
        // An unnamed argument may be the attempts: that error is enough.
        if !seen.contains_key("attempts") && !unnamed {
            let at = args
                .last()
                .map_or(setting.keyword.end, |a| a.value.span.end);
            self.out.push(
                Diagnostic::new(
                    Code::RETRY_MISSING_ATTEMPTS,
                    "this `retry` policy does not say how many attempts to make",
                    Label::new(self.id, setting.keyword, "add `attempts: N` here"),
                )
                .with_note("`attempts` is the total number of attempts, the first included")
                .with_suggestion(Suggestion::replace(
                    "try at most 3 times",
                    self.id,
                    Span::new(at, at),
                    if args.is_empty() {
                        " attempts: 3"
                    } else {
                        ", attempts: 3"
                    },
                )),
            );
        }
    }

    /// Checks a retry argument against the types it may have and computes it, like a
    /// setting; `None` when it has errors (already reported).
    fn retry_value(
        &mut self,
        name: &ast::Ident,
        value: &ast::Expr,
        types: &[Type],
    ) -> Option<Value> {
        let errors_before = self.error_count();
        let mut checker = self.constant_checker(None);
        checker.in_setting = true;
        let ty = checker.check_expr(value, None);
        let found = checker.finish();
        self.out.extend(found.diagnostics);
        self.used.extend(found.used);
        if self.error_count() > errors_before || ty.is_error() {
            return None;
        }
        if !types.iter().any(|t| ty.is_assignable_to(t)) {
            let wanted = match name.text.as_str() {
                "attempts" => "an `Int`, the number of attempts",
                "factor" => "a number, such as `2.0`",
                _ => "a `Duration`, such as `2.s`",
            };
            self.out.push(Diagnostic::new(
                Code::RETRY_ARGUMENT_TYPE,
                format!("`{}` must be {wanted}, not `{ty}`", name.text),
                Label::new(self.id, value.span, ""),
            ));
            return None;
        }
        match crate::lower::evaluate_constant(self.db, self.file, value) {
            Ok(v) => Some(v),
            Err(crate::lower::ConstantError::Evaluation { kind, span }) => {
                self.constant_fails(&format!("`{}`", name.text), span, &kind);
                None
            }
            Err(crate::lower::ConstantError::Lower(error)) => {
                self.out.push(Diagnostic::new(
                    Code::INVALID_SETTING,
                    format!(
                        "`{}` cannot be computed when the project compiles: {error}",
                        name.text
                    ),
                    Label::new(self.id, value.span, ""),
                ));
                None
            }
        }
    }

    /// `on: [FAILED, TIMEOUT]`: error kinds, bare or as `ErrorKind.X`.
    fn retry_on(&mut self, value: &ast::Expr) {
        let Some(kinds) = on_kinds(value) else {
            self.out.push(
                Diagnostic::new(
                    Code::RETRY_ARGUMENT_TYPE,
                    "`on` must be a list of error kinds",
                    Label::new(self.id, value.span, ""),
                )
                .with_note("for example `on: [FAILED, TIMEOUT, CRASHED]`"),
            );
            return;
        };
        if kinds.is_empty() {
            self.out_of_range(
                value.span,
                "`on: []` retries no failure".to_string(),
                "list the error kinds to retry, or leave `retry` out",
            );
        }
        for kind in kinds {
            match kind {
                OnKind::Known(_) => {}
                OnKind::Unknown(name) => {
                    let mut diagnostic = Diagnostic::new(
                        Code::RETRY_UNKNOWN_NAME,
                        format!("`{}` is not an error kind", name.text),
                        Label::new(self.id, name.span, ""),
                    );
                    match crate::suggest::did_you_mean(&name.text, crate::retry::ERROR_KINDS) {
                        Some(s) => crate::suggest::offer(&mut diagnostic, &format!("`{s}`"), s),
                        None => diagnostic = diagnostic.with_note(
                            "the error kinds are `FAILED`, `TIMEOUT`, `BAD_OUTPUT` and `CRASHED`",
                        ),
                    }
                    self.out.push(diagnostic);
                }
                OnKind::NotAKind(e) => self.out.push(
                    Diagnostic::new(
                        Code::RETRY_ARGUMENT_TYPE,
                        "`on` lists error kinds by name",
                        Label::new(self.id, e.span, "not the name of an error kind"),
                    )
                    .with_note("write `FAILED`, `TIMEOUT`, `BAD_OUTPUT` or `CRASHED`"),
                ),
            }
        }
    }

    fn out_of_range(&mut self, span: Span, message: String, note: &str) {
        self.out.push(
            Diagnostic::new(
                Code::RETRY_OUT_OF_RANGE,
                message,
                Label::new(self.id, span, ""),
            )
            .with_note(note.to_string()),
        );
    }

    /// `heartbeat D`: a positive duration.
    pub(super) fn heartbeat(&mut self, setting: &ast::FunctionSetting) {
        if let Some(Value::Duration(ms)) =
            self.check_setting(&setting.value, &Type::Duration, "heartbeat")
            && ms <= 0
        {
            self.out.push(
                Diagnostic::new(
                    Code::INVALID_SETTING,
                    "`heartbeat` must be longer than 0s",
                    Label::new(self.id, setting.value.span, ""),
                )
                .with_note(
                    "it is the longest a call may go without reporting progress, such as `heartbeat 30.s`",
                ),
            );
        }
    }
}
