//! A schedule's `start` block (LANGUAGE.md 10.7): pure statements, then the start of a
//! declared workflow with its inputs as arguments, `Workflow(input: value, …)`, checked
//! as `start` in a test checks them. `now()` there is the tick's time.

use super::Checker;
use super::expr::TypeLevel;
use crate::scope::DeclKind;
use crate::signatures::workflow_sig;
use cosmos_diagnostics::{Code, Span, words};
use cosmos_syntax::ast::{Arg, Block, Expr, ExprKind, StmtKind};

/// The example the diagnostics of this module show.
const EXAMPLE: &str = "end the block with the workflow to start and its inputs, such as `start { Cleanup(olderThan: 30.d) }`";

impl Checker<'_> {
    pub(crate) fn check_schedule_start(&mut self, block: &Block) {
        let mark = self.locals.len();
        let Some((last, rest)) = block.stmts.split_last() else {
            self.error(
                Code::SCHEDULE_START,
                block.span,
                "this `start` block is empty: it must start a workflow",
            )
            .notes
            .push(EXAMPLE.to_string());
            return;
        };
        for stmt in rest {
            self.check_stmt(stmt);
        }
        match start_call(&last.kind) {
            Some((callee, args, span)) => self.schedule_workflow(callee, args, span),
            None => {
                self.check_stmt(last);
                self.error(
                    Code::SCHEDULE_START,
                    last.span,
                    "a schedule's `start` block must end with the start of a workflow, `Workflow(input: value, …)`",
                )
                .notes
                .push(EXAMPLE.to_string());
            }
        }
        self.pop_locals(mark);
    }

    fn schedule_workflow(&mut self, callee: &Expr, args: &[Arg], span: Span) {
        let key = match self.type_level(callee) {
            Some(TypeLevel::Decl(DeclKind::Workflow, key)) => Some(key),
            Some(TypeLevel::Decl(kind, key)) if !key.name.is_empty() => {
                self.error(
                    Code::SCHEDULE_START,
                    callee.span,
                    format!(
                        "`{}` is {}, not a workflow: a schedule starts instances of a workflow",
                        key.name,
                        words::a(kind.describe())
                    ),
                );
                None
            }
            _ => {
                let name = callee_text(callee);
                self.error(
                    Code::SCHEDULE_START,
                    callee.span,
                    format!("there is no workflow `{name}` in scope to start"),
                )
                .notes
                .push(format!("import it: `import module {{ {name} }}`"));
                None
            }
        };
        let Some(key) = key else {
            for arg in args {
                self.check_expr(&arg.value, None);
            }
            return;
        };
        let sig = workflow_sig(self.db, &key).unwrap_or_default();
        self.match_args(&sig.inputs, args, span, &key.name, Code::MISSING_FIELD);
    }
}

/// The callee, arguments and span of a block's last statement when it is a call
/// without a closure (parentheses around it are allowed).
pub(crate) fn start_call(stmt: &StmtKind) -> Option<(&Expr, &[Arg], Span)> {
    let StmtKind::Expr(expr) = stmt else {
        return None;
    };
    let mut expr: &Expr = expr;
    while let ExprKind::Paren(inner) = &expr.kind {
        expr = inner;
    }
    match &expr.kind {
        ExprKind::Call {
            callee,
            args,
            closure: None,
        } => Some((callee, args, expr.span)),
        _ => None,
    }
}

fn callee_text(callee: &Expr) -> String {
    match &callee.kind {
        ExprKind::Name(name) => name.text.clone(),
        ExprKind::Field { receiver, name, .. } => {
            format!("{}.{}", callee_text(receiver), name.text)
        }
        _ => "…".to_string(),
    }
}
