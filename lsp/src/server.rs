//! The LSP handlers. Every edit updates the analysis at once, so that a request after a
//! change sees the new text; diagnostics are published by a background task, debounced,
//! which takes the lock one file at a time so that requests never wait for a whole
//! project's check.

use crate::convert;
use crate::position::{to_offset, to_range};
use crate::state::State;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types::*;
use tower_lsp::{Client, LanguageServer};

/// How long the text must stay unchanged before diagnostics are computed.
const DEBOUNCE: Duration = Duration::from_millis(50);

pub struct Server {
    client: Client,
    state: Arc<Mutex<State>>,
    /// Bumped on every change; the diagnostics task waits for it to settle.
    generation: Arc<AtomicU64>,
    changed: Arc<Notify>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock was caught; the state is still usable.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f`, turning a panic in the compiler into "no answer" rather than a dead server.
fn guarded<T>(f: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok().flatten()
}

impl Server {
    pub fn new(client: Client) -> Self {
        Server {
            client,
            state: Arc::default(),
            generation: Arc::default(),
            changed: Arc::default(),
        }
    }

    fn touch(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// Answers a request about a position in a document.
    fn at<T>(
        &self,
        doc: &TextDocumentPositionParams,
        f: impl FnOnce(&State, cosmos_diagnostics::FileId, u32, &str) -> Option<T>,
    ) -> Option<T> {
        let state = lock(&self.state);
        let file = state.file(&doc.text_document.uri)?;
        let text = state.documents.get(&file)?.text.clone();
        let offset = to_offset(&text, doc.position);
        guarded(|| f(&state, file, offset, &text))
    }

    fn spawn_diagnostics(&self) {
        let client = self.client.clone();
        let state = self.state.clone();
        let generation = self.generation.clone();
        let changed = self.changed.clone();
        tokio::spawn(async move {
            loop {
                changed.notified().await;
                // Debounce: wait until no change arrived for a whole period.
                loop {
                    let seen = generation.load(Ordering::SeqCst);
                    tokio::time::sleep(DEBOUNCE).await;
                    if generation.load(Ordering::SeqCst) == seen {
                        break;
                    }
                }
                let state = state.clone();
                let published = tokio::task::spawn_blocking(move || collect(&state)).await;
                if let Ok(published) = published {
                    for (url, diagnostics) in published {
                        client.publish_diagnostics(url, diagnostics, None).await;
                    }
                }
            }
        });
    }
}

/// Every project file's diagnostics, one file per lock.
fn collect(state: &Mutex<State>) -> Vec<(Url, Vec<Diagnostic>)> {
    let files: Vec<_> = lock(state).documents.keys().copied().collect();
    let mut out = Vec::new();
    for file in files {
        let state = lock(state);
        let Some(doc) = state.documents.get(&file) else {
            continue;
        };
        let diagnostics =
            guarded(|| Some(state.analysis.file_diagnostics(file))).unwrap_or_default();
        let converted = diagnostics
            .iter()
            .map(|d| convert::diagnostic(&*state, &doc.text, d))
            .collect();
        out.push((doc.url.clone(), converted));
    }
    out
}

#[tower_lsp::async_trait]
impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let folder = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or(params.root_uri.clone())
            .and_then(|uri| uri.to_file_path().ok());
        if let Some(folder) = folder {
            let result = lock(&self.state).load(&folder);
            if let Err(error) = result {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        format!("no Cosmos project loaded: {error}"),
                    )
                    .await;
            }
        }
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::FULL),
                        save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                        ..Default::default()
                    },
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                definition_provider: Some(OneOf::Left(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".to_string()]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "cosmosc lsp".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.spawn_diagnostics();
        self.touch();
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        lock(&self.state).set_text(&params.text_document.uri, params.text_document.text);
        self.touch();
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // Full sync: the last change holds the whole text.
        if let Some(change) = params.content_changes.into_iter().last() {
            lock(&self.state).set_text(&params.text_document.uri, change.text);
            self.touch();
        }
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        let mut state = lock(&self.state);
        if let Some(text) = params.text {
            state.set_text(&params.text_document.uri, text);
        }
        state.saved(&params.text_document.uri);
        drop(state);
        self.touch();
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let url = params.text_document.uri;
        let removed = {
            let mut state = lock(&self.state);
            state.close(&url);
            state.file(&url).is_none()
        };
        if removed {
            self.client.publish_diagnostics(url, Vec::new(), None).await;
        }
        self.touch();
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let state = lock(&self.state);
        let Some(file) = state.file(&params.text_document.uri) else {
            return Ok(None);
        };
        let Some(doc) = state.documents.get(&file) else {
            return Ok(None);
        };
        let symbols = guarded(|| Some(state.analysis.symbols(file))).unwrap_or_default();
        Ok(Some(DocumentSymbolResponse::Nested(
            symbols
                .iter()
                .map(|s| convert::symbol(&doc.text, s))
                .collect(),
        )))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        Ok(self.at(
            &params.text_document_position_params,
            |state, file, offset, _| {
                let target = state.analysis.definition(file, offset)?;
                let doc = state.documents.get(&target.file);
                let (uri, text) = match doc {
                    Some(doc) => (doc.url.clone(), doc.text.as_str()),
                    // Into `std`: shown as an untitled document of its text.
                    None => {
                        let source = cosmos_semantics::std_sources()
                            .iter()
                            .find(|s| s.file == target.file)?;
                        (
                            Url::parse(&format!("cosmos-std:///{}", source.path)).ok()?,
                            source.text,
                        )
                    }
                };
                Some(GotoDefinitionResponse::Scalar(Location::new(
                    uri,
                    to_range(text, target.span),
                )))
            },
        ))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        Ok(self.at(
            &params.text_document_position_params,
            |state, file, offset, text| {
                let hover = state.analysis.hover(file, offset)?;
                Some(convert::hover(text, &hover))
            },
        ))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        Ok(
            self.at(&params.text_document_position, |state, file, offset, _| {
                let items = state.analysis.completions(file, offset);
                Some(CompletionResponse::Array(
                    items.iter().map(convert::completion).collect(),
                ))
            }),
        )
    }
}
