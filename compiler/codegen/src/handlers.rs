//! The JIT behind the engine's [`Handlers`] trait: the runtime steps instances on
//! native code through the same interface as on the reference interpreter.

use cosmos_ir::WorkflowIr;
use cosmos_ir::host::{ActionValue, CallFailure, Handlers, HostError, Instance};
use cosmos_ir::interp::Effects;
use serde_json::Value as Json;

use crate::JitWorkflowHost;

impl Handlers for JitWorkflowHost<'_> {
    fn workflow(&self) -> &WorkflowIr {
        JitWorkflowHost::workflow(self)
    }
    fn start(&self, input: &Json) -> Result<Instance, HostError> {
        JitWorkflowHost::start(self, input)
    }
    fn facts_to_json(&self, instance: &Instance) -> Json {
        JitWorkflowHost::facts_to_json(self, instance)
    }
    fn matches(&self, rule: &str, instance: &Instance, now: i64) -> Result<bool, HostError> {
        JitWorkflowHost::matches(self, rule, instance, now)
    }
    fn action(&self, rule: &str, instance: &Instance, now: i64) -> Result<ActionValue, HostError> {
        JitWorkflowHost::action(self, rule, instance, now)
    }
    fn reaction(
        &self,
        rule: &str,
        instance: &mut Instance,
        result: &Json,
        now: i64,
    ) -> Result<Effects, HostError> {
        JitWorkflowHost::reaction(self, rule, instance, result, now)
    }
    fn error(
        &self,
        rule: &str,
        instance: &mut Instance,
        error: &CallFailure,
        now: i64,
    ) -> Result<Option<Effects>, HostError> {
        JitWorkflowHost::error(self, rule, instance, error, now)
    }
    fn signal(
        &self,
        name: &str,
        instance: &mut Instance,
        args: &Json,
        now: i64,
    ) -> Result<Effects, HostError> {
        JitWorkflowHost::signal(self, name, instance, args, now)
    }
    fn complete_when(&self, instance: &Instance, now: i64) -> Result<bool, HostError> {
        JitWorkflowHost::complete_when(self, instance, now)
    }
    fn output(&self, instance: &Instance, now: i64) -> Result<Option<Json>, HostError> {
        JitWorkflowHost::output(self, instance, now)
    }
}
