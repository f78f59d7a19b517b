//! Time in a `match` (LANGUAGE.md 10.1): the wake-up that lets a rule such as
//! `match { approved == null && now() >= asked + 2.h }` fire when its time comes with
//! no `sleep` anywhere, and fact defaults that read `now()`.
//!
//! After every step the engine evaluates the `match` of each rule that reads `now()`
//! and is not in flight, recording each comparison of `now()` with a threshold it
//! makes ([`cosmos_ir::clock::Crossing`]). With the facts unchanged, a match's value
//! can only change when one of those comparisons changes its answer, so the instance
//! keeps one wake-up — a [`TimerKind::Wake`] timer — at the earliest such time still in
//! the future. Its firing is a step in which nothing else happens: eligibility is
//! computed again. A newer step that finds another earliest time replaces the timer;
//! the replaced one's message is stale and ignored (the engine no longer knows its id).
//!
//! Refraction treats the passing of a threshold like a change of a fact the rule
//! reads: what a rule saw when it fired includes the answer of each comparison of
//! `now()` its match made.

use cosmos_ir::clock::{self, Crossing};
use cosmos_ir::interp::{self, Env, Facts};
use cosmos_ir::value::Value;
use cosmos_ir::{Program, RuleIr};

use super::state::TimerKind;
use super::{Cx, Engine, InstanceState};

/// The next time a rule's match may change by time passing alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Wake {
    pub rule: String,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// The comparison whose answer changes then.
    pub crossing: Crossing,
}

/// For each rule of the workflow, in declaration order, whether its `match` reads
/// `now()`.
pub(super) fn watched_rules(program: &Program, rules: &[RuleIr]) -> Vec<bool> {
    rules
        .iter()
        .map(|r| {
            r.matcher
                .as_ref()
                .is_some_and(|m| clock::reads_now(program, m))
        })
        .collect()
}

impl Engine<'_> {
    fn watches(&self, rule: &RuleIr) -> bool {
        let rules = &self.host.workflow().rules;
        rules
            .iter()
            .position(|r| r.name == rule.name)
            .and_then(|i| self.watched.get(i))
            .copied()
            .unwrap_or(false)
    }

    /// The comparisons of `now()` the rule's match makes at `now`, in evaluation
    /// order: empty when it reads no `now()` or cannot be evaluated (the step that
    /// evaluates it for real reports that).
    pub fn crossings(&self, instance: &InstanceState, rule: &RuleIr, now: i64) -> Vec<Crossing> {
        let Some(matcher) = rule.matcher.as_ref().filter(|_| self.watches(rule)) else {
            return Vec::new();
        };
        let env = Env {
            inputs: &instance.values.inputs,
            facts: Facts::Read(&instance.values.facts),
            now,
        };
        interp::run_watching_now(self.program, matcher, env)
            .map(|(_, crossings)| crossings)
            .unwrap_or_default()
    }

    /// What refraction remembers of time for a rule: the answers of the comparisons
    /// of `now()` its match makes at `now` (nothing for a rule that reads no `now()`).
    pub(super) fn seen_time(
        &self,
        instance: &InstanceState,
        rule: &RuleIr,
        now: i64,
    ) -> Option<Value> {
        if !self.watches(rule) {
            return None;
        }
        let answers = self
            .crossings(instance, rule, now)
            .iter()
            .map(|c| Value::Bool(c.holds))
            .collect();
        Some(Value::List(answers))
    }

    /// The earliest time after `now` at which the match of a rule that is not in
    /// flight may change by time passing alone, for each such rule.
    pub fn wakes(&self, instance: &InstanceState, now: i64) -> Vec<Wake> {
        let mut out = Vec::new();
        for rule in &self.host.workflow().rules {
            if instance.in_flight.contains_key(&rule.name) || !self.watches(rule) {
                continue;
            }
            let next = self
                .crossings(instance, rule, now)
                .into_iter()
                .filter(|c| c.flips_at > now)
                .min_by_key(|c| c.flips_at);
            if let Some(crossing) = next {
                out.push(Wake {
                    rule: rule.name.clone(),
                    at: crossing.flips_at,
                    crossing,
                });
            }
        }
        out
    }

    /// Keeps the instance's one wake-up at the earliest time a match may change, or
    /// none: called at the end of every step of an unfinished instance.
    pub(super) fn schedule_wake(&self, instance: &mut InstanceState, cx: &mut Cx) {
        if instance.status.is_finished() {
            return;
        }
        let next = self.wakes(instance, cx.now).iter().map(|w| w.at).min();
        let current = instance
            .timers
            .iter()
            .find(|t| t.kind == TimerKind::Wake)
            .map(|t| t.at);
        if current == next {
            return;
        }
        instance.timers.retain(|t| t.kind != TimerKind::Wake);
        if let Some(at) = next {
            self.start_timer(instance, at, TimerKind::Wake, cx);
        }
    }

    /// Facts whose default reads `now()` take it at the instance's start time.
    pub(super) fn start_time_defaults(
        &self,
        instance: &mut InstanceState,
        now: i64,
    ) -> Result<(), cosmos_ir::host::HostError> {
        let facts = &self.host.workflow().facts;
        for (field, value) in facts.iter().zip(instance.values.facts.iter_mut()) {
            let Some(default) = field
                .default
                .as_ref()
                .filter(|d| clock::expr_reads_now(self.program, d))
            else {
                continue;
            };
            *value = interp::eval_const_at(self.program, default, now).map_err(|error| {
                cosmos_ir::host::HostError::Default {
                    what: "the facts".to_string(),
                    field: field.name.clone(),
                    error,
                }
            })?;
        }
        Ok(())
    }
}
