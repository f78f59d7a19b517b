//! The API the runtime calls: for one workflow, start an instance from JSON input and
//! run its bodies — `match`, `action`, `reaction`, `error`, signal handlers, `complete
//! when`, `output` — with facts converted to and from JSON by their declared types.
//!
//! This is the interpreter's host; the JIT (`cosmos_codegen::JitWorkflowHost`) offers
//! the same API over native code.

mod handler_io;

pub use handler_io::{
    action_value, call_request, default, error_argument, failure_json, outcome_json,
    reaction_argument, read_fields, signal_arguments,
};

use crate::interp::{self, Effects, Env, Facts, RuntimeError};
use crate::json::{ShapeError, to_json};
use crate::value::Value;
use crate::{Function, Program, WorkflowIr};
use serde_json::{Map, Value as Json};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HostError {
    #[error("no workflow `{0}`")]
    UnknownWorkflow(String),
    #[error("workflow `{workflow}` has no rule {rule:?}")]
    UnknownRule { workflow: String, rule: String },
    #[error("workflow `{workflow}` has no signal `{signal}`")]
    UnknownSignal { workflow: String, signal: String },
    #[error("rule {rule:?} has no `{part}`")]
    MissingPart { rule: String, part: &'static str },
    #[error("{what}: {error}")]
    Shape { what: String, error: ShapeError },
    #[error("{what} must be a JSON object")]
    NotAnObject { what: String },
    /// A default that calls a helper is computed when an instance starts; the checker
    /// computes the others.
    #[error("{what}: the default of `{field}` cannot be computed: {}", error.kind)]
    Default {
        what: String,
        field: String,
        error: RuntimeError,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// One instance's state: its inputs and facts, in layout order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    pub inputs: Vec<Value>,
    pub facts: Vec<Value>,
}

/// A call an action asks for, with JSON arguments keyed by parameter name.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CallRequest {
    Function {
        name: String,
        args: Map<String, Json>,
    },
    /// `sleep(d)`, in milliseconds.
    Sleep { ms: i64 },
    /// A child instance of workflow `name`, with its inputs keyed by name
    /// (LANGUAGE.md 10.6).
    Workflow {
        name: String,
        args: Map<String, Json>,
    },
}

impl CallRequest {
    /// What is called, as `error.function` and the history name it: the function's or
    /// the child workflow's name, or `sleep`.
    pub fn callee(&self) -> &str {
        match self {
            CallRequest::Function { name, .. } | CallRequest::Workflow { name, .. } => name,
            CallRequest::Sleep { .. } => "sleep",
        }
    }

    /// The call's arguments as `error.arguments` gives them (null for `sleep`).
    pub fn arguments(&self) -> Json {
        match self {
            CallRequest::Function { args, .. } | CallRequest::Workflow { args, .. } => {
                Json::Object(args.clone())
            }
            CallRequest::Sleep { .. } => Json::Null,
        }
    }
}

/// What an action evaluated to.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionValue {
    /// A `Call<T>`: the reaction's `result` is a `T`.
    Call(CallRequest),
    /// A `List<Call<T>>`: `result` is a `List<T>`, in order.
    Calls(Vec<CallRequest>),
    /// `settle(calls)`: every call runs to its end and `result` is a
    /// `List<Outcome<T>>`, one per call, in order ([`outcome_json`]).
    Settle(Vec<CallRequest>),
    /// A plain value: `result` is that value.
    Value(Json),
}

/// What the `error` block is told about a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFailure {
    pub message: String,
    /// `FAILED`, `TIMEOUT`, `BAD_OUTPUT` or `CRASHED`.
    pub kind: String,
    pub attempt: i64,
    pub function: String,
    pub stderr: Option<String>,
    /// The call's position in a fan-out; `None` for a single call.
    pub index: Option<usize>,
    /// The call's arguments, an object keyed by parameter name (null for `sleep`).
    pub arguments: Json,
}

/// The bodies of one workflow as the engine calls them. The reference interpreter
/// ([`WorkflowHost`]) and the JIT (`cosmos_codegen::JitWorkflowHost`) both implement it,
/// with the same results: the JIT is differentially tested against the interpreter.
pub trait Handlers {
    fn workflow(&self) -> &WorkflowIr;
    /// A new instance from its JSON input; facts start at their initial values.
    fn start(&self, input: &Json) -> Result<Instance, HostError>;
    /// The facts as a JSON object keyed by fact name.
    fn facts_to_json(&self, instance: &Instance) -> Json;
    fn matches(&self, rule: &str, instance: &Instance, now: i64) -> Result<bool, HostError>;
    /// The first of `rules` (indices into the workflow's rules, tried in the
    /// iterator's order) whose `match` holds. A `match` that fails ends the search
    /// with its error, as [`Handlers::matches`] would; an index past the rules is
    /// skipped. An engine may lay the instance out once for the whole search.
    fn first_match(
        &self,
        rules: &mut dyn Iterator<Item = usize>,
        instance: &Instance,
        now: i64,
    ) -> Result<Option<usize>, HostError> {
        for i in rules {
            let Some(rule) = self.workflow().rules.get(i) else {
                continue;
            };
            if self.matches(&rule.name, instance, now)? {
                return Ok(Some(i));
            }
        }
        Ok(None)
    }
    fn action(&self, rule: &str, instance: &Instance, now: i64) -> Result<ActionValue, HostError>;
    fn reaction(
        &self,
        rule: &str,
        instance: &mut Instance,
        result: &Json,
        now: i64,
    ) -> Result<Effects, HostError>;
    /// `None` when the rule has no `error` block.
    fn error(
        &self,
        rule: &str,
        instance: &mut Instance,
        error: &CallFailure,
        now: i64,
    ) -> Result<Option<Effects>, HostError>;
    fn signal(
        &self,
        name: &str,
        instance: &mut Instance,
        args: &Json,
        now: i64,
    ) -> Result<Effects, HostError>;
    fn complete_when(&self, instance: &Instance, now: i64) -> Result<bool, HostError>;
    fn output(&self, instance: &Instance, now: i64) -> Result<Option<Json>, HostError>;
}

impl Handlers for WorkflowHost<'_> {
    fn workflow(&self) -> &WorkflowIr {
        WorkflowHost::workflow(self)
    }
    /// A new instance from its JSON input; facts start at their initial values.
    fn start(&self, input: &Json) -> Result<Instance, HostError> {
        let inputs = read_fields(self.program, &self.workflow.inputs, input, "the input")?;
        let mut facts = Vec::with_capacity(self.workflow.facts.len());
        for fact in &self.workflow.facts {
            facts.push(default(self.program, fact, "the facts")?);
        }
        Ok(Instance { inputs, facts })
    }
    /// The facts as a JSON object keyed by fact name.
    fn facts_to_json(&self, instance: &Instance) -> Json {
        let mut out = Map::new();
        for (field, v) in self.workflow.facts.iter().zip(&instance.facts) {
            out.insert(field.name.clone(), to_json(self.program, v));
        }
        Json::Object(out)
    }
    /// Whether the rule's `match` holds (a rule without one always matches).
    fn matches(&self, rule: &str, instance: &Instance, now: i64) -> Result<bool, HostError> {
        match &self.rule(rule)?.matcher {
            None => Ok(true),
            Some(f) => Ok(
                self.run_read(f, instance, now, || interp::rule_part(rule, "match"))?
                    == Value::Bool(true),
            ),
        }
    }
    fn action(&self, rule: &str, instance: &Instance, now: i64) -> Result<ActionValue, HostError> {
        let Some(f) = &self.rule(rule)?.action else {
            return Err(HostError::MissingPart {
                rule: rule.to_string(),
                part: "action",
            });
        };
        let value = self.run_read(f, instance, now, || interp::rule_part(rule, "action"))?;
        Ok(action_value(self.program, f, value))
    }
    /// Runs the rule's `reaction` with the call's JSON result; facts change in place.
    fn reaction(
        &self,
        rule: &str,
        instance: &mut Instance,
        result: &Json,
        now: i64,
    ) -> Result<Effects, HostError> {
        let Some(f) = &self.rule(rule)?.reaction else {
            return Ok(Effects::default());
        };
        let result = reaction_argument(self.program, f, rule, result)?;
        self.run_write(f, vec![result], instance, now, || {
            interp::rule_part(rule, "reaction")
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
        let Some(f) = &self.rule(rule)?.error else {
            return Ok(None);
        };
        let error = error_argument(self.program, f, failure)?;
        self.run_write(f, vec![error], instance, now, || {
            interp::rule_part(rule, "error")
        })
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
        let Some(signal) = self.workflow.signals.iter().find(|s| s.name == name) else {
            return Err(HostError::UnknownSignal {
                workflow: self.workflow.name.clone(),
                signal: name.to_string(),
            });
        };
        let f = &signal.handler;
        let values = signal_arguments(self.program, f, name, args)?;
        self.run_write(f, values, instance, now, || format!("signal {name}"))
    }
    /// Whether `complete when` holds (false without one).
    fn complete_when(&self, instance: &Instance, now: i64) -> Result<bool, HostError> {
        match &self.workflow.complete_when {
            None => Ok(false),
            Some(f) => Ok(
                self.run_read(f, instance, now, || "complete when".to_string())?
                    == Value::Bool(true),
            ),
        }
    }
    /// The workflow's `output`, as JSON (`None` without one).
    fn output(&self, instance: &Instance, now: i64) -> Result<Option<Json>, HostError> {
        match &self.workflow.output {
            None => Ok(None),
            Some(f) => Ok(Some(to_json(
                self.program,
                &self.run_read(f, instance, now, || "output".to_string())?,
            ))),
        }
    }
}

/// One workflow of a program, ready to run.
pub struct WorkflowHost<'p> {
    program: &'p Program,
    workflow: &'p WorkflowIr,
}

impl<'p> WorkflowHost<'p> {
    pub fn new(program: &'p Program, name: &str) -> Result<Self, HostError> {
        let workflow = program
            .workflow(name)
            .ok_or_else(|| HostError::UnknownWorkflow(name.to_string()))?;
        Ok(WorkflowHost { program, workflow })
    }

    pub fn workflow(&self) -> &'p WorkflowIr {
        self.workflow
    }

    /// Facts read back from [`WorkflowHost::facts_to_json`]'s form.
    pub fn facts_from_json(&self, json: &Json) -> Result<Vec<Value>, HostError> {
        read_fields(self.program, &self.workflow.facts, json, "the facts")
    }

    fn rule(&self, name: &str) -> Result<&'p crate::RuleIr, HostError> {
        self.workflow
            .rules
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| HostError::UnknownRule {
                workflow: self.workflow.name.clone(),
                rule: name.to_string(),
            })
    }

    /// Runs a body that reads the instance; `body` names it in a run-time error.
    fn run_read(
        &self,
        f: &Function,
        instance: &Instance,
        now: i64,
        body: impl FnOnce() -> String,
    ) -> Result<Value, HostError> {
        let env = Env {
            inputs: &instance.inputs,
            facts: Facts::Read(&instance.facts),
            now,
        };
        match interp::run(self.program, f, Vec::new(), env) {
            Ok((value, _)) => Ok(value),
            Err(error) => Err(error.in_body(self.program, body()).into()),
        }
    }

    fn run_write(
        &self,
        f: &Function,
        args: Vec<Value>,
        instance: &mut Instance,
        now: i64,
        body: impl FnOnce() -> String,
    ) -> Result<Effects, HostError> {
        // A handler that fails at run time leaves the facts as they were: they are
        // changed in place, and the log of what undoes each change is played back.
        let mut log = interp::FactLog::default();
        let env = Env {
            inputs: &instance.inputs,
            facts: Facts::Logged(&mut instance.facts, &mut log),
            now,
        };
        match interp::run(self.program, f, args, env) {
            Ok((_, effects)) => Ok(effects),
            Err(error) => {
                log.undo(&mut instance.facts);
                Err(error.in_body(self.program, body()).into())
            }
        }
    }
}
