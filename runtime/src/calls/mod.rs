//! Running the calls of the `calls` queue: on a node that runs functions itself, or on
//! a `cosmosc worker` that runs nothing else (no engine steps, no API). Both run the
//! same [`Runner`] over a [`CallSource`]; each job has its module:
//!
//! - `source`: where leased calls come from and where their outcomes go
//!   ([`CallSource`]), and its implementation directly on a store ([`StoreSource`]).
//! - `lease`: the store side of leasing ([`lease_calls`]): calls no longer wanted,
//!   unreadable or crashed too often are settled there and never handed out.
//! - `complete`: the store side of completing ([`complete_call`]): the result checked
//!   against the function's declared type, then the acknowledgement and the engine
//!   event in one transaction if the lease is still held.
//! - `runner`: leases as many calls as the pools can run, runs each on the executor,
//!   renews its lease while it runs, reports its progress, completes it; and beats
//!   the registry of workers.
//! - `progress`: a running call's progress reports, written at a bounded rate.
//! - `programs`: the programs of the bundles calls come from, by hash.
//! - `steps`: a call's completion and the step it triggers in one transaction, on a
//!   node ([`CompletionSteps`]).

mod complete;
mod lease;
mod programs;
mod progress;
mod runner;
mod source;
mod steps;

pub use complete::complete_call;
pub use lease::lease_calls;
pub(crate) use lease::settle_leased;
pub use programs::{Programs, StoredPrograms};
pub use runner::{CallCounters, HEARTBEAT, Places, Runner, RunnerConfig};
pub use source::{CallSource, StoreSource};
pub use steps::{CompletionSteps, Continued};

use crate::deployment::DeploymentError;
use crate::engine::Failure;
use crate::node::messages::CallMessage;
use crate::store::{MessageId, StoreError};
use serde_json::Value as Json;

/// A call leased to run: its message, and the call the message carries.
#[derive(Debug, Clone, PartialEq)]
pub struct LeasedCall {
    /// The call message's id: what a renewal, a completion or a release names.
    pub id: MessageId,
    pub call: CallMessage,
    /// How many times the message was leased, this lease included.
    pub attempts: u32,
}

/// How a call ended, before its result is checked against the declared type.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function returned this value.
    Value(Json),
    /// The function failed (or could not run).
    Failed(Failure),
}

/// What a completion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The call's result was recorded (a `CallCompleted` event is on its way).
    Completed,
    /// A failure was recorded: the function's, or `BAD_OUTPUT` for a result that is not
    /// of the declared type.
    Failed,
    /// The lease was no longer held (it expired; the call may be running elsewhere):
    /// nothing changed.
    LeaseLost,
}

/// Why a call could not be leased, renewed or completed.
#[derive(Debug, thiserror::Error)]
pub enum CallsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Deployment(#[from] DeploymentError),
    /// A blocking task of the store went away (the process is shutting down).
    #[error("store task failed: {0}")]
    Task(String),
}
