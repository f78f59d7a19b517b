//! A walk over every span in a tree, used to move a subtree parsed at one offset to
//! another (incremental re-parsing keeps pieces with spans relative to their start).

use super::*;
use crate::SyntaxError;

/// Nodes that hold spans. [`Shift::visit_spans`] calls `f` on each span of the node
/// and of all its children; [`Shift::shift`] moves them all by `delta` bytes.
pub trait Shift {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F);

    /// Moves every span by `delta` bytes, clamped to `0..=u32::MAX` as
    /// [`Span::shifted`] does.
    fn shift(&mut self, delta: i64) {
        if delta != 0 {
            self.visit_spans(&mut |span: &mut Span| *span = span.shifted(delta));
        }
    }
}

impl Shift for Span {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        f(self);
    }
}

impl<T: Shift> Shift for Vec<T> {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        for node in self {
            node.visit_spans(f);
        }
    }
}

impl<T: Shift> Shift for Option<T> {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        if let Some(node) = self {
            node.visit_spans(f);
        }
    }
}

impl<T: Shift> Shift for Box<T> {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        (**self).visit_spans(f);
    }
}

impl Shift for Module {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        self.items.visit_spans(f);
        self.comments.visit_spans(f);
    }
}

impl Shift for Comment {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        f(&mut self.span);
    }
}

impl Shift for SyntaxError {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        f(&mut self.span);
    }
}

impl Shift for Ident {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        f(&mut self.span);
    }
}

impl Shift for Item {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        self.kind.visit_spans(f);
        f(&mut self.span);
    }
}

impl Shift for ItemKind {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        match self {
            ItemKind::Import(import) => {
                import.path.visit_spans(f);
                if let Some(names) = &mut import.names {
                    for name in names {
                        name.name.visit_spans(f);
                        name.alias.visit_spans(f);
                    }
                }
            }
            ItemKind::Type(decl) => {
                decl.name.visit_spans(f);
                decl.fields.visit_spans(f);
            }
            ItemKind::Enum(decl) => {
                decl.name.visit_spans(f);
                for variant in &mut decl.variants {
                    variant.name.visit_spans(f);
                }
            }
            ItemKind::Function(decl) => {
                decl.name.visit_spans(f);
                decl.params.visit_spans(f);
                decl.ret.visit_spans(f);
                for setting in &mut decl.settings {
                    f(&mut setting.keyword);
                    setting.value.visit_spans(f);
                    f(&mut setting.span);
                }
            }
            ItemKind::Def(decl) => {
                decl.name.visit_spans(f);
                decl.params.visit_spans(f);
                decl.ret.visit_spans(f);
                decl.body.visit_spans(f);
            }
            ItemKind::Workflow(workflow) => {
                workflow.name.visit_spans(f);
                workflow.members.visit_spans(f);
            }
            ItemKind::Test(decl) => {
                decl.name.visit_spans(f);
                decl.body.visit_spans(f);
                f(&mut decl.body_span);
            }
            ItemKind::Schedule(decl) => {
                decl.name.visit_spans(f);
                for clause in &mut decl.clauses {
                    match &mut clause.kind {
                        ScheduleClauseKind::Cron(e) | ScheduleClauseKind::Every(e) => {
                            e.visit_spans(f)
                        }
                        ScheduleClauseKind::Overlap(word) => word.visit_spans(f),
                        ScheduleClauseKind::Start(block) => block.visit_spans(f),
                    }
                    f(&mut clause.keyword);
                    f(&mut clause.span);
                }
            }
        }
    }
}

impl Shift for Field {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        self.name.visit_spans(f);
        self.ty.visit_spans(f);
        self.default.visit_spans(f);
        f(&mut self.span);
    }
}

impl Shift for TypeRef {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        match &mut self.kind {
            TypeRefKind::Named { path, args } => {
                path.visit_spans(f);
                args.visit_spans(f);
            }
            TypeRefKind::Optional(inner) => inner.visit_spans(f),
        }
        f(&mut self.span);
    }
}

impl Shift for Member {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        match &mut self.kind {
            MemberKind::Input(fields) | MemberKind::Facts(fields) => fields.visit_spans(f),
            MemberKind::Rule(rule) => {
                rule.name.visit_spans(f);
                rule.clauses.visit_spans(f);
            }
            MemberKind::Signal(signal) => {
                signal.name.visit_spans(f);
                signal.params.visit_spans(f);
                signal.body.visit_spans(f);
            }
            MemberKind::CompleteWhen(block) => block.visit_spans(f),
            MemberKind::Output(output) => {
                output.ty.visit_spans(f);
                output.body.visit_spans(f);
            }
        }
        f(&mut self.keyword);
        f(&mut self.span);
    }
}

impl Shift for Clause {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        match &mut self.kind {
            ClauseKind::Priority(expr) | ClauseKind::Timeout(expr) => expr.visit_spans(f),
            ClauseKind::Match(block)
            | ClauseKind::Action(block)
            | ClauseKind::Reaction(block)
            | ClauseKind::Error(block) => block.visit_spans(f),
        }
        f(&mut self.keyword);
        f(&mut self.span);
    }
}

impl Shift for TestStmt {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        match &mut self.kind {
            TestStmtKind::Start { workflow, args } => {
                workflow.visit_spans(f);
                args.visit_spans(f);
            }
            TestStmtKind::Mock {
                function,
                params,
                answer,
            } => {
                function.visit_spans(f);
                params.visit_spans(f);
                match answer {
                    MockAnswer::Value(expr) | MockAnswer::Fails(expr) => expr.visit_spans(f),
                }
            }
            TestStmtKind::Run => {}
            TestStmtKind::Signal { name, args } => {
                name.visit_spans(f);
                args.visit_spans(f);
            }
            TestStmtKind::Advance(expr) | TestStmtKind::Assert(expr) => expr.visit_spans(f),
            TestStmtKind::Stmt(stmt) => stmt.visit_spans(f),
        }
        f(&mut self.span);
    }
}

impl Shift for Block {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        self.stmts.visit_spans(f);
        f(&mut self.span);
    }
}

impl Shift for Stmt {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        match &mut self.kind {
            StmtKind::Let { name, ty, value } => {
                name.visit_spans(f);
                ty.visit_spans(f);
                value.visit_spans(f);
            }
            StmtKind::Assign {
                target,
                op: _,
                op_span,
                value,
            } => {
                target.visit_spans(f);
                f(op_span);
                value.visit_spans(f);
            }
            StmtKind::For { var, iter, body } => {
                var.visit_spans(f);
                iter.visit_spans(f);
                body.visit_spans(f);
            }
            StmtKind::Return(value) => value.visit_spans(f),
            StmtKind::Expr(expr) => expr.visit_spans(f),
        }
        f(&mut self.span);
    }
}

impl Shift for Expr {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        match &mut self.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::Null
            | ExprKind::Duration { .. } => {}
            ExprKind::Str(literal) => literal.visit_spans(f),
            ExprKind::List(items) => items.visit_spans(f),
            ExprKind::Map(entries) => {
                for entry in entries {
                    match &mut entry.key {
                        MapKey::Name(name) => name.visit_spans(f),
                        MapKey::Expr(key) => key.visit_spans(f),
                    }
                    entry.value.visit_spans(f);
                }
            }
            ExprKind::Name(name) => name.visit_spans(f),
            ExprKind::Field { receiver, name, .. } => {
                receiver.visit_spans(f);
                name.visit_spans(f);
            }
            ExprKind::Call {
                callee,
                args,
                closure,
            } => {
                callee.visit_spans(f);
                args.visit_spans(f);
                closure.visit_spans(f);
            }
            ExprKind::Index { receiver, index } => {
                receiver.visit_spans(f);
                index.visit_spans(f);
            }
            ExprKind::Unary { operand, .. } => operand.visit_spans(f),
            ExprKind::Chain { first, links } => {
                first.visit_spans(f);
                for link in links {
                    link.rhs.visit_spans(f);
                }
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                cond.visit_spans(f);
                then.visit_spans(f);
                otherwise.visit_spans(f);
            }
            ExprKind::If {
                branches,
                otherwise,
            } => {
                for branch in branches {
                    branch.cond.visit_spans(f);
                    branch.then.visit_spans(f);
                    f(&mut branch.span);
                }
                otherwise.visit_spans(f);
            }
            ExprKind::Paren(inner) => inner.visit_spans(f),
        }
        f(&mut self.span);
    }
}

impl Shift for StrLit {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        for part in &mut self.parts {
            match part {
                StrPart::Text(_) => {}
                StrPart::Expr(expr) => expr.visit_spans(f),
            }
        }
    }
}

impl Shift for Arg {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        self.name.visit_spans(f);
        self.value.visit_spans(f);
    }
}

impl Shift for Closure {
    fn visit_spans<F: FnMut(&mut Span)>(&mut self, f: &mut F) {
        self.params.visit_spans(f);
        self.body.visit_spans(f);
        f(&mut self.span);
    }
}
