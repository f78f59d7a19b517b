//! A call's completion and the step it triggers, together: what a node that runs
//! calls itself does instead of leaving the completion's event for its engine loop
//! ([`Store::complete_call_with_step`]). The node computes the step; the store
//! commits it with the call's acknowledgement, or enqueues the event when the
//! instance's events are held or waiting elsewhere.

use super::{CallsError, Completion, LeasedCall};
use crate::engine::Event;
use crate::store::{CallStepped, Store};

/// Takes the step a call's completion triggers (a node's engine; see the module
/// documentation).
pub trait CompletionSteps: Send + Sync + 'static {
    /// Records `event`, the outcome of `call` leased by `owner`, at `now`: with the
    /// step it triggers when it can (and then leasing up to `room` of the step's own
    /// calls to `owner`), or as an event enqueued for the engine. Blocking.
    fn complete(
        &self,
        store: &dyn Store,
        owner: &str,
        call: &LeasedCall,
        event: Event,
        now: i64,
        room: usize,
    ) -> Result<CallStepped, CallsError>;
}

/// What recording a call's outcome did ([`super::CallSource::complete_and_continue`]).
#[derive(Debug)]
pub struct Continued {
    pub completion: Completion,
    /// The step it triggered was committed with it: nobody needs to be told to take
    /// it.
    pub stepped: bool,
    /// Calls of that step leased to this runner, to run at once.
    pub calls: Vec<LeasedCall>,
}
