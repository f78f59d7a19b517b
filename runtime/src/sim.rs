//! Drives one instance on a virtual clock, answering its calls through a callback:
//! what `cosmosc test` runs on. Calls are answered in the order they were asked for;
//! timers fire when the clock reaches them, and the clock moves only by
//! [`Simulation::advance`].

use crate::engine::{
    CallErrorKind, CallId, Command, Engine, EngineError, Event, Failure, InstanceState, TimerId,
};
use serde_json::{Map, Value as Json};
use std::collections::VecDeque;

/// How a call is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Value(Json),
    /// The call fails with kind `FAILED` and this message.
    Fails(String),
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

/// The callback that answers a call of `function` with `args`; `Err` is a message
/// that makes the run fail (no mock, a mock that cannot be evaluated).
pub type Answerer<'a> = dyn FnMut(&str, &Map<String, Json>) -> Result<Answer, String> + 'a;

pub struct Simulation<'p> {
    pub engine: Engine<'p>,
    pub instance: InstanceState,
    /// Virtual time, in milliseconds since the epoch.
    pub clock: i64,
    calls: VecDeque<(CallId, String, Map<String, Json>)>,
    timers: Vec<(TimerId, i64)>,
}

impl<'p> Simulation<'p> {
    /// Creates and starts an instance at `clock`; its first calls wait for a `run`.
    pub fn start(engine: Engine<'p>, input: &Json, clock: i64) -> Result<Self, SimError> {
        let instance = engine.instantiate("test", input)?;
        let mut sim = Simulation {
            engine,
            instance,
            clock,
            calls: VecDeque::new(),
            timers: Vec::new(),
        };
        sim.apply(Event::Start)?;
        Ok(sim)
    }

    fn apply(&mut self, event: Event) -> Result<(), SimError> {
        let step = self.engine.handle(&mut self.instance, self.clock, event)?;
        for command in step.commands {
            match command {
                Command::Call {
                    call,
                    function,
                    args,
                    ..
                } => self.calls.push_back((call, function, args)),
                Command::StartTimer { timer, at } => self.timers.push((timer, at)),
            }
        }
        Ok(())
    }

    /// Sends a signal, then nothing else: the calls it causes wait for a `run`.
    pub fn signal(&mut self, name: &str, args: Json) -> Result<(), SimError> {
        self.apply(Event::Signal {
            name: name.to_string(),
            args,
        })
    }

    /// Steps until nothing more can happen without time passing: answers every call
    /// and fires every timer that is due.
    pub fn run(&mut self, answer: &mut Answerer<'_>) -> Result<(), SimError> {
        for _ in 0..MAX_STEPS_PER_RUN {
            if self.instance.status.is_finished() {
                self.calls.clear();
                self.timers.clear();
                return Ok(());
            }
            if let Some((call, function, args)) = self.calls.pop_front() {
                let event = match answer(&function, &args) {
                    Ok(Answer::Value(result)) => Event::CallCompleted { call, result },
                    Ok(Answer::Fails(message)) => Event::CallFailed {
                        call,
                        failure: Failure {
                            message,
                            kind: CallErrorKind::Failed,
                            stderr: None,
                        },
                    },
                    Err(message) => {
                        return Err(SimError::Unanswered {
                            function,
                            rule: call.rule,
                            message,
                        });
                    }
                };
                self.apply(event)?;
                continue;
            }
            let due = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, (_, at))| *at <= self.clock)
                .min_by_key(|(_, (id, at))| (*at, *id))
                .map(|(i, _)| i);
            if let Some(i) = due {
                let (timer, _) = self.timers.remove(i);
                self.apply(Event::TimerFired { timer })?;
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
                .map(|(_, at)| *at)
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
