//! Validation of a program's IR before anything runs it, as WebAssembly validates a
//! module: every slot, input and fact index, record, enum, helper and function id,
//! field index, loop shape, assignment target and type is checked against the
//! program's layouts and signatures, and literals and string constants are bounded.
//!
//! Both evaluators rely on it: the reference interpreter reports what it cannot run
//! as an internal error, but the JIT reads and writes facts, inputs and locals at
//! offsets taken from the IR, so an index out of range there is memory corruption,
//! not an error. [`crate::bundle::Bundle::read`] validates every bundle it loads and
//! `cosmos_codegen::Jit::compile` every program it compiles; a program the lowering
//! produced always passes (the differential tests check the whole corpus).
//!
//! Types are checked for agreement, not re-inferred: an expression's declared type
//! must be one its operation can produce ([`fits`]), with the conversions both
//! evaluators make (null into anything, `Int` into `Float`, a value into its
//! optional and back after a null check, anything into and out of `Json`).

use crate::interp::builtins::IMPLEMENTED;
use crate::stack::StackGuard;
use crate::{
    BinOp, Block, Const, Expr, ExprKind, FieldLayout, Function, LoopKind, Place, PlaceRoot,
    PlaceStep, Program, Slot, SlotInfo, Stmt, Ty, UnOp, UpdateOp,
};

/// The longest string constant a program may hold, in bytes.
pub const MAX_STRING_BYTES: usize = 1 << 20;

/// The most items all the literals, interpolations, argument lists and assignment
/// paths of one body may have together. The JIT gives each of them a stack slot of
/// 8 bytes an item (16 for a map entry, 24 for a path step), so this bounds a native
/// frame to well under the stack budget (`crate::stack::STACK_BUDGET`).
pub const MAX_BODY_ITEMS: usize = 1 << 14;

/// Why a program was refused: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{body}: {problem}")]
pub struct InvalidIr {
    /// The body or layout (`workflow Encode, rule "probe" match`, `record Job`).
    pub body: String,
    pub problem: String,
}

/// Checks every layout and body of `program`.
pub fn program(program: &Program) -> Result<(), InvalidIr> {
    let v = Validator { program };
    for (i, r) in program.records.iter().enumerate() {
        let at = format!("record {} (#{i})", r.name);
        v.layout(&at, &r.fields)?;
    }
    for f in &program.functions {
        let at = format!("function {}", f.name);
        for (_, ty) in &f.params {
            v.ty(&at, ty)?;
        }
        v.ty(&at, &f.ret)?;
    }
    for (i, h) in program.helpers.iter().enumerate() {
        v.function(&format!("helper #{i} ({})", h.name), h, &[], &[], false)?;
    }
    for w in &program.workflows {
        let at = format!("workflow {}", w.name);
        v.layout(&format!("{at}, inputs"), &w.inputs)?;
        v.layout(&format!("{at}, facts"), &w.facts)?;
        let body = |f: &Function, writes: bool, params: u32| -> Result<(), InvalidIr> {
            let at = format!("{at}, {}", f.name);
            if f.params != params {
                return Err(invalid(
                    &at,
                    format!("the body has {} parameters, not {params}", f.params),
                ));
            }
            v.function(&at, f, &w.inputs, &w.facts, writes)
        };
        for r in &w.rules {
            for (f, writes, params) in [
                (&r.matcher, false, 0),
                (&r.action, false, 0),
                (&r.reaction, true, 1),
                (&r.error, true, 1),
            ] {
                if let Some(f) = f {
                    body(f, writes, params)?;
                }
            }
            if let Some(m) = &r.matcher
                && m.ret != Ty::Bool
            {
                return Err(invalid(&at, format!("{} does not return `Bool`", m.name)));
            }
        }
        for s in &w.signals {
            body(&s.handler, true, s.handler.params)?;
        }
        if let Some(f) = &w.complete_when {
            body(f, false, 0)?;
            if f.ret != Ty::Bool {
                return Err(invalid(&at, "`complete when` does not return `Bool`"));
            }
        }
        if let Some(f) = &w.output {
            body(f, false, 0)?;
        }
    }
    for s in &program.schedules {
        let at = format!("schedule {:?}", s.name);
        if program.workflow(&s.workflow).is_none() {
            return Err(invalid(
                &at,
                format!(
                    "it starts `{}`, which the program does not have",
                    s.workflow
                ),
            ));
        }
        if s.start.params != 0 {
            return Err(invalid(&at, "the `start` block has parameters"));
        }
        if let crate::Trigger::Every { ms } = s.trigger
            && ms <= 0
        {
            return Err(invalid(&at, format!("`every` of {ms} ms")));
        }
        v.function(&format!("{at}, start"), &s.start, &[], &[], false)?;
    }
    Ok(())
}

fn invalid(at: &str, problem: impl Into<String>) -> InvalidIr {
    InvalidIr {
        body: at.to_string(),
        problem: problem.into(),
    }
}

/// Whether a value of type `actual` may stand where `declared` is expected.
pub fn fits(actual: &Ty, declared: &Ty) -> bool {
    if actual == declared {
        return true;
    }
    match (actual, declared) {
        (Ty::Never | Ty::Null | Ty::Json, _) | (_, Ty::Unit | Ty::Never | Ty::Json) => true,
        (Ty::Int, Ty::Float) => true,
        (Ty::Optional(a), Ty::Optional(d)) => fits(a, d),
        (a, Ty::Optional(d)) => fits(a, d),
        (Ty::Optional(a), d) => fits(a, d),
        (Ty::List(a), Ty::List(d)) | (Ty::Call(a), Ty::Call(d)) => fits(a, d),
        (Ty::Map(ak, av), Ty::Map(dk, dv)) => fits(ak, dk) && fits(av, dv),
        _ => false,
    }
}

/// `ty` without its optional wrappers.
fn inner(ty: &Ty) -> &Ty {
    match ty {
        Ty::Optional(t) => inner(t),
        t => t,
    }
}

/// Types whose values may be anything: no shape to check against.
fn loose(ty: &Ty) -> bool {
    matches!(inner(ty), Ty::Json | Ty::Null | Ty::Never)
}

struct Validator<'p> {
    program: &'p Program,
}

impl<'p> Validator<'p> {
    /// A type's record and enum ids exist.
    fn ty(&self, at: &str, ty: &Ty) -> Result<(), InvalidIr> {
        match ty {
            Ty::List(t) | Ty::Optional(t) | Ty::Call(t) => self.ty(at, t),
            Ty::Map(k, v) => {
                self.ty(at, k)?;
                self.ty(at, v)
            }
            Ty::Record(id) if self.program.record(*id).is_none() => Err(invalid(
                at,
                format!(
                    "record #{} does not exist (the program has {})",
                    id.0,
                    self.program.records.len()
                ),
            )),
            Ty::Enum(id) if self.program.enum_layout(*id).is_none() => Err(invalid(
                at,
                format!(
                    "enum #{} does not exist (the program has {})",
                    id.0,
                    self.program.enums.len()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Fields' types, and their defaults as constant expressions of those types.
    fn layout(&self, at: &str, fields: &[FieldLayout]) -> Result<(), InvalidIr> {
        for f in fields {
            let at = format!("{at}, field {}", f.name);
            self.ty(&at, &f.ty)?;
            if let Some(d) = &f.default {
                self.constant(&at, d, &f.ty)?;
            }
        }
        Ok(())
    }

    /// A default: an expression without locals, facts or inputs.
    fn constant(&self, at: &str, e: &Expr, ty: &Ty) -> Result<(), InvalidIr> {
        let mut b = Body::new(self, at, &[], &[], &[], false, Ty::Unit);
        b.expr(e)?;
        b.fits(&e.ty, ty, "a default")
    }

    fn function(
        &self,
        at: &str,
        f: &Function,
        inputs: &[FieldLayout],
        facts: &[FieldLayout],
        writes: bool,
    ) -> Result<(), InvalidIr> {
        if f.params as usize > f.slots.len() {
            return Err(invalid(
                at,
                format!("{} parameters but only {} slots", f.params, f.slots.len()),
            ));
        }
        if f.defaults.len() > f.params as usize {
            return Err(invalid(
                at,
                format!(
                    "{} parameter defaults for {} parameters",
                    f.defaults.len(),
                    f.params
                ),
            ));
        }
        for s in &f.slots {
            self.ty(at, &s.ty)?;
        }
        self.ty(at, &f.ret)?;
        for (d, s) in f.defaults.iter().zip(&f.slots) {
            if let Some(d) = d {
                self.constant(&format!("{at}, default of {}", s.name), d, &s.ty)?;
            }
        }
        let mut b = Body::new(self, at, inputs, facts, &f.slots, writes, f.ret.clone());
        let v = b.block(&f.body)?;
        b.fits(&v, &f.ret, "the body's value")
    }
}

/// One body being checked.
struct Body<'v, 'p> {
    v: &'v Validator<'p>,
    at: &'v str,
    inputs: &'v [FieldLayout],
    facts: &'v [FieldLayout],
    slots: &'v [SlotInfo],
    /// Whether the body may assign facts (reactions, `error` blocks, signals).
    writes: bool,
    ret: Ty,
    items: usize,
    stack: StackGuard,
}

impl<'v, 'p> Body<'v, 'p> {
    fn new(
        v: &'v Validator<'p>,
        at: &'v str,
        inputs: &'v [FieldLayout],
        facts: &'v [FieldLayout],
        slots: &'v [SlotInfo],
        writes: bool,
        ret: Ty,
    ) -> Self {
        Body {
            v,
            at,
            inputs,
            facts,
            slots,
            writes,
            ret,
            items: 0,
            stack: StackGuard::new(),
        }
    }

    fn err<T>(&self, problem: impl Into<String>) -> Result<T, InvalidIr> {
        Err(invalid(self.at, problem))
    }

    fn fits(&self, actual: &Ty, declared: &Ty, what: &str) -> Result<(), InvalidIr> {
        if fits(actual, declared) {
            Ok(())
        } else {
            self.err(format!(
                "{what} has type {actual:?} where {declared:?} is expected"
            ))
        }
    }

    fn slot(&self, s: Slot) -> Result<&'v Ty, InvalidIr> {
        match self.slots.get(s.0 as usize) {
            Some(info) => Ok(&info.ty),
            None => self.err(format!(
                "slot {} does not exist (the body has {} slots)",
                s.0,
                self.slots.len()
            )),
        }
    }

    fn field(&self, fields: &'v [FieldLayout], i: u32, what: &str) -> Result<&'v Ty, InvalidIr> {
        match fields.get(i as usize) {
            Some(f) => Ok(&f.ty),
            None => self.err(format!(
                "{what} {i} does not exist (there are {} {what}s here)",
                fields.len()
            )),
        }
    }

    fn record_field(&self, ty: &Ty, index: u32) -> Result<Ty, InvalidIr> {
        match inner(ty) {
            Ty::Record(id) => {
                let Some(layout) = self.v.program.record(*id) else {
                    return self.err(format!("record #{} does not exist", id.0));
                };
                match layout.fields.get(index as usize) {
                    Some(f) => Ok(f.ty.clone()),
                    None => self.err(format!(
                        "record {} has no field {index} (it has {})",
                        layout.name,
                        layout.fields.len()
                    )),
                }
            }
            t if loose(t) => Ok(Ty::Json),
            t => self.err(format!("a field of a value of type {t:?}, not a record")),
        }
    }

    /// Counts literal items against [`MAX_BODY_ITEMS`].
    /// A call's arguments: exactly as many as the callee takes, each (when given)
    /// valid and of its parameter's type.
    fn arguments<'e, 't>(
        &mut self,
        callee: &str,
        takes: usize,
        args: impl ExactSizeIterator<Item = Option<&'e Expr>>,
        params: impl Iterator<Item = (&'t str, &'t Ty)>,
    ) -> Result<(), InvalidIr> {
        if args.len() != takes {
            return self.err(format!(
                "`{callee}` is called with {} arguments (it takes {takes})",
                args.len()
            ));
        }
        self.items(args.len())?;
        for (a, (name, t)) in args.zip(params) {
            if let Some(a) = a {
                self.expr(a)?;
                self.fits(&a.ty, t, &format!("argument `{name}`"))?;
            }
        }
        Ok(())
    }

    fn items(&mut self, n: usize) -> Result<(), InvalidIr> {
        self.items = self.items.saturating_add(n);
        if self.items > MAX_BODY_ITEMS {
            return self.err(format!(
                "its literals, argument lists and assignment paths have more than \
                 {MAX_BODY_ITEMS} items in all"
            ));
        }
        Ok(())
    }

    /// Checks a block; returns the type of its value (`Null` for a block without
    /// one, whose value both evaluators take as null).
    fn block(&mut self, b: &Block) -> Result<Ty, InvalidIr> {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        match &b.value {
            Some(e) => {
                self.expr(e)?;
                Ok(e.ty.clone())
            }
            None => Ok(Ty::Null),
        }
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), InvalidIr> {
        match s {
            Stmt::Set(slot, e) => {
                let ty = self.slot(*slot)?;
                self.expr(e)?;
                self.fits(&e.ty, ty, &format!("the value stored in slot {}", slot.0))
            }
            Stmt::Assign { place, value } => {
                let ty = self.place(place)?;
                self.expr(value)?;
                self.fits(&value.ty, &ty, "the assigned value")
            }
            Stmt::Append { place, value } => {
                let ty = self.place(place)?;
                self.expr(value)?;
                match inner(&ty) {
                    Ty::List(t) => self.fits(&value.ty, t, "the appended value"),
                    t if loose(t) => Ok(()),
                    t => self.err(format!("`<<` on a place of type {t:?}, not a list")),
                }
            }
            Stmt::Update {
                place, op, value, ..
            } => {
                let ty = self.place(place)?;
                self.expr(value)?;
                match op {
                    UpdateOp::Concat => self.fits(&ty, &Ty::String, "a `+=` on a string"),
                    UpdateOp::Arith(op) => match arith(*op) {
                        Some((l, r, out)) => {
                            self.fits(&ty, &l, "the updated place")?;
                            self.fits(&value.ty, &r, "the update's operand")?;
                            self.fits(&out, &ty, "the update's result")
                        }
                        None if matches!(op, BinOp::ListConcat | BinOp::MapMerge) => {
                            self.binary(*op, &ty, &value.ty, &ty)
                        }
                        None => self.err(format!("`{op:?}` is not a compound assignment")),
                    },
                }
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond)?;
                self.fits(&cond.ty, &Ty::Bool, "a condition")?;
                self.block(then)?;
                self.block(otherwise)?;
                Ok(())
            }
            Stmt::ForEach { var, list, body } => {
                let ty = self.slot(*var)?;
                self.expr(list)?;
                match inner(&list.ty) {
                    Ty::List(t) => self.fits(t, ty, "the loop variable")?,
                    t if loose(t) => {}
                    t => return self.err(format!("`for` over a value of type {t:?}")),
                }
                self.block(body)?;
                Ok(())
            }
            Stmt::Return(e) => {
                self.expr(e)?;
                let ret = self.ret.clone();
                self.fits(&e.ty, &ret, "the returned value")
            }
            Stmt::Expr(e) | Stmt::Log(e) | Stmt::Fail(e) => self.expr(e),
            Stmt::Complete(e) | Stmt::Retry(e) => match e {
                Some(e) => self.expr(e),
                None => Ok(()),
            },
        }
    }

    /// Checks an assignment target; returns the type of what it names.
    fn place(&mut self, p: &Place) -> Result<Ty, InvalidIr> {
        let mut ty = match p.root {
            PlaceRoot::Local(s) => self.slot(s)?.clone(),
            PlaceRoot::Fact(i) => {
                let ty = self.field(self.facts, i, "fact")?;
                if !self.writes {
                    return self.err(format!("fact {i} is assigned in a body that cannot"));
                }
                ty.clone()
            }
        };
        self.items(p.path.len().saturating_mul(3))?;
        for step in &p.path {
            ty = match step {
                PlaceStep::Field(i) => self.record_field(&ty, *i)?,
                PlaceStep::Index { index, .. } => {
                    self.expr(index)?;
                    self.fits(&index.ty, &Ty::Int, "a list index")?;
                    match inner(&ty) {
                        Ty::List(t) => (**t).clone(),
                        t if loose(t) => Ty::Json,
                        t => return self.err(format!("an index into a value of type {t:?}")),
                    }
                }
                PlaceStep::Key(k) => {
                    self.expr(k)?;
                    match inner(&ty) {
                        Ty::Map(kt, v) => {
                            self.fits(&k.ty, kt, "a map key")?;
                            (**v).clone()
                        }
                        t if loose(t) => Ty::Json,
                        t => return self.err(format!("a key into a value of type {t:?}")),
                    }
                }
            };
        }
        Ok(ty)
    }

    fn exprs<'e>(&mut self, es: impl IntoIterator<Item = &'e Expr>) -> Result<(), InvalidIr> {
        for e in es {
            self.expr(e)?;
        }
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(), InvalidIr> {
        if self.stack.exceeded() {
            return self.err("it nests too deeply to check");
        }
        self.v.ty(self.at, &e.ty)?;
        let ty = &e.ty;
        match &e.kind {
            ExprKind::Const(c) => match c {
                Const::Int(_) => self.fits(&Ty::Int, ty, "an `Int` constant"),
                Const::Float(_) => self.fits(&Ty::Float, ty, "a `Float` constant"),
                Const::Bool(_) => self.fits(&Ty::Bool, ty, "a `Bool` constant"),
                Const::Duration(_) => self.fits(&Ty::Duration, ty, "a `Duration` constant"),
                Const::Null => Ok(()),
                Const::Str(s) => {
                    if s.len() > MAX_STRING_BYTES {
                        return self.err(format!(
                            "a string constant of {} bytes (at most {MAX_STRING_BYTES})",
                            s.len()
                        ));
                    }
                    self.fits(&Ty::String, ty, "a `String` constant")
                }
            },
            ExprKind::Local(s) => {
                let t = self.slot(*s)?;
                self.fits(t, ty, &format!("slot {}", s.0))
            }
            ExprKind::Input(i) => {
                let t = self.field(self.inputs, *i, "input")?;
                self.fits(t, ty, &format!("input {i}"))
            }
            ExprKind::Fact(i) => {
                let t = self.field(self.facts, *i, "fact")?;
                self.fits(t, ty, &format!("fact {i}"))
            }
            ExprKind::Field { base, index } => {
                self.expr(base)?;
                let t = self.record_field(&base.ty, *index)?;
                self.fits(&t, ty, &format!("field {index}"))
            }
            ExprKind::IfNotNull { value, slot, then } => {
                self.expr(value)?;
                let t = self.slot(*slot)?;
                self.fits(inner(&value.ty), t, "the value bound by `?.`")?;
                self.expr(then)?;
                self.fits(&then.ty, ty, "the value after `?.`")
            }
            ExprKind::Elvis { value, otherwise } => {
                self.exprs([&**value, &**otherwise])?;
                self.fits(&value.ty, ty, "the value before `?:`")?;
                self.fits(&otherwise.ty, ty, "the value after `?:`")
            }
            ExprKind::Unary { op, operand, .. } => {
                self.expr(operand)?;
                let t = match op {
                    UnOp::Not => Ty::Bool,
                    UnOp::NegInt => Ty::Int,
                    UnOp::NegFloat => Ty::Float,
                    UnOp::NegDuration => Ty::Duration,
                };
                self.fits(&operand.ty, &t, "an operand")?;
                self.fits(&t, ty, "a negation")
            }
            ExprKind::Binary { op, lhs, rhs, .. } => {
                self.exprs([&**lhs, &**rhs])?;
                self.binary(*op, &lhs.ty, &rhs.ty, ty)
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                self.exprs([&**a, &**b])?;
                self.fits(&a.ty, &Ty::Bool, "an operand of `&&`/`||`")?;
                self.fits(&b.ty, &Ty::Bool, "an operand of `&&`/`||`")?;
                self.fits(&Ty::Bool, ty, "`&&`/`||`")
            }
            ExprKind::IntToFloat(x) => {
                self.expr(x)?;
                self.fits(&x.ty, &Ty::Int, "a widened value")?;
                self.fits(&Ty::Float, ty, "a widened value")
            }
            ExprKind::Range { from, to, .. } => {
                self.exprs([&**from, &**to])?;
                self.fits(&from.ty, &Ty::Int, "a range's start")?;
                self.fits(&to.ty, &Ty::Int, "a range's end")?;
                self.fits(&Ty::List(Box::new(Ty::Int)), ty, "a range")
            }
            ExprKind::Format(parts) => {
                self.items(parts.len())?;
                self.exprs(parts)?;
                self.fits(&Ty::String, ty, "an interpolation")
            }
            ExprKind::List(items) => {
                self.items(items.len())?;
                self.exprs(items)?;
                match inner(ty) {
                    Ty::List(t) => {
                        for item in items {
                            self.fits(&item.ty, t, "a list item")?;
                        }
                        Ok(())
                    }
                    t if loose(t) => Ok(()),
                    t => self.err(format!("a list literal of type {t:?}")),
                }
            }
            ExprKind::Map(entries) => {
                self.items(entries.len().saturating_mul(2))?;
                for (k, v) in entries {
                    self.exprs([k, v])?;
                }
                match inner(ty) {
                    Ty::Map(kt, vt) => {
                        for (k, v) in entries {
                            self.fits(&k.ty, kt, "a map key")?;
                            self.fits(&v.ty, vt, "a map value")?;
                        }
                        Ok(())
                    }
                    t if loose(t) => Ok(()),
                    t => self.err(format!("a map literal of type {t:?}")),
                }
            }
            ExprKind::Record { record, fields } => {
                let program = self.v.program;
                let Some(layout) = program.record(*record) else {
                    return self.err(format!("record #{} does not exist", record.0));
                };
                if fields.len() != layout.fields.len() {
                    return self.err(format!(
                        "a `{}` with {} fields (it has {})",
                        layout.name,
                        fields.len(),
                        layout.fields.len()
                    ));
                }
                self.items(fields.len())?;
                for (f, l) in fields.iter().zip(&layout.fields) {
                    if let Some(f) = f {
                        self.expr(f)?;
                        self.fits(&f.ty, &l.ty, &format!("field {}", l.name))?;
                    }
                }
                self.fits(&Ty::Record(*record), ty, "a record")
            }
            ExprKind::EnumValue { enum_id, variant } => {
                let Some(layout) = self.v.program.enum_layout(*enum_id) else {
                    return self.err(format!("enum #{} does not exist", enum_id.0));
                };
                if *variant as usize >= layout.variants.len() {
                    return self.err(format!(
                        "enum {} has no variant {variant} (it has {})",
                        layout.name,
                        layout.variants.len()
                    ));
                }
                self.fits(&Ty::Enum(*enum_id), ty, "an enum value")
            }
            ExprKind::Index { list, index, .. } => {
                self.exprs([&**list, &**index])?;
                self.fits(&index.ty, &Ty::Int, "a list index")?;
                match inner(&list.ty) {
                    Ty::List(t) => self.fits(t, ty, "a list item"),
                    t if loose(t) => Ok(()),
                    t => self.err(format!("an index into a value of type {t:?}")),
                }
            }
            ExprKind::MapGet { map, key } => {
                self.exprs([&**map, &**key])?;
                match inner(&map.ty) {
                    Ty::Map(k, v) => {
                        self.fits(&key.ty, k, "a map key")?;
                        self.fits(v, ty, "a map entry")
                    }
                    t if loose(t) => Ok(()),
                    t => self.err(format!("an entry of a value of type {t:?}")),
                }
            }
            ExprKind::Builtin {
                receiver,
                name,
                args,
                ..
            } => {
                if !IMPLEMENTED.contains(&(*receiver, name.as_str())) {
                    return self.err(format!("`{receiver:?}.{name}` is not a built-in"));
                }
                self.items(args.len())?;
                self.exprs(args)
            }
            ExprKind::EnumValueOf { enum_id, name } => {
                if self.v.program.enum_layout(*enum_id).is_none() {
                    return self.err(format!("enum #{} does not exist", enum_id.0));
                }
                self.expr(name)?;
                self.fits(&name.ty, &Ty::String, "the name given to `valueOf`")?;
                self.fits(&Ty::Enum(*enum_id), ty, "`valueOf`")
            }
            ExprKind::Loop {
                kind,
                source,
                params,
                body,
                ..
            } => {
                self.expr(source)?;
                let (map, wanted) = match kind {
                    LoopKind::MapEach
                    | LoopKind::MapAny
                    | LoopKind::MapFindAll
                    | LoopKind::MapCollect => (true, 2),
                    LoopKind::EachWithIndex => (false, 2),
                    _ => (false, 1),
                };
                if params.len() < wanted {
                    return self.err(format!(
                        "a `{kind:?}` loop binds {} parameters, not {wanted}",
                        params.len()
                    ));
                }
                for p in params {
                    self.slot(*p)?;
                }
                match (map, inner(&source.ty)) {
                    (true, Ty::Map(..)) | (false, Ty::List(_)) => {}
                    (_, t) if loose(t) => {}
                    (_, t) => {
                        return self.err(format!("a `{kind:?}` loop over a value of type {t:?}"));
                    }
                }
                self.block(body)?;
                Ok(())
            }
            ExprKind::CallHelper { helper, args, .. } => {
                let program = self.v.program;
                let Some(f) = program.helpers.get(helper.0 as usize) else {
                    return self.err(format!(
                        "helper #{} does not exist (the program has {})",
                        helper.0,
                        program.helpers.len()
                    ));
                };
                self.arguments(
                    &f.name,
                    f.params as usize,
                    args.iter().map(Option::as_ref),
                    f.slots.iter().map(|s| (s.name.as_str(), &s.ty)),
                )?;
                self.fits(&f.ret, ty, &format!("the result of `{}`", f.name))
            }
            ExprKind::Call { function, args } => {
                let program = self.v.program;
                let Some(f) = program.functions.get(function.0 as usize) else {
                    return self.err(format!(
                        "function #{} does not exist (the program has {})",
                        function.0,
                        program.functions.len()
                    ));
                };
                self.arguments(
                    &f.name,
                    f.params.len(),
                    args.iter().map(Some),
                    f.params.iter().map(|(name, t)| (name.as_str(), t)),
                )?;
                self.fits(&Ty::Call(Box::new(f.ret.clone())), ty, "a call")
            }
            ExprKind::Child { workflow, args } => {
                let program = self.v.program;
                let Some(w) = program.workflows.get(workflow.0 as usize) else {
                    return self.err(format!(
                        "workflow #{} does not exist (the program has {})",
                        workflow.0,
                        program.workflows.len()
                    ));
                };
                self.arguments(
                    &w.name,
                    w.inputs.len(),
                    args.iter().map(Option::as_ref),
                    w.inputs.iter().map(|f| (f.name.as_str(), &f.ty)),
                )?;
                self.fits(
                    &Ty::Call(Box::new(w.output_ty())),
                    ty,
                    "a child workflow's call",
                )
            }
            ExprKind::Sleep(d) => {
                self.expr(d)?;
                self.fits(&d.ty, &Ty::Duration, "the time given to `sleep`")
            }
            ExprKind::Settle(calls) => {
                self.expr(calls)?;
                let list_of_calls = matches!(&calls.ty, Ty::List(t) if matches!(**t, Ty::Call(_)));
                let call_of_list = matches!(ty, Ty::Call(t) if matches!(**t, Ty::List(_)));
                if list_of_calls && call_of_list {
                    Ok(())
                } else {
                    self.err(format!(
                        "`settle` takes a list of calls and is a call of a list; found {:?} giving {ty:?}",
                        calls.ty
                    ))
                }
            }
            ExprKind::Now => self.fits(&Ty::Time, ty, "`now()`"),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond)?;
                self.fits(&cond.ty, &Ty::Bool, "a condition")?;
                let a = self.block(then)?;
                self.fits(&a, ty, "a branch's value")?;
                let b = self.block(otherwise)?;
                self.fits(&b, ty, "a branch's value")
            }
            ExprKind::Block(b) => {
                let t = self.block(b)?;
                self.fits(&t, ty, "a block's value")
            }
        }
    }

    fn binary(&self, op: BinOp, lhs: &Ty, rhs: &Ty, ty: &Ty) -> Result<(), InvalidIr> {
        if let Some((l, r, out)) = arith(op) {
            self.fits(lhs, &l, &format!("the left operand of `{op:?}`"))?;
            self.fits(rhs, &r, &format!("the right operand of `{op:?}`"))?;
            return self.fits(&out, ty, &format!("`{op:?}`"));
        }
        match op {
            BinOp::ListConcat => {
                for t in [lhs, rhs] {
                    if !(matches!(inner(t), Ty::List(_)) || loose(t)) {
                        return self.err(format!("`ListConcat` of a value of type {t:?}"));
                    }
                }
                self.fits(lhs, ty, "`ListConcat`")
            }
            BinOp::MapMerge => {
                for t in [lhs, rhs] {
                    if !(matches!(inner(t), Ty::Map(..)) || loose(t)) {
                        return self.err(format!("`MapMerge` of a value of type {t:?}"));
                    }
                }
                self.fits(lhs, ty, "`MapMerge`")
            }
            _ => self.fits(&Ty::Bool, ty, &format!("`{op:?}`")),
        }
    }
}

/// The operand and result types of an arithmetic operation (`None` for the others).
fn arith(op: BinOp) -> Option<(Ty, Ty, Ty)> {
    use BinOp::*;
    let (l, r, out) = match op {
        IntAdd | IntSub | IntMul | IntDiv | IntRem => (Ty::Int, Ty::Int, Ty::Int),
        FloatAdd | FloatSub | FloatMul | FloatDiv | FloatRem => (Ty::Float, Ty::Float, Ty::Float),
        DurationAdd | DurationSub => (Ty::Duration, Ty::Duration, Ty::Duration),
        DurationMulInt | DurationDivInt => (Ty::Duration, Ty::Int, Ty::Duration),
        TimeAddDuration | TimeSubDuration => (Ty::Time, Ty::Duration, Ty::Time),
        TimeSub => (Ty::Time, Ty::Time, Ty::Duration),
        ListConcat | MapMerge | Eq | Ne | Lt | Le | Gt | Ge => return None,
    };
    Some((l, r, out))
}
