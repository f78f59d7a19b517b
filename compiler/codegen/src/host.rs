//! The API the runtime calls, over native code: `cosmos_ir::host::Handlers`, the
//! trait the interpreter's `WorkflowHost` implements too, so switching from the
//! interpreter to the JIT is a change of one type. JSON conversions and field defaults (constant
//! expressions, not bodies) are shared with the interpreter's host.

use cosmos_ir::host::{
    ActionValue, CallFailure, Handlers, HostError, Instance, WorkflowHost, action_value,
    error_argument, reaction_argument, signal_arguments,
};
use cosmos_ir::interp::{Effects, rule_part};
use cosmos_ir::json::to_json;
use cosmos_ir::value::Value;
use cosmos_ir::{RuleIr, WorkflowIr};
use serde_json::Value as Json;

use crate::cells::FieldCell;
use crate::compiled::{Code, CompiledProgram, RuleCode, Scratch, WorkflowCode};
use crate::runtime::Evaluation;
use crate::uses::Uses;

/// An instance's facts and inputs laid out in cells once, to evaluate many rules'
/// `match` (and `complete when`) against it without laying them out again: reading
/// a fact is then one load. Made by [`JitWorkflowHost::prepare`].
pub struct PreparedInstance<'a> {
    eval: Evaluation<'a>,
    /// A cell per rule for the entry of all matches to write its results in, kept
    /// from one [`JitWorkflowHost::each_match_prepared`] to the next.
    holds: Vec<u64>,
}

/// One workflow of a compiled program, ready to run.
pub struct JitWorkflowHost<'p> {
    compiled: &'p CompiledProgram,
    workflow: &'p WorkflowIr,
    code: &'p WorkflowCode,
    json: WorkflowHost<'p>,
    /// The facts and inputs any rule's `match` reads, as a list of fields to lay
    /// out: what [`JitWorkflowHost::each_match`] lays out, once per instance.
    match_fields: Vec<FieldCell>,
}

impl<'p> JitWorkflowHost<'p> {
    pub fn new(compiled: &'p CompiledProgram, name: &str) -> Result<Self, HostError> {
        let program = compiled.program();
        let index = program
            .workflows
            .iter()
            .position(|w| w.name == name)
            .ok_or_else(|| HostError::UnknownWorkflow(name.to_string()))?;
        let (Some(workflow), Some(code)) =
            (program.workflows.get(index), compiled.workflows.get(index))
        else {
            return Err(HostError::UnknownWorkflow(name.to_string()));
        };
        let match_uses = Uses::union(
            code.rules
                .iter()
                .filter_map(|r| Some(&r.matcher.as_ref()?.uses)),
        );
        let match_fields = code
            .plan
            .fields_of(&match_uses.facts, &match_uses.inputs, true);
        Ok(JitWorkflowHost {
            compiled,
            workflow,
            code,
            json: WorkflowHost::new(program, name)?,
            match_fields,
        })
    }

    pub fn workflow(&self) -> &'p WorkflowIr {
        self.workflow
    }

    /// Facts read back from [`JitWorkflowHost::facts_to_json`]'s form.
    pub fn facts_from_json(&self, json: &Json) -> Result<Vec<Value>, HostError> {
        self.json.facts_from_json(json)
    }

    fn rule(&self, name: &str) -> Result<(&'p RuleIr, &'p RuleCode), HostError> {
        self.code
            .by_name
            .get(name)
            .and_then(|i| Some((self.workflow.rules.get(i)?, self.code.rules.get(i)?)))
            .ok_or_else(|| HostError::UnknownRule {
                workflow: self.workflow.name.clone(),
                rule: name.to_string(),
            })
    }

    fn run(
        &self,
        code: &Code,
        args: &[Value],
        instance: &Instance,
        now: i64,
        body: impl FnOnce() -> String,
    ) -> Result<Value, HostError> {
        self.compiled
            .run(
                code,
                &self.code.plan,
                args,
                &instance.inputs,
                &instance.facts,
                now,
            )
            .map_err(|error| error.in_body(self.compiled.program(), body()).into())
    }

    /// A `Bool` body (`match`, `complete when`) against an instance.
    fn test(
        &self,
        code: &Code,
        instance: &Instance,
        now: i64,
        body: impl FnOnce() -> String,
    ) -> Result<bool, HostError> {
        let plan = &self.code.plan;
        let mut eval =
            self.compiled
                .evaluation_of(plan, &code.fields, &instance.inputs, &instance.facts, now);
        self.compiled
            .test(code, plan, &mut eval, now)
            .map_err(|error| error.in_body(self.compiled.program(), body()).into())
    }

    /// Runs a handler that assigns facts; one that fails at run time leaves them
    /// as they were.
    fn run_write(
        &self,
        code: &Code,
        args: &[Value],
        instance: &mut Instance,
        now: i64,
        body: impl FnOnce() -> String,
    ) -> Result<Effects, HostError> {
        self.compiled
            .run_assigning(
                code,
                &self.code.plan,
                &self.workflow.facts,
                args,
                &instance.inputs,
                &mut instance.facts,
                now,
            )
            .map_err(|error| error.in_body(self.compiled.program(), body()).into())
    }

    /// The index of a rule by name, for [`JitWorkflowHost::matches_prepared`].
    pub fn rule_index(&self, rule: &str) -> Option<usize> {
        self.code.by_name.get(rule)
    }

    /// Lays out an instance's facts and inputs for repeated evaluation.
    pub fn prepare<'a>(&'a self, instance: &'a Instance) -> PreparedInstance<'a> {
        PreparedInstance {
            eval: self
                .compiled
                .evaluation(&self.code.plan, &instance.inputs, &instance.facts, 0),
            holds: vec![0; self.code.rules.len()],
        }
    }

    /// [`JitWorkflowHost::matches`] of the rule at `rule` (its index in the
    /// workflow) against a prepared instance.
    #[inline]
    pub fn matches_prepared(
        &self,
        rule: usize,
        prepared: &mut PreparedInstance<'_>,
        now: i64,
    ) -> Result<bool, HostError> {
        let Some(code) = self.code.rules.get(rule) else {
            return Err(self.no_rule(rule));
        };
        match &code.matcher {
            None => Ok(true),
            Some(code) => self
                .compiled
                .test(code, &self.code.plan, &mut prepared.eval, now)
                .map_err(|error| self.in_match(rule, error)),
        }
    }

    /// [`JitWorkflowHost::each_match`] against an instance already laid out
    /// ([`JitWorkflowHost::prepare`]): every rule's `match` in the workflow's one
    /// native call, then the results in the order of `rules`; rule by rule
    /// ([`JitWorkflowHost::matches_prepared`]) when a `match` did not end normally.
    pub fn each_match_prepared(
        &self,
        rules: impl IntoIterator<Item = usize>,
        prepared: &mut PreparedInstance<'_>,
        now: i64,
        mut each: impl FnMut(usize, bool) -> bool,
    ) -> Result<(), HostError> {
        let PreparedInstance { eval, holds } = prepared;
        if self.compiled.test_all(self.code, eval, holds, now) {
            return self.hand_over(rules, holds, each);
        }
        for rule in rules {
            if !each(rule, self.matches_prepared(rule, prepared, now)?) {
                break;
            }
        }
        Ok(())
    }

    /// The `match` of each rule of `rules` (indices into the workflow's rules), in
    /// that order, against one laying-out of the instance: the cells and views that
    /// any rule's `match` reads are filled once, and one native call evaluates every
    /// rule's `match` (the workflow's entry of all matches, which holds their code:
    /// no rule found by name, no call back into Rust between rules); `each(rule, holds)` then
    /// hears each result in the order of `rules` and says whether to go on. When a
    /// `match` did not end normally in that call, the rules are evaluated one by one
    /// in the order of `rules` on one context instead: a `match` that fails ends the
    /// evaluation with its error, naming the rule, as [`Handlers::matches`] does,
    /// and the rules after it are not evaluated — a failing `match` after the first
    /// that holds is never reported.
    pub fn each_match(
        &self,
        rules: impl IntoIterator<Item = usize>,
        instance: &Instance,
        now: i64,
        each: impl FnMut(usize, bool) -> bool,
    ) -> Result<(), HostError> {
        let layout = || {
            self.compiled.evaluation_of(
                &self.code.plan,
                &self.match_fields,
                &instance.inputs,
                &instance.facts,
                now,
            )
        };
        if self.code.all_matches.is_none() {
            return self.rule_by_rule(rules, None, layout, now, each);
        }
        // Every `match` in one native call, then the results in the caller's order;
        // one that did not end normally sends the search the slow way, on the same
        // laying-out. (Laid out into a local: an `Option` here would be a copy of
        // the whole evaluation on every search.)
        let mut eval = layout();
        // One cell per rule, on the stack for up to 32 rules.
        let mut scratch = Scratch::<32>::new(self.code.rules.len());
        let holds = scratch.cells();
        if !self.compiled.test_all(self.code, &mut eval, holds, now) {
            return self.rule_by_rule(rules, Some(eval), layout, now, each);
        }
        self.hand_over(rules, holds, each)
    }

    /// Hands the results the entry of all matches wrote into `holds` (a cell per
    /// rule) to `each`, in the order of `rules`, while it says to go on.
    #[inline]
    fn hand_over(
        &self,
        rules: impl IntoIterator<Item = usize>,
        holds: &[u64],
        mut each: impl FnMut(usize, bool) -> bool,
    ) -> Result<(), HostError> {
        for rule in rules {
            let Some(&held) = holds.get(rule) else {
                return Err(self.no_rule(rule));
            };
            if !each(rule, held != 0) {
                break;
            }
        }
        Ok(())
    }

    /// [`JitWorkflowHost::each_match`] one rule at a time, on `eval` (laid out by
    /// `layout` when the first rule with a `match` needs it).
    #[inline(never)]
    fn rule_by_rule<'e>(
        &'e self,
        rules: impl IntoIterator<Item = usize>,
        mut eval: Option<Evaluation<'e>>,
        layout: impl Fn() -> Evaluation<'e>,
        now: i64,
        mut each: impl FnMut(usize, bool) -> bool,
    ) -> Result<(), HostError> {
        for rule in rules {
            let Some(code) = self.code.rules.get(rule) else {
                return Err(self.no_rule(rule));
            };
            let holds = match &code.matcher {
                None => true,
                Some(code) => {
                    let eval = eval.get_or_insert_with(&layout);
                    self.compiled
                        .test(code, &self.code.plan, eval, now)
                        .map_err(|error| self.in_match(rule, error))?
                }
            };
            if !each(rule, holds) {
                break;
            }
        }
        Ok(())
    }

    /// Every rule's `match`, in declaration order, into `out` (cleared first), with
    /// the instance laid out once ([`JitWorkflowHost::each_match`]).
    pub fn matches_all(
        &self,
        instance: &Instance,
        now: i64,
        out: &mut Vec<bool>,
    ) -> Result<(), HostError> {
        out.clear();
        self.each_match(0..self.code.rules.len(), instance, now, |_, holds| {
            out.push(holds);
            true
        })
    }

    fn no_rule(&self, rule: usize) -> HostError {
        HostError::UnknownRule {
            workflow: self.workflow.name.clone(),
            rule: format!("#{rule}"),
        }
    }

    /// A run-time error of rule `rule`'s `match`, naming it.
    fn in_match(&self, rule: usize, error: cosmos_ir::interp::RuntimeError) -> HostError {
        let name = self.workflow.rules.get(rule).map_or("?", |r| &r.name);
        error
            .in_body(self.compiled.program(), rule_part(name, "match"))
            .into()
    }
}

/// The engine steps instances on native code through the same trait as on the
/// reference interpreter.
impl Handlers for JitWorkflowHost<'_> {
    fn workflow(&self) -> &WorkflowIr {
        JitWorkflowHost::workflow(self)
    }
    /// A new instance from its JSON input; facts start at their initial values.
    fn start(&self, input: &Json) -> Result<Instance, HostError> {
        self.json.start(input)
    }
    /// The facts as a JSON object keyed by fact name.
    fn facts_to_json(&self, instance: &Instance) -> Json {
        self.json.facts_to_json(instance)
    }
    /// Whether the rule's `match` holds (a rule without one always matches).
    fn matches(&self, rule: &str, instance: &Instance, now: i64) -> Result<bool, HostError> {
        match &self.rule(rule)?.1.matcher {
            None => Ok(true),
            Some(code) => self.test(code, instance, now, || rule_part(rule, "match")),
        }
    }
    /// The first of `rules` whose `match` holds, with the instance laid out once
    /// for all of them ([`JitWorkflowHost::each_match`]).
    fn first_match(
        &self,
        rules: &mut dyn Iterator<Item = usize>,
        instance: &Instance,
        now: i64,
    ) -> Result<Option<usize>, HostError> {
        let mut found = None;
        let count = self.code.rules.len();
        let rules = rules.filter(|&rule| rule < count);
        self.each_match(rules, instance, now, |rule, holds| {
            if holds {
                found = Some(rule);
            }
            !holds
        })?;
        Ok(found)
    }
    fn action(&self, rule: &str, instance: &Instance, now: i64) -> Result<ActionValue, HostError> {
        let (ir, code) = self.rule(rule)?;
        let (Some(f), Some(code)) = (&ir.action, &code.action) else {
            return Err(HostError::MissingPart {
                rule: rule.to_string(),
                part: "action",
            });
        };
        let program = self.compiled.program();
        let value = self.run(code, &[], instance, now, || rule_part(rule, "action"))?;
        Ok(action_value(program, f, value))
    }
    /// Runs the rule's `reaction` with the call's JSON result; facts change in place.
    fn reaction(
        &self,
        rule: &str,
        instance: &mut Instance,
        result: &Json,
        now: i64,
    ) -> Result<Effects, HostError> {
        let (ir, code) = self.rule(rule)?;
        let (Some(f), Some(code)) = (&ir.reaction, &code.reaction) else {
            return Ok(Effects::default());
        };
        let result = reaction_argument(self.compiled.program(), f, rule, result)?;
        self.run_write(code, &[result], instance, now, || {
            rule_part(rule, "reaction")
        })
    }
    /// Runs the rule's `error` block; `None` when the rule has none (the instance fails).
    fn error(
        &self,
        rule: &str,
        instance: &mut Instance,
        failure: &CallFailure,
        now: i64,
    ) -> Result<Option<Effects>, HostError> {
        let (ir, code) = self.rule(rule)?;
        let (Some(f), Some(code)) = (&ir.error, &code.error) else {
            return Ok(None);
        };
        let error = error_argument(self.compiled.program(), f, failure)?;
        self.run_write(code, &[error], instance, now, || rule_part(rule, "error"))
            .map(Some)
    }
    /// Runs a signal handler with its JSON arguments (an object keyed by parameter name).
    fn signal(
        &self,
        name: &str,
        instance: &mut Instance,
        args: &Json,
        now: i64,
    ) -> Result<Effects, HostError> {
        let Some((signal, code)) = self
            .workflow
            .signals
            .iter()
            .zip(&self.code.signals)
            .find(|(s, _)| s.name == name)
        else {
            return Err(HostError::UnknownSignal {
                workflow: self.workflow.name.clone(),
                signal: name.to_string(),
            });
        };
        let values = signal_arguments(self.compiled.program(), &signal.handler, name, args)?;
        self.run_write(code, &values, instance, now, || format!("signal {name}"))
    }
    /// Whether `complete when` holds (false without one).
    fn complete_when(&self, instance: &Instance, now: i64) -> Result<bool, HostError> {
        match &self.code.complete_when {
            None => Ok(false),
            Some(code) => self.test(code, instance, now, || "complete when".to_string()),
        }
    }
    /// The workflow's `output`, as JSON (`None` without one).
    fn output(&self, instance: &Instance, now: i64) -> Result<Option<Json>, HostError> {
        match &self.code.output {
            None => Ok(None),
            Some(code) => {
                let v = self.run(code, &[], instance, now, || "output".to_string())?;
                Ok(Some(to_json(self.compiled.program(), &v)))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::JitWorkflowHost;
    use cosmos_diagnostics::FileId;
    use cosmos_ir::host::Handlers;
    use cosmos_semantics::Analysis;
    use serde_json::json;

    /// `match`es that allocate (a string built, a list collected) still run in the
    /// workflow's one native call of all matches: what they made is freed after it,
    /// and only a failure sends `each_match` the rule-by-rule way.
    #[test]
    fn matches_that_allocate_run_in_the_one_native_call() {
        let source = r#"
workflow W {
    facts { status: String = "new", tags: List<String> = ["a", "b"] }
    rule "built" { match { "${status}!" == "new!" }; action { 1 } }
    rule "collected" { match { tags.findAll { it != "a" }.size() == 1 }; action { 1 } }
    rule "plain" { match { status == "old" }; action { 1 } }
    rule "always" { match { true }; action { 1 } }
}
"#;
        let mut analysis = Analysis::new();
        analysis.set_file(FileId(0), "main", source.to_string());
        let errors: Vec<String> = analysis
            .diagnostics()
            .iter()
            .filter(|d| d.severity == cosmos_diagnostics::Severity::Error)
            .map(|d| format!("{}: {}", d.code.code, d.message))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let program = analysis.lower_project().unwrap();
        let jit = crate::Jit::compile(&program).unwrap();
        let host = JitWorkflowHost::new(&jit, "W").unwrap();
        let instance = host.start(&json!({})).unwrap();
        for _ in 0..2 {
            let mut eval = jit.evaluation_of(
                &host.code.plan,
                &host.match_fields,
                &instance.inputs,
                &instance.facts,
                0,
            );
            let mut holds = [7u64; 4];
            assert!(jit.test_all(host.code, &mut eval, &mut holds, 0));
            assert_eq!(holds, [1, 1, 0, 1]);
        }
        let mut all = Vec::new();
        host.matches_all(&instance, 0, &mut all).unwrap();
        assert_eq!(all, [true, true, false, true]);
        // The same against the instance laid out once, in the order asked.
        let mut prepared = host.prepare(&instance);
        let mut seen = Vec::new();
        host.each_match_prepared([3, 2, 0], &mut prepared, 0, |rule, holds| {
            seen.push((rule, holds));
            true
        })
        .unwrap();
        assert_eq!(seen, [(3, true), (2, false), (0, true)]);
    }
}
