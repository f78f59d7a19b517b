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
    /// Free-standing sentences: help, suggestions, explanations.
    pub notes: Vec<String>,
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

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
