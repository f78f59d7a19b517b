//! Statements and blocks: locals, assignments (and who may assign facts), loops,
//! `return`, and the value of a block.

use super::{BodyKind, Checker, LocalKind, NameRef, Path};
use crate::types::Type;
use cosmos_diagnostics::{Code, Span, Suggestion, words};
use cosmos_syntax::ast::{AssignOp, Block, Expr, ExprKind, Stmt, StmtKind};

impl Checker<'_> {
    /// Checks a block; with `want_value`, its last expression is its value and a block
    /// without one is reported.
    pub(crate) fn check_block(
        &mut self,
        block: &Block,
        want_value: bool,
        expected: Option<&Type>,
    ) -> Type {
        let mark = self.locals.len();
        let mut value = Type::Unit;
        let mut diverged = false;
        let count = block.stmts.len();
        for (index, stmt) in block.stmts.iter().enumerate() {
            let last = index + 1 == count;
            let ty = if last && want_value {
                match &stmt.kind {
                    StmtKind::Expr(e) => match &e.kind {
                        ExprKind::If {
                            branches,
                            otherwise,
                        } if otherwise.is_none() => {
                            self.check_if(branches, None, expected, false, e.span);
                            let file = self.cx.file;
                            let diagnostic = self.error(
                                Code::MISSING_VALUE,
                                e.span,
                                "an `if` without `else` has no value",
                            );
                            diagnostic.notes.push("add an `else` branch".to_string());
                            if let Some(value) = expected.and_then(Type::plain_default) {
                                diagnostic.suggestions.push(Suggestion::replace(
                                    format!("add an `else` branch with `{value}`"),
                                    file,
                                    Span::new(e.span.end, e.span.end),
                                    format!(" else {{ {value} }}"),
                                ));
                            }
                            Type::Error
                        }
                        _ => self.check_expr(e, expected),
                    },
                    StmtKind::Assign {
                        target,
                        op: AssignOp::Set,
                        op_span,
                        value,
                    } if matches!(self.cx.kind, BodyKind::Match | BodyKind::CompleteWhen) => {
                        self.assignment_as_condition(target, *op_span, value)
                    }
                    _ => self.check_stmt(stmt),
                }
            } else {
                self.check_stmt(stmt)
            };
            if ty == Type::Never {
                diverged = true;
            }
            if last {
                value = ty;
            }
        }
        self.pop_locals(mark);
        if diverged {
            return Type::Never;
        }
        if want_value && value == Type::Unit {
            let span = block.stmts.last().map_or(block.span, |s| s.span);
            let diagnostic = self.error(
                Code::MISSING_VALUE,
                span,
                "this block needs a value, but it ends without an expression",
            );
            diagnostic
                .notes
                .push("end it with the expression whose value it should have".to_string());
            return Type::Error;
        }
        value
    }

    /// `match { n = 3 }`, `complete when { n = 3 }`: an assignment where a condition
    /// belongs, almost always meant as `==`. Reported as such; the body is a `Bool`.
    fn assignment_as_condition(&mut self, target: &Expr, op_span: Span, value: &Expr) -> Type {
        let left = self.check_expr(target, None);
        self.check_expr(value, Some(&left));
        let code = if self.cx.kind == BodyKind::Match {
            Code::MATCH_NOT_BOOL
        } else {
            Code::NON_BOOL_CONDITION
        };
        let file = self.cx.file;
        let diagnostic = self.error(
            code,
            op_span,
            "`=` assigns, but this is a condition: compare with `==`",
        );
        diagnostic.notes.push(
            "facts change only in a `reaction`, an `error` block or a signal handler".to_string(),
        );
        diagnostic.suggestions.push(Suggestion::replace(
            "write `==` to test equality",
            file,
            op_span,
            "==",
        ));
        Type::Bool
    }

    /// Checks one statement in statement position; returns `Never` when control cannot
    /// continue past it.
    pub(crate) fn check_stmt(&mut self, stmt: &Stmt) -> Type {
        match &stmt.kind {
            StmtKind::Let { name, ty, value } => {
                let declared = ty.as_ref().map(|t| self.resolve_type_ref(t));
                let actual = match &declared {
                    Some(t) => self.check_expected(value, t),
                    None => self.check_expr(value, None),
                };
                // `def x: String = null`: the written type wants its `?`.
                if let (Some(written), Type::Null) = (ty, &actual)
                    && let Some(diagnostic) = self.out.diagnostics.last_mut()
                    && diagnostic.code == Code::NULL_NOT_ALLOWED
                    && diagnostic.primary.span == value.span
                {
                    let end = Span::new(written.span.end, written.span.end);
                    diagnostic.suggestions.push(Suggestion::replace(
                        "make the type optional",
                        self.cx.file,
                        end,
                        "?",
                    ));
                }
                let local_type = match declared {
                    Some(t) => t,
                    None => match actual {
                        Type::Null => {
                            self.error(
                                Code::CANNOT_INFER,
                                value.span,
                                format!(
                                    "the type of `{}` cannot be inferred from `null`",
                                    name.text
                                ),
                            )
                            .notes
                            .push(format!("declare it: `def {}: String? = null`", name.text));
                            Type::Error
                        }
                        Type::Unit => {
                            self.error(
                                Code::MISSING_VALUE,
                                value.span,
                                "this has no value to store",
                            );
                            Type::Error
                        }
                        Type::Never => Type::Error,
                        other => other,
                    },
                };
                self.define(&name.text, local_type, name.span, LocalKind::Let);
                if let Some(local) = self.locals.last_mut() {
                    local.stmt = Some(stmt.span);
                }
                Type::Unit
            }
            StmtKind::Assign {
                target,
                op,
                op_span,
                value,
            } => {
                self.check_assign(target, *op, *op_span, value);
                Type::Unit
            }
            StmtKind::For { var, iter, body } => {
                let iter_type = self.check_expr(iter, None);
                let element = match &iter_type {
                    Type::List(t) => (**t).clone(),
                    Type::Error | Type::Never => Type::Error,
                    other => {
                        let diagnostic = self.error(
                            Code::TYPE_MISMATCH,
                            iter.span,
                            format!("`for` goes over a list or a range, not `{other}`"),
                        );
                        if matches!(other, Type::Map(..)) {
                            diagnostic.notes.push(
                                "for a map, write `m.each { k, v -> … }` or `for (k in m.keys())`"
                                    .to_string(),
                            );
                        }
                        Type::Error
                    }
                };
                for path in assigned_paths(body) {
                    self.forget(&path);
                }
                let saved = self.narrowed.clone();
                let mark = self.locals.len();
                self.define(&var.text, element, var.span, LocalKind::ReadOnly);
                self.check_block(body, false, None);
                self.pop_locals(mark);
                self.narrowed = saved;
                Type::Unit
            }
            StmtKind::Return(value) => {
                if self.cx.kind != BodyKind::Def {
                    self.error(
                        Code::RETURN_OUTSIDE_DEF,
                        stmt.span,
                        format!(
                            "`return` is only allowed in a helper (`def`), not in {}",
                            self.cx.kind.describe()
                        ),
                    );
                    if let Some(v) = value {
                        self.check_expr(v, None);
                    }
                    return Type::Never;
                }
                let ret = self.cx.def_ret.clone().unwrap_or(Type::Error);
                match value {
                    Some(v) => {
                        self.check_expected(v, &ret);
                    }
                    None => {
                        self.error(
                            Code::MISSING_VALUE,
                            stmt.span,
                            format!("this helper returns `{ret}`: write `return value`"),
                        );
                    }
                }
                Type::Never
            }
            StmtKind::Expr(e) => match &e.kind {
                ExprKind::If {
                    branches,
                    otherwise,
                } => self.check_if(branches, otherwise.as_ref(), None, false, e.span),
                _ => {
                    let ty = self.check_expr(e, None);
                    if ty == Type::Never {
                        Type::Never
                    } else {
                        Type::Unit
                    }
                }
            },
        }
    }

    pub(crate) fn resolve_type_ref(&mut self, ty: &cosmos_syntax::ast::TypeRef) -> Type {
        let mut errors = Vec::new();
        let scope = self.cx.scope.clone();
        let resolved = crate::signatures::resolve_type(self.db, &scope, ty, &mut errors);
        for error in errors {
            let diagnostic = crate::items::type_ref_diagnostic(self.cx.file, &error);
            self.report(diagnostic);
        }
        // A type name used in a body counts as a use of its import.
        if let cosmos_syntax::ast::TypeRefKind::Named { path, .. } = &ty.kind
            && let Some(first) = path.first()
        {
            self.out.used.insert(first.text.clone());
        }
        resolved
    }

    fn check_assign(&mut self, target: &Expr, op: AssignOp, op_span: Span, value: &Expr) {
        // The root of the target decides who may assign it.
        let Some((root, root_span)) = root_name(target) else {
            self.check_expr(target, None);
            self.check_expr(value, None);
            self.error(
                Code::INVALID_ASSIGNMENT,
                target.span,
                "only a local, a fact, or a field or entry of one can be assigned",
            );
            return;
        };
        match self.lookup(&root) {
            Some(NameRef::Local(index)) => {
                let kind = self.locals.get(index).map(|l| l.kind);
                if kind == Some(LocalKind::ReadOnly) {
                    self.error(
                        Code::INVALID_ASSIGNMENT,
                        root_span,
                        format!("`{root}` is read-only"),
                    )
                    .notes
                    .push(format!("copy it into a local first: `def copy = {root}`"));
                }
            }
            Some(NameRef::Input(_)) => {
                self.error(
                    Code::INPUT_ASSIGNMENT,
                    root_span,
                    format!("`{root}` is an input, and inputs are read-only"),
                )
                .notes
                .push(
                    "declare a fact initialised from it if the workflow must change it".to_string(),
                );
            }
            Some(NameRef::Fact(_)) => {
                if self.cx.workflow.is_some() {
                    self.out.writes.insert(root.clone());
                }
                if !self.cx.kind.is_handler() {
                    let kind = self.cx.kind;
                    self.error(
                        Code::FACT_ASSIGNMENT_OUTSIDE_HANDLER,
                        root_span,
                        format!("fact `{root}` cannot be assigned in {}", kind.describe()),
                    )
                    .notes
                    .push(
                        "facts change only in a `reaction`, an `error` block or a signal handler"
                            .to_string(),
                    );
                }
                if op != AssignOp::Set && self.cx.workflow.is_some() {
                    self.out.reads.insert(root.clone());
                }
            }
            Some(NameRef::Symbol(_)) => {
                self.error(
                    Code::INVALID_ASSIGNMENT,
                    root_span,
                    format!("`{root}` is a declaration, not something that can be assigned"),
                );
            }
            None => {
                self.unknown_name(&root, root_span);
                self.check_expr(value, None);
                return;
            }
        }
        // Type of the place being assigned. Reading it for `+=` counts as a read; a plain
        // `=` does not, so the local's read count is restored afterwards.
        let reads_before: Vec<u32> = self.locals.iter().map(|l| l.reads).collect();
        let place = self.check_place(target);
        if op == AssignOp::Set {
            for (local, reads) in self.locals.iter_mut().zip(reads_before) {
                local.reads = reads;
            }
        }
        match op {
            AssignOp::Set => {
                self.check_expected(value, &place);
            }
            AssignOp::Append => match &place {
                Type::List(element) => {
                    let element = (**element).clone();
                    self.check_expected(value, &element);
                }
                Type::Error | Type::Never => {
                    self.check_expr(value, None);
                }
                other => {
                    self.check_expr(value, None);
                    self.error(
                        Code::INVALID_OPERANDS,
                        op_span,
                        format!(
                            "`<<` appends to a list, but this is {}",
                            words::a(&format!("`{other}`"))
                        ),
                    );
                }
            },
            AssignOp::Add | AssignOp::Sub | AssignOp::Mul | AssignOp::Div => {
                let rhs = self.check_expr(value, None);
                let combined = match (op, &place, &rhs) {
                    (_, a, b) if a.is_bottom() || b.is_bottom() => Type::Error,
                    (_, Type::Int, Type::Int) => Type::Int,
                    (_, Type::Float, b) if b.is_numeric() => Type::Float,
                    (AssignOp::Add, Type::String, _) => Type::String,
                    (AssignOp::Add, Type::List(_), Type::List(_)) => place.clone(),
                    (AssignOp::Add, Type::Map(..), Type::Map(..)) => place.clone(),
                    (AssignOp::Add | AssignOp::Sub, Type::Duration, Type::Duration) => {
                        Type::Duration
                    }
                    (AssignOp::Mul | AssignOp::Div, Type::Duration, Type::Int) => Type::Duration,
                    (AssignOp::Add | AssignOp::Sub, Type::Time, Type::Duration) => Type::Time,
                    (_, a, b) => {
                        self.error(
                            Code::INVALID_OPERANDS,
                            op_span,
                            format!("this compound assignment cannot combine `{a}` with `{b}`"),
                        );
                        Type::Error
                    }
                };
                if matches!(place, Type::List(_)) && matches!(rhs, Type::List(_)) {
                    self.coerce(&rhs, &place, value.span);
                } else {
                    self.coerce(&combined, &place, target.span);
                }
            }
        }
        if let Some(path) = self.path_of(target) {
            self.forget(&path);
        } else if let Some((root, _)) = root_name(target) {
            self.forget(&vec![root]);
        }
    }

    /// The type of an assignable place: a name, a field of a place, an entry of a place.
    fn check_place(&mut self, target: &Expr) -> Type {
        match &target.kind {
            ExprKind::Index { receiver, index } => {
                let receiver_type = self.check_place(receiver);
                match receiver_type.non_null() {
                    Type::List(element) => {
                        self.check_expected(index, &Type::Int);
                        *element
                    }
                    Type::Map(key, value) => {
                        self.check_expected(index, &key);
                        *value
                    }
                    Type::Error | Type::Never => {
                        self.check_expr(index, None);
                        Type::Error
                    }
                    other => {
                        self.check_expr(index, None);
                        self.error(
                            Code::INVALID_ASSIGNMENT,
                            receiver.span,
                            format!(
                                "{} has no entries to assign",
                                words::a(&format!("`{other}`"))
                            ),
                        );
                        Type::Error
                    }
                }
            }
            ExprKind::Paren(inner) => self.check_place(inner),
            ExprKind::Name(_) => {
                // The declared type, not the narrowed one: `x = null` is fine for `x: T?`.
                let saved = self.narrowed.clone();
                if let Some(path) = self.path_of(target) {
                    self.forget(&path);
                }
                let ty = self.check_expr(target, None);
                self.narrowed = saved;
                ty
            }
            ExprKind::Field { safe: true, .. } => {
                self.check_expr(target, None);
                self.error(
                    Code::INVALID_ASSIGNMENT,
                    target.span,
                    "a `?.` access cannot be assigned: check the value with `!= null` first",
                );
                Type::Error
            }
            _ => {
                let saved = self.narrowed.clone();
                if let Some(path) = self.path_of(target) {
                    self.forget(&path);
                }
                let ty = self.check_expr(target, None);
                self.narrowed = saved;
                ty
            }
        }
    }
}

/// The name at the root of an assignment target: `x`, `x.a.b`, `x[k].a`.
fn root_name(target: &Expr) -> Option<(String, Span)> {
    match &target.kind {
        ExprKind::Name(name) => Some((name.text.clone(), name.span)),
        ExprKind::Field { receiver, .. } | ExprKind::Index { receiver, .. } => root_name(receiver),
        ExprKind::Paren(inner) => root_name(inner),
        _ => None,
    }
}

/// The paths a block assigns anywhere inside it (for loops and closures, whose bodies
/// may run again after an assignment).
pub(crate) fn assigned_paths(block: &Block) -> Vec<Path> {
    let mut out = Vec::new();
    collect_block(block, &mut out);
    out
}

fn collect_block(block: &Block, out: &mut Vec<Path>) {
    for stmt in &block.stmts {
        match &stmt.kind {
            StmtKind::Assign { target, value, .. } => {
                if let Some((root, _)) = root_name(target) {
                    out.push(plain_path(target).unwrap_or_else(|| vec![root]));
                }
                collect_expr(value, out);
            }
            StmtKind::Let { value, .. } => collect_expr(value, out),
            StmtKind::For { body, iter, .. } => {
                collect_expr(iter, out);
                collect_block(body, out);
            }
            StmtKind::Return(Some(e)) | StmtKind::Expr(e) => collect_expr(e, out),
            StmtKind::Return(None) => {}
        }
    }
}

fn collect_expr(expr: &Expr, out: &mut Vec<Path>) {
    match &expr.kind {
        ExprKind::If {
            branches,
            otherwise,
        } => {
            for branch in branches {
                collect_block(&branch.then, out);
            }
            if let Some(b) = otherwise {
                collect_block(b, out);
            }
        }
        ExprKind::Call {
            closure: Some(c), ..
        } => collect_block(&c.body, out),
        _ => {}
    }
}

fn plain_path(expr: &Expr) -> Option<Path> {
    match &expr.kind {
        ExprKind::Name(n) => Some(vec![n.text.clone()]),
        ExprKind::Field {
            receiver,
            name,
            safe: false,
        } => {
            let mut p = plain_path(receiver)?;
            p.push(name.text.clone());
            Some(p)
        }
        ExprKind::Paren(inner) => plain_path(inner),
        _ => None,
    }
}
