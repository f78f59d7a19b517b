//! Diagnostics as data: every stage of the compiler reports problems as [`Diagnostic`]
//! values with a stable [`Code`], and only the edges (CLI, LSP) turn them into text.

mod codes;
mod files;
pub mod render;
mod span;
pub mod words;

pub use codes::{CODES, Code, CodeInfo};
pub use files::{Files, LineRange, Position};
pub use render::{Summary, github, human, json, sarif};
pub use span::{FileId, Span};

use serde::Serialize;

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A span in a file with an optional message, pointing at code related to a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(file: FileId, span: Span, message: impl Into<String>) -> Self {
        Label {
            file,
            span,
            message: message.into(),
        }
    }
}

/// One problem found in a project: what is wrong, where, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The place the problem is; its message may be empty.
    pub primary: Label,
    /// Related places: the declaration, the other branch, the earlier definition.
    pub labels: Vec<Label>,
    /// Free-standing sentences: help, explanations.
    pub notes: Vec<String>,
    /// Fixes as data: each a sentence and the edits that make it, shown as `help:` by
    /// the human renderer, listed by `--format json`, offered by the language server as
    /// quick fixes.
    pub suggestions: Vec<Suggestion>,
}

/// One replacement: the text of `span` in `file` becomes `replacement` (an empty span
/// inserts, an empty replacement deletes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Edit {
    pub file: FileId,
    pub span: Span,
    pub replacement: String,
}

impl Edit {
    pub fn new(file: FileId, span: Span, replacement: impl Into<String>) -> Self {
        Edit {
            file,
            span,
            replacement: replacement.into(),
        }
    }
}

/// A fix for a diagnostic: what it does (`remove the import`, ``did you mean `x`?``)
/// and the edits that make it, which never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Suggestion {
    pub message: String,
    pub edits: Vec<Edit>,
}

impl Suggestion {
    pub fn new(message: impl Into<String>, edits: Vec<Edit>) -> Self {
        Suggestion {
            message: message.into(),
            edits,
        }
    }

    /// A suggestion of one edit.
    pub fn replace(
        message: impl Into<String>,
        file: FileId,
        span: Span,
        replacement: impl Into<String>,
    ) -> Self {
        Suggestion::new(message, vec![Edit::new(file, span, replacement)])
    }
}

impl Diagnostic {
    /// A diagnostic whose severity is the code's own.
    pub fn new(code: Code, message: impl Into<String>, primary: Label) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary,
            labels: Vec::new(),
            notes: Vec::new(),
            suggestions: Vec::new(),
        }
    }

    pub fn with_label(mut self, label: Label) -> Self {
        self.labels.push(label);
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_suggestion(mut self, suggestion: Suggestion) -> Self {
        self.suggestions.push(suggestion);
        self
    }

    pub fn with_suggestions(mut self, suggestions: impl IntoIterator<Item = Suggestion>) -> Self {
        self.suggestions.extend(suggestions);
        self
    }

    /// Moves every span (labels and edits) by `delta` bytes: a body's diagnostics are
    /// built with spans relative to the body and made absolute this way.
    pub fn shift(&mut self, delta: i64) {
        for label in std::iter::once(&mut self.primary).chain(self.labels.iter_mut()) {
            label.span = label.span.shifted(delta);
        }
        for edit in self.suggestions.iter_mut().flat_map(|s| s.edits.iter_mut()) {
            edit.span = edit.span.shifted(delta);
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
