//! `cosmosc check`: loads the project, runs the analysis over every file and renders
//! the diagnostics. Human output goes to stderr, as rustc's and cargo's do, so that
//! stdout carries only the machine formats (`json`, `sarif`).

use std::io::Write;

use cosmos_diagnostics::github::GithubOptions;
use cosmos_diagnostics::sarif::SarifOptions;
use cosmos_diagnostics::{Diagnostic, Files, Summary, github, human, json, sarif};
use cosmos_project::{Project, ProjectError, find_project_root, load_project};
use cosmos_semantics::{Analysis, std_sources};

use crate::Status;
use crate::args::{CheckArgs, ColorChoice, Format};

/// Why `check` could not do its job (exit 2), as opposed to finding problems (exit 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CheckError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
}

pub(crate) fn run(args: &CheckArgs, color: ColorChoice) -> Result<Status, CheckError> {
    let root = find_project_root(&args.dir)?;
    let project = load_project(&root)?;
    let diagnostics = analyse(&project);
    let files = files(&project);
    let summary = Summary::of(&diagnostics);

    match format(args.format, std::env::var("GITHUB_ACTIONS").ok().as_deref()) {
        Format::Human => {
            let stderr = std::io::stderr();
            let color = crate::color::enabled(color, &stderr);
            let mut out = stderr.lock();
            out.write_all(human::render(&diagnostics, &files, color).as_bytes())?;
            writeln!(out, "{}", summary_line(project.files.len(), summary))?;
            out.flush()?;
        }
        Format::Json => print(&json::render(&diagnostics, &files))?,
        Format::Sarif => {
            let options = SarifOptions {
                tool_version: env!("CARGO_PKG_VERSION"),
                src_root: Some(&project.root),
            };
            print(&sarif::render(&diagnostics, &files, &options))?;
        }
        Format::Github => {
            let prefix = github_prefix(&project.root);
            let options = GithubOptions {
                path_prefix: &prefix,
            };
            print(&github::render(&diagnostics, &files, &options))?;
        }
    }

    Ok(status(summary, args.deny_warnings))
}

/// The format asked for, else GitHub annotations inside GitHub Actions, else human.
fn format(asked: Option<Format>, github_actions: Option<&str>) -> Format {
    match asked {
        Some(format) => format,
        None if github_actions == Some("true") => Format::Github,
        None => Format::Human,
    }
}

/// The project root relative to the repository's root (GITHUB_WORKSPACE, else the
/// current folder), `/`-separated, since annotations name files from the repository's
/// root; empty when the root is not below it.
fn github_prefix(root: &std::path::Path) -> String {
    let base = std::env::var_os("GITHUB_WORKSPACE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let Some(base) = base.and_then(|base| base.canonicalize().ok()) else {
        return String::new();
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    match root.strip_prefix(&base) {
        Ok(relative) => relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => String::new(),
    }
}

fn status(summary: Summary, deny_warnings: bool) -> Status {
    if summary.errors > 0 || (deny_warnings && summary.warnings > 0) {
        Status::Failed
    } else {
        Status::Clean
    }
}

fn analyse(project: &Project) -> Vec<Diagnostic> {
    let mut analysis = Analysis::new();
    analysis.disable_reparse_cache();
    analysis.set_declared_pools(project.config.pools.keys().cloned().collect());
    for file in &project.files {
        analysis.set_file(file.id, &file.module, file.text.clone());
    }
    let diagnostics = analysis.diagnostics();
    // The process ends right after this; freeing every memoised tree one by one would
    // only delay the exit (by a third of the run on a large project).
    std::mem::forget(analysis);
    diagnostics
}

/// The project's files and the standard library's, which labels may point into.
pub(crate) fn files(project: &Project) -> Files {
    let mut files = Files::new();
    for file in &project.files {
        files.add(file.id, file.path.clone(), file.text.clone());
    }
    for source in std_sources() {
        files.add(source.file, source.path, source.text);
    }
    files
}

fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

pub(crate) fn summary_line(files: usize, summary: Summary) -> String {
    format!(
        "checked {}: {}, {}",
        plural(files, "file"),
        plural(summary.errors, "error"),
        plural(summary.warnings, "warning"),
    )
}

/// `n` and `word` in agreement ("1 error", "2 errors"), as every message says them.
pub(crate) fn plural(n: usize, word: &str) -> String {
    cosmos_diagnostics::words::count(n, word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_fail_and_warnings_fail_only_when_denied() {
        let summary = |errors, warnings| Summary { errors, warnings };
        assert_eq!(status(summary(0, 0), false), Status::Clean);
        assert_eq!(status(summary(0, 0), true), Status::Clean);
        assert_eq!(status(summary(1, 0), false), Status::Failed);
        assert_eq!(status(summary(0, 2), false), Status::Clean);
        assert_eq!(status(summary(0, 2), true), Status::Failed);
        assert_eq!(status(summary(3, 2), false), Status::Failed);
    }

    #[test]
    fn github_actions_choose_annotations_unless_a_format_is_given() {
        assert_eq!(format(None, None), Format::Human);
        assert_eq!(format(None, Some("true")), Format::Github);
        assert_eq!(format(None, Some("false")), Format::Human);
        assert_eq!(format(Some(Format::Json), Some("true")), Format::Json);
        assert_eq!(format(Some(Format::Github), None), Format::Github);
    }

    #[test]
    fn summary_line_counts() {
        let summary = Summary {
            errors: 1,
            warnings: 2,
        };
        assert_eq!(
            summary_line(1, summary),
            "checked 1 file: 1 error, 2 warnings"
        );
        assert_eq!(
            summary_line(3, Summary::default()),
            "checked 3 files: 0 errors, 0 warnings"
        );
    }
}
