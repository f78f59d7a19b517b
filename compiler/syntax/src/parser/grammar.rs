//! The pest parser derived from `grammar/emx.pest` at the repository root, the one
//! source of truth for Emx syntax. Private to this crate.

use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../../grammar/emx.pest"]
pub(crate) struct EmxParser;
