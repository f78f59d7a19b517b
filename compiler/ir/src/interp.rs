//! The reference interpreter: the executable definition of the IR's semantics, and the
//! oracle the JIT is tested against. A direct walk of the tree; slow but obvious.
//!
//! Every failure is a [`RuntimeError`] with the span of the operation that failed;
//! nothing here panics on any program the lowering can produce.

pub mod builtins;
mod facts;
mod loops;

pub use facts::{FactLog, Facts};

use crate::clock::Crossing;
use crate::value::{self, CallTarget, PendingCall, Value};
use crate::{
    BinOp, Block, Const, Expr, ExprKind, Function, Place, PlaceRoot, PlaceStep, Program, Span,
    Stmt, UnOp,
};

/// How deep helpers may recurse before the call is refused (the interpreter's own
/// stack is the limit it protects).
pub const MAX_CALL_DEPTH: u32 = 200;
/// The most elements a range may have.
pub const MAX_RANGE: i64 = 10_000_000;

/// A body stopped: what went wrong, at which operation and, once the host that ran
/// the body has said so, where that is and which body it was.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}{}", describe_site(span, site.as_deref()))]
pub struct RuntimeError {
    pub kind: RuntimeErrorKind,
    pub span: Span,
    /// Filled in by the host that ran the body ([`RuntimeError::in_body`]).
    pub site: Option<Box<Site>>,
}

/// Where a run-time error happened, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The operation's place in the source, when the program knows its file's lines.
    pub location: Option<crate::location::Location>,
    /// The body that was running: `rule "probe", action`, `signal approve`, `output`.
    pub body: String,
}

fn describe_site(span: &Span, site: Option<&Site>) -> String {
    match site {
        Some(Site {
            location: Some(location),
            body,
        }) => format!(" at {location}, in {body}"),
        Some(Site {
            location: None,
            body,
        }) => format!(" in {body}"),
        None => format!(" (file {}, bytes {}..{})", span.file, span.start, span.end),
    }
}

impl RuntimeError {
    pub fn new(kind: RuntimeErrorKind, span: Span) -> RuntimeError {
        RuntimeError {
            kind,
            span,
            site: None,
        }
    }

    /// The error, saying that it happened in `body` (`rule "probe", action`) and where
    /// its span is in `program`'s sources. An error that already has a site keeps it.
    pub fn in_body(mut self, program: &Program, body: impl Into<String>) -> RuntimeError {
        if self.site.is_none() {
            let location = match self.kind {
                // These carry no span worth showing.
                RuntimeErrorKind::Internal(_) | RuntimeErrorKind::TooDeep => None,
                _ => program.locate(self.span),
            };
            self.site = Some(Box::new(Site {
                location,
                body: body.into(),
            }));
        }
        self
    }
}

/// How a workflow body is named in run-time errors: `rule "probe", action`.
pub fn rule_part(rule: &str, part: &str) -> String {
    format!("rule {rule:?}, {part}")
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeErrorKind {
    #[error("integer overflow")]
    IntOverflow,
    #[error("division by zero")]
    DivisionByZero,
    #[error("index {index} is out of range for a list of {len} element{}", if *len == 1 { "" } else { "s" })]
    IndexOutOfRange { index: i64, len: usize },
    #[error("{0}")]
    InvalidArgument(String),
    /// Deeper than [`MAX_CALL_DEPTH`] calls, or out of stack budget at a call.
    #[error("helpers recurse too deeply")]
    RecursionLimit,
    /// Evaluation used up its stack budget ([`crate::stack::STACK_BUDGET`]).
    #[error("evaluation nests too deeply")]
    TooDeep,
    /// A value of a shape the IR's types rule out: a bug in lowering, never in user code.
    #[error("internal error: {0}")]
    Internal(String),
}

/// How a handler ended the instance, if it did.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    Complete(Option<serde_json::Value>),
    Fail(String),
    /// Milliseconds to wait before the call runs again.
    Retry(Option<i64>),
}

/// What a handler did besides assigning facts (which it does in place).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Effects {
    pub log: Vec<String>,
    pub finish: Option<Finish>,
}

/// A workflow instance's state as a body sees it.
pub struct Env<'a> {
    pub inputs: &'a [Value],
    pub facts: Facts<'a>,
    /// The logical time of the step, in milliseconds since the epoch.
    pub now: i64,
}

/// Why evaluation stopped early.
pub(crate) enum Unwind {
    Return(Value),
    /// The body called `complete`, `fail` or `retry`; recorded in the effects.
    Finish,
    Error(RuntimeError),
}

impl From<RuntimeError> for Unwind {
    fn from(e: RuntimeError) -> Self {
        Unwind::Error(e)
    }
}

pub(crate) type Eval<T> = Result<T, Unwind>;

pub(crate) fn fail<T>(kind: RuntimeErrorKind, span: Span) -> Eval<T> {
    Err(Unwind::Error(RuntimeError::new(kind, span)))
}

pub(crate) fn internal<T>(what: impl Into<String>) -> Eval<T> {
    fail(RuntimeErrorKind::Internal(what.into()), Span::default())
}

/// Runs one body with its arguments; returns its value and effects.
pub fn run(
    program: &Program,
    function: &Function,
    args: Vec<Value>,
    env: Env<'_>,
) -> Result<(Value, Effects), RuntimeError> {
    let mut machine = Machine {
        program,
        env,
        effects: Effects::default(),
        depth: 0,
        call_span: Span::default(),
        stack: crate::stack::StackGuard::new(),
        crossings: None,
    };
    match machine.call(function, args) {
        Ok(v) => Ok((v, machine.effects)),
        Err(Unwind::Finish) => Ok((Value::Null, machine.effects)),
        Err(Unwind::Return(v)) => Ok((v, machine.effects)),
        Err(Unwind::Error(e)) => Err(e),
    }
}

/// Runs a `match` (or any read-only body) recording each comparison of `now()` with a
/// `Time` it evaluates (LANGUAGE.md 10.1, [`crate::clock`]); returns its value and
/// those comparisons in evaluation order.
pub fn run_watching_now(
    program: &Program,
    function: &Function,
    env: Env<'_>,
) -> Result<(Value, Vec<Crossing>), RuntimeError> {
    let mut machine = Machine {
        program,
        env,
        effects: Effects::default(),
        depth: 0,
        stack: crate::stack::StackGuard::new(),
        crossings: Some(Vec::new()),
        call_span: Span::default(),
    };
    let value = match machine.call(function, Vec::new()) {
        Ok(v) | Err(Unwind::Return(v)) => v,
        Err(Unwind::Finish) => Value::Null,
        Err(Unwind::Error(e)) => return Err(e),
    };
    Ok((value, machine.crossings.unwrap_or_default()))
}

/// Evaluates a constant expression (a default).
pub fn eval_const(program: &Program, expr: &Expr) -> Result<Value, RuntimeError> {
    eval_const_at(program, expr, 0)
}

/// Evaluates a constant expression (a default) whose `now()` is `now`: a fact's
/// default is computed when its instance starts, and `now()` there is the start time.
pub fn eval_const_at(program: &Program, expr: &Expr, now: i64) -> Result<Value, RuntimeError> {
    let env = Env {
        inputs: &[],
        facts: Facts::Read(&[]),
        now,
    };
    let mut machine = Machine {
        program,
        env,
        effects: Effects::default(),
        depth: 0,
        call_span: Span::default(),
        stack: crate::stack::StackGuard::new(),
        crossings: None,
    };
    let mut slots = Vec::new();
    match machine.eval(&mut slots, expr) {
        Ok(v) => Ok(v),
        Err(Unwind::Error(e)) => Err(e),
        Err(_) => Err(RuntimeError::new(
            RuntimeErrorKind::Internal("a default ended early".into()),
            Span::default(),
        )),
    }
}

pub(crate) struct Machine<'p, 'e> {
    pub program: &'p Program,
    pub env: Env<'e>,
    pub effects: Effects,
    depth: u32,
    /// The innermost helper call being evaluated (meaningful when `depth > 0`).
    call_span: Span,
    stack: crate::stack::StackGuard,
    /// When watching `now()`: the comparisons of `now()` evaluated so far.
    crossings: Option<Vec<Crossing>>,
}

impl Machine<'_, '_> {
    fn call(&mut self, function: &Function, args: Vec<Value>) -> Eval<Value> {
        let mut slots = args;
        slots.resize(function.slots.len().max(slots.len()), Value::Null);
        match self.block(&mut slots, &function.body) {
            Err(Unwind::Return(v)) => Ok(v),
            other => other,
        }
    }

    pub(crate) fn block(&mut self, slots: &mut Vec<Value>, block: &Block) -> Eval<Value> {
        for stmt in &block.stmts {
            self.stmt(slots, stmt)?;
        }
        match &block.value {
            Some(e) => self.eval(slots, e),
            None => Ok(Value::Null),
        }
    }

    fn stmt(&mut self, slots: &mut Vec<Value>, stmt: &Stmt) -> Eval<()> {
        match stmt {
            Stmt::Set(slot, e) => {
                let v = self.eval(slots, e)?;
                set_slot(slots, slot.0, v);
            }
            Stmt::Assign { place, value } => {
                let v = self.eval(slots, value)?;
                if let (PlaceRoot::Fact(i), true) = (place.root, place.path.is_empty()) {
                    // A whole fact replaced: its old value is moved, not copied.
                    return match self.env.facts.replace(i, v) {
                        Some(()) => Ok(()),
                        None => internal("a fact assigned outside a handler"),
                    };
                }
                if let Some(target) = self.fact_entry(slots, place, None)? {
                    *target = v;
                    return Ok(());
                }
                self.store(slots, place, None, |target, _| {
                    *target = v;
                    Ok(())
                })?;
            }
            Stmt::Append { place, value } => {
                let mut v = self.eval(slots, value)?;
                if let (PlaceRoot::Fact(i), true) = (place.root, place.path.is_empty()) {
                    // `facts << v`: the list grows in place; only its length is logged.
                    match self.env.facts.append(i, v) {
                        Ok(()) => return Ok(()),
                        Err(back) => v = back,
                    }
                }
                self.store(slots, place, None, |target, _| match target {
                    Value::List(items) => {
                        items.push(v);
                        Ok(())
                    }
                    _ => internal("`<<` on a value that is not a list"),
                })?;
            }
            Stmt::Update {
                place,
                op,
                value,
                span,
            } => {
                let v = self.eval(slots, value)?;
                let span = *span;
                let update = |target: &mut Value, program: &Program| {
                    let old = std::mem::replace(target, Value::Null);
                    *target = match op {
                        crate::UpdateOp::Concat => {
                            let mut text = value::format(program, &old);
                            text.push_str(&value::format(program, &v));
                            Value::Str(text.into())
                        }
                        crate::UpdateOp::Arith(op) => binary(*op, old, v, span)?,
                    };
                    Ok(())
                };
                let program = self.program;
                if let Some(target) = self.fact_entry(slots, place, Some(span))? {
                    return update(target, program);
                }
                self.store(slots, place, Some(span), update)?;
            }
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                let branch = if self.bool(slots, cond)? {
                    then
                } else {
                    otherwise
                };
                self.block(slots, branch)?;
            }
            Stmt::ForEach { var, list, body } => {
                let Value::List(items) = self.eval(slots, list)? else {
                    return internal("`for` over a value that is not a list");
                };
                for item in items {
                    set_slot(slots, var.0, item);
                    self.block(slots, body)?;
                }
            }
            Stmt::Return(e) => {
                let v = self.eval(slots, e)?;
                return Err(Unwind::Return(v));
            }
            Stmt::Expr(e) => {
                self.eval(slots, e)?;
            }
            Stmt::Log(e) => {
                let v = self.eval(slots, e)?;
                let line = value::format(self.program, &v);
                self.effects.log.push(line);
            }
            Stmt::Complete(e) => {
                let output = match e {
                    Some(e) => {
                        let v = self.eval(slots, e)?;
                        Some(crate::json::to_json(self.program, &v))
                    }
                    None => None,
                };
                self.effects.finish = Some(Finish::Complete(output));
                return Err(Unwind::Finish);
            }
            Stmt::Fail(e) => {
                let v = self.eval(slots, e)?;
                self.effects.finish = Some(Finish::Fail(value::format(self.program, &v)));
                return Err(Unwind::Finish);
            }
            Stmt::Retry(e) => {
                let after = match e {
                    Some(e) => match self.eval(slots, e)? {
                        Value::Duration(ms) => Some(ms),
                        _ => return internal("`retry` after a value that is not a duration"),
                    },
                    None => None,
                };
                self.effects.finish = Some(Finish::Retry(after));
                return Err(Unwind::Finish);
            }
        }
        Ok(())
    }

    /// `fact[key]` of a map fact, for an assignment (`existing` is `None`: an absent
    /// key is added) or a compound one (an absent key is an error at `existing`),
    /// changed in place with only the entry logged ([`Facts::entry`]); `None` when
    /// the place is not one key of a changeable map fact, for [`Machine::store`].
    fn fact_entry(
        &mut self,
        slots: &mut Vec<Value>,
        place: &Place,
        existing: Option<Span>,
    ) -> Eval<Option<&mut Value>> {
        let (PlaceRoot::Fact(i), [PlaceStep::Key(key)]) = (place.root, place.path.as_slice())
        else {
            return Ok(None);
        };
        if matches!(self.env.facts, Facts::Read(_))
            || !matches!(self.env.facts.get(i), Some(Value::Map(_)))
        {
            return Ok(None);
        }
        let key = self.eval(slots, key)?;
        match self.env.facts.entry(i, key, existing.is_none()) {
            Some(target) => Ok(Some(target)),
            None => fail(
                RuntimeErrorKind::InvalidArgument("`m[k]` has no entry to update".to_string()),
                existing.unwrap_or_default(),
            ),
        }
    }

    /// Evaluates the place's keys and indices, then applies `update` to the value it
    /// names. A key that is absent gets an entry, except for a compound assignment
    /// (`existing` is its span), where it is an error.
    fn store(
        &mut self,
        slots: &mut Vec<Value>,
        place: &Place,
        existing: Option<Span>,
        update: impl FnOnce(&mut Value, &Program) -> Eval<()>,
    ) -> Eval<()> {
        enum Step {
            Field(u32),
            Index(i64, Span),
            Key(Value),
        }
        let mut steps = Vec::with_capacity(place.path.len());
        for step in &place.path {
            steps.push(match step {
                PlaceStep::Field(i) => Step::Field(*i),
                PlaceStep::Index { index, span } => match self.eval(slots, index)? {
                    Value::Int(i) => Step::Index(i, *span),
                    _ => return internal("a list index that is not an `Int`"),
                },
                PlaceStep::Key(k) => Step::Key(self.eval(slots, k)?),
            });
        }
        let program = self.program;
        let mut target: &mut Value = match place.root {
            PlaceRoot::Local(slot) => {
                if slots.len() <= slot.0 as usize {
                    slots.resize(slot.0 as usize + 1, Value::Null);
                }
                match slots.get_mut(slot.0 as usize) {
                    Some(v) => v,
                    None => return internal("a slot out of range"),
                }
            }
            PlaceRoot::Fact(i) => match self.env.facts.get_mut(i) {
                Some(v) => v,
                None => return internal("a fact assigned outside a handler"),
            },
        };
        for step in steps {
            target = match (step, target) {
                (Step::Field(i), Value::Record(_, fields)) => match fields.get_mut(i as usize) {
                    Some(v) => v,
                    None => return internal("a field index out of range"),
                },
                (Step::Index(i, span), Value::List(items)) => {
                    let len = items.len();
                    match usize::try_from(i).ok().and_then(|i| items.get_mut(i)) {
                        Some(v) => v,
                        None => {
                            return fail(RuntimeErrorKind::IndexOutOfRange { index: i, len }, span);
                        }
                    }
                }
                (Step::Key(k), Value::Map(entries)) => {
                    let position = match entries.iter().position(|(e, _)| value::equal(e, &k)) {
                        Some(p) => p,
                        None => {
                            if let Some(span) = existing {
                                return fail(
                                    RuntimeErrorKind::InvalidArgument(
                                        "`m[k]` has no entry to update".to_string(),
                                    ),
                                    span,
                                );
                            }
                            entries.push((k, Value::Null));
                            entries.len() - 1
                        }
                    };
                    match entries.get_mut(position) {
                        Some((_, v)) => v,
                        None => return internal("a map entry vanished"),
                    }
                }
                (_, Value::Null) => {
                    return fail(
                        RuntimeErrorKind::InvalidArgument(
                            "assigned through a null value".to_string(),
                        ),
                        Span::default(),
                    );
                }
                _ => return internal("an assignment path through a value of the wrong shape"),
            };
        }
        update(target, program)
    }

    pub(crate) fn bool(&mut self, slots: &mut Vec<Value>, e: &Expr) -> Eval<bool> {
        match self.eval(slots, e)? {
            Value::Bool(b) => Ok(b),
            _ => internal("a condition that is not a `Bool`"),
        }
    }

    /// `lhs op rhs`; when watching `now()`, a comparison of `now()` with a `Time` is
    /// recorded as a [`Crossing`].
    fn binary(
        &mut self,
        slots: &mut Vec<Value>,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        span: Span,
    ) -> Eval<Value> {
        let a = self.eval(slots, lhs)?;
        let b = self.eval(slots, rhs)?;
        if self.crossings.is_none() {
            return binary(op, a, b, span);
        }
        let watched = match (&lhs.kind, &rhs.kind, &a, &b) {
            (ExprKind::Now, _, _, Value::Time(t)) => Some((true, *t)),
            (_, ExprKind::Now, Value::Time(t), _) => Some((false, *t)),
            _ => None,
        };
        let value = binary(op, a, b, span)?;
        if let (Some((now_left, threshold)), Value::Bool(holds)) = (watched, &value)
            && let Some(crossing) = Crossing::of(op, now_left, threshold, *holds, span)
            && let Some(crossings) = &mut self.crossings
        {
            crossings.push(crossing);
        }
        Ok(value)
    }

    pub(crate) fn eval(&mut self, slots: &mut Vec<Value>, expr: &Expr) -> Eval<Value> {
        if self.stack.exceeded() {
            // Inside helpers, the stack runs out because they recurse: the error is
            // theirs, at the innermost call, as the JIT reports it.
            if self.depth > 0 {
                return fail(RuntimeErrorKind::RecursionLimit, self.call_span);
            }
            return fail(RuntimeErrorKind::TooDeep, Span::default());
        }
        self.eval_kind(slots, expr)
    }

    /// The common and nesting paths, apart from the large match below so that each
    /// level of nesting costs a small stack frame.
    fn eval_kind(&mut self, slots: &mut Vec<Value>, expr: &Expr) -> Eval<Value> {
        match &expr.kind {
            ExprKind::Local(slot) => local(slots, *slot),
            ExprKind::Binary { op, lhs, rhs, span } => self.binary(slots, *op, lhs, rhs, *span),
            ExprKind::And(a, b) => Ok(Value::Bool(self.bool(slots, a)? && self.bool(slots, b)?)),
            ExprKind::Or(a, b) => Ok(Value::Bool(self.bool(slots, a)? || self.bool(slots, b)?)),
            _ => self.eval_other(slots, expr),
        }
    }

    fn eval_other(&mut self, slots: &mut Vec<Value>, expr: &Expr) -> Eval<Value> {
        Ok(match &expr.kind {
            ExprKind::Const(c) => match c {
                Const::Int(n) => Value::Int(*n),
                Const::Float(f) => Value::Float(*f),
                Const::Bool(b) => Value::Bool(*b),
                Const::Str(s) => Value::Str(s.clone()),
                Const::Duration(ms) => Value::Duration(*ms),
                Const::Null => Value::Null,
            },
            ExprKind::Local(slot) => local(slots, *slot)?,
            ExprKind::Input(i) => match self.env.inputs.get(*i as usize) {
                Some(v) => v.clone(),
                None => return internal("an input index out of range"),
            },
            ExprKind::Fact(i) => match self.env.facts.get(*i) {
                Some(v) => v.clone(),
                None => return internal("a fact index out of range"),
            },
            ExprKind::Field { base, index } => match self.eval(slots, base)? {
                Value::Record(_, mut fields) if (*index as usize) < fields.len() => {
                    fields.swap_remove(*index as usize)
                }
                Value::Null => {
                    return fail(
                        RuntimeErrorKind::Internal("a field of null".into()),
                        Span::default(),
                    );
                }
                _ => return internal("a field of a value that is not a record"),
            },
            ExprKind::IfNotNull { value, slot, then } => match self.eval(slots, value)? {
                Value::Null => Value::Null,
                v => {
                    set_slot(slots, slot.0, v);
                    self.eval(slots, then)?
                }
            },
            ExprKind::Elvis { value, otherwise } => match self.eval(slots, value)? {
                Value::Null => self.eval(slots, otherwise)?,
                v => v,
            },
            ExprKind::Unary { op, operand, span } => {
                let v = self.eval(slots, operand)?;
                unary(*op, v, *span)?
            }
            ExprKind::Binary { op, lhs, rhs, span } => self.binary(slots, *op, lhs, rhs, *span)?,
            ExprKind::And(a, b) => Value::Bool(self.bool(slots, a)? && self.bool(slots, b)?),
            ExprKind::Or(a, b) => Value::Bool(self.bool(slots, a)? || self.bool(slots, b)?),
            ExprKind::IntToFloat(e) => match self.eval(slots, e)? {
                Value::Int(n) => Value::Float(n as f64),
                other => other,
            },
            ExprKind::Range {
                from,
                to,
                inclusive,
                span,
            } => {
                let (Value::Int(a), Value::Int(b)) =
                    (self.eval(slots, from)?, self.eval(slots, to)?)
                else {
                    return internal("a range of values that are not `Int`s");
                };
                let end = if *inclusive {
                    b.checked_add(1)
                } else {
                    Some(b)
                };
                let Some(end) = end else {
                    return fail(RuntimeErrorKind::IntOverflow, *span);
                };
                if end.saturating_sub(a) > MAX_RANGE {
                    return fail(
                        RuntimeErrorKind::InvalidArgument(format!(
                            "the range {a}..{b} has more than {MAX_RANGE} elements"
                        )),
                        *span,
                    );
                }
                Value::List((a..end).map(Value::Int).collect())
            }
            ExprKind::Format(parts) => {
                let mut out = String::new();
                for part in parts {
                    let v = self.eval(slots, part)?;
                    match v {
                        Value::Str(s) => out.push_str(&s),
                        other => out.push_str(&value::format(self.program, &other)),
                    }
                }
                Value::Str(out.into())
            }
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.eval(slots, item)?);
                }
                Value::List(out)
            }
            ExprKind::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let k = self.eval(slots, k)?;
                    let v = self.eval(slots, v)?;
                    value::map_put(&mut out, k, v);
                }
                Value::Map(out)
            }
            ExprKind::Record { record, fields } => {
                let Some(layout) = self.program.record(*record) else {
                    return internal("an unknown record");
                };
                let mut out = Vec::with_capacity(fields.len());
                for (i, field) in fields.iter().enumerate() {
                    out.push(match field {
                        Some(e) => self.eval(slots, e)?,
                        None => match layout.fields.get(i).and_then(|f| f.default.as_ref()) {
                            Some(default) => self.eval(&mut Vec::new(), default)?,
                            None => Value::Null,
                        },
                    });
                }
                Value::Record(*record, out)
            }
            ExprKind::EnumValue { enum_id, variant } => Value::Enum(*enum_id, *variant),
            ExprKind::Index { list, index, span } => {
                let (Value::List(mut items), Value::Int(i)) =
                    (self.eval(slots, list)?, self.eval(slots, index)?)
                else {
                    return internal("an index of a value that is not a list");
                };
                let len = items.len();
                match usize::try_from(i).ok().filter(|i| *i < len) {
                    Some(i) => items.swap_remove(i),
                    None => {
                        return fail(RuntimeErrorKind::IndexOutOfRange { index: i, len }, *span);
                    }
                }
            }
            ExprKind::MapGet { map, key } => {
                let Value::Map(entries) = self.eval(slots, map)? else {
                    return internal("an entry of a value that is not a map");
                };
                let key = self.eval(slots, key)?;
                value::map_get(&entries, &key)
                    .cloned()
                    .unwrap_or(Value::Null)
            }
            ExprKind::Builtin {
                receiver,
                name,
                args,
                span,
            } => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(slots, arg)?);
                }
                builtins::call(self, *receiver, name, values, &expr.ty, *span)?
            }
            ExprKind::EnumValueOf { enum_id, name } => {
                let Value::Str(s) = self.eval(slots, name)? else {
                    return internal("`valueOf` of a value that is not a string");
                };
                let variants = self
                    .program
                    .enum_layout(*enum_id)
                    .map(|e| e.variants.as_slice())
                    .unwrap_or_default();
                match variants.iter().position(|v| **v == *s) {
                    Some(i) => Value::Enum(*enum_id, i as u32),
                    None => Value::Null,
                }
            }
            ExprKind::Loop {
                kind,
                source,
                params,
                body,
                span,
            } => {
                let source = self.eval(slots, source)?;
                loops::run(self, slots, *kind, source, params, body, &expr.ty, *span)?
            }
            ExprKind::CallHelper { helper, args, span } => {
                let program = self.program;
                let Some(function) = program.helpers.get(helper.0 as usize) else {
                    return internal("an unknown helper");
                };
                let mut values = Vec::with_capacity(args.len());
                for (i, arg) in args.iter().enumerate() {
                    values.push(match arg {
                        Some(e) => self.eval(slots, e)?,
                        None => match function.defaults.get(i).and_then(Option::as_ref) {
                            Some(default) => self.eval(&mut Vec::new(), default)?,
                            None => Value::Null,
                        },
                    });
                }
                if self.depth >= MAX_CALL_DEPTH || self.stack.exceeded() {
                    return fail(RuntimeErrorKind::RecursionLimit, *span);
                }
                self.depth += 1;
                let outer = std::mem::replace(&mut self.call_span, *span);
                let result = self.call(function, values);
                self.call_span = outer;
                self.depth -= 1;
                result?
            }
            ExprKind::Call { function, args } => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(slots, arg)?);
                }
                Value::Call(PendingCall {
                    target: CallTarget::Function(*function),
                    args: values,
                })
            }
            ExprKind::Child { workflow, args } => {
                let Some(layout) = self.program.workflow_by_id(*workflow) else {
                    return internal("an unknown workflow");
                };
                let mut values = Vec::with_capacity(args.len());
                for (i, arg) in args.iter().enumerate() {
                    values.push(match arg {
                        Some(e) => self.eval(slots, e)?,
                        None => match layout.inputs.get(i).and_then(|f| f.default.as_ref()) {
                            Some(default) => self.eval(&mut Vec::new(), default)?,
                            None => Value::Null,
                        },
                    });
                }
                Value::Call(PendingCall {
                    target: CallTarget::Child(*workflow),
                    args: values,
                })
            }
            ExprKind::Sleep(d) => {
                let d = self.eval(slots, d)?;
                Value::Call(PendingCall {
                    target: CallTarget::Sleep,
                    args: vec![d],
                })
            }
            ExprKind::Settle(calls) => {
                let calls = self.eval(slots, calls)?;
                Value::Call(PendingCall {
                    target: CallTarget::Settle,
                    args: vec![calls],
                })
            }
            ExprKind::Now => Value::Time(self.env.now),
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.bool(slots, cond)? {
                    self.block(slots, then)?
                } else {
                    self.block(slots, otherwise)?
                }
            }
            ExprKind::Block(block) => self.block(slots, block)?,
        })
    }
}

/// A slot's value; a slot the body does not declare is a lowering bug, reported
/// rather than read as null so that the differential tests see it.
fn local(slots: &[Value], slot: crate::Slot) -> Eval<Value> {
    match slots.get(slot.0 as usize) {
        Some(v) => Ok(v.clone()),
        None => internal(format!("slot {} is not declared by the body", slot.0)),
    }
}

pub(crate) fn set_slot(slots: &mut Vec<Value>, slot: u32, v: Value) {
    let i = slot as usize;
    if slots.len() <= i {
        slots.resize(i + 1, Value::Null);
    }
    if let Some(target) = slots.get_mut(i) {
        *target = v;
    }
}

fn unary(op: UnOp, v: Value, span: Span) -> Eval<Value> {
    Ok(match (op, v) {
        (UnOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnOp::NegInt, Value::Int(n)) => match n.checked_neg() {
            Some(n) => Value::Int(n),
            None => return fail(RuntimeErrorKind::IntOverflow, span),
        },
        (UnOp::NegFloat, Value::Float(f)) => Value::Float(-f),
        (UnOp::NegDuration, Value::Duration(n)) => match n.checked_neg() {
            Some(n) => Value::Duration(n),
            None => return fail(RuntimeErrorKind::IntOverflow, span),
        },
        _ => return internal("a unary operator on a value of the wrong type"),
    })
}

fn checked(result: Option<i64>, span: Span) -> Eval<i64> {
    match result {
        Some(n) => Ok(n),
        None => fail(RuntimeErrorKind::IntOverflow, span),
    }
}

fn divide(a: i64, b: i64, span: Span, rem: bool) -> Eval<i64> {
    if b == 0 {
        return fail(RuntimeErrorKind::DivisionByZero, span);
    }
    checked(
        if rem {
            a.checked_rem(b)
        } else {
            a.checked_div(b)
        },
        span,
    )
}

/// Applies a binary operator to two evaluated operands.
pub(crate) fn binary(op: BinOp, a: Value, b: Value, span: Span) -> Eval<Value> {
    use Value::*;
    Ok(match (op, a, b) {
        (BinOp::Eq, a, b) => Bool(value::equal(&a, &b)),
        (BinOp::Ne, a, b) => Bool(!value::equal(&a, &b)),
        (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge, a, b) => {
            let Some(order) = value::compare(&a, &b) else {
                // Only NaN has no order; every comparison with it is false.
                return Ok(Bool(false));
            };
            Bool(match op {
                BinOp::Lt => order.is_lt(),
                BinOp::Le => order.is_le(),
                BinOp::Gt => order.is_gt(),
                _ => order.is_ge(),
            })
        }
        (BinOp::IntAdd, Int(x), Int(y)) => Int(checked(x.checked_add(y), span)?),
        (BinOp::IntSub, Int(x), Int(y)) => Int(checked(x.checked_sub(y), span)?),
        (BinOp::IntMul, Int(x), Int(y)) => Int(checked(x.checked_mul(y), span)?),
        (BinOp::IntDiv, Int(x), Int(y)) => Int(divide(x, y, span, false)?),
        (BinOp::IntRem, Int(x), Int(y)) => Int(divide(x, y, span, true)?),
        (BinOp::FloatAdd, Float(x), Float(y)) => Float(x + y),
        (BinOp::FloatSub, Float(x), Float(y)) => Float(x - y),
        (BinOp::FloatMul, Float(x), Float(y)) => Float(x * y),
        (BinOp::FloatDiv, Float(x), Float(y)) => Float(x / y),
        (BinOp::FloatRem, Float(x), Float(y)) => Float(x % y),
        (BinOp::DurationAdd, Duration(x), Duration(y)) => {
            Duration(checked(x.checked_add(y), span)?)
        }
        (BinOp::DurationSub, Duration(x), Duration(y)) => {
            Duration(checked(x.checked_sub(y), span)?)
        }
        (BinOp::DurationMulInt, Duration(x), Int(y))
        | (BinOp::DurationMulInt, Int(y), Duration(x)) => {
            Duration(checked(x.checked_mul(y), span)?)
        }
        (BinOp::DurationDivInt, Duration(x), Int(y)) => Duration(divide(x, y, span, false)?),
        (BinOp::TimeAddDuration, Time(x), Duration(y))
        | (BinOp::TimeAddDuration, Duration(y), Time(x)) => Time(checked(x.checked_add(y), span)?),
        (BinOp::TimeSubDuration, Time(x), Duration(y)) => Time(checked(x.checked_sub(y), span)?),
        (BinOp::TimeSub, Time(x), Time(y)) => Duration(checked(x.checked_sub(y), span)?),
        (BinOp::ListConcat, List(mut x), List(y)) => {
            x.extend(y);
            List(x)
        }
        (BinOp::MapMerge, Map(mut x), Map(y)) => {
            for (k, v) in y {
                value::map_put(&mut x, k, v);
            }
            Map(x)
        }
        (op, a, b) => return internal(format!("`{op:?}` on {a:?} and {b:?}")),
    })
}
