//! Emx semantics on salsa: the project's file texts are inputs; parsing, item trees,
//! name resolution, signatures and one type-check per body are tracked queries.
//!
//! The public surface is [`Analysis`]: hosts (the CLI, the LSP, tests) set file texts
//! and ask for diagnostics and facts about the code. This crate does no IO.

use cosmos_diagnostics::{Diagnostic, FileId};

/// A module of the standard library, compiled into the checker.
#[derive(Debug, Clone, Copy)]
pub struct StdSource {
    /// Dotted module name, such as `std.core`.
    pub module: &'static str,
    /// Path shown in diagnostics, such as `std/core.emx`.
    pub path: &'static str,
    pub text: &'static str,
    pub file: FileId,
}

/// File ids from here up belong to the standard library; hosts number their own
/// files below it.
pub const STD_FILE_BASE: u32 = 0x4000_0000;

/// The standard library's modules.
pub fn std_sources() -> &'static [StdSource] {
    &[]
}

/// The analysis of one project: a salsa database behind a small API.
#[derive(Default)]
pub struct Analysis {}

impl Analysis {
    /// An empty project (the standard library is always present).
    pub fn new() -> Self {
        Analysis {}
    }

    /// Adds a source file or replaces its text. `module` is its dotted module name
    /// (`media.types` for `src/media/types.emx`).
    pub fn set_file(&mut self, _file: FileId, _module: &str, _text: String) {}

    /// Removes a source file from the project.
    pub fn remove_file(&mut self, _file: FileId) {}

    /// Every diagnostic of the project's own files, sorted by file and position.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        Vec::new()
    }
}
