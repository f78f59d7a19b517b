//! One native entry per workflow that evaluates every rule's `match` for an
//! instance: the rules' `match` bodies one after another in one function, in
//! declaration order, each result stored as a cell (0 or 1) of the array the entry's
//! argument pointer names, the context's status checked after each that calls
//! anything. The runtime's path calls it once per instance instead of calling each `match` from Rust
//! (`JitWorkflowHost::each_match`).
//!
//! Only the first [`INLINE_MATCHES`] `match`es are emitted into the entry; the entry
//! calls the functions of the others. Cranelift's SSA construction keeps, for every
//! variable, a table as long as the function has blocks, so one function of
//! thousands of `match`es would take time and memory that grow with their square
//! (2,000 rules: 8 s to compile instead of 1).

use cosmos_ir as ir;
use cranelift_codegen::ir::{self as cl, InstBuilder, MemFlags, types};
use cranelift_frontend::FunctionBuilder;
use cranelift_module::{FuncId, Module};

use super::{Body, Fields, FuncRefs, ModuleCx, emit_body};
use crate::CodegenError;
use crate::runtime::CtxOffsets;

/// How many `match`es the entry holds itself; it calls the rest.
pub(crate) const INLINE_MATCHES: usize = 64;

/// Translates the entry into `func` (with [`super::body_signature`]): `matchers`
/// holds each rule's `match` body and the function it was compiled to, `None` for a
/// rule without one (it always matches). The code of the first [`INLINE_MATCHES`]
/// bodies is emitted into the entry itself ([`emit_body`]), one after another, so
/// that evaluating those rules makes no call and the cells the bodies load stay where
/// the first loaded them; the entry calls the functions of the rest. It returns -1
/// when every `match` ran to its end with the status still OK, else the index of the
/// rule whose `match` failed or finished early (the caller evaluates the rules one by
/// one instead, which reports it as a single rule's evaluation does).
pub(crate) fn all_matches(
    mcx: &mut ModuleCx<'_>,
    func: &mut cl::Function,
    fctx: &mut cranelift_frontend::FunctionBuilderContext,
    matchers: &[Option<(&ir::Function, FuncId)>],
    fields: Fields<'_>,
) -> Result<(), CodegenError> {
    let mut b = FunctionBuilder::new(func, fctx);
    let (_, ctx, out) = super::entry_block(&mut b)?;
    let stop = b.create_block();
    b.append_block_param(stop, types::I64);
    // A `match` takes no argument: its cells are never read.
    let no_args = b.ins().iconst(types::I64, 0);
    let mut refs = FuncRefs::default();
    for (k, matcher) in matchers.iter().enumerate() {
        let at = (k * 8) as i32;
        let Some((f, id)) = matcher else {
            let one = b.ins().iconst(types::I64, 1);
            b.ins().store(MemFlags::trusted(), one, out, at);
            continue;
        };
        if k >= INLINE_MATCHES {
            let callee = mcx.module.declare_func_in_func(*id, b.func);
            let call = b.ins().call(callee, &[ctx, no_args]);
            let Some(&bits) = b.inst_results(call).first() else {
                return Err(CodegenError::Internal("a `match` without a result".into()));
            };
            stored(&mut b, bits, out, at, ctx, k, stop);
            continue;
        }
        if f.params != 0 {
            return Err(CodegenError::Internal(
                "a `match` with parameters in the entry of all matches".into(),
            ));
        }
        let returned = b.create_block();
        b.append_block_param(returned, types::I64);
        let unwound = b.create_block();
        let body = Body {
            ctx,
            args: no_args,
            ret_block: returned,
            unwind_block: unwound,
        };
        let calls = emit_body(&mut b, mcx, &mut refs, f, fields, body)?;

        // It failed or finished early: stop at rule `k`.
        b.switch_to_block(unwound);
        b.set_cold_block(unwound);
        let index = b.ins().iconst(types::I64, k as i64);
        b.ins().jump(stop, &[index.into()]);

        // It returned: its result, then the next rule while the status is OK (it
        // can only have changed when the body called something).
        b.switch_to_block(returned);
        let Some(&bits) = b.block_params(returned).first() else {
            return Err(CodegenError::Internal("a `match` without a result".into()));
        };
        if calls {
            stored(&mut b, bits, out, at, ctx, k, stop);
        } else {
            let holds = holds(&mut b, bits);
            b.ins().store(MemFlags::trusted(), holds, out, at);
        }
    }
    let done = b.ins().iconst(types::I64, -1);
    b.ins().jump(stop, &[done.into()]);
    b.switch_to_block(stop);
    let result = b.block_params(stop).to_vec();
    b.ins().return_(&result);
    b.seal_all_blocks();
    b.finalize();
    Ok(())
}

/// A `match`'s result as the cell stored for it: 1 when it holds, else 0.
fn holds(b: &mut FunctionBuilder<'_>, bits: cl::Value) -> cl::Value {
    let low = b.ins().band_imm(bits, 0xff);
    let holds = b.ins().icmp_imm(cl::condcodes::IntCC::NotEqual, low, 0);
    b.ins().uextend(types::I64, holds)
}

/// Stores rule `k`'s result at `at` in `out`, then goes on in a new block while the
/// context's status is OK, and to `stop` with `k` when it is not.
fn stored(
    b: &mut FunctionBuilder<'_>,
    bits: cl::Value,
    out: cl::Value,
    at: i32,
    ctx: cl::Value,
    k: usize,
    stop: cl::Block,
) {
    let holds = holds(b, bits);
    b.ins().store(MemFlags::trusted(), holds, out, at);
    let status = b
        .ins()
        .load(types::I64, MemFlags::trusted(), ctx, CtxOffsets::STATUS);
    let next = b.create_block();
    let index = b.ins().iconst(types::I64, k as i64);
    b.ins().brif(status, stop, &[index.into()], next, &[]);
    b.switch_to_block(next);
}
