//! Which facts and inputs a body touches, so that an evaluation fills only their
//! cells and copies back only the facts the body may assign.

use cosmos_ir::{Block, Expr, ExprKind, Function, Place, PlaceRoot, PlaceStep, Stmt};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default)]
pub(crate) struct Uses {
    /// Facts read or assigned (their cells are filled before the call).
    pub facts: Vec<u32>,
    /// Facts assigned (copied back after the call).
    pub writes: Vec<u32>,
    pub inputs: Vec<u32>,
    /// Facts read as a value somewhere in the body (not only assigned, or changed
    /// through a path). A fact assigned but never read this way is *owned* by the
    /// body: no handle of its value can reach a local, another value or an effect,
    /// so `rt.place` may change the instance's value in place ([`Uses::owns`]).
    pub read: Vec<u32>,
}

impl Uses {
    /// What any of `uses` touches, each index once, in order.
    pub fn union<'u>(uses: impl IntoIterator<Item = &'u Uses>) -> Uses {
        let mut w = Walk::default();
        for u in uses {
            w.facts.extend(&u.facts);
            w.writes.extend(&u.writes);
            w.inputs.extend(&u.inputs);
            w.read.extend(&u.read);
        }
        Uses {
            facts: w.facts.into_iter().collect(),
            writes: w.writes.into_iter().collect(),
            inputs: w.inputs.into_iter().collect(),
            read: w.read.into_iter().collect(),
        }
    }

    /// Whether fact `i` is assigned (or changed through a path) and never read as a
    /// value.
    pub fn owns(&self, i: u32) -> bool {
        self.writes.contains(&i) && !self.read.contains(&i)
    }
}

#[derive(Default)]
struct Walk {
    facts: BTreeSet<u32>,
    writes: BTreeSet<u32>,
    inputs: BTreeSet<u32>,
    read: BTreeSet<u32>,
}

pub(crate) fn of(f: &Function) -> Uses {
    let mut w = Walk::default();
    w.block(&f.body);
    for d in f.defaults.iter().flatten() {
        w.expr(d);
    }
    Uses {
        facts: w.facts.into_iter().collect(),
        writes: w.writes.into_iter().collect(),
        inputs: w.inputs.into_iter().collect(),
        read: w.read.into_iter().collect(),
    }
}

impl Walk {
    fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
        if let Some(v) = &b.value {
            self.expr(v);
        }
    }

    fn place(&mut self, p: &Place) {
        if let PlaceRoot::Fact(i) = p.root {
            self.facts.insert(i);
            self.writes.insert(i);
        }
        for step in &p.path {
            match step {
                PlaceStep::Field(_) => {}
                PlaceStep::Index { index, .. } => self.expr(index),
                PlaceStep::Key(k) => self.expr(k),
            }
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Set(_, e) | Stmt::Return(e) | Stmt::Expr(e) | Stmt::Log(e) | Stmt::Fail(e) => {
                self.expr(e)
            }
            Stmt::Assign { place, value }
            | Stmt::Append { place, value }
            | Stmt::Update { place, value, .. } => {
                self.place(place);
                self.expr(value);
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond);
                self.block(then);
                self.block(otherwise);
            }
            Stmt::ForEach { list, body, .. } => {
                self.expr(list);
                self.block(body);
            }
            Stmt::Complete(e) | Stmt::Retry(e) => {
                if let Some(e) = e {
                    self.expr(e);
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Const(_)
            | ExprKind::Local(_)
            | ExprKind::EnumValue { .. }
            | ExprKind::Now => {}
            ExprKind::Input(i) => {
                self.inputs.insert(*i);
            }
            ExprKind::Fact(i) => {
                self.facts.insert(*i);
                self.read.insert(*i);
            }
            ExprKind::Field { base, .. } => self.expr(base),
            ExprKind::IfNotNull { value, then, .. } => {
                self.expr(value);
                self.expr(then);
            }
            ExprKind::Elvis { value, otherwise } => {
                self.expr(value);
                self.expr(otherwise);
            }
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::IntToFloat(x) | ExprKind::Sleep(x) | ExprKind::Settle(x) => self.expr(x),
            ExprKind::EnumValueOf { name, .. } => self.expr(name),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Range { from, to, .. } => {
                self.expr(from);
                self.expr(to);
            }
            ExprKind::Format(xs) | ExprKind::List(xs) => xs.iter().for_each(|x| self.expr(x)),
            ExprKind::Builtin { args, .. } | ExprKind::Call { args, .. } => {
                args.iter().for_each(|x| self.expr(x))
            }
            ExprKind::Map(entries) => {
                for (k, v) in entries {
                    self.expr(k);
                    self.expr(v);
                }
            }
            ExprKind::Record { fields, .. } => fields.iter().flatten().for_each(|x| self.expr(x)),
            ExprKind::CallHelper { args, .. } | ExprKind::Child { args, .. } => {
                args.iter().flatten().for_each(|x| self.expr(x))
            }
            ExprKind::Index { list, index, .. } => {
                self.expr(list);
                self.expr(index);
            }
            ExprKind::MapGet { map, key } => {
                self.expr(map);
                self.expr(key);
            }
            ExprKind::Loop { source, body, .. } => {
                self.expr(source);
                self.block(body);
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond);
                self.block(then);
                self.block(otherwise);
            }
            ExprKind::Block(b) => self.block(b),
        }
    }
}
