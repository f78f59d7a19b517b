//! The engine loop: leases event messages (at most one per instance at a time) and
//! applies each as one step.

use super::messages::{self, EventMessage};
use super::step::{self, Applied};
use super::{Inner, NodeError, now_ms};
use crate::store::{LeaseRequest, Leased, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// Event messages leased at once.
const BATCH: usize = 64;

pub(super) async fn run(inner: Arc<Inner>) {
    loop {
        if inner.stopping() {
            break;
        }
        let worker = Arc::clone(&inner);
        let outcome = tokio::task::spawn_blocking(move || round(&worker)).await;
        let (handled, calls) = match outcome {
            Ok(Ok(counts)) => counts,
            Ok(Err(error)) => {
                tracing::error!(%error, "engine round failed");
                (0, false)
            }
            Err(error) => {
                tracing::error!(%error, "engine task failed");
                (0, false)
            }
        };
        if calls {
            inner.wake_calls.notify_one();
        }
        if handled > 0 {
            inner.committed(handled);
            continue;
        }
        // Nothing to do: sleep until woken, the next timer is due, or the poll passes.
        let store = Arc::clone(&inner.store);
        let next =
            tokio::task::spawn_blocking(move || store.next_visible_at(messages::EVENTS, now_ms()))
                .await;
        let mut wait = inner.config.poll;
        if let Ok(Ok(Some(at))) = next {
            let until = u64::try_from(at.saturating_sub(now_ms()).max(0)).unwrap_or(0);
            wait = wait.min(Duration::from_millis(until));
        }
        if !wait.is_zero() {
            let _ = tokio::time::timeout(wait, inner.wake_events.notified()).await;
        }
    }
}

/// Leases a batch of events and applies them; returns how many were handled and
/// whether any step enqueued calls.
fn round(inner: &Inner) -> Result<(usize, bool), NodeError> {
    if inner.store.fault().is_some() {
        // The store's fault was logged when found; a step now would be lost.
        return Ok((0, false));
    }
    let owner = inner.config.owner.clone();
    let leased = inner.store.lease(&LeaseRequest {
        queue: messages::EVENTS.to_string(),
        owner: owner.clone(),
        now: now_ms(),
        lease_ms: inner.config.lease_ms,
        limit: BATCH,
        filter: inner.lease_filter(),
    })?;
    let mut calls = false;
    let count = leased.len();
    for message in leased {
        calls |= handle(inner, &owner, message)?;
    }
    Ok((count, calls))
}

fn handle(inner: &Inner, owner: &str, message: Leased) -> Result<bool, NodeError> {
    let store = inner.store.as_ref();
    let payload: EventMessage = match serde_json::from_value(message.payload.clone()) {
        Ok(p) => p,
        Err(error) => {
            store.dead_letter(message.id, owner, &format!("unreadable event: {error}"))?;
            return Ok(false);
        }
    };
    let ack = Some((message.id, owner.to_string()));
    match step::apply_from(
        store,
        &inner.deployment,
        owner,
        &payload.instance,
        payload.event,
        now_ms(),
        ack,
        payload.worker.as_deref(),
    ) {
        Ok(Applied::Committed { calls, .. }) => Ok(calls),
        Ok(Applied::Refused(error)) => {
            tracing::debug!(%error, instance = %payload.instance, "event refused");
            store.ack(message.id, owner, now_ms())?;
            Ok(false)
        }
        Ok(Applied::Ignored) => Ok(false),
        Ok(Applied::Missing) => {
            store.ack(message.id, owner, now_ms())?;
            Ok(false)
        }
        // Someone else changed the instance (a signal) or took the message: it comes
        // back, and is applied to the newer state.
        Err(NodeError::Store(StoreError::Conflict { .. })) => {
            store.release(message.id, owner, now_ms())?;
            Ok(false)
        }
        Err(NodeError::Store(StoreError::LeaseLost { .. })) => Ok(false),
        // The database is out of reach (or the answer to a commit was lost): the
        // message stays leased until its lease expires, then comes back.
        Err(NodeError::Store(StoreError::Unavailable(_) | StoreError::Postgres(_)))
        | Err(NodeError::Deployment(crate::deployment::DeploymentError::Store(
            StoreError::Unavailable(_) | StoreError::Postgres(_),
        ))) => Ok(false),
        Err(other) => {
            // A step that cannot be taken (an unreadable state, a missing bundle) is
            // set aside rather than retried forever.
            tracing::error!(error = %other, instance = %payload.instance, "cannot apply event");
            store.dead_letter(message.id, owner, &other.to_string())?;
            Ok(false)
        }
    }
}
