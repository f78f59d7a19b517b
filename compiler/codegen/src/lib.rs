//! The Cranelift JIT: compiles every IR body of an Emx program (rule `match`,
//! action, reaction and `error` blocks, helpers, signal handlers, `complete when`,
//! `output`) into a native function in one `JITModule`, and runs them behind
//! [`JitWorkflowHost`], which has the shape of `cosmos_ir::host::WorkflowHost`.
//!
//! Scalars (`Int`, `Float`, `Bool`, `Duration`, `Time`, enum variants) live in
//! registers; everything else is a handle to a `cosmos_ir::value::Value` owned by a
//! per-evaluation arena and reached through the host functions of one table
//! (`runtime::HOST`). A workflow's facts and inputs have a layout fixed at compile
//! time, one 8-byte cell each, so reading a scalar fact is one load at a fixed
//! offset. Strings, lists of scalars or strings and string-keyed maps among the facts
//! and inputs also have *views* (`cells`), laid out with the cells by safe Rust, so
//! that a body compares such a field with a string constant, tests membership, takes
//! its size or an item, or loops over it in native code without a host call. The
//! reference interpreter defines the semantics; the differential tests hold the JIT
//! to it, runtime errors included.
//!
//! The runtime asks for the first eligible rule of an instance through
//! `Handlers::first_match`, which [`JitWorkflowHost::each_match`] answers against one
//! laying-out of the facts every `match` reads (no rule found by name, no context
//! made per rule).
//!
//! Known limits (measured in docs/benchmarks.md, "JIT (issues 3 and 16)"):
//! - optional scalars (`Int?`, `Bool?`, …) are handles like other optionals (null is
//!   handle 0, so a null check is a compare in a register), not an unboxed flag and
//!   payload pair: making a non-null one allocates in the arena. An `Int?`-like fact
//!   or input has a view, so reading it after a null check, or comparing it with an
//!   `Int`, is a load; other reads unbox it through a host call;
//! - each rule's `match` is its own native function, called one after another (no
//!   single native entry for all of a workflow's rules);
//! - values are not shared: an assignment through a path (`m[k] = v`, `xs << v`)
//!   copies the root once (`rt.place`), and the copy is moved, not copied again,
//!   into the instance's facts;
//! - field defaults met by `start` and JSON conversion are constant expressions
//!   evaluated by the interpreter (`interp::eval_const`), as in `WorkflowHost`; every
//!   body, and every default used inside a body, is native code.

mod cells;
mod compiled;
mod host;
mod runtime;
mod translate;
mod uses;

pub use compiled::CompiledProgram;
pub use host::{JitWorkflowHost, PreparedInstance};

use std::collections::HashMap;

use cosmos_ir::{Function, Program};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module};

use compiled::{Code, RuleCode, WorkflowCode};
use translate::{Fields, Interned, ModuleCx};

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("this machine is not supported by Cranelift: {0}")]
    Isa(String),
    #[error("invalid Cranelift setting: {0}")]
    Setting(#[from] settings::SetError),
    #[error(transparent)]
    Module(#[from] Box<cranelift_module::ModuleError>),
    /// A body nests deeper than translation's stack budget
    /// (`cosmos_ir::stack::STACK_BUDGET`).
    #[error("a body nests too deeply to compile")]
    TooDeep,
    /// The program fails `cosmos_ir::validate`: native code would read or write
    /// outside its cells, so nothing is compiled.
    #[error("the program's IR is invalid: {0}")]
    Invalid(#[from] cosmos_ir::validate::InvalidIr),
    #[error("internal JIT error: {0}")]
    Internal(String),
}

impl From<cranelift_module::ModuleError> for CodegenError {
    fn from(e: cranelift_module::ModuleError) -> Self {
        CodegenError::Module(Box::new(e))
    }
}

/// The compiler: `Jit::compile(&program)` gives a [`CompiledProgram`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Jit;

/// One body to compile: where its code goes and what it sees.
struct Pending<'p> {
    function: &'p Function,
    fields: Fields<'p>,
    id: FuncId,
}

impl Jit {
    /// Compiles every body of `program`, after checking it with
    /// `cosmos_ir::validate` (native code trusts the IR's indices and types).
    pub fn compile(program: &Program) -> Result<CompiledProgram, CodegenError> {
        let started = std::time::Instant::now();
        cosmos_ir::validate::program(program)?;
        let mut flags = settings::builder();
        flags.set("use_colocated_libcalls", "false")?;
        flags.set("is_pic", "false")?;
        flags.set("opt_level", "speed")?;
        // The verifier checks every function the translator builds; it costs about a
        // third of compile time, so release builds (the runtime) leave it to the tests.
        flags.set(
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        let isa = cranelift_native::builder()
            .map_err(|e| CodegenError::Isa(e.to_string()))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| CodegenError::Isa(e.to_string()))?;
        let mut jb = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        for f in runtime::HOST {
            jb.symbol(f.name, f.ptr.0);
        }
        let mut module = JITModule::new(jb);

        let mut host_ids = HashMap::new();
        for f in runtime::HOST {
            let sig = translate::host_signature(&module, f.params, f.ret);
            host_ids.insert(
                f.name,
                module.declare_function(f.name, Linkage::Import, &sig)?,
            );
        }
        let sig = translate::body_signature(&module);
        let declare = |module: &mut JITModule, name: String| -> Result<FuncId, CodegenError> {
            Ok(module.declare_function(&name, Linkage::Local, &sig)?)
        };

        let plans: Vec<cells::CellPlan> = program
            .workflows
            .iter()
            .map(|w| cells::CellPlan::new(&w.inputs, &w.facts))
            .collect();
        let no_plan = cells::CellPlan::default();
        let none = Fields {
            inputs: &[],
            facts: &[],
            plan: &no_plan,
        };
        let mut pending = Vec::new();
        let mut helper_ids = Vec::new();
        for (i, h) in program.helpers.iter().enumerate() {
            let id = declare(&mut module, format!("helper{i}"))?;
            helper_ids.push(id);
            pending.push(Pending {
                function: h,
                fields: none,
                id,
            });
        }
        let mut workflows: Vec<WorkflowCode> = Vec::new();
        for ((wi, w), plan) in program.workflows.iter().enumerate().zip(&plans) {
            let fields = Fields {
                inputs: &w.inputs,
                facts: &w.facts,
                plan,
            };
            let mut rules = Vec::new();
            for (ri, r) in w.rules.iter().enumerate() {
                let p = format!("w{wi}_r{ri}");
                rules.push(RuleCode {
                    matcher: add_body(
                        &mut module,
                        &sig,
                        &r.matcher,
                        &mut pending,
                        fields,
                        format!("{p}_match"),
                    )?,
                    action: add_body(
                        &mut module,
                        &sig,
                        &r.action,
                        &mut pending,
                        fields,
                        format!("{p}_action"),
                    )?,
                    reaction: add_body(
                        &mut module,
                        &sig,
                        &r.reaction,
                        &mut pending,
                        fields,
                        format!("{p}_reaction"),
                    )?,
                    error: add_body(
                        &mut module,
                        &sig,
                        &r.error,
                        &mut pending,
                        fields,
                        format!("{p}_error"),
                    )?,
                });
            }
            let mut signals = Vec::new();
            for (si, s) in w.signals.iter().enumerate() {
                let id = declare(&mut module, format!("w{wi}_s{si}"))?;
                pending.push(Pending {
                    function: &s.handler,
                    fields,
                    id,
                });
                signals.push(Code::new(id, &s.handler, plan));
            }
            workflows.push(WorkflowCode {
                plan: plan.clone(),
                rules,
                by_name: compiled::RuleNames::new(w.rules.iter().map(|r| r.name.as_str())),
                signals,
                complete_when: add_body(
                    &mut module,
                    &sig,
                    &w.complete_when,
                    &mut pending,
                    fields,
                    format!("w{wi}_complete_when"),
                )?,
                output: add_body(
                    &mut module,
                    &sig,
                    &w.output,
                    &mut pending,
                    fields,
                    format!("w{wi}_output"),
                )?,
                all_matches: None,
            });
        }
        let helpers: Vec<Code> = helper_ids
            .iter()
            .zip(&program.helpers)
            .map(|(id, f)| Code::new(*id, f, &no_plan))
            .collect();

        let mut interned = Interned::default();
        let mut ctx = module.make_context();
        let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
        let mut clif = Vec::with_capacity(pending.len());
        let mut mcx = ModuleCx {
            module: &mut module,
            host_ids: &host_ids,
            helper_ids: &helper_ids,
            program,
            interned: &mut interned,
        };
        for p in &pending {
            begin_function(&mut ctx, mcx.module, p.id);
            translate::translate(&mut mcx, &mut ctx.func, &mut fctx, p.function, p.fields)?;
            clif.push(define(mcx.module, &mut ctx, p.id, p.function.name.clone())?);
        }
        // One entry per workflow that evaluates every rule's `match`, when every
        // `match` takes no argument and assigns nothing (as `match`es do).
        for ((wi, w), (wir, plan)) in workflows
            .iter_mut()
            .enumerate()
            .zip(program.workflows.iter().zip(&plans))
        {
            let matchers: Vec<Option<&Code>> = w.rules.iter().map(|r| r.matcher.as_ref()).collect();
            let plain = matchers
                .iter()
                .flatten()
                .all(|c| c.params.is_empty() && c.uses.writes.is_empty());
            if !plain || matchers.iter().all(Option::is_none) {
                continue;
            }
            let bodies: Vec<Option<(&Function, FuncId)>> = wir
                .rules
                .iter()
                .zip(&matchers)
                .map(|(r, c)| Some((r.matcher.as_ref()?, c.as_ref()?.id())))
                .collect();
            let fields = Fields {
                inputs: &wir.inputs,
                facts: &wir.facts,
                plan,
            };
            let id = declare(mcx.module, format!("w{wi}_matches"))?;
            begin_function(&mut ctx, mcx.module, id);
            translate::all_matches(&mut mcx, &mut ctx.func, &mut fctx, &bodies, fields)?;
            let name = format!("workflow {} matches", wir.name);
            clif.push(define(mcx.module, &mut ctx, id, name)?);
            w.all_matches = Some(compiled::Entry::new(id));
        }
        module.finalize_definitions()?;

        let shared = runtime::Shared::new(
            program.clone(),
            interned.spans,
            interned.thunks,
            interned.consts,
        );
        let mut compiled = CompiledProgram::new(shared, module, helpers, workflows, clif);
        compiled.set_compile_time(started.elapsed(), pending.len());
        Ok(compiled)
    }

    /// The Cranelift IR of every body of `program` (`cosmosc compile --emit clif`).
    pub fn clif(program: &Program) -> Result<String, CodegenError> {
        Ok(Jit::compile(program)?.clif_text())
    }
}

/// Readies `ctx` for translating function `id` of `module`, with the body signature.
fn begin_function(ctx: &mut cranelift_codegen::Context, module: &JITModule, id: FuncId) {
    ctx.func.signature = translate::body_signature(module);
    ctx.func.name = cranelift_codegen::ir::UserFuncName::user(0, id.as_u32());
}

/// Defines function `id` of `module` from what was translated into `ctx`, and
/// clears `ctx` for the next; its CLIF text, under `name`.
fn define(
    module: &mut JITModule,
    ctx: &mut cranelift_codegen::Context,
    id: FuncId,
    name: String,
) -> Result<(String, String), CodegenError> {
    let text = named(&ctx.func.display().to_string(), module);
    module
        .define_function(id, ctx)
        .map_err(|e| CodegenError::Internal(format!("{name}: {e:?}")))?;
    module.clear_context(ctx);
    Ok((name, text))
}

/// Declares one optional body and queues it for translation.
fn add_body<'p>(
    module: &mut JITModule,
    sig: &cranelift_codegen::ir::Signature,
    f: &'p Option<Function>,
    pending: &mut Vec<Pending<'p>>,
    fields: Fields<'p>,
    name: String,
) -> Result<Option<Code>, CodegenError> {
    let Some(function) = f else { return Ok(None) };
    let id = module.declare_function(&name, Linkage::Local, sig)?;
    pending.push(Pending {
        function,
        fields,
        id,
    });
    Ok(Some(Code::new(id, function, fields.plan)))
}

/// CLIF text with every `u0:N` (a function of the module, by `FuncId`) written as
/// `%symbol`, so that the text reads by name and does not change when the host
/// table grows.
fn named(text: &str, module: &JITModule) -> String {
    let mut out = String::with_capacity(text.len());
    let functions = module.declarations().get_functions().count();
    let mut rest = text;
    while let Some(at) = rest.find("u0:") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let name = after[..digits]
            .parse::<u32>()
            .ok()
            .filter(|n| (*n as usize) < functions)
            .and_then(|n| {
                module
                    .declarations()
                    .get_function_decl(FuncId::from_u32(n))
                    .name
                    .clone()
            });
        match name {
            Some(name) => {
                out.push('%');
                out.push_str(&name);
            }
            None => out.push_str(&rest[at..at + 3 + digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}
