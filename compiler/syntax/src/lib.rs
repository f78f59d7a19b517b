//! Emx syntax: `parse(text)` turns source text into an owned [`ast::Module`] and a list
//! of [`SyntaxError`]s. It never fails: a declaration that does not parse is reported
//! and left out, and the rest of the file is still parsed. pest stays private here.

pub mod ast;
mod parser;

pub use cosmos_diagnostics::Span;
pub use parser::{
    MAX_NESTING, ReparseCache, SyntaxError, SyntaxErrorKind, parse, parse_incremental,
};
