//! Publishing diagnostics from a background task, on snapshots of the analyses.
//!
//! After each change, once the text has stayed the same for [`DEBOUNCE`], the task
//! takes a [`Snapshot`] of each project's analysis under the state's lock, releases the
//! lock and checks the files one by one on a blocking thread (the files open in the
//! editor first, in every project), publishing each file's diagnostics as soon as they
//! are known. Files outside every project get their syntax errors only. Requests go on
//! using the state meanwhile, so a hover never waits behind a long check. An edit
//! cancels the snapshot's work (salsa unwinds it with `Cancelled` at its next query,
//! and the edit waits until the snapshot is dropped); the stale results are dropped and
//! the next round starts from the new text.
//!
//! The blocking thread never takes the state's lock while it holds the snapshot: an
//! edit holds that lock while it waits for the snapshot to go.

use crate::convert::{self, Texts};
use crate::position::LineIndex;
use crate::state::State;
use cosmos_diagnostics::FileId;
use cosmos_semantics::{Analysis, Snapshot};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Progress;
use tower_lsp_server::ls_types::request::WorkDoneProgressCreate;
use tower_lsp_server::ls_types::*;

/// How long the text must stay unchanged before diagnostics are computed: long enough
/// to let a burst of keystrokes settle, short against the ~10 ms a re-check takes.
const DEBOUNCE: Duration = Duration::from_millis(10);

/// How long the client may take to accept a progress token.
const PROGRESS_CREATE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock was caught; the state is still usable.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What tells the task that something changed.
#[derive(Clone, Default)]
pub struct Changes {
    /// Bumped on every change; a round's results are published only while it holds.
    generation: Arc<AtomicU64>,
    changed: Arc<Notify>,
}

impl Changes {
    pub fn touch(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    fn current(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }
}

/// What the blocking thread tells the task.
enum Event {
    /// It starts checking this file.
    Checking(String),
    Done(Uri, Vec<Diagnostic>),
}

/// The URLs of the files, for converting related spans: the texts come from the
/// snapshot, so that spans and texts always agree.
struct SnapshotTexts<'a> {
    analysis: &'a Analysis,
    urls: &'a BTreeMap<FileId, Uri>,
}

impl Texts for SnapshotTexts<'_> {
    fn url(&self, file: FileId) -> Option<Uri> {
        self.urls.get(&file).cloned()
    }

    fn text(&self, file: FileId) -> Option<&str> {
        self.analysis.file_text(file)
    }
}

/// Runs the diagnostics task until the server stops. `progress` says whether the client
/// shows work-done progress (`window.workDoneProgress`).
pub fn spawn(client: Client, state: Arc<Mutex<State>>, changes: Changes, progress: bool) {
    tokio::spawn(async move {
        let mut round = 0u64;
        loop {
            changes.changed.notified().await;
            // Debounce: wait until no change arrived for a whole period.
            let mut seen = changes.current();
            loop {
                tokio::time::sleep(DEBOUNCE).await;
                let now = changes.current();
                if now == seen {
                    break;
                }
                seen = now;
            }
            round += 1;
            let token = progress.then(|| NumberOrString::String(format!("cosmos/check/{round}")));
            if let Some(token) = &token {
                // A client that never answers must not stop the diagnostics.
                let created = tokio::time::timeout(
                    PROGRESS_CREATE_TIMEOUT,
                    client.send_request::<WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                        token: token.clone(),
                    }),
                )
                .await;
                if matches!(created, Ok(Ok(()))) {
                    report(&client, token, begin()).await;
                }
            }
            check_round(&client, &state, &changes, seen, token.as_ref()).await;
            if let Some(token) = &token {
                let end = WorkDoneProgress::End(WorkDoneProgressEnd { message: None });
                report(&client, token, end).await;
            }
        }
    });
}

fn begin() -> WorkDoneProgress {
    WorkDoneProgress::Begin(WorkDoneProgressBegin {
        title: "Checking".to_string(),
        cancellable: Some(false),
        message: None,
        percentage: None,
    })
}

async fn report(client: &Client, token: &NumberOrString, value: WorkDoneProgress) {
    client
        .send_notification::<Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        })
        .await;
}

/// What one project's part of a round checks.
struct Batch {
    snapshot: Snapshot,
    /// The files to check: (file, url, open), the open ones first.
    files: Vec<(FileId, Uri, bool)>,
    urls: BTreeMap<FileId, Uri>,
    /// Files outside every project: syntax errors only.
    syntax_only: bool,
}

/// One round: every file of the snapshots taken now, unless a change makes it stale.
async fn check_round(
    client: &Client,
    state: &Mutex<State>,
    changes: &Changes,
    generation: u64,
    token: Option<&NumberOrString>,
) {
    let mut batches: Vec<Batch> = {
        let state = lock(state);
        state
            .all()
            .filter(|project| !project.documents.is_empty())
            .map(|project| {
                let files: Vec<(FileId, Uri, bool)> = project
                    .documents
                    .iter()
                    .map(|(file, doc)| (*file, doc.url.clone(), doc.open))
                    .collect();
                let mut urls: BTreeMap<FileId, Uri> = files
                    .iter()
                    .map(|(file, url, _)| (*file, url.clone()))
                    .collect();
                urls.extend(project.std_files.iter().map(|s| (s.file, s.url.clone())));
                Batch {
                    snapshot: project.analysis.snapshot(),
                    files,
                    urls,
                    syntax_only: project.syntax_only(),
                }
            })
            .collect()
    };
    // The files open in the editor first, in every project: the person is looking at
    // them.
    for batch in &mut batches {
        batch.files.sort_by_key(|(file, _, open)| (!open, *file));
    }
    batches.sort_by_key(|b| !b.files.iter().any(|(_, _, open)| *open));
    if changes.current() != generation {
        return;
    }
    let (sender, mut events) = mpsc::unbounded_channel();
    let stale = changes.clone();
    let worker = tokio::task::spawn_blocking(move || {
        for batch in &batches {
            if !compute(batch, &sender, &stale, generation) {
                break;
            }
        }
        // The snapshots are dropped here, before the task publishes the last file.
    });
    while let Some(event) = events.recv().await {
        match event {
            Event::Checking(name) => {
                if let Some(token) = token {
                    let message = WorkDoneProgressReport {
                        message: Some(name),
                        ..Default::default()
                    };
                    report(client, token, WorkDoneProgress::Report(message)).await;
                }
            }
            Event::Done(url, diagnostics) => {
                if changes.current() == generation {
                    client.publish_diagnostics(url, diagnostics, None).await;
                }
            }
        }
    }
    let _ = worker.await;
}

/// Whether a diagnostic is about syntax alone, needing no project to be right.
fn is_syntax(d: &cosmos_diagnostics::Diagnostic) -> bool {
    use cosmos_diagnostics::Code;
    d.code == Code::SYNTAX_ERROR || d.code == Code::INVALID_LITERAL
}

/// Checks a batch's files on its snapshot, sending each file's diagnostics; stops at
/// the first sign that the text changed, and then returns false.
fn compute(
    batch: &Batch,
    sender: &mpsc::UnboundedSender<Event>,
    changes: &Changes,
    generation: u64,
) -> bool {
    for (file, url, _) in &batch.files {
        if changes.current() != generation {
            return false;
        }
        let name = url
            .path()
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if sender.send(Event::Checking(name)).is_err() {
            return false;
        }
        let answer = catch_unwind(AssertUnwindSafe(|| {
            batch.snapshot.catch(|analysis| {
                let texts = SnapshotTexts {
                    analysis,
                    urls: &batch.urls,
                };
                let lines = LineIndex::new(analysis.file_text(*file).unwrap_or_default());
                analysis
                    .file_diagnostics(*file)
                    .iter()
                    .filter(|d| !batch.syntax_only || is_syntax(d))
                    .map(|d| convert::diagnostic(&texts, &lines, d))
                    .collect::<Vec<_>>()
            })
        }));
        let diagnostics = match answer {
            Ok(Ok(diagnostics)) => diagnostics,
            // The text changed: this result is stale, and so is the rest of the round.
            Ok(Err(_cancelled)) => return false,
            // A panic in the compiler: no diagnostics for the file, never a dead server.
            Err(_) => Vec::new(),
        };
        if sender.send(Event::Done(url.clone(), diagnostics)).is_err() {
            return false;
        }
    }
    true
}
