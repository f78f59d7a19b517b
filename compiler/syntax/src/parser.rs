//! Placeholder until the pest parser lands.

use crate::{Span, ast::Module};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SyntaxErrorKind {
    /// The parser expected one of these (in words) and found something else.
    Unexpected { expected: Vec<String>, found: String },
    /// A literal is malformed or out of range.
    InvalidLiteral { message: String },
}

pub fn parse(_text: &str) -> (Module, Vec<SyntaxError>) {
    (Module::default(), Vec::new())
}
