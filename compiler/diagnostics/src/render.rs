//! Turning diagnostics into text at the edge: [`human`] for people (codespan-reporting),
//! [`json`] for scripts (`--format json`), [`sarif`] for code-scanning tools, [`github`]
//! for GitHub Actions annotations.
//! Every renderer takes the texts from a [`Files`](crate::Files) and never fails or
//! panics, whatever the spans.

mod fix;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::{Diagnostic, Severity};

/// How many errors and warnings a list of diagnostics holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
}

impl Summary {
    pub fn of(diagnostics: &[Diagnostic]) -> Summary {
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        Summary {
            errors,
            warnings: diagnostics.len() - errors,
        }
    }
}
