//! Expressions: checking against an expected type, operators, conditionals and string
//! interpolation (literals of lists and maps are in `collections`, names, fields and
//! indexing in `access`).

use super::Checker;
use crate::scope::DeclKind;
use crate::types::{DeclKey, Type};
use cosmos_diagnostics::{Code, Edit, FileId, Span, Suggestion, words};
use cosmos_syntax::ast::{
    BinaryOp, Block, Expr, ExprKind, IfBranch, Link, StrPart, UnaryOp, chain_prefix_span,
};

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
        self.coerce_expr(&actual, expected, expr);
        actual
    }

    /// [`Checker::coerce`] for a written expression: an `Int` literal where a `Float`
    /// is needed comes with the fix of writing it as one (`1` → `1.0`).
    pub(crate) fn coerce_expr(&mut self, actual: &Type, expected: &Type, expr: &Expr) -> bool {
        if self.coerce(actual, expected, expr.span) {
            return true;
        }
        let literal = match &expr.kind {
            ExprKind::Paren(inner) => inner,
            _ => expr,
        };
        if let (ExprKind::Int(n), Type::Int, Type::Float) = (&literal.kind, actual, expected)
            && let Some(diagnostic) = self.out.diagnostics.last_mut()
            && diagnostic.primary.span == expr.span
        {
            diagnostic.suggestions.push(Suggestion::replace(
                format!("write it as a `Float`: `{n}.0`"),
                self.cx.file,
                literal.span,
                format!("{n}.0"),
            ));
        }
        false
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
                format!("`null` is not {}", words::a(&format!("`{expected}`"))),
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
            ExprKind::Chain { first, links } => self.check_chain(first, links, expected),
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
                branches,
                otherwise,
            } => self.check_if(branches, otherwise.as_ref(), expected, true, expr.span),
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
        let file = self.cx.file;
        let diagnostic = self.error(
            Code::NON_BOOL_CONDITION,
            cond.span,
            format!("a condition must be a `Bool`, not `{ty}`"),
        );
        diagnostic
            .suggestions
            .extend(explicit_condition(file, cond, &ty));
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

    /// Checks `if (c₀) b₀ else if (c₁) b₁ … else e` in one pass over its branches,
    /// as if each `else if` were an `if` nested in the `else` before it: each
    /// condition and branch sees the narrowing of the conditions before it having
    /// been false, and the branch types are joined from the last one outwards.
    pub(crate) fn check_if(
        &mut self,
        branches: &[IfBranch],
        otherwise: Option<&Block>,
        expected: Option<&Type>,
        want_value: bool,
        span: Span,
    ) -> Type {
        let want = want_value && otherwise.is_some();
        let saved = self.narrowed.clone();
        let mut head_narrowing = None;
        let mut types = Vec::with_capacity(branches.len());
        for branch in branches {
            self.check_condition(&branch.cond);
            let narrowing = self.narrowing(&branch.cond);
            let before = self.narrowed.clone();
            self.assume(&narrowing.when_true);
            types.push(self.check_block(&branch.then, want, expected));
            self.narrowed = before;
            self.assume(&narrowing.when_false);
            head_narrowing.get_or_insert(narrowing);
        }
        let mut rest = match otherwise {
            None => Type::Unit,
            Some(block) => self.check_block(block, want, expected),
        };
        self.narrowed = saved;
        // Join from the innermost `else if` outwards; each joins over the span from
        // its `if` to the end of the whole chain.
        let mut head = Type::Unit;
        for (index, (branch, a)) in branches.iter().zip(types).enumerate().rev() {
            if index == 0 {
                head = a;
                break;
            }
            let at = Span::new(branch.span.start, span.end);
            rest = self.join_if(&a, &rest, expected, want, at);
        }
        let Some(narrowing) = head_narrowing else {
            return rest;
        };
        // A branch that cannot complete leaves the other branch's narrowing in force.
        match (head == Type::Never, rest == Type::Never) {
            (true, false) => self.assume(&narrowing.when_false),
            (false, true) => self.assume(&narrowing.when_true),
            _ => {}
        }
        self.join_if(&head, &rest, expected, want, span)
    }

    /// The type of `if (c) a else b` from its branches' types.
    fn join_if(
        &mut self,
        a: &Type,
        b: &Type,
        expected: Option<&Type>,
        want: bool,
        span: Span,
    ) -> Type {
        if !want {
            return if *a == Type::Never && *b == Type::Never {
                Type::Never
            } else {
                Type::Unit
            };
        }
        self.join_branches(a, b, expected, span)
    }
}

impl Checker<'_> {
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

    /// Checks an operator chain left to right, recording the type of each prefix
    /// (`a + b` of `a + b + c`) by its span, as a nested tree would have been.
    fn check_chain(&mut self, first: &Expr, links: &[Link], expected: Option<&Type>) -> Type {
        match links {
            [
                Link {
                    op: BinaryOp::Elvis,
                    rhs,
                },
            ] => {
                let span = first.span.to(rhs.span);
                let left =
                    self.check_expr(first, expected.map(|t| Type::optional(t.clone())).as_ref());
                let inner = left.non_null();
                let right = match expected {
                    Some(t) => self.check_expr(rhs, Some(t)),
                    None => self.check_expr(rhs, Some(&inner)),
                };
                return self.join_branches(&inner, &right, expected, span);
            }
            [
                Link {
                    op: BinaryOp::And | BinaryOp::Or,
                    ..
                },
                ..,
            ] => {
                return self.check_logical_chain(first, links);
            }
            _ => {}
        }
        let ordering = |op: BinaryOp| {
            matches!(
                op,
                BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
            )
        };
        let now_first = links.first().is_some_and(|link| ordering(link.op)) && is_now_call(first);
        let mut l = if now_first {
            self.check_now_operand(first)
        } else {
            self.check_expr(first, None)
        };
        for (index, link) in links.iter().enumerate() {
            let span = chain_prefix_span(first, links, index);
            let r = if matches!(link.op, BinaryOp::Eq | BinaryOp::Ne) {
                self.check_expr(&link.rhs, Some(&l))
            } else if ordering(link.op) && !(index == 0 && now_first) && is_now_call(&link.rhs) {
                // `now()` on one side only: with it on both, the right one is reported.
                self.check_now_operand(&link.rhs)
            } else {
                self.check_expr(&link.rhs, None)
            };
            l = self.check_binary(link.op, l, r, &link.rhs, span);
            if index + 1 < links.len() {
                self.out.types.push((span, l.clone()));
            }
        }
        l
    }

    /// One side of `<`, `<=`, `>` or `>=`: the place where a `match` may call `now()`
    /// (LANGUAGE.md 10.1), so a `now()` here is allowed (its other side is checked on
    /// its own: a second `now()` there is not).
    fn check_now_operand(&mut self, operand: &Expr) -> Type {
        let mut inner = operand;
        while let ExprKind::Paren(e) = &inner.kind {
            inner = e;
        }
        let saved = self.now_operand.replace(inner.span);
        let ty = self.check_expr(operand, None);
        self.now_operand = saved;
        ty
    }

    /// `a && b && c` or `a || b || c`: every operand is a condition, checked with
    /// what the operands before it proved.
    fn check_logical_chain(&mut self, first: &Expr, links: &[Link]) -> Type {
        self.check_condition(first);
        let mut proven = self.narrowing(first);
        let saved = self.narrowed.clone();
        for (index, link) in links.iter().enumerate() {
            let and = link.op == BinaryOp::And;
            self.assume(if and {
                &proven.when_true
            } else {
                &proven.when_false
            });
            self.check_condition(&link.rhs);
            self.narrowed = saved.clone();
            if index + 1 < links.len() {
                let span = chain_prefix_span(first, links, index);
                self.out.types.push((span, Type::Bool));
                proven = proven.link(link.op, self.narrowing(&link.rhs));
            }
        }
        Type::Bool
    }

    /// The type of `l op r` for operands already checked.
    fn check_binary(&mut self, op: BinaryOp, l: Type, r: Type, rhs: &Expr, span: Span) -> Type {
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

/// The comparison Emx wants instead of truthiness: `x != null`, `x != 0`,
/// `!x.isEmpty()`, with parentheses around anything but a name, field, call or index.
fn explicit_condition(file: FileId, cond: &Expr, ty: &Type) -> Option<Suggestion> {
    let simple = matches!(
        cond.kind,
        ExprKind::Name(_)
            | ExprKind::Field { .. }
            | ExprKind::Call { .. }
            | ExprKind::Index { .. }
            | ExprKind::Paren(_)
    );
    let (open, close) = if simple { ("", "") } else { ("(", ")") };
    let (message, before, after) = match ty {
        Type::Optional(_) => (
            "compare it with `null`",
            open.to_string(),
            format!("{close} != null"),
        ),
        Type::Int | Type::Float => (
            "compare it with `0`",
            open.to_string(),
            format!("{close} != 0"),
        ),
        Type::List(_) | Type::Map(_, _) | Type::String => (
            "test that it is not empty",
            format!("!{open}"),
            format!("{close}.isEmpty()"),
        ),
        _ => return None,
    };
    let start = Span::new(cond.span.start, cond.span.start);
    let end = Span::new(cond.span.end, cond.span.end);
    let edits = [Edit::new(file, start, before), Edit::new(file, end, after)];
    Some(Suggestion::new(
        message,
        edits
            .into_iter()
            .filter(|e| !e.replacement.is_empty())
            .collect(),
    ))
}

/// Whether `e` is a call `now()` (in parentheses or not).
fn is_now_call(e: &Expr) -> bool {
    let mut inner = e;
    while let ExprKind::Paren(e) = &inner.kind {
        inner = e;
    }
    matches!(
        &inner.kind,
        ExprKind::Call { callee, args, closure: None }
            if args.is_empty() && matches!(&callee.kind, ExprKind::Name(n) if n.text == "now")
    )
}
