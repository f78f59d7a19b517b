//! Facts about the code at a position, for editors: the outline of a file, what a
//! name refers to, what to show on hover and what may be typed next.
//!
//! Everything here is a pure function of the [`Analysis`] taking a file and a byte
//! offset and returning plain data with byte spans; the language server turns the
//! data into LSP types. Hover and definition work on the file's current syntax tree
//! and the checker's recorded expression types; completion reads the text around the
//! cursor itself, because the text being typed rarely parses.

mod complete;
mod locate;
mod render;
mod symbols;

use crate::Analysis;
use crate::db::SourceFile;
use cosmos_diagnostics::{FileId, Span};

pub use complete::{Completion, CompletionKind};
pub use symbols::{DocumentSymbol, SymbolKind};

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
        locate::hover(self, source, offset)
    }

    /// What may be typed at `offset`.
    pub fn completions(&self, file: FileId, offset: u32) -> Vec<Completion> {
        match self.source(file) {
            Some(source) => complete::completions(&self.db, source, offset),
            None => Vec::new(),
        }
    }
}
