//! A function's retry policy (LANGUAGE.md 10.3): a failed call of a function with a
//! `retry` setting runs again, after the policy's delay, before any rule sees the
//! failure. The delay is a timer like `retry(after:)`'s, so it is durable: a queue
//! message that becomes visible when due, never a sleep in memory. Each attempt gets
//! its own idempotency key (the attempt is its last part) and its own history rows.

use cosmos_ir::host::CallRequest;

use super::state::TimerKind;
use super::{CallId, Cx, Engine, Failure, History, InstanceState};

impl Engine<'_> {
    /// Retries the failed call when its function's policy covers the failure and has
    /// attempts left; whether it did. When it does not, the rule's `error` block runs
    /// (the caller's business), with `error.attempt` the attempts made.
    pub(super) fn retry_by_policy(
        &self,
        instance: &mut InstanceState,
        call: &CallId,
        failure: &Failure,
        cx: &mut Cx,
    ) -> bool {
        // The call's place in a fan-out, for the history; none for a single call.
        let index = instance
            .in_flight
            .get(&call.rule)
            .is_some_and(|f| f.many)
            .then_some(call.index);
        let Some(slot) = Self::live_slot(instance, call) else {
            return false;
        };
        let CallRequest::Function { name, .. } = &slot.request else {
            return false;
        };
        let Some(policy) = self
            .program
            .functions
            .iter()
            .find(|f| &f.name == name)
            .and_then(|f| f.settings.retry.as_ref())
        else {
            return false;
        };
        if !policy.retries(failure.kind.as_str()) {
            return false;
        }
        // Attempts made under this policy: since the first, or the last `retry()`.
        let made = slot
            .attempt
            .saturating_sub(slot.policy_start)
            .saturating_add(1);
        if made >= policy.attempts {
            return false;
        }
        let wait = policy.delay_before(made.saturating_add(1));
        let function = name.clone();
        slot.attempt = slot.attempt.saturating_add(1);
        let attempt = slot.attempt;
        cx.log(History::CallFailed {
            rule: call.rule.clone(),
            function: function.clone(),
            index,
            attempt: call.attempt,
            kind: failure.kind,
            message: failure.message.clone(),
        });
        cx.log(History::Retrying {
            rule: call.rule.clone(),
            function,
            index,
            attempt,
            after_ms: (wait > 0).then_some(wait),
            policy: Some(policy.attempts),
        });
        if wait > 0 {
            self.start_timer(
                instance,
                cx.now.saturating_add(wait),
                TimerKind::Retry {
                    rule: call.rule.clone(),
                    firing: call.firing,
                    index: call.index,
                },
                cx,
            );
        } else {
            self.dispatch(instance, &call.rule, call.index, cx);
        }
        true
    }
}
