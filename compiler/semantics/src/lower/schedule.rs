//! Lowering a `schedule` (LANGUAGE.md 10.7) to an [`ir::ScheduleIr`]: its trigger and
//! overlap as data, and its `start` block as a function without parameters whose value
//! is the started instance's input, an object of the arguments by input name (a
//! `Map<String, Json>`; inputs left out take their defaults when the instance starts).

use super::body::BodyLower;
use super::expr::Level;
use super::{LowerError, Lowering};
use crate::body::{BodyPath, BodySyntax, body_syntax};
use crate::check::start_call;
use crate::db::SourceFile;
use crate::scope::DeclKind;
use crate::signatures::workflow_sig;
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, ScheduleClauseKind};

impl Lowering<'_> {
    pub(super) fn schedule(
        &self,
        file: SourceFile,
        item: u32,
        d: &ast::ScheduleDecl,
    ) -> Result<ir::ScheduleIr, LowerError> {
        let mut trigger = None;
        let mut overlap = ir::Overlap::Skip;
        for clause in &d.clauses {
            match &clause.kind {
                ScheduleClauseKind::Cron(e) => {
                    if let ast::ExprKind::Str(literal) = &e.kind
                        && let Some(text) = literal.as_plain()
                    {
                        trigger.get_or_insert(ir::Trigger::Cron(text));
                    }
                }
                ScheduleClauseKind::Every(e) => {
                    if let cosmos_ir::value::Value::Duration(ms) = self.constant_value(file, e)? {
                        trigger.get_or_insert(ir::Trigger::Every { ms });
                    }
                }
                ScheduleClauseKind::Overlap(word) => {
                    if word.text == "allow" {
                        overlap = ir::Overlap::Allow;
                    }
                }
                ScheduleClauseKind::Start(_) => {}
            }
        }
        let Some(trigger) = trigger else {
            return self.unsupported(file, d.name.span, "a schedule without `cron` or `every`");
        };
        let (workflow, start) = self.schedule_start(file, item, d)?;
        Ok(ir::ScheduleIr {
            module: file.module(self.db).clone(),
            name: d.name.text.clone(),
            workflow,
            trigger,
            overlap,
            start,
        })
    }

    /// The workflow the `start` block starts and the block as a function.
    fn schedule_start(
        &self,
        file: SourceFile,
        item: u32,
        d: &ast::ScheduleDecl,
    ) -> Result<(String, ir::Function), LowerError> {
        let path = BodyPath::ScheduleStart { item };
        let Some(BodySyntax::Block(block)) = body_syntax(self.db, file, path).clone() else {
            return self.unsupported(file, d.name.span, "a schedule without `start`");
        };
        let mut b = BodyLower::for_body(self, file, path, None)?;
        let Some((last, rest)) = block.stmts.split_last() else {
            return b.unsupported(block.span, "an empty `start` block");
        };
        let mut stmts = Vec::new();
        for stmt in rest {
            b.stmt(stmt, &mut stmts)?;
        }
        let Some((callee, args, _)) = start_call(&last.kind) else {
            return b.unsupported(last.span, "this `start` block");
        };
        let Some(Level::Decl(DeclKind::Workflow, key)) = b.level(callee) else {
            return b.unsupported(callee.span, "this workflow");
        };
        let Some(sig) = workflow_sig(self.db, &key) else {
            return b.unsupported(callee.span, "this workflow");
        };
        let mut entries = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            let name = match &arg.name {
                Some(n) => n.text.clone(),
                None => match sig.inputs.get(i) {
                    Some(input) => input.name.clone(),
                    None => return b.unsupported(arg.value.span, "this argument"),
                },
            };
            let key = ir::Expr::new(
                ir::ExprKind::Const(ir::Const::Str(name.into())),
                ir::Ty::String,
            );
            entries.push((key, b.expr(&arg.value)?));
        }
        let ty = ir::Ty::Map(Box::new(ir::Ty::String), Box::new(ir::Ty::Json));
        let value = ir::Expr::new(ir::ExprKind::Map(entries), ty.clone());
        let function = ir::Function {
            name: format!("schedule {:?} start", d.name.text),
            params: 0,
            defaults: Vec::new(),
            slots: b.slots,
            ret: ty,
            body: ir::Block {
                stmts,
                value: Some(Box::new(value)),
            },
        };
        Ok((key.name, function))
    }
}
