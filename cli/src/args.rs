//! The command line's shape, declared with clap's derive API. The help texts here are
//! the user's documentation of streams and exit codes, so they must stay true.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cosmosc",
    version,
    about = "The Cosmos toolchain for Emx workflows",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output: `auto` colours only a terminal and honours NO_COLOR
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Check(CheckArgs),
    Fmt(FmtArgs),
    /// Runs the language server on stdin and stdout (for editors)
    Lsp,
}

/// Checks a project: parses and type-checks every `.emx` file under its source root.
#[derive(Debug, Args)]
#[command(
    long_about = "Checks a project: parses and type-checks every `.emx` file under its source root.\n\n\
The project is found by walking up from DIR to the nearest folder holding `cosmos.toml`. \
File paths in diagnostics are relative to that folder.",
    after_help = "Output:\n  \
human  diagnostics and a summary line (`checked N files: E errors, W warnings`) on stderr\n  \
json   one JSON document on stdout: {\"diagnostics\": [...], \"errors\": N, \"warnings\": N}\n  \
sarif  a SARIF 2.1.0 log on stdout, for code scanning\n\n\
Exit status:\n  \
0  no errors (and no warnings, with --deny-warnings)\n  \
1  errors found, or warnings with --deny-warnings\n  \
2  usage error, or the project could not be loaded (no or bad cosmos.toml, unreadable file); \
one `error:` line on stderr and nothing else"
)]
pub(crate) struct CheckArgs {
    /// A folder in the project, or below its root
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Exit with status 1 when there are warnings, even without errors
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Formats `.emx` files in the one canonical style.
#[derive(Debug, Args)]
#[command(
    long_about = "Formats `.emx` files in the one canonical style (docs/formatting.md), in place.\n\n\
Each PATH is a file or a folder (every `.emx` file under it, recursively). With no PATH, \
formats the sources of the project found by walking up from the current folder to the \
nearest `cosmos.toml`. Formatting never changes what a file means and keeps every comment.",
    after_help = "Output:\n  \
--check lists each file that would change, one per line, on stdout\n  \
a file with syntax errors is left untouched: one `error:` line on stderr names it \
and its first error's line:column\n\n\
Exit status:\n  \
0  every file is formatted (or was formatted now)\n  \
1  with --check, some file would change; or some file has syntax errors\n  \
2  usage error, a PATH that cannot be read, or no project found"
)]
pub(crate) struct FmtArgs {
    /// Files or folders to format; the current project's sources when none is given
    pub paths: Vec<PathBuf>,

    /// Change nothing: list the files that would change and exit 1 if there are any
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Rendered for people, on stderr
    Human,
    /// One JSON document, on stdout
    Json,
    /// SARIF 2.1.0, on stdout
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}
