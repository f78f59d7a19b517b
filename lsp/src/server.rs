//! The LSP handlers. Every edit updates the analysis at once, so that a request after a
//! change sees the new text; diagnostics are published by a background task on a
//! snapshot of the analysis (see [`crate::diagnostics`]), so that requests never wait
//! for a check.

use crate::convert::{self, Locator, Texts};
use crate::diagnostics::{self, Changes, lock};
use crate::position::LineIndex;
use crate::requests;
use crate::state::{Project, State, file_path};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

pub struct Server {
    client: Client,
    state: Arc<Mutex<State>>,
    changes: Changes,
    /// What the client said it supports, in `initialize`.
    watch_files: AtomicBool,
    progress: AtomicBool,
    /// The last semantic tokens sent for each file, for `full/delta`.
    sent_tokens: Mutex<crate::tokens::SentTokens>,
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
            sent_tokens: Mutex::default(),
        }
    }

    /// A file's semantic tokens as LSP encodes them: all of them, or those in `range`.
    fn token_data(&self, uri: &Uri, range: Option<Range>) -> Option<Vec<SemanticToken>> {
        // A document, or a module of `std` opened from go to definition.
        self.document(uri, |project, file, lines| {
            let tokens = project.analysis.semantic_tokens(file);
            Some(match range {
                Some(range) => crate::tokens::in_range(lines, &tokens, range),
                None => convert::semantic_tokens(lines, &tokens),
            })
        })
    }

    fn touch(&self) {
        self.changes.touch();
    }

    /// Answers a request about a position in a document (or in a module of `std`).
    fn at<T>(
        &self,
        doc: &TextDocumentPositionParams,
        f: impl FnOnce(&Project, cosmos_diagnostics::FileId, u32, &LineIndex) -> Option<T>,
    ) -> Option<T> {
        let state = lock(&self.state);
        let (project, file) = state.locate(&doc.text_document.uri)?;
        let lines = LineIndex::new(project.text(file)?);
        let offset = lines.offset(doc.position);
        guarded(|| f(project, file, offset, &lines))
    }

    /// Answers a request about a whole document (or a module of `std`).
    fn document<T>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&Project, cosmos_diagnostics::FileId, &LineIndex) -> Option<T>,
    ) -> Option<T> {
        let state = lock(&self.state);
        let (project, file) = state.locate(uri)?;
        let lines = LineIndex::new(project.text(file)?);
        guarded(|| f(project, file, &lines))
    }

    /// A project's `cosmos.toml` changed: its checker gets its pools again. A new
    /// `cosmos.toml` loads its project.
    async fn reload_config(&self, url: &Uri) {
        let result = {
            let mut state = lock(&self.state);
            match state.manifest_project(url) {
                Some(project) => project.reload_config(),
                None => match file_path(url).as_deref().and_then(std::path::Path::parent) {
                    Some(dir) if dir.join("cosmos.toml").is_file() => state.load(dir),
                    _ => Ok(()),
                },
            }
        };
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

    fn is_manifest(url: &Uri) -> bool {
        url.path().as_str().ends_with("/cosmos.toml")
    }

    /// Loads the projects of workspace folders, logging what could not be loaded.
    async fn load_folders(&self, folders: &[Uri]) {
        let problems: Vec<String> = {
            let mut state = lock(&self.state);
            folders
                .iter()
                .filter_map(file_path)
                .flat_map(|folder| state.load_folder(&folder))
                .collect()
        };
        for problem in problems {
            self.client.log_message(MessageType::WARNING, problem).await;
        }
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        #[allow(deprecated)] // `root_uri`: the folder of clients without workspace folders.
        let folders: Vec<Uri> = match &params.workspace_folders {
            Some(folders) if !folders.is_empty() => folders.iter().map(|f| f.uri.clone()).collect(),
            _ => params.root_uri.iter().cloned().collect(),
        };
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
            Ok(files) => lock(&self.state).set_std_files(files),
            Err(error) => {
                self.client
                    .log_message(MessageType::WARNING, error.to_string())
                    .await;
            }
        }
        self.load_folders(&folders).await;
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
                type_definition_provider: Some(TypeDefinitionProviderCapability::Simple(true)),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                references_provider: Some(OneOf::Left(true)),
                rename_provider: Some(OneOf::Right(RenameOptions {
                    prepare_provider: Some(true),
                    work_done_progress_options: Default::default(),
                })),
                document_formatting_provider: Some(OneOf::Left(true)),
                document_range_formatting_provider: Some(OneOf::Left(true)),
                code_lens_provider: Some(CodeLensOptions {
                    resolve_provider: Some(false),
                }),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                selection_range_provider: Some(SelectionRangeProviderCapability::Simple(true)),
                document_highlight_provider: Some(OneOf::Left(true)),
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
                            full: Some(SemanticTokensFullOptions::Delta { delta: Some(true) }),
                            range: Some(true),
                            work_done_progress_options: Default::default(),
                        },
                    ),
                ),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec![".".to_string()]),
                    ..Default::default()
                }),
                workspace: Some(WorkspaceServerCapabilities {
                    workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                        supported: Some(true),
                        change_notifications: Some(OneOf::Left(true)),
                    }),
                    file_operations: None,
                }),
                ..Default::default()
            },
            offset_encoding: None,
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

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        let added: Vec<Uri> = params.event.added.into_iter().map(|f| f.uri).collect();
        self.load_folders(&added).await;
        self.touch();
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        for change in &params.changes {
            if Self::is_manifest(&change.uri) {
                self.reload_config(&change.uri).await;
            }
        }
        let sources: Vec<&Uri> = params
            .changes
            .iter()
            .map(|c| &c.uri)
            .filter(|u| u.path().as_str().ends_with(".emx"))
            .collect();
        if sources.is_empty() {
            return;
        }
        let removed: Vec<Uri> = {
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
        if Self::is_manifest(&params.text_document.uri) {
            self.reload_config(&params.text_document.uri).await;
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
        lock(&self.sent_tokens).forget(&url);
        let removed = lock(&self.state).close(&url);
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
        let Some((project, file)) = state.locate(&params.text_document.uri) else {
            return Ok(None);
        };
        // A document, or a module of `std` opened from go to definition.
        let Some(text) = project.text(file) else {
            return Ok(None);
        };
        let lines = LineIndex::new(text);
        let symbols = guarded(|| Some(project.analysis.symbols(file))).unwrap_or_default();
        Ok(Some(DocumentSymbolResponse::Nested(
            symbols.iter().map(|s| convert::symbol(&lines, s)).collect(),
        )))
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        Ok(self.at(
            &params.text_document_position_params,
            |project, file, offset, _| {
                // Into `std`: the copy written to the cache folder.
                let target = project.analysis.definition(file, offset)?;
                Locator::new(project)
                    .location(target.file, target.span)
                    .map(GotoDefinitionResponse::Scalar)
            },
        ))
    }

    async fn goto_type_definition(
        &self,
        params: request::GotoTypeDefinitionParams,
    ) -> Result<Option<request::GotoTypeDefinitionResponse>> {
        Ok(self.at(
            &params.text_document_position_params,
            |project, file, offset, _| {
                let target = project.analysis.type_definition(file, offset)?;
                Locator::new(project)
                    .location(target.file, target.span)
                    .map(GotoDefinitionResponse::Scalar)
            },
        ))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        Ok(self.at(
            &params.text_document_position_params,
            |project, file, offset, lines| {
                let hover = project.analysis.hover(file, offset)?;
                Some(convert::hover(lines, &hover))
            },
        ))
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        Ok(self.at(
            &params.text_document_position,
            |project, file, offset, lines| {
                let items = project.analysis.completions(file, offset);
                Some(CompletionResponse::Array(
                    items
                        .iter()
                        .map(|c| convert::completion(lines, c))
                        .collect(),
                ))
            },
        ))
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let declaration = params.context.include_declaration;
        Ok(self.at(
            &params.text_document_position,
            |project, file, offset, _| {
                let refs = project.analysis.references(file, offset, declaration);
                let mut locator = Locator::new(project);
                Some(
                    refs.iter()
                        .filter_map(|r| locator.location(r.file, r.span))
                        .collect(),
                )
            },
        ))
    }

    async fn prepare_rename(
        &self,
        params: TextDocumentPositionParams,
    ) -> Result<Option<PrepareRenameResponse>> {
        let answer = self.at(&params, |project, file, offset, lines| {
            Some(
                project
                    .analysis
                    .prepare_rename(file, offset)
                    .map(|span| lines.range(span)),
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
        let answer = self.at(
            &params.text_document_position,
            |project, file, offset, _| {
                Some(
                    project
                        .analysis
                        .rename(file, offset, &new_name)
                        .map(|refs| convert::rename(project, &refs, &new_name)),
                )
            },
        );
        match answer {
            Some(Ok(edit)) => Ok(Some(edit)),
            Some(Err(message)) => Err(invalid_params(message)),
            None => Ok(None),
        }
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        let state = lock(&self.state);
        let Some(doc) = state
            .locate(&params.text_document.uri)
            .and_then(|(project, file)| project.documents.get(&file))
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
        Ok(Some(vec![TextEdit::new(
            LineIndex::new(&text).range(whole),
            formatted,
        )]))
    }

    async fn range_formatting(
        &self,
        params: DocumentRangeFormattingParams,
    ) -> Result<Option<Vec<TextEdit>>> {
        let state = lock(&self.state);
        let Some(doc) = state
            .locate(&params.text_document.uri)
            .and_then(|(project, file)| project.documents.get(&file))
        else {
            return Ok(None);
        };
        let text = doc.text.clone();
        drop(state);
        Ok(Some(requests::range_formatting(&text, params.range)))
    }

    async fn signature_help(&self, params: SignatureHelpParams) -> Result<Option<SignatureHelp>> {
        Ok(self.at(
            &params.text_document_position_params,
            |project, file, offset, _| {
                let help = project.analysis.signature_help(file, offset)?;
                Some(convert::signature_help(&help))
            },
        ))
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        let state = lock(&self.state);
        let Some((project, file)) = state.locate(&params.text_document.uri) else {
            return Ok(None);
        };
        // A document, or a module of `std` opened from go to definition.
        let Some(text) = project.text(file) else {
            return Ok(None);
        };
        let lines = LineIndex::new(text);
        let within = cosmos_diagnostics::Span::new(
            lines.offset(params.range.start),
            lines.offset(params.range.end),
        );
        let hints =
            guarded(|| Some(project.analysis.inlay_hints(file, within))).unwrap_or_default();
        Ok(Some(
            hints
                .iter()
                .map(|h| InlayHint {
                    position: lines.position(h.offset),
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
        let uri = params.text_document.uri;
        let Some(data) = self.token_data(&uri, None) else {
            return Ok(None);
        };
        let tokens = lock(&self.sent_tokens).full(&uri, data);
        Ok(Some(SemanticTokensResult::Tokens(tokens)))
    }

    async fn semantic_tokens_full_delta(
        &self,
        params: SemanticTokensDeltaParams,
    ) -> Result<Option<SemanticTokensFullDeltaResult>> {
        let uri = params.text_document.uri;
        let Some(data) = self.token_data(&uri, None) else {
            return Ok(None);
        };
        let answer = lock(&self.sent_tokens).delta(&uri, &params.previous_result_id, data);
        Ok(Some(match answer {
            Ok(delta) => SemanticTokensFullDeltaResult::TokensDelta(delta),
            Err(tokens) => SemanticTokensFullDeltaResult::Tokens(tokens),
        }))
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        let Some(data) = self.token_data(&params.text_document.uri, Some(params.range)) else {
            return Ok(None);
        };
        Ok(Some(SemanticTokensRangeResult::Tokens(SemanticTokens {
            result_id: None,
            data,
        })))
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let state = lock(&self.state);
        let Some((project, file)) = state.locate(&params.text_document.uri) else {
            return Ok(None);
        };
        // A document, or a module of `std` opened from go to definition.
        let Some(text) = project.text(file) else {
            return Ok(None);
        };
        let lines = LineIndex::new(text);
        let range = cosmos_diagnostics::Span::new(
            lines.offset(params.range.start),
            lines.offset(params.range.end),
        );
        let actions =
            guarded(|| Some(project.analysis.code_actions(file, range))).unwrap_or_default();
        Ok(Some(
            actions
                .iter()
                .map(|a| convert::code_action(project, a, &params.context.diagnostics))
                .collect(),
        ))
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        Ok(
            self.document(&params.text_document.uri, |project, file, lines| {
                Some(requests::folding_ranges(project, file, lines))
            }),
        )
    }

    async fn selection_range(
        &self,
        params: SelectionRangeParams,
    ) -> Result<Option<Vec<SelectionRange>>> {
        Ok(
            self.document(&params.text_document.uri, |project, file, lines| {
                Some(requests::selection_ranges(
                    project,
                    file,
                    lines,
                    &params.positions,
                ))
            }),
        )
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        Ok(self.at(
            &params.text_document_position_params,
            |project, file, offset, lines| {
                Some(requests::document_highlights(project, file, lines, offset))
            },
        ))
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        Ok(
            self.document(&params.text_document.uri, |project, file, lines| {
                Some(requests::test_lenses(project, file, lines))
            }),
        )
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        let state = lock(&self.state);
        let query = params.query.to_lowercase();
        let mut out = Vec::new();
        for project in state.all() {
            for (&file, doc) in &project.documents {
                let symbols = guarded(|| Some(project.analysis.symbols(file))).unwrap_or_default();
                let lines = LineIndex::new(&doc.text);
                convert::workspace_symbols(&doc.url, &lines, &symbols, None, &query, &mut out);
            }
        }
        Ok(Some(WorkspaceSymbolResponse::Flat(out)))
    }
}

fn invalid_params(message: String) -> tower_lsp_server::jsonrpc::Error {
    tower_lsp_server::jsonrpc::Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::InvalidParams,
        message: message.into(),
        data: None,
    }
}
