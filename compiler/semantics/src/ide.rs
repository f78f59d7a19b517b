//! Facts about the code at a position, for editors: the outline of a file, what a
//! name refers to, what to show on hover and what may be typed next.
//!
//! Everything here is a pure function of the [`Analysis`] taking a file and a byte
//! offset and returning plain data with byte spans; the language server turns the
//! data into LSP types. Hover and definition work on the file's current syntax tree
//! and the checker's recorded expression types; completion reads the text around the
//! cursor itself, because the text being typed rarely parses.

mod actions;
mod complete;
mod highlight;
mod hints;
mod hover;
mod lenses;
mod locate;
mod refs;
mod render;
mod repair;
mod signature;
mod structure;
mod symbols;
mod tokens;
mod type_definition;

use crate::Analysis;
use crate::db::SourceFile;
use cosmos_diagnostics::{FileId, Span};

pub use actions::CodeAction;
pub use complete::{Completion, CompletionKind};
pub use highlight::{Access, Highlight};
pub use hints::InlayHint;
pub use lenses::TestBlock;
pub use refs::{RESERVED, is_identifier};
pub use signature::SignatureHelp;
pub use structure::{FoldKind, Folding};
pub use symbols::{DocumentSymbol, SymbolKind};
pub use tokens::TokenKind;

/// Where a name is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub file: FileId,
    /// The declaration's name.
    pub span: Span,
}

/// What to show for the thing under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hover {
    /// What the hover is about, in the hovered file.
    pub span: Span,
    /// Code: a signature, or `name: Type`.
    pub signature: String,
    /// Prose: the doc comment, a built-in's documentation, a rule's read and write sets.
    pub doc: Option<String>,
}

impl Analysis {
    fn source(&self, file: FileId) -> Option<SourceFile> {
        self.files.get(&file).copied()
    }

    /// The text of a file as the analysis has it.
    pub fn file_text(&self, file: FileId) -> Option<&str> {
        self.source(file)
            .map(|source| source.text(&self.db).as_str())
    }

    /// The outline of a file: declarations, and a workflow's inputs, facts, rules and
    /// signals.
    pub fn symbols(&self, file: FileId) -> Vec<DocumentSymbol> {
        match self.source(file) {
            Some(source) => symbols::symbols(&self.db, source),
            None => Vec::new(),
        }
    }

    /// Where the name at `offset` is declared.
    pub fn definition(&self, file: FileId, offset: u32) -> Option<Target> {
        let source = self.source(file)?;
        locate::definition(&self.db, source, offset)
    }

    /// What to show when hovering at `offset`.
    pub fn hover(&self, file: FileId, offset: u32) -> Option<Hover> {
        let source = self.source(file)?;
        hover::hover(self, source, offset)
    }

    /// What may be typed at `offset`.
    pub fn completions(&self, file: FileId, offset: u32) -> Vec<Completion> {
        match self.source(file) {
            Some(source) => complete::completions(&self.db, source, offset),
            None => Vec::new(),
        }
    }

    /// Every use of the declaration at `offset` across the project, with the
    /// declaration itself when `declaration` is set.
    pub fn references(&self, file: FileId, offset: u32, declaration: bool) -> Vec<Target> {
        match self.source(file) {
            Some(source) => refs::references(self, source, offset, declaration),
            None => Vec::new(),
        }
    }

    /// The span of the name at `offset` if it can be renamed, else why not.
    pub fn prepare_rename(&self, file: FileId, offset: u32) -> Result<Span, String> {
        let source = self.source(file).ok_or("the file is not loaded")?;
        refs::prepare_rename(self, source, offset)
    }

    /// The spans to replace with `new_name` to rename the declaration at `offset`, or why
    /// the new name is refused.
    pub fn rename(&self, file: FileId, offset: u32, new_name: &str) -> Result<Vec<Target>, String> {
        let source = self.source(file).ok_or("the file is not loaded")?;
        refs::rename(self, source, offset, new_name)
    }

    /// The signature of the call being typed at `offset`.
    pub fn signature_help(&self, file: FileId, offset: u32) -> Option<SignatureHelp> {
        signature::signature_help(&self.db, self.source(file)?, offset)
    }

    /// Inferred types to show in `within`: `def` locals without a written type, and
    /// `result` in a reaction.
    pub fn inlay_hints(&self, file: FileId, within: Span) -> Vec<InlayHint> {
        match self.source(file) {
            Some(source) => hints::inlay_hints(&self.db, source, within),
            None => Vec::new(),
        }
    }

    /// The file's tokens to colour, in order, with what each is.
    pub fn semantic_tokens(&self, file: FileId) -> Vec<(Span, TokenKind)> {
        match self.source(file) {
            Some(source) => tokens::tokens(&self.db, source).clone(),
            None => Vec::new(),
        }
    }

    /// Fixes for the diagnostics of `file` that overlap `range`.
    pub fn code_actions(&self, file: FileId, range: Span) -> Vec<CodeAction> {
        match self.source(file) {
            Some(source) => actions::code_actions(self, source, range),
            None => Vec::new(),
        }
    }
}
