//! The LSP handlers. Every edit updates the analysis at once, so that a request after a
//! change sees the new text; diagnostics are published by a background task on a
//! snapshot of the analysis (see [`crate::diagnostics`]), so that requests never wait
//! for a check.

use crate::convert::{self, Texts};
use crate::diagnostics::{self, Changes, lock};
use crate::position::{to_offset, to_position, to_range};
use crate::state::State;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types::*;
use tower_lsp::{Client, LanguageServer};

pub struct Server {
    client: Client,
    state: Arc<Mutex<State>>,
    changes: Changes,
    /// What the client said it supports, in `initialize`.
    watch_files: AtomicBool,
    progress: AtomicBool,
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
            changes: Changes::default(),
            watch_files: AtomicBool::new(false),
            progress: AtomicBool::new(false),
        }
    }

    fn touch(&self) {
        self.changes.touch();
    }

    /// Answers a request about a position in a document (or in a module of `std`).
    fn at<T>(
        &self,
        doc: &TextDocumentPositionParams,
        f: impl FnOnce(&State, cosmos_diagnostics::FileId, u32, &str) -> Option<T>,
    ) -> Option<T> {
        let state = lock(&self.state);
        let file = state.file(&doc.text_document.uri)?;
        let text = state.text(file)?.to_string();
        let offset = to_offset(&text, doc.position);
        guarded(|| f(&state, file, offset, &text))
    }

    /// `cosmos.toml` changed: the checker gets its pools again.
    async fn reload_config(&self) {
        let result = lock(&self.state).reload_config();
        if let Err(error) = result {
            self.client
                .log_message(
                    MessageType::WARNING,
                    format!("cosmos.toml not reloaded: {error}"),
                )
                .await;
        }
        self.touch();
    }

    fn is_manifest(&self, url: &Url) -> bool {
        let manifest = lock(&self.state).manifest();
        let path = url.to_file_path().ok();
        match (manifest, path) {
            (Some(manifest), Some(path)) => {
                path == manifest || std::fs::canonicalize(&path).is_ok_and(|p| p == manifest)
            }
            _ => false,
        }
    }
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
        let client = &params.capabilities;
        let watch = client
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|w| w.dynamic_registration)
            .unwrap_or(false);
        self.watch_files.store(watch, Ordering::SeqCst);
        let progress = client
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false);
        self.progress.store(progress, Ordering::SeqCst);
        match crate::stdlib::materialize() {
            Ok(files) => lock(&self.state).std_files = files,
            Err(error) => {
                self.client
                    .log_message(MessageType::WARNING, error.to_string())
                    .await;
            }
        }
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
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_formatting_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                signature_help_provider: Some(SignatureHelpOptions {
                    trigger_characters: Some(vec!["(".to_string(), ",".to_string()]),
                    retrigger_characters: None,
                    work_done_progress_options: Default::default(),
                }),
                inlay_hint_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..Default::default()
                    },
                )),
                semantic_tokens_provider: Some(
                    SemanticTokensServerCapabilities::SemanticTokensOptions(
                        SemanticTokensOptions {
                            legend: SemanticTokensLegend {
                                token_types: convert::TOKEN_TYPES.to_vec(),
                                token_modifiers: Vec::new(),
                            },
                            full: Some(SemanticTokensFullOptions::Bool(true)),
                            range: None,
                            work_done_progress_options: Default::default(),
                        },
                    ),
                ),
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
        if self.watch_files.load(Ordering::SeqCst) {
            let options = DidChangeWatchedFilesRegistrationOptions {
                watchers: vec![
                    FileSystemWatcher {
                        glob_pattern: GlobPattern::String("**/cosmos.toml".to_string()),
                        kind: None,
                    },
                    FileSystemWatcher {
                        glob_pattern: GlobPattern::String("**/*.emx".to_string()),
                        kind: None,
                    },
                ],
            };
            let registration = Registration {
                id: "cosmos-files".to_string(),
                method: "workspace/didChangeWatchedFiles".to_string(),
                register_options: serde_json::to_value(options).ok(),
            };
            if let Err(error) = self.client.register_capability(vec![registration]).await {
                self.client
                    .log_message(
                        MessageType::WARNING,
                        format!("cannot watch cosmos.toml and .emx files: {error}"),
                    )
                    .await;
            }
        }
        diagnostics::spawn(
            self.client.clone(),
            self.state.clone(),
            self.changes.clone(),
            self.progress.load(Ordering::SeqCst),
        );
        self.touch();
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        if params.changes.iter().any(|c| self.is_manifest(&c.uri)) {
            self.reload_config().await;
        }
        let sources: Vec<&Url> = params
            .changes
            .iter()
            .map(|c| &c.uri)
            .filter(|u| u.path().ends_with(".emx"))
            .collect();
        if sources.is_empty() {
            return;
        }
        let removed: Vec<Url> = {
            let mut state = lock(&self.state);
            sources
                .into_iter()
                .filter_map(|url| state.disk_changed(url))
                .collect()
        };
        for url in removed {
            self.client.publish_diagnostics(url, Vec::new(), None).await;
        }
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
        if self.is_manifest(&params.text_document.uri) {
            self.reload_config().await;
            return;
        }
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
        // A document, or a module of `std` opened from go to definition.
        let Some(text) = state.text(file) else {
            return Ok(None);
        };
        let symbols = guarded(|| Some(state.analysis.symbols(file))).unwrap_or_default();
        Ok(Some(DocumentSymbolResponse::Nested(
            symbols.iter().map(|s| convert::symbol(text, s)).collect(),
        )))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        Ok(self.at(
            &params.text_document_position_params,
            |state, file, offset, _| {
                // Into `std`: the copy written to the cache folder.
                let target = state.analysis.definition(file, offset)?;
                convert::location(state, target.file, target.span)
                    .map(GotoDefinitionResponse::Scalar)
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
        Ok(self.at(
            &params.text_document_position,
            |state, file, offset, text| {
                let items = state.analysis.completions(file, offset);
                Some(CompletionResponse::Array(
                    items.iter().map(|c| convert::completion(text, c)).collect(),
                ))
            },
        ))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let declaration = params.context.include_declaration;
        Ok(
            self.at(&params.text_document_position, |state, file, offset, _| {
                let refs = state.analysis.references(file, offset, declaration);
                Some(
                    refs.iter()
                        .filter_map(|r| convert::location(&*state, r.file, r.span))
                        .collect(),
                )
            }),
        )
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let answer = self.at(&params, |state, file, offset, text| {
            Some(
                state
                    .analysis
                    .prepare_rename(file, offset)
                    .map(|span| to_range(text, span)),
            )
        });
        match answer {
            Some(Ok(range)) => Ok(Some(PrepareRenameResponse::Range(range))),
            Some(Err(message)) => Err(invalid_params(message)),
            None => Ok(None),
        }
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        let new_name = params.new_name;
        let answer = self.at(&params.text_document_position, |state, file, offset, _| {
            Some(
                state
                    .analysis
                    .rename(file, offset, &new_name)
                    .map(|refs| convert::rename(&*state, &refs, &new_name)),
            )
        });
        match answer {
            Some(Ok(edit)) => Ok(Some(edit)),
            Some(Err(message)) => Err(invalid_params(message)),
            None => Ok(None),
        }
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let state = lock(&self.state);
        let Some(doc) = state
            .file(&params.text_document.uri)
            .and_then(|file| state.documents.get(&file))
        else {
            return Ok(None);
        };
        let text = doc.text.clone();
        drop(state);
        // A file that does not parse is left as it is: no edits.
        let Some(formatted) = guarded(|| cosmos_format::format(&text).ok()) else {
            return Ok(Some(Vec::new()));
        };
        if formatted == text {
            return Ok(Some(Vec::new()));
        }
        let whole = cosmos_diagnostics::Span::new(0, text.len() as u32);
        Ok(Some(vec![TextEdit::new(to_range(&text, whole), formatted)]))
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        Ok(self.at(
            &params.text_document_position_params,
            |state, file, offset, _| {
                let help = state.analysis.signature_help(file, offset)?;
                Some(convert::signature_help(&help))
            },
        ))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let state = lock(&self.state);
        let Some(file) = state.file(&params.text_document.uri) else {
            return Ok(None);
        };
        // A document, or a module of `std` opened from go to definition.
        let Some(text) = state.text(file) else {
            return Ok(None);
        };
        let within = cosmos_diagnostics::Span::new(
            to_offset(text, params.range.start),
            to_offset(text, params.range.end),
        );
        let hints = guarded(|| Some(state.analysis.inlay_hints(file, within))).unwrap_or_default();
        Ok(Some(
            hints
                .iter()
                .map(|h| InlayHint {
                    position: to_position(text, h.offset),
                    label: InlayHintLabel::String(h.label.clone()),
                    kind: Some(InlayHintKind::TYPE),
                    text_edits: None,
                    tooltip: None,
                    padding_left: None,
                    padding_right: Some(h.label.starts_with("result")),
                    data: None,
                })
                .collect(),
        ))
    }

    async fn semantic_tokens_full(
        &self,
        params: SemanticTokensParams,
    ) -> Result<Option<SemanticTokensResult>> {
        let state = lock(&self.state);
        let Some(file) = state.file(&params.text_document.uri) else {
            return Ok(None);
        };
        // A document, or a module of `std` opened from go to definition.
        let Some(text) = state.text(file) else {
            return Ok(None);
        };
        let tokens = guarded(|| Some(state.analysis.semantic_tokens(file))).unwrap_or_default();
        Ok(Some(SemanticTokensResult::Tokens(SemanticTokens {
            result_id: None,
            data: convert::semantic_tokens(text, &tokens),
        })))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let state = lock(&self.state);
        let Some(file) = state.file(&params.text_document.uri) else {
            return Ok(None);
        };
        // A document, or a module of `std` opened from go to definition.
        let Some(text) = state.text(file) else {
            return Ok(None);
        };
        let range = cosmos_diagnostics::Span::new(
            to_offset(text, params.range.start),
            to_offset(text, params.range.end),
        );
        let actions =
            guarded(|| Some(state.analysis.code_actions(file, range))).unwrap_or_default();
        Ok(Some(
            actions
                .iter()
                .map(|a| convert::code_action(&*state, a, &params.context.diagnostics))
                .collect(),
        ))
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<Vec<SymbolInformation>>> {
        let state = lock(&self.state);
        let query = params.query.to_lowercase();
        let mut out = Vec::new();
        for (&file, doc) in &state.documents {
            let symbols = guarded(|| Some(state.analysis.symbols(file))).unwrap_or_default();
            convert::workspace_symbols(&doc.url, &doc.text, &symbols, None, &query, &mut out);
        }
        Ok(Some(out))
    }
}

fn invalid_params(message: String) -> tower_lsp::jsonrpc::Error {
    tower_lsp::jsonrpc::Error {
        code: tower_lsp::jsonrpc::ErrorCode::InvalidParams,
        message: message.into(),
        data: None,
    }
}
