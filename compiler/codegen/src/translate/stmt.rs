//! Statements: slot stores, assignments to places (scalars in place, paths through
//! `rt.place`), control flow, and the effects (`log`, `complete`, `fail`, `retry`).

use cosmos_ir::{self as ir, PlaceRoot, PlaceStep, Stmt, Ty, UpdateOp};
use cranelift_codegen::ir::{self as cl, InstBuilder};

use super::{Repr, Translator};
use crate::CodegenError;
use crate::runtime::place::{
    KIND_HANDLE, MODE_APPEND, MODE_ARITH, MODE_ASSIGN, MODE_CONCAT, MODE_FRESH, scalar_kind,
};

impl Translator<'_, '_, '_> {
    pub(crate) fn stmt(&mut self, stmt: &Stmt) -> Result<(), CodegenError> {
        match stmt {
            Stmt::Set(slot, e) => {
                let v = self.expr(e)?;
                self.set_slot(*slot, v, &e.ty);
            }
            Stmt::Assign { place, value } => self.store(place, value, MODE_ASSIGN, None)?,
            Stmt::Append { place, value } => self.store(place, value, MODE_APPEND, None)?,
            Stmt::Update {
                place,
                op,
                value,
                span,
            } => {
                let mode = match op {
                    UpdateOp::Concat => MODE_CONCAT,
                    UpdateOp::Arith(_) => MODE_ARITH,
                };
                self.store(place, value, mode, Some((*op, *span)))?;
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr(cond)?;
                let c = self.coerce(c, &cond.ty, &Ty::Bool);
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.ins().brif(c, then_block, &[], else_block, &[]);
                self.b.switch_to_block(then_block);
                self.block(then)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(else_block);
                self.block(otherwise)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(merge);
            }
            Stmt::ForEach { var, list, body } => {
                let l = self.expr(list)?;
                let elem = match &list.ty {
                    Ty::List(t) => (**t).clone(),
                    _ => Ty::Json,
                };
                let slot_ty = self.slot(*var).map(|(_, ty)| ty);
                let fetch = super::loops::Fetch::for_elem(&elem, slot_ty.as_ref(), false);
                self.for_each(l, fetch, |t, item, _| {
                    if fetch == super::loops::Fetch::Handle {
                        t.set_slot_handle(*var, item.elem, &elem)?;
                    } else {
                        t.set_slot(*var, item.elem, &elem);
                    }
                    t.block(body)?;
                    Ok(())
                })?;
            }
            Stmt::Return(e) => {
                let v = self.expr(e)?;
                let ret = self.ret_ty.clone();
                let v = self.coerce(v, &e.ty, &ret);
                let bits = super::to_bits(self.b, v, Repr::of(&ret));
                self.b.ins().jump(self.ret_block, &[bits.into()]);
                self.dead_block();
            }
            Stmt::Expr(e) => {
                self.expr(e)?;
            }
            Stmt::Log(e) => {
                let h = self.handle(e)?;
                self.host_cx("rt.log", &[h])?;
            }
            Stmt::Complete(e) => {
                let (has, h) = match e {
                    Some(e) => (self.iconst(1), self.handle(e)?),
                    None => (self.iconst(0), self.iconst(0)),
                };
                self.host_cx("rt.complete", &[has, h])?;
                self.unwind();
            }
            Stmt::Fail(e) => {
                let h = self.handle(e)?;
                self.host_cx("rt.fail", &[h])?;
                self.unwind();
            }
            Stmt::Retry(e) => {
                let (has, ms) = match e {
                    Some(e) => {
                        let v = self.expr(e)?;
                        (self.iconst(1), self.coerce(v, &e.ty, &Ty::Duration))
                    }
                    None => (self.iconst(0), self.iconst(0)),
                };
                self.host_cx("rt.retry", &[has, ms])?;
                self.unwind();
            }
        }
        Ok(())
    }

    /// Binds a loop variable from an element's handle.
    pub(crate) fn set_slot_handle(
        &mut self,
        slot: ir::Slot,
        h: cl::Value,
        elem: &Ty,
    ) -> Result<(), CodegenError> {
        if let Some((var, ty)) = self.slot(slot) {
            let v = if Repr::of(&ty) == Repr::Ptr {
                h
            } else {
                let held = if Repr::of(elem) == Repr::Ptr {
                    &ty
                } else {
                    elem
                };
                let v = self.unbox(h, held)?;
                self.coerce(v, held, &ty)
            };
            self.b.def_var(var, v);
            self.set_fresh(slot, false);
        }
        Ok(())
    }

    /// The type of the value a place's root holds.
    fn root_ty(&self, root: PlaceRoot) -> Ty {
        match root {
            PlaceRoot::Local(slot) => self.slot(slot).map_or(Ty::Null, |(_, ty)| ty),
            PlaceRoot::Fact(i) => self.fact_ty(i),
        }
    }

    fn read_root(&mut self, root: PlaceRoot) -> cl::Value {
        match root {
            PlaceRoot::Local(slot) => match self.slot(slot) {
                Some((var, _)) => self.b.use_var(var),
                None => self.iconst(0),
            },
            PlaceRoot::Fact(i) => {
                let ty = self.fact_ty(i);
                self.load_cell(crate::runtime::CtxOffsets::FACTS, i, &ty)
            }
        }
    }

    /// Writes a value held as the root's type back to the root.
    fn write_root(&mut self, root: PlaceRoot, v: cl::Value) {
        match root {
            PlaceRoot::Local(slot) => {
                if let Some((var, _)) = self.slot(slot) {
                    self.b.def_var(var, v);
                    self.set_fresh(slot, false);
                }
            }
            PlaceRoot::Fact(i) => self.store_fact(i, v),
        }
    }

    /// `place = value`, `place << value`, `place op= value`. The value is evaluated
    /// first, then the path's keys and indices, then the root is read: the
    /// interpreter's order, which decides which error a statement reports.
    fn store(
        &mut self,
        place: &ir::Place,
        value: &ir::Expr,
        mode: i64,
        update: Option<(UpdateOp, ir::Span)>,
    ) -> Result<(), CodegenError> {
        let v = self.expr(value)?;
        let root_ty = self.root_ty(place.root);
        let scalar_root = Repr::of(&root_ty) != Repr::Ptr;
        if place.path.is_empty() && mode == MODE_ASSIGN {
            let v = self.coerce(v, &value.ty, &root_ty);
            self.write_root(place.root, v);
            return Ok(());
        }
        if place.path.is_empty()
            && scalar_root
            && let Some((UpdateOp::Arith(op), span)) = update
        {
            let old = self.read_root(place.root);
            let (r, ty) = self.binary(op, old, &root_ty, v, &value.ty, span)?;
            let r = self.coerce(r, &ty, &root_ty);
            self.write_root(place.root, r);
            return Ok(());
        }
        // A scalar goes as its bits and kind, not boxed into the arena for one store.
        let (vh, kind) = match scalar_kind(&value.ty) {
            Some(kind) => (super::to_bits(self.b, v, Repr::of(&value.ty)), kind),
            None => (v, KIND_HANDLE),
        };
        let kind = self.iconst(kind);
        let mut cells = Vec::with_capacity(place.path.len() * 3);
        for step in &place.path {
            match step {
                PlaceStep::Field(i) => {
                    cells.push(self.iconst(0));
                    cells.push(self.iconst(i64::from(*i)));
                    cells.push(self.iconst(0));
                }
                PlaceStep::Index { index, span } => {
                    let i = self.expr(index)?;
                    let i = self.coerce(i, &index.ty, &Ty::Int);
                    cells.push(self.iconst(1));
                    cells.push(i);
                    cells.push(self.span(*span));
                }
                PlaceStep::Key(k) => {
                    let h = self.handle(k)?;
                    cells.push(self.iconst(2));
                    cells.push(h);
                    cells.push(self.iconst(0));
                }
            }
        }
        let root = self.read_root(place.root);
        let root = self.coerce(root, &root_ty, &Ty::Json);
        let (aux, span) = match update {
            Some((UpdateOp::Arith(op), span)) => (self.operator_thunk(op, span), span),
            Some((UpdateOp::Concat, span)) => (self.iconst(0), span),
            None => (self.iconst(0), ir::Span::default()),
        };
        let n = self.iconst(place.path.len() as i64);
        let p = self.cells(&cells);
        let owned = match place.root {
            PlaceRoot::Fact(i) if self.uses.owns(i) => i64::from(i) + 1,
            _ => 0,
        };
        let mut mode = self.iconst(mode | owned << 8);
        if let PlaceRoot::Local(slot) = place.root {
            // Read after the value, keys and indices: a read of the slot among them
            // has cleared it.
            let fresh = self.fresh(slot);
            let bit = self.b.ins().imul_imm(fresh, MODE_FRESH);
            mode = self.b.ins().bor(mode, bit);
        }
        let span = self.span(span);
        let new = self.host_checked("rt.place", &[root, p, n, mode, vh, kind, aux, span])?;
        let new = self.coerce(new, &Ty::Json, &root_ty);
        self.write_root(place.root, new);
        if let PlaceRoot::Local(slot) = place.root {
            // A copy `rt.place` made, or the slot's own value changed in place.
            self.set_fresh(slot, true);
        }
        Ok(())
    }

    /// An interpreter thunk applying `op` to its two parameters (compound
    /// assignments through a path).
    fn operator_thunk(&mut self, op: ir::BinOp, span: ir::Span) -> cl::Value {
        let local = |i: u32| ir::Expr::new(ir::ExprKind::Local(ir::Slot(i)), Ty::Json);
        let body = ir::Expr::new(
            ir::ExprKind::Binary {
                op,
                lhs: Box::new(local(0)),
                rhs: Box::new(local(1)),
                span,
            },
            Ty::Json,
        );
        let slot = |name: &str| ir::SlotInfo {
            name: name.to_string(),
            ty: Ty::Json,
        };
        let f = ir::Function {
            name: format!("{op:?}"),
            params: 2,
            defaults: vec![None, None],
            slots: vec![slot("old"), slot("value")],
            ret: Ty::Json,
            body: ir::Block {
                stmts: Vec::new(),
                value: Some(Box::new(body)),
            },
        };
        let id = self.interned().thunk(f);
        self.iconst(id)
    }
}
