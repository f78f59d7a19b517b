//! The typed IR of Emx: what the checker's output is lowered to, what `cosmosc compile`
//! writes into a bundle, and what the reference interpreter and the Cranelift JIT
//! (`cosmos-codegen`) execute.
//!
//! This crate knows nothing of syntax trees or of the checker: a [`Program`] is plain,
//! serialisable data. Every record, enum and workflow has a layout fixed at compile
//! time, so reading a fact, an input or a field is an access by index.

pub mod bundle;
pub mod clock;
pub mod cron;
mod dump;
pub mod host;
pub mod interp;
mod ir;
pub mod json;
pub mod location;
pub mod schema;
pub mod stack;
mod time;
pub mod validate;
pub mod value;

pub use ir::*;
pub use time::{duration_literal, format_time, parse_time};
