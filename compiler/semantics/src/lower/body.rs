//! Lowering one body: its slots, statements and blocks (expressions are in `expr.rs`).

use super::{LowerError, Lowering};
use crate::body::{BodyPath, BodySyntax, body_base, body_syntax};
use crate::db::SourceFile;
use crate::scope::{ModuleScope, module_scope};
use crate::signatures::WorkflowSig;
use crate::types::Type;
use cosmos_diagnostics::Span;
use cosmos_ir as ir;
use cosmos_syntax::ast::{self, AssignOp, ExprKind, StmtKind};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) type Lowered<T> = Result<T, LowerError>;

pub(crate) struct BodyLower<'l, 'db> {
    pub l: &'l Lowering<'db>,
    pub file: SourceFile,
    pub file_index: u32,
    pub scope: Arc<ModuleScope>,
    pub workflow: Option<WorkflowSig>,
    /// The checker's type of every expression, by body-relative span.
    pub types: HashMap<Span, Type>,
    /// Where the body starts in its file: relative spans plus this are absolute.
    pub base: u32,
    /// Names in scope, innermost last.
    pub names: Vec<(String, ir::Slot)>,
    pub slots: Vec<ir::SlotInfo>,
    /// Bounds the stack the recursive walk may use, so that no input exhausts it.
    pub stack: ir::stack::StackGuard,
}

impl<'l, 'db> BodyLower<'l, 'db> {
    /// For constants (defaults, priorities): no workflow, and no body whose check
    /// holds the types; `lower_const` checks the constant itself for them.
    pub fn constant(l: &'l Lowering<'db>, file: SourceFile) -> Self {
        BodyLower {
            l,
            file,
            file_index: l.file_index.get(&file.id(l.db)).copied().unwrap_or(0),
            scope: module_scope(l.db, file).clone(),
            workflow: None,
            types: HashMap::new(),
            base: 0,
            names: Vec::new(),
            slots: Vec::new(),
            stack: ir::stack::StackGuard::new(),
        }
    }

    pub fn for_body(
        l: &'l Lowering<'db>,
        file: SourceFile,
        path: BodyPath,
        workflow: Option<&WorkflowSig>,
    ) -> Lowered<Self> {
        let check = crate::bodies::check_body(l.db, file, path);
        let mut types = HashMap::new();
        for (span, ty) in &check.types {
            types.entry(*span).or_insert_with(|| ty.clone());
        }
        let mut this = Self::constant(l, file);
        this.workflow = workflow.cloned();
        this.types = types;
        this.base = body_base(l.db, file, path);
        Ok(this)
    }

    pub fn span(&self, span: Span) -> ir::Span {
        ir::Span {
            file: self.file_index,
            start: span.start + self.base,
            end: span.end + self.base,
        }
    }

    pub fn unsupported<T>(&self, span: Span, what: impl Into<String>) -> Lowered<T> {
        let absolute = Span::new(span.start + self.base, span.end + self.base);
        self.l.unsupported(self.file, absolute, what)
    }

    pub fn ir_ty(&self, span: Span, t: &Type) -> Lowered<ir::Ty> {
        match self.l.ids.ty(t) {
            Some(t) => Ok(t),
            None => self.unsupported(span, format!("a value of type `{t}`")),
        }
    }

    pub fn new_slot(&mut self, name: &str, ty: ir::Ty) -> ir::Slot {
        let slot = ir::Slot(self.slots.len() as u32);
        self.slots.push(ir::SlotInfo {
            name: name.to_string(),
            ty,
        });
        slot
    }

    pub fn bind(&mut self, name: &str, ty: ir::Ty) -> ir::Slot {
        let slot = self.new_slot(name, ty);
        self.names.push((name.to_string(), slot));
        slot
    }

    pub fn local(&self, name: &str) -> Option<ir::Slot> {
        self.names
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
    }

    pub fn function(
        mut self,
        path: BodyPath,
        params: &[(String, Type)],
        ret: &Type,
        name: String,
    ) -> Lowered<ir::Function> {
        let Some(BodySyntax::Block(block)) = body_syntax(self.l.db, self.file, path).clone() else {
            return self.unsupported(Span::new(0, 0), "this body");
        };
        for (p, ty) in params {
            let ty = self.ir_ty(block.span, ty)?;
            self.bind(p, ty);
        }
        let want_value = !matches!(ret, Type::Unit);
        let body = self.block(&block, want_value)?;
        let ret = self.ir_ty(block.span, ret)?;
        Ok(ir::Function {
            name,
            params: params.len() as u32,
            defaults: Vec::new(),
            slots: self.slots,
            ret,
            body,
        })
    }

    /// A block; with `want_value`, its last expression statement is its value.
    pub fn block(&mut self, block: &ast::Block, want_value: bool) -> Lowered<ir::Block> {
        let mark = self.names.len();
        let mut out = ir::Block::default();
        let count = block.stmts.len();
        for (i, stmt) in block.stmts.iter().enumerate() {
            let last = i + 1 == count;
            if last
                && want_value
                && let StmtKind::Expr(e) = &stmt.kind
                && !is_statement_if(e)
            {
                let value = self.expr(e)?;
                if matches!(value.ty, ir::Ty::Never | ir::Ty::Unit) {
                    out.stmts.push(ir::Stmt::Expr(value));
                } else {
                    out.value = Some(Box::new(value));
                }
                continue;
            }
            self.stmt(stmt, &mut out.stmts)?;
        }
        self.names.truncate(mark);
        Ok(out)
    }

    pub(super) fn stmt(&mut self, stmt: &ast::Stmt, out: &mut Vec<ir::Stmt>) -> Lowered<()> {
        match &stmt.kind {
            StmtKind::Let { name, ty, value } => {
                let v = self.expr(value)?;
                let slot_ty = match ty {
                    Some(t) => {
                        let resolved = crate::signatures::resolve_type(
                            self.l.db,
                            &self.scope,
                            t,
                            &mut Vec::new(),
                        );
                        self.ir_ty(t.span, &resolved)?
                    }
                    None => v.ty.clone(),
                };
                let slot = self.bind(&name.text, slot_ty);
                out.push(ir::Stmt::Set(slot, v));
            }
            StmtKind::Assign {
                target, op, value, ..
            } => {
                let (place, place_ty) = self.place(target)?;
                let v = self.expr(value)?;
                let stmt = match op {
                    AssignOp::Set => ir::Stmt::Assign { place, value: v },
                    AssignOp::Append => ir::Stmt::Append { place, value: v },
                    AssignOp::Add | AssignOp::Sub | AssignOp::Mul | AssignOp::Div => {
                        let bin = match op {
                            AssignOp::Add => ast::BinaryOp::Add,
                            AssignOp::Sub => ast::BinaryOp::Sub,
                            AssignOp::Mul => ast::BinaryOp::Mul,
                            _ => ast::BinaryOp::Div,
                        };
                        let place_ty = self.ir_ty(target.span, &place_ty)?;
                        let (op, value) = if place_ty == ir::Ty::String {
                            (ir::UpdateOp::Concat, v)
                        } else {
                            match super::expr::arith_op(bin, &place_ty, &v.ty) {
                                Some(op) => {
                                    let v = if place_ty == ir::Ty::Float {
                                        super::expr::widen(v)
                                    } else {
                                        v
                                    };
                                    (ir::UpdateOp::Arith(op), v)
                                }
                                None => {
                                    return self.unsupported(stmt.span, "this compound assignment");
                                }
                            }
                        };
                        ir::Stmt::Update {
                            place,
                            op,
                            value,
                            span: self.span(stmt.span),
                        }
                    }
                };
                out.push(stmt);
            }
            StmtKind::For { var, iter, body } => {
                let list = self.expr(iter)?;
                let element = match &list.ty {
                    ir::Ty::List(t) => (**t).clone(),
                    _ => return self.unsupported(iter.span, "a `for` over this value"),
                };
                let mark = self.names.len();
                let slot = self.bind(&var.text, element);
                let body = self.block(body, false)?;
                self.names.truncate(mark);
                out.push(ir::Stmt::ForEach {
                    var: slot,
                    list,
                    body,
                });
            }
            StmtKind::Return(value) => match value {
                Some(v) => {
                    let v = self.expr(v)?;
                    out.push(ir::Stmt::Return(v));
                }
                None => return self.unsupported(stmt.span, "`return` without a value"),
            },
            StmtKind::Expr(e) => {
                if let ExprKind::If {
                    branches,
                    otherwise,
                } = &e.kind
                {
                    return self.if_chain_stmt(branches, otherwise.as_ref(), out);
                }
                if let Some(effect) = self.effect(e)? {
                    out.push(effect);
                    return Ok(());
                }
                let v = self.expr(e)?;
                out.push(ir::Stmt::Expr(v));
            }
        }
        Ok(())
    }

    /// An assignable place and its declared type.
    pub fn place(&mut self, target: &ast::Expr) -> Lowered<(ir::Place, Type)> {
        match &target.kind {
            ExprKind::Paren(inner) => self.place(inner),
            ExprKind::Name(name) => {
                let ty = self.read_type(target)?;
                if let Some(slot) = self.local(&name.text) {
                    return Ok((
                        ir::Place {
                            root: ir::PlaceRoot::Local(slot),
                            path: Vec::new(),
                        },
                        ty,
                    ));
                }
                match self
                    .workflow
                    .as_ref()
                    .and_then(|w| w.facts.iter().position(|f| f.name == name.text))
                {
                    Some(i) => Ok((
                        ir::Place {
                            root: ir::PlaceRoot::Fact(i as u32),
                            path: Vec::new(),
                        },
                        ty,
                    )),
                    None => {
                        self.unsupported(target.span, format!("an assignment to `{}`", name.text))
                    }
                }
            }
            ExprKind::Field { receiver, name, .. } => {
                let (mut place, receiver_ty) = self.place(receiver)?;
                let record = receiver_ty.non_null();
                let index = self.field_index(&record, &name.text, target.span)?;
                let ty = match &record {
                    Type::Record(key) => crate::signatures::record_sig(self.l.db, key)
                        .and_then(|s| s.fields.get(index as usize).map(|f| f.ty.clone()))
                        .unwrap_or(Type::Error),
                    Type::Outcome(value) => Type::outcome_fields(value)
                        .get(index as usize)
                        .map_or(Type::Error, |(_, t)| t.clone()),
                    _ => Type::Error,
                };
                place.path.push(ir::PlaceStep::Field(index));
                Ok((place, ty))
            }
            ExprKind::Index { receiver, index } => {
                let (mut place, receiver_ty) = self.place(receiver)?;
                let key = self.expr(index)?;
                let ty = match receiver_ty.non_null() {
                    Type::List(t) => {
                        place.path.push(ir::PlaceStep::Index {
                            index: key,
                            span: self.span(target.span),
                        });
                        *t
                    }
                    Type::Map(_, v) => {
                        place.path.push(ir::PlaceStep::Key(key));
                        *v
                    }
                    _ => return self.unsupported(target.span, "an assignment into this value"),
                };
                Ok((place, ty))
            }
            _ => self.unsupported(target.span, "an assignment to this expression"),
        }
    }

    /// The type the checker gave an expression, or one read off constant syntax.
    pub fn read_type(&self, e: &ast::Expr) -> Lowered<Type> {
        if let Some(t) = self.types.get(&e.span) {
            return Ok(t.clone());
        }
        match &e.kind {
            ExprKind::Paren(inner) => return self.read_type(inner),
            // A constant's `if`, which the checker typed only as a whole.
            ExprKind::If {
                branches,
                otherwise,
            } => {
                if let Some(t) = self.if_type(branches, otherwise.as_ref())? {
                    return Ok(t);
                }
            }
            _ => {}
        }
        match self.constant_type(e) {
            Some(t) => Ok(t),
            None => self.unsupported(
                e.span,
                "an expression whose type the checker did not record",
            ),
        }
    }

    /// The type of a block's value: its last expression's.
    pub(super) fn block_type(&self, block: &ast::Block) -> Lowered<Type> {
        match block.stmts.last().map(|s| &s.kind) {
            Some(StmtKind::Expr(e)) => self.read_type(e),
            _ => Ok(Type::Never),
        }
    }

    pub fn field_index(&self, record: &Type, name: &str, span: Span) -> Lowered<u32> {
        if let Type::Outcome(value) = record {
            return match Type::outcome_fields(value)
                .iter()
                .position(|(f, _)| *f == name)
            {
                Some(i) => Ok(i as u32),
                None => self.unsupported(span, format!("the field `{name}`")),
            };
        }
        let Type::Record(key) = record else {
            return self.unsupported(span, format!("a field `{name}` of a `{record}`"));
        };
        match self
            .l
            .ids
            .record_fields
            .get(key)
            .and_then(|fields| fields.iter().position(|f| f == name))
        {
            Some(i) => Ok(i as u32),
            None => self.unsupported(span, format!("the field `{name}`")),
        }
    }
}

/// An `if` without `else`, which is a statement even at the end of a block.
fn is_statement_if(e: &ast::Expr) -> bool {
    matches!(
        &e.kind,
        ExprKind::If {
            otherwise: None,
            ..
        }
    )
}
