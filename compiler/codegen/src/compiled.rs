//! A compiled program: the module holding the native code, the addresses of its
//! bodies, and how one evaluation runs (cells filled from the instance, the call,
//! the result and the assigned facts read back).
//!
//! Its `unsafe` blocks are the calls into native code and the reading back of the
//! handles it returns, each stating why the call's obligations hold.

#![allow(unsafe_code)]

use cosmos_ir::interp::{Effects, RuntimeError, RuntimeErrorKind};
use cosmos_ir::value::Value;
use cosmos_ir::{FieldLayout, Function, Program, Span, Ty};
use cranelift_jit::JITModule;
use cranelift_module::FuncId;
use smallvec::SmallVec;

use crate::cells::{self, CellKind, CellPlan, to_cell};
use crate::runtime::{self, BodyFn, Evaluation, STATUS_ERROR, STATUS_FINISH, Shared};
use crate::translate::Repr;
use crate::uses::{self, Uses};

/// One compiled body.
pub(crate) struct Code {
    id: FuncId,
    /// Its code once the module is finalized.
    addr: Option<BodyFn>,
    pub uses: Uses,
    /// The fields an evaluation of the body lays out: those of `uses`, as a list
    /// ([`CellPlan::fields_of`]).
    pub fields: Vec<cells::FieldCell>,
    pub params: Vec<Ty>,
    pub ret: Ty,
}

impl Code {
    pub fn id(&self) -> FuncId {
        self.id
    }

    /// Body `f`, declared as `id`, of a workflow whose cells `plan` lays out (a
    /// helper's plan has no fields).
    pub fn new(id: FuncId, f: &Function, plan: &CellPlan) -> Self {
        let uses = uses::of(f);
        let fields = plan.fields_of(&uses.facts, &uses.inputs, uses.writes.is_empty());
        Code {
            id,
            addr: None,
            uses,
            fields,
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
    /// How an evaluation lays out the workflow's facts and inputs.
    pub plan: CellPlan,
    pub rules: Vec<RuleCode>,
    /// Rule indices by name: the host API names rules on every call.
    pub by_name: RuleNames,
    pub signals: Vec<Code>,
    pub complete_when: Option<Code>,
    pub output: Option<Code>,
    /// The entry that evaluates every rule's `match` in one native call
    /// (`translate::all_matches`); `None` when no rule has one.
    pub all_matches: Option<Entry>,
}

/// A native function of the module that is not a body of the program.
pub(crate) struct Entry {
    id: FuncId,
    addr: Option<BodyFn>,
}

impl Entry {
    pub fn new(id: FuncId) -> Self {
        Entry { id, addr: None }
    }
}

/// A map from rule names to indices, for the host API, which names a rule on every
/// call: open addressing over the name's length and its first and last 8 bytes,
/// which identify a name of up to 16 bytes without comparing it again (longer
/// names are compared in full). The first rule of a name wins.
#[derive(Default)]
pub(crate) struct RuleNames {
    slots: Vec<NameSlot>,
    names: Vec<String>,
}

#[derive(Clone, Copy)]
struct NameSlot {
    /// `u32::MAX` for an empty slot.
    len: u32,
    index: u32,
    head: u64,
    tail: u64,
}

const EMPTY: NameSlot = NameSlot {
    len: u32::MAX,
    index: 0,
    head: 0,
    tail: 0,
};

/// Two words that, with the length, identify a name of up to 16 bytes: its first
/// and its last 8 bytes, or for a shorter name two overlapping loads that cover
/// it (no byte loop, no copy through memory).
#[inline]
fn name_words(s: &[u8]) -> (u64, u64) {
    fn half(s: &[u8]) -> u64 {
        match (s.first_chunk::<4>(), s.last_chunk::<4>()) {
            (Some(a), Some(b)) => {
                u64::from(u32::from_le_bytes(*a)) | u64::from(u32::from_le_bytes(*b)) << 32
            }
            _ => match (s.first_chunk::<2>(), s.last_chunk::<2>()) {
                (Some(a), Some(b)) => {
                    u64::from(u16::from_le_bytes(*a)) | u64::from(u16::from_le_bytes(*b)) << 16
                }
                _ => s.first().map_or(0, |b| u64::from(*b)),
            },
        }
    }
    match (s.first_chunk::<8>(), s.last_chunk::<8>()) {
        (Some(a), Some(b)) => (u64::from_le_bytes(*a), u64::from_le_bytes(*b)),
        _ => (half(s), 0),
    }
}

impl RuleNames {
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        let names: Vec<String> = names.into_iter().map(str::to_string).collect();
        let size = (names.len() * 2).next_power_of_two().max(4);
        let mut table = RuleNames {
            slots: vec![EMPTY; size],
            names,
        };
        for i in 0..table.names.len() {
            let name = table.names[i].clone();
            if table.get(&name).is_some() {
                continue;
            }
            let (head, tail) = name_words(name.as_bytes());
            let mut at = table.start(name.len(), head, tail);
            while table.slots[at].len != u32::MAX {
                at = (at + 1) & (size - 1);
            }
            table.slots[at] = NameSlot {
                len: u32::try_from(name.len()).unwrap_or(u32::MAX - 1),
                index: i as u32,
                head,
                tail,
            };
        }
        table
    }

    #[inline]
    fn start(&self, len: usize, head: u64, tail: u64) -> usize {
        let h = (head ^ tail.rotate_left(29) ^ len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 32) as usize & (self.slots.len() - 1)
    }

    /// The index of the first rule named `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let (head, tail) = name_words(name.as_bytes());
        let mut at = self.start(name.len(), head, tail);
        for _ in 0..self.slots.len() {
            let slot = self.slots.get(at)?;
            if slot.len == u32::MAX {
                return None;
            }
            if slot.len as usize == name.len()
                && slot.head == head
                && slot.tail == tail
                && (name.len() <= 16
                    || self.names.get(slot.index as usize).map(String::as_str) == Some(name))
            {
                return Some(slot.index as usize);
            }
            at = (at + 1) & (self.slots.len() - 1);
        }
        None
    }
}

/// `len` zeroed cells, on the stack when there are at most `N` (the arguments of a
/// call, one result per rule), else on the heap.
pub(crate) struct Scratch<const N: usize> {
    inline: [u64; N],
    heap: Vec<u64>,
    len: usize,
}

impl<const N: usize> Scratch<N> {
    pub fn new(len: usize) -> Self {
        Scratch {
            inline: [0; N],
            heap: if len > N { vec![0; len] } else { Vec::new() },
            len,
        }
    }

    pub fn cells(&mut self) -> &mut [u64] {
        match self.inline.get_mut(..self.len) {
            Some(cells) => cells,
            None => &mut self.heap,
        }
    }
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
            code.addr = runtime::body_fn(module, code.id);
        }
        for w in &mut self.workflows {
            if let Some(entry) = &mut w.all_matches {
                entry.addr = runtime::body_fn(module, entry.id);
            }
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
        self.run(code, &CellPlan::default(), &args, &[], &[], 0)
    }

    /// The cells of every fact and input of an instance, with every view (see
    /// [`crate::cells`]), in layout order: an instance laid out for any body of its
    /// workflow that assigns no fact ([`crate::JitWorkflowHost::prepare`]).
    pub(crate) fn evaluation<'a>(
        &'a self,
        plan: &CellPlan,
        inputs: &'a [Value],
        facts: &'a [Value],
        now: i64,
    ) -> Evaluation<'a> {
        let base = plan.facts.len();
        // Every cell in order, then every view.
        let mut cells = Evaluation::spare_cells(0);
        cells.reserve(plan.fixed);
        let cell = |(k, v): (&CellKind, &Value)| cells::field_cell(v, k);
        cells.extend(plan.facts.iter().zip(facts).map(cell));
        cells.resize(base, 0);
        cells.extend(plan.inputs.iter().zip(inputs).map(cell));
        cells.resize(plan.fixed, 0);
        for (input, i, view, at) in &plan.views {
            let values = if *input { inputs } else { facts };
            if let Some(v) = values.get(*i as usize) {
                cells::fill_view(&mut cells, *view, *at, v);
            }
        }
        Evaluation::new(&self.shared, cells, base, now)
    }

    /// The cells of `fields` of an instance (and their views), the rest 0: what a
    /// body whose fields they are ([`Code::fields`]) reads, or every `match` of a
    /// workflow ([`crate::JitWorkflowHost::each_match`]).
    #[inline]
    pub(crate) fn evaluation_of<'a>(
        &'a self,
        plan: &CellPlan,
        fields: &[cells::FieldCell],
        inputs: &'a [Value],
        facts: &'a [Value],
        now: i64,
    ) -> Evaluation<'a> {
        let mut cells = Evaluation::spare_cells(plan.fixed);
        for field in fields {
            let values = if field.input { inputs } else { facts };
            let Some(v) = values.get(field.index as usize) else {
                continue;
            };
            if let Some(cell) = cells.get_mut(field.cell as usize) {
                *cell = cells::field_cell(v, &field.kind);
            }
            if let Some((view, at)) = field.kind.view {
                cells::fill_view(&mut cells, view, at, v);
            }
        }
        Evaluation::new(&self.shared, cells, plan.facts.len(), now)
    }

    /// Calls a body without arguments in a prepared evaluation and reads a `Bool`
    /// result; the evaluation is reset for the next call.
    #[inline]
    pub(crate) fn test(
        &self,
        code: &Code,
        plan: &CellPlan,
        eval: &mut Evaluation<'_>,
        now: i64,
    ) -> Result<bool, RuntimeError> {
        let Some(f) = code.addr else {
            return Err(internal("a body without code"));
        };
        if !code.params.is_empty() {
            return Err(internal("a body with parameters called without arguments"));
        }
        eval.set_now(now);
        // SAFETY: `f` is a body of this program's live module (`resolve`), `eval` was
        // made by `self.evaluation` with the plan of the body's workflow, and the body
        // takes no arguments (checked above).
        let bits = unsafe { eval.call(f, &[]) };
        if eval.ok() && code.uses.writes.is_empty() {
            // The common case: nothing to free, report or lay out again.
            return Ok(bits & 0xff != 0);
        }
        self.test_end(code, plan, eval, bits)
    }

    /// Every rule's `match` of workflow `workflow` in one native call (its
    /// [`WorkflowCode::all_matches`] entry), each result into `holds` (one per rule,
    /// 1 when it holds); the evaluation is reset afterwards. `false` when there is
    /// no such entry or a `match` did not end normally (it failed, finished early or
    /// a host function panicked): the caller evaluates the rules one by one, which
    /// reports that as evaluating that rule alone does.
    pub(crate) fn test_all(
        &self,
        workflow: &WorkflowCode,
        eval: &mut Evaluation<'_>,
        holds: &mut [u64],
        now: i64,
    ) -> bool {
        let Some(f) = workflow.all_matches.as_ref().and_then(|e| e.addr) else {
            return false;
        };
        if holds.len() < workflow.rules.len() {
            return false;
        }
        eval.set_now(now);
        // SAFETY: `f` is the entry of all matches of this workflow in the live module
        // (`resolve`), `eval` was made by `self.evaluation` with the workflow's plan,
        // and `holds` has a cell per rule (checked above).
        let stopped = unsafe { eval.call_all_matches(f, holds) };
        // What the `match`es allocated is freed by the reset; only how they ended
        // matters here.
        let ok = eval.ctx().status == runtime::STATUS_OK && stopped as i64 == -1;
        eval.reset();
        ok
    }

    /// The rest of [`CompiledProgram::test`]: a failure, an early finish, or a body
    /// that assigned facts (whose views are laid out again for the next call).
    #[cold]
    #[inline(never)]
    fn test_end(
        &self,
        code: &Code,
        plan: &CellPlan,
        eval: &mut Evaluation<'_>,
        bits: u64,
    ) -> Result<bool, RuntimeError> {
        for i in &code.uses.writes {
            if let Some((view, at)) = plan.view(false, *i) {
                eval.refresh_view(view, at, *i as usize);
            }
        }
        let ctx = eval.ctx();
        let out = match ctx.status {
            STATUS_ERROR => Err(ctx
                .take_error()
                .unwrap_or_else(|| internal("an error without its description"))),
            STATUS_FINISH => Ok(false),
            _ => Ok(bits & 0xff != 0),
        };
        eval.reset();
        out
    }

    /// One evaluation of a body that assigns no fact (an action, `output`, a helper)
    /// against an instance's inputs and facts: its value.
    pub(crate) fn run(
        &self,
        code: &Code,
        plan: &CellPlan,
        args: &[Value],
        inputs: &[Value],
        facts: &[Value],
        now: i64,
    ) -> Result<Value, RuntimeError> {
        let mut eval = self.evaluation_of(plan, &code.fields, inputs, facts, now);
        Ok(match self.call(&mut eval, code, args)? {
            // SAFETY: the body returned normally, so `bits` is a value of its return
            // type: a handle of `eval` when that type is held as one.
            Some(bits) => unsafe { from_cell(&eval, bits, &code.ret) },
            None => Value::Null,
        })
    }

    /// One evaluation of a body (a reaction, an `error` block, a signal handler) that
    /// assigns the instance's facts: they change only when the body ends normally;
    /// one that fails leaves them as they were. A fact the body owns
    /// ([`Uses::owns`]) is changed in place by `m[k] = v` and `xs << v` (the change
    /// logged, and taken back if the body fails) instead of being copied first.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_assigning(
        &self,
        code: &Code,
        plan: &CellPlan,
        fact_layout: &[FieldLayout],
        args: &[Value],
        inputs: &[Value],
        facts: &mut [Value],
        now: i64,
    ) -> Result<Effects, RuntimeError> {
        let len = facts.len();
        // From here on the facts are reached only through `base`.
        let base = facts.as_mut_ptr();
        // SAFETY: `base` points at the `len` facts borrowed mutably by this function;
        // the shared view is used only to lay out the cells.
        let view = unsafe { std::slice::from_raw_parts(base, len) };
        let mut eval = self.evaluation_of(plan, &code.fields, inputs, view, now);
        // SAFETY: the cells were just laid out from these `len` values, which this
        // function borrows mutably and touches only through `base` after `eval` is
        // dropped or undone.
        unsafe { eval.own_facts(base, len) };
        if let Err(error) = self.call(&mut eval, code, args) {
            eval.undo();
            return Err(error);
        }
        let effects = eval.ctx().take_effects();
        // SAFETY: `base` points at the `len` values the cells were laid out from, this
        // function's mutable borrow, and native code has returned.
        unsafe { self.write_assigned(&mut eval, code, fact_layout, base, len) };
        Ok(effects)
    }

    /// Calls `code` with `args` in `eval`: the bits of its value, `None` when it
    /// finished early (`complete`, `fail`, `retry`: see the context's effects).
    fn call(
        &self,
        eval: &mut Evaluation<'_>,
        code: &Code,
        args: &[Value],
    ) -> Result<Option<u64>, RuntimeError> {
        // Arguments held as handles point into `args`, which outlives `eval`: no copy
        // into the arena. Up to four cells stay on the stack.
        let mut scratch = Scratch::<4>::new(code.params.len());
        let arg_cells = scratch.cells();
        if args.len() != code.params.len() {
            return Err(internal("a body called with the wrong number of arguments"));
        }
        for ((cell, v), ty) in arg_cells.iter_mut().zip(args).zip(&code.params) {
            *cell = match Repr::of(ty) {
                Repr::Ptr => runtime::handle_of(v) as u64,
                repr => to_cell(v, repr),
            };
        }
        let Some(f) = code.addr else {
            return Err(internal("a body without code"));
        };
        // SAFETY: `f` is a body of this program's live module (`resolve`), `eval` was
        // made with the plan of the body's workflow, and `arg_cells` holds one cell
        // per parameter (checked above), for each parameter held as a handle the
        // handle of a value of `args`, which lives, unchanged, until after `eval` is
        // dropped (the caller's borrow).
        let bits = unsafe { eval.call(f, arg_cells) };
        let ctx = eval.ctx();
        if ctx.status == STATUS_ERROR {
            return Err(ctx
                .take_error()
                .unwrap_or_else(|| internal("an error without its description")));
        }
        Ok((ctx.status != STATUS_FINISH).then_some(bits))
    }

    /// Moves or copies the facts `code` assigned in `eval` into the instance's facts
    /// at `base`, leaving out those whose cell still holds the value they had. A
    /// fact the body never read as a value is written at once: no other cell can hold
    /// a handle into its old value, which the write drops. Those it read may be held
    /// by other cells (`a = b` keeps a handle of `b`'s old value): they are written
    /// last, after every other cell was read.
    ///
    /// # Safety
    ///
    /// `base` points at the `len` live values the cells of `eval` were laid out from,
    /// which nothing else reads or writes meanwhile, and native code has returned.
    unsafe fn write_assigned(
        &self,
        eval: &mut Evaluation<'_>,
        code: &Code,
        fact_layout: &[FieldLayout],
        base: *mut Value,
        len: usize,
    ) {
        let mut last: SmallVec<[(usize, Value); 2]> = SmallVec::new();
        for read in [true, false] {
            for &i in &code.uses.writes {
                if code.uses.read.contains(&i) != read {
                    continue;
                }
                let i = i as usize;
                let (Some(bits), Some(f), true) =
                    (eval.facts().get(i).copied(), fact_layout.get(i), i < len)
                else {
                    continue;
                };
                let repr = Repr::of(&f.ty);
                // SAFETY: `i < len`, and `base` points at `len` live values.
                let old = runtime::handle_of(unsafe { &*base.add(i) }) as u64;
                if repr == Repr::Ptr && old == bits {
                    continue;
                }
                // A value the body made (in the arena) that no other assigned fact
                // holds is moved out, not copied.
                let alone = code
                    .uses
                    .writes
                    .iter()
                    .filter(|j| eval.facts().get(**j as usize) == Some(&bits))
                    .count()
                    == 1;
                let value = match (alone, repr) {
                    // SAFETY: a fact cell of a type held as a handle holds 0 or a
                    // handle of `eval`, and no other fact cell holds it (`alone`); the
                    // body's result was copied out before, and nothing reads the
                    // evaluation's values after this but the other fact cells.
                    (true, Repr::Ptr) => unsafe { eval.take_value(bits as i64) },
                    _ => None,
                };
                if read {
                    let value = match value {
                        Some(v) => v,
                        // SAFETY: a fact cell holds a value of the fact's type (the
                        // layout the cells were laid out by): a handle of `eval` when
                        // held as one.
                        None => unsafe { from_cell(eval, bits, &f.ty) },
                    };
                    last.push((i, value));
                } else {
                    // SAFETY: in range; the old value was never read as a value by the
                    // body, so no cell or value still to be read holds a handle into it.
                    let fact = unsafe { &mut *base.add(i) };
                    match value {
                        Some(v) => *fact = v,
                        // SAFETY: as for `from_cell` above.
                        None => unsafe { assign_from_cell(fact, eval, bits, &f.ty) },
                    }
                }
            }
        }
        for (i, value) in last {
            // SAFETY: in range, and every cell was read above.
            unsafe { *base.add(i) = value };
        }
    }
}

fn internal(what: &str) -> RuntimeError {
    RuntimeError::new(
        RuntimeErrorKind::Internal(what.to_string()),
        Span::default(),
    )
}

impl Drop for CompiledProgram {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            runtime::free_module(module);
        }
    }
}

/// A cell read back as a value of `ty`, into `fact` (a copy made in place, not
/// moved there).
///
/// # Safety
///
/// As for [`from_cell`].
unsafe fn assign_from_cell(fact: &mut Value, eval: &Evaluation<'_>, bits: u64, ty: &Ty) {
    match Repr::of(ty) {
        // SAFETY: the caller's obligation.
        Repr::Ptr => fact.clone_from(unsafe { eval.value_ref(bits as i64) }),
        // SAFETY: the caller's obligation.
        _ => *fact = unsafe { from_cell(eval, bits, ty) },
    }
}

/// A cell read back as a value of `ty`.
///
/// # Safety
///
/// When `ty` is held as a handle, `bits` is 0 or a handle of `eval`
/// ([`Evaluation::value`]).
unsafe fn from_cell(eval: &Evaluation<'_>, bits: u64, ty: &Ty) -> Value {
    match ty {
        Ty::Int => Value::Int(bits as i64),
        Ty::Duration => Value::Duration(bits as i64),
        Ty::Time => Value::Time(bits as i64),
        Ty::Enum(id) => Value::Enum(*id, bits as u32),
        Ty::Float => Value::Float(f64::from_bits(bits)),
        Ty::Bool => Value::Bool(bits & 0xff != 0),
        // SAFETY: the caller's obligation.
        _ => unsafe { eval.value(bits as i64) },
    }
}

#[cfg(test)]
mod tests {
    use super::RuleNames;

    /// Every name finds its first rule; names that differ in one byte, in length
    /// or only past 16 bytes do not find each other.
    #[test]
    fn rule_names_find_the_first_rule_of_each_name() {
        let names = [
            "",
            "a",
            "b",
            "ab",
            "abc",
            "abcd",
            "abce",
            "abcdefg",
            "abcdefgh",
            "abcdefgi",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "abcdefghijklmnopqrstuvwxyz",
            "abcdefghijklmnopqrstuvwxyZ",
            "p01",
            "p02",
            "a",
            "héllo",
            "hello",
        ];
        let table = RuleNames::new(names);
        for (i, n) in names.iter().enumerate() {
            let first = names.iter().position(|m| m == n);
            assert_eq!(table.get(n), first, "{n:?} (#{i})");
        }
        for absent in [
            "c",
            "abcdefgj",
            "abcdefghijklmnopqrstuvwxyy",
            "p03",
            "hellp",
            "  ",
        ] {
            assert_eq!(table.get(absent), None, "{absent:?}");
        }
        assert_eq!(RuleNames::default().get("a"), None);
    }
}
