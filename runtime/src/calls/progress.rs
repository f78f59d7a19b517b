//! A running call's progress reports (LANGUAGE.md 10.4): counted as they come, and the
//! latest handed to the call's source (at most every [`PROGRESS_WRITE_EVERY`]) for
//! the API and `explain`.

use super::{CallSource, LeasedCall};
use serde_json::Value as Json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::watch;

/// How often, at most, the latest progress of one call is written.
const PROGRESS_WRITE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

type Latest = Arc<Mutex<Option<watch::Sender<Option<Json>>>>>;

pub(super) struct Progress<S: CallSource> {
    latest: Latest,
    source: Arc<S>,
    reports: Arc<AtomicU64>,
    writer: tokio::task::JoinHandle<bool>,
    call: LeasedCall,
}

impl<S: CallSource> Progress<S> {
    /// Starts following `call`'s reports; `reports` counts them.
    pub(super) fn start(source: &Arc<S>, call: &LeasedCall, reports: &Arc<AtomicU64>) -> Self {
        let (tx, mut rx) = watch::channel::<Option<Json>>(None);
        let writer = {
            let source = Arc::clone(source);
            let call = call.clone();
            tokio::spawn(async move {
                let mut wrote = false;
                let mut open = rx.changed().await.is_ok();
                while open {
                    let report = rx.borrow_and_update().clone();
                    if let Some(report) = report {
                        match source.progress(&call, report).await {
                            Ok(()) => wrote = true,
                            Err(error) => {
                                tracing::warn!(%error, "cannot record a call's progress");
                            }
                        }
                    }
                    // A quiet window before the next write; the call's end cuts it
                    // short (its progress is then forgotten, not written).
                    let until = tokio::time::Instant::now() + PROGRESS_WRITE_EVERY;
                    let mut newer = false;
                    while open {
                        tokio::select! {
                            () = tokio::time::sleep_until(until) => break,
                            changed = rx.changed() => match changed {
                                Ok(()) => newer = true,
                                Err(_) => open = false,
                            },
                        }
                    }
                    if open && !newer {
                        open = rx.changed().await.is_ok();
                    }
                }
                wrote
            })
        };
        Progress {
            latest: Arc::new(Mutex::new(Some(tx))),
            source: Arc::clone(source),
            reports: Arc::clone(reports),
            writer,
            call: call.clone(),
        }
    }

    /// Where the executor sends the call's reports.
    pub(super) fn sink(&self) -> crate::executor::ProgressSink {
        let latest = Arc::clone(&self.latest);
        let reports = Arc::clone(&self.reports);
        Arc::new(move |report| {
            reports.fetch_add(1, Ordering::Relaxed);
            if let Some(tx) = latest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                tx.send_replace(Some(Json::Object(report)));
            }
        })
    }

    /// The call ended: its last report is written, then forgotten.
    pub(super) async fn finish(self) {
        drop(
            self.latest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Ok(true) = self.writer.await
            && let Err(error) = self.source.clear_progress(&self.call).await
        {
            tracing::warn!(%error, "cannot clear a call's progress");
        }
    }
}
