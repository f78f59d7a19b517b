//! Drives one instance on a virtual clock, answering its calls through a callback:
//! what `cosmosc test` runs on. Calls are answered in the order they were asked for;
//! timers fire when the clock reaches them, and the clock moves only by
//! [`Simulation::advance`]. A child workflow the callback does not mock
//! ([`Answer::Unmocked`]) runs for real as an instance of its own, on the same clock
//! and with the same callback (LANGUAGE.md 10.6).

use crate::engine::{
    CallErrorKind, CallId, Command, Engine, EngineError, Event, Failure, InstanceState, ParentLink,
    TimerId,
};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, VecDeque};

/// How a call is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Value(Json),
    /// The call fails with kind `FAILED` and this message.
    Fails(String),
    /// Nothing mocks this child workflow: it runs for real.
    Unmocked,
}

/// Steps one `run` may take before the simulation calls the instance divergent.
pub const MAX_STEPS_PER_RUN: usize = 100_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error("{message} (call of `{function}` by rule {rule:?})")]
    Unanswered {
        function: String,
        rule: String,
        message: String,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "the instance did not settle after {MAX_STEPS_PER_RUN} steps (a call retried forever without delay?)"
    )]
    Diverged,
}

/// The callback that answers a call of `function` (or of a child workflow) with
/// `args`; `Err` is a message that makes the run fail (no mock, a mock that cannot be
/// evaluated).
pub type Answerer<'a> = dyn FnMut(&str, &Map<String, Json>) -> Result<Answer, String> + 'a;

/// Work waiting for a `run`, in the order it was asked for.
enum Work {
    /// A function call of instance `instance`.
    Call {
        instance: String,
        call: CallId,
        function: String,
        args: Map<String, Json>,
    },
    /// A call of a child workflow: mocked, or started for real.
    Child {
        parent: String,
        call: CallId,
        child: String,
        workflow: String,
        input: Map<String, Json>,
    },
    /// An event for an instance: a parent told of its child, a child cancelled.
    Event { instance: String, event: Event },
}

pub struct Simulation<'p> {
    pub engine: Engine<'p>,
    pub instance: InstanceState,
    /// Virtual time, in milliseconds since the epoch.
    pub clock: i64,
    work: VecDeque<Work>,
    /// Timers of every instance: (instance, timer, due).
    timers: Vec<(String, TimerId, i64)>,
    /// Child instances that run for real, by id, with their workflows' engines.
    children: BTreeMap<String, (Engine<'p>, InstanceState)>,
}

impl<'p> Simulation<'p> {
    /// Creates and starts an instance at `clock`; its first calls wait for a `run`.
    pub fn start(engine: Engine<'p>, input: &Json, clock: i64) -> Result<Self, SimError> {
        let instance = engine.instantiate("test", input)?;
        let id = instance.id.clone();
        let mut sim = Simulation {
            engine,
            instance,
            clock,
            work: VecDeque::new(),
            timers: Vec::new(),
            children: BTreeMap::new(),
        };
        sim.apply(&id, Event::Start)?;
        Ok(sim)
    }

    /// The child instances started for real so far, by id.
    pub fn children(&self) -> impl Iterator<Item = &InstanceState> {
        self.children.values().map(|(_, state)| state)
    }

    fn apply(&mut self, id: &str, event: Event) -> Result<(), SimError> {
        let step = if id == self.instance.id {
            self.engine.handle(&mut self.instance, self.clock, event)?
        } else {
            let Some((engine, state)) = self.children.get_mut(id) else {
                return Ok(());
            };
            match engine.handle(state, self.clock, event) {
                Ok(step) => step,
                // A cancel or an answer for a child that already finished.
                Err(EngineError::Finished(_)) => return Ok(()),
                Err(other) => return Err(other.into()),
            }
        };
        for command in step.commands {
            match command {
                Command::Call {
                    call,
                    function,
                    args,
                    ..
                } => self.work.push_back(Work::Call {
                    instance: id.to_string(),
                    call,
                    function,
                    args,
                }),
                Command::StartTimer { timer, at } => {
                    self.timers.push((id.to_string(), timer, at));
                }
                Command::StartChild {
                    call,
                    child,
                    workflow,
                    input,
                    ..
                } => self.work.push_back(Work::Child {
                    parent: id.to_string(),
                    call,
                    child,
                    workflow,
                    input,
                }),
                Command::CancelChild { child } => self.work.push_back(Work::Event {
                    instance: child,
                    event: Event::Cancel,
                }),
                Command::NotifyParent { parent, event } => self.work.push_back(Work::Event {
                    instance: parent,
                    event,
                }),
            }
        }
        Ok(())
    }

    /// Sends a signal, then nothing else: the calls it causes wait for a `run`.
    pub fn signal(&mut self, name: &str, args: Json) -> Result<(), SimError> {
        let id = self.instance.id.clone();
        self.apply(
            &id,
            Event::Signal {
                name: name.to_string(),
                args,
            },
        )
    }

    /// The event of a mock's answer (never [`Answer::Unmocked`], which is no answer).
    fn answered(call: CallId, answer: Answer) -> Event {
        match answer {
            Answer::Value(result) => Event::CallCompleted { call, result },
            Answer::Fails(message) => Event::CallFailed {
                call,
                failure: Failure {
                    message,
                    kind: CallErrorKind::Failed,
                    stderr: None,
                },
            },
            Answer::Unmocked => Event::CallFailed {
                call,
                failure: Failure {
                    message: "no mock answered this call".to_string(),
                    kind: CallErrorKind::Failed,
                    stderr: None,
                },
            },
        }
    }

    fn work_on(&mut self, work: Work, answer: &mut Answerer<'_>) -> Result<(), SimError> {
        match work {
            Work::Call {
                instance,
                call,
                function,
                args,
            } => match answer(&function, &args) {
                Ok(Answer::Unmocked) => Err(SimError::Unanswered {
                    function: function.clone(),
                    rule: call.rule,
                    message: format!("no mock for function `{function}`"),
                }),
                Ok(given) => self.apply(&instance, Self::answered(call, given)),
                Err(message) => Err(SimError::Unanswered {
                    function,
                    rule: call.rule,
                    message,
                }),
            },
            Work::Child {
                parent,
                call,
                child,
                workflow,
                input,
            } => match answer(&workflow, &input) {
                Ok(Answer::Unmocked) => {
                    let program = self.engine.program();
                    let engine = Engine::new(program, &workflow)?;
                    let mut state = match engine.instantiate(&child, &Json::Object(input)) {
                        Ok(state) => state,
                        Err(error) => {
                            let failure = Failure {
                                message: format!(
                                    "child {workflow} {child} could not start: {error}"
                                ),
                                kind: CallErrorKind::ChildFailed,
                                stderr: None,
                            };
                            return self.apply(&parent, Event::CallFailed { call, failure });
                        }
                    };
                    state.parent = Some(ParentLink {
                        instance: parent,
                        call,
                    });
                    self.children.insert(child.clone(), (engine, state));
                    self.apply(&child, Event::Start)
                }
                // A mocked child's failure is the child's: `CHILD_FAILED`.
                Ok(Answer::Fails(message)) => {
                    let failure = Failure {
                        message,
                        kind: CallErrorKind::ChildFailed,
                        stderr: None,
                    };
                    self.apply(&parent, Event::CallFailed { call, failure })
                }
                Ok(given) => self.apply(&parent, Self::answered(call, given)),
                Err(message) => Err(SimError::Unanswered {
                    function: workflow,
                    rule: call.rule,
                    message,
                }),
            },
            Work::Event { instance, event } => self.apply(&instance, event),
        }
    }

    /// Steps until nothing more can happen without time passing: answers every call
    /// and fires every timer that is due.
    pub fn run(&mut self, answer: &mut Answerer<'_>) -> Result<(), SimError> {
        for _ in 0..MAX_STEPS_PER_RUN {
            if self.instance.status.is_finished() {
                self.work.clear();
                self.timers.clear();
                return Ok(());
            }
            if let Some(work) = self.work.pop_front() {
                self.work_on(work, answer)?;
                continue;
            }
            let due = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, (_, _, at))| *at <= self.clock)
                .min_by_key(|(_, (_, id, at))| (*at, *id))
                .map(|(i, _)| i);
            if let Some(i) = due {
                let (instance, timer, _) = self.timers.remove(i);
                self.apply(&instance, Event::TimerFired { timer })?;
                continue;
            }
            return Ok(());
        }
        Err(SimError::Diverged)
    }

    /// Moves the clock forward by `ms`, stopping at every timer on the way (so a retry
    /// that schedules another retry inside the window runs too), then runs.
    pub fn advance(&mut self, ms: i64, answer: &mut Answerer<'_>) -> Result<(), SimError> {
        let target = self.clock.saturating_add(ms.max(0));
        loop {
            self.run(answer)?;
            let next = self
                .timers
                .iter()
                .map(|(_, _, at)| *at)
                .filter(|at| *at <= target)
                .min();
            match next {
                Some(at) => self.clock = self.clock.max(at),
                None => break,
            }
        }
        self.clock = target;
        self.run(answer)
    }
}
