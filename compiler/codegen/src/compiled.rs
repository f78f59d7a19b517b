//! A compiled program: the module holding the native code, the addresses of its
//! bodies, and how one evaluation runs (cells filled from the instance, the call,
//! the result and the assigned facts read back).

use cosmos_ir::interp::{Effects, RuntimeError, RuntimeErrorKind};
use cosmos_ir::value::Value;
use cosmos_ir::{FieldLayout, Function, Program, Span, Ty};
use cranelift_jit::JITModule;
use cranelift_module::FuncId;

use crate::runtime::{self, Evaluation, STATUS_ERROR, STATUS_FINISH, Shared};
use crate::translate::Repr;
use crate::uses::{self, Uses};

/// One compiled body.
pub(crate) struct Code {
    id: FuncId,
    /// Its address once the module is finalized.
    addr: usize,
    pub uses: Uses,
    pub params: Vec<Ty>,
    pub ret: Ty,
}

impl Code {
    pub fn new(id: FuncId, f: &Function) -> Self {
        Code {
            id,
            addr: 0,
            uses: uses::of(f),
            params: f
                .slots
                .iter()
                .take(f.params as usize)
                .map(|s| s.ty.clone())
                .collect(),
            ret: f.ret.clone(),
        }
    }
}

pub(crate) struct RuleCode {
    pub matcher: Option<Code>,
    pub action: Option<Code>,
    pub reaction: Option<Code>,
    pub error: Option<Code>,
}

pub(crate) struct WorkflowCode {
    pub rules: Vec<RuleCode>,
    /// Rule indices by name: the host API names rules on every call.
    pub by_name: RuleNames,
    pub signals: Vec<Code>,
    pub complete_when: Option<Code>,
    pub output: Option<Code>,
}

/// A map from rule names to indices, hashed with FNV-1a: rule names are short, and
/// the default SipHash would cost more than the linear search it replaces.
pub(crate) type RuleNames =
    std::collections::HashMap<String, usize, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// What one evaluation produced.
pub(crate) struct Outcome {
    pub value: Value,
    pub effects: Effects,
    /// The facts the body assigned, with their new values.
    pub assigned: Vec<(u32, Value)>,
}

/// Every body of a program as native code; made by [`crate::Jit::compile`].
pub struct CompiledProgram {
    shared: Shared,
    module: Option<JITModule>,
    helpers: Vec<Code>,
    pub(crate) workflows: Vec<WorkflowCode>,
    clif: Vec<(String, String)>,
    compile_time: std::time::Duration,
    bodies: usize,
}

impl CompiledProgram {
    pub(crate) fn new(
        shared: Shared,
        module: JITModule,
        helpers: Vec<Code>,
        workflows: Vec<WorkflowCode>,
        clif: Vec<(String, String)>,
    ) -> Self {
        let mut compiled = CompiledProgram {
            shared,
            module: Some(module),
            helpers,
            workflows,
            clif,
            compile_time: std::time::Duration::ZERO,
            bodies: 0,
        };
        compiled.resolve();
        compiled
    }

    /// Fills in every body's address from the finalized module.
    fn resolve(&mut self) {
        let Some(module) = &self.module else { return };
        let mut all: Vec<&mut Code> = self.helpers.iter_mut().collect();
        for w in &mut self.workflows {
            for r in &mut w.rules {
                all.extend(
                    [&mut r.matcher, &mut r.action, &mut r.reaction, &mut r.error]
                        .into_iter()
                        .flatten(),
                );
            }
            all.extend(w.signals.iter_mut());
            all.extend(w.complete_when.iter_mut());
            all.extend(w.output.iter_mut());
        }
        for code in all {
            code.addr = module.get_finalized_function(code.id) as usize;
        }
    }

    pub(crate) fn set_compile_time(&mut self, t: std::time::Duration, bodies: usize) {
        self.compile_time = t;
        self.bodies = bodies;
    }

    /// The program this was compiled from.
    pub fn program(&self) -> &Program {
        &self.shared.program
    }

    /// How long [`crate::Jit::compile`] took, and how many bodies it compiled.
    pub fn compile_stats(&self) -> (std::time::Duration, usize) {
        (self.compile_time, self.bodies)
    }

    /// The Cranelift IR of every body, each headed by the body's name, in the order
    /// of `Program::bodies` (helpers first). Deterministic: constants are reached
    /// through the context, never by address.
    pub fn clif_text(&self) -> String {
        let mut out = String::new();
        for (name, text) in &self.clif {
            out.push_str(&format!(";; {name}\n{text}\n"));
        }
        out
    }

    /// Runs helper `index` (a `def`) with its arguments, as `cosmos_ir::interp::run`
    /// runs it outside any workflow.
    pub fn run_helper(&self, index: usize, args: Vec<Value>) -> Result<Value, RuntimeError> {
        let Some(code) = self.helpers.get(index) else {
            return Err(internal("no such helper"));
        };
        let out = self.run(code, &[], &[], args, &[], &[], 0)?;
        Ok(out.value)
    }

    /// The cells of an instance's facts and inputs: those `wanted` (all when
    /// `None`), in layout order.
    pub(crate) fn evaluation<'a>(
        &'a self,
        input_layout: &[FieldLayout],
        fact_layout: &[FieldLayout],
        inputs: &'a [Value],
        facts: &'a [Value],
        wanted: Option<&Uses>,
        now: i64,
    ) -> Evaluation<'a> {
        let mut cells = Evaluation::spare_cells(fact_layout.len() + input_layout.len());
        let (fact_cells, input_cells) = cells.split_at_mut(fact_layout.len());
        let fill =
            |cells: &mut [u64], layout: &[FieldLayout], values: &[Value], which: Option<&[u32]>| {
                let mut put = |i: usize| {
                    if let (Some(cell), Some(v), Some(f)) =
                        (cells.get_mut(i), values.get(i), layout.get(i))
                    {
                        *cell = to_cell(v, &f.ty);
                    }
                };
                match which {
                    Some(which) => which.iter().for_each(|i| put(*i as usize)),
                    None => (0..layout.len()).for_each(&mut put),
                }
            };
        fill(
            fact_cells,
            fact_layout,
            facts,
            wanted.map(|u| u.facts.as_slice()),
        );
        fill(
            input_cells,
            input_layout,
            inputs,
            wanted.map(|u| u.inputs.as_slice()),
        );
        Evaluation::new(&self.shared, cells, fact_layout.len(), now)
    }

    /// Calls a body without arguments in a prepared evaluation and reads a `Bool`
    /// result; the evaluation is reset for the next call.
    #[inline]
    pub(crate) fn test(
        &self,
        code: &Code,
        eval: &mut Evaluation<'_>,
        now: i64,
    ) -> Result<bool, RuntimeError> {
        if code.addr == 0 {
            return Err(internal("a body without code"));
        }
        eval.set_now(now);
        let bits = eval.call(code.addr as *const u8, &[]);
        let ctx = eval.ctx();
        let out = match ctx.status {
            STATUS_ERROR => Err(ctx
                .error
                .take()
                .unwrap_or_else(|| internal("an error without its description"))),
            STATUS_FINISH => Ok(false),
            _ => Ok(bits & 0xff != 0),
        };
        eval.reset();
        out
    }

    /// One evaluation of a body against an instance's inputs and facts.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run(
        &self,
        code: &Code,
        input_layout: &[FieldLayout],
        fact_layout: &[FieldLayout],
        args: Vec<Value>,
        inputs: &[Value],
        facts: &[Value],
        now: i64,
    ) -> Result<Outcome, RuntimeError> {
        let mut eval = self.evaluation(
            input_layout,
            fact_layout,
            inputs,
            facts,
            Some(&code.uses),
            now,
        );
        let mut arg_cells = Vec::with_capacity(code.params.len());
        for (v, ty) in args.into_iter().zip(&code.params) {
            arg_cells.push(match Repr::of(ty) {
                Repr::Ptr => eval.alloc(v) as u64,
                _ => to_cell(&v, ty),
            });
        }
        if code.addr == 0 {
            return Err(internal("a body without code"));
        }
        let bits = eval.call(code.addr as *const u8, &arg_cells);
        let ctx = eval.ctx();
        if ctx.status == STATUS_ERROR {
            return Err(ctx
                .error
                .take()
                .unwrap_or_else(|| internal("an error without its description")));
        }
        let finished = ctx.status == STATUS_FINISH;
        let effects = std::mem::take(&mut ctx.effects);
        let value = if finished {
            Value::Null
        } else {
            from_cell(&eval, bits, &code.ret)
        };
        let mut assigned = Vec::with_capacity(code.uses.writes.len());
        for i in &code.uses.writes {
            let (Some(bits), Some(f)) = (
                eval.facts().get(*i as usize).copied(),
                fact_layout.get(*i as usize),
            ) else {
                continue;
            };
            let unchanged = Repr::of(&f.ty) == Repr::Ptr
                && facts
                    .get(*i as usize)
                    .is_some_and(|old| runtime::handle_of(old) as u64 == bits);
            if !unchanged {
                assigned.push((*i, from_cell(&eval, bits, &f.ty)));
            }
        }
        Ok(Outcome {
            value,
            effects,
            assigned,
        })
    }
}

fn internal(what: &str) -> RuntimeError {
    RuntimeError {
        kind: RuntimeErrorKind::Internal(what.to_string()),
        span: Span::default(),
    }
}

impl Drop for CompiledProgram {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            runtime::free_module(module);
        }
    }
}

/// A value's 8-byte cell as native code holds it. The value must outlive the
/// evaluation when it is not a scalar (the cell is its handle).
fn to_cell(v: &Value, ty: &Ty) -> u64 {
    match Repr::of(ty) {
        Repr::Ptr => runtime::handle_of(v) as u64,
        Repr::F64 => match v {
            Value::Float(f) => f.to_bits(),
            Value::Int(n) => (*n as f64).to_bits(),
            _ => 0,
        },
        _ => match v {
            Value::Int(n) | Value::Duration(n) | Value::Time(n) => *n as u64,
            Value::Enum(_, x) => u64::from(*x),
            Value::Bool(b) => u64::from(*b),
            _ => 0,
        },
    }
}

/// A cell read back as a value of `ty`.
fn from_cell(eval: &Evaluation<'_>, bits: u64, ty: &Ty) -> Value {
    match ty {
        Ty::Int => Value::Int(bits as i64),
        Ty::Duration => Value::Duration(bits as i64),
        Ty::Time => Value::Time(bits as i64),
        Ty::Enum(id) => Value::Enum(*id, bits as u32),
        Ty::Float => Value::Float(f64::from_bits(bits)),
        Ty::Bool => Value::Bool(bits & 0xff != 0),
        _ => eval.value(bits as i64),
    }
}
