//! One native entry per workflow that evaluates every rule's `match` for an
//! instance: direct calls to the rules' `match` bodies in declaration order, each
//! result stored as a cell (0 or 1) of the array the entry's argument pointer names,
//! the context's status checked after each. The runtime's path calls it once per
//! instance instead of calling each `match` from Rust (`JitWorkflowHost::each_match`).

use cranelift_codegen::ir::{self as cl, InstBuilder, MemFlags, types};
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::JITModule;
use cranelift_module::{FuncId, Module};

use crate::CodegenError;
use crate::runtime::CtxOffsets;

/// Translates the entry into `func` (with [`super::body_signature`]): `matchers`
/// holds each rule's `match` body, `None` for a rule without one (it always
/// matches). The entry returns -1 when every `match` ran to its end with the status
/// still OK, else the index of the rule after whose `match` the status was not OK
/// (a failure or an early finish: the caller evaluates the rules one by one instead,
/// which reports it as a single rule's evaluation does).
pub(crate) fn all_matches(
    module: &mut JITModule,
    func: &mut cl::Function,
    fctx: &mut cranelift_frontend::FunctionBuilderContext,
    matchers: &[Option<FuncId>],
) -> Result<(), CodegenError> {
    let mut b = FunctionBuilder::new(func, fctx);
    let (entry, ctx, out) = super::entry_block(&mut b)?;
    let stop = b.create_block();
    b.append_block_param(stop, types::I64);
    for (k, matcher) in matchers.iter().enumerate() {
        let at = (k * 8) as i32;
        let Some(id) = matcher else {
            let one = b.ins().iconst(types::I64, 1);
            b.ins().store(MemFlags::trusted(), one, out, at);
            continue;
        };
        let f = module.declare_func_in_func(*id, b.func);
        let no_args = b.ins().iconst(types::I64, 0);
        let call = b.ins().call(f, &[ctx, no_args]);
        let Some(&bits) = b.inst_results(call).first() else {
            return Err(CodegenError::Internal("a `match` without a result".into()));
        };
        let holds = b.ins().band_imm(bits, 0xff);
        let holds = b.ins().icmp_imm(cl::condcodes::IntCC::NotEqual, holds, 0);
        let holds = b.ins().uextend(types::I64, holds);
        b.ins().store(MemFlags::trusted(), holds, out, at);
        let status = b
            .ins()
            .load(types::I64, MemFlags::trusted(), ctx, CtxOffsets::STATUS);
        let next = b.create_block();
        let index = b.ins().iconst(types::I64, k as i64);
        b.ins().brif(status, stop, &[index.into()], next, &[]);
        b.switch_to_block(next);
        b.seal_block(next);
    }
    let done = b.ins().iconst(types::I64, -1);
    b.ins().jump(stop, &[done.into()]);
    b.switch_to_block(stop);
    b.seal_block(stop);
    let result = b.block_params(stop).to_vec();
    b.ins().return_(&result);
    b.seal_block(entry);
    b.finalize();
    Ok(())
}
