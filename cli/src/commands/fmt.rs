//! `cosmosc fmt`: formats `.emx` files in place, or with `--check` only lists the
//! files that would change (`--diff`: shows how). `-` formats standard input to
//! standard output. A file with syntax errors is never touched.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cosmos_format::FormatError;
use cosmos_project::{ProjectError, find_project_root, load_project};

use crate::Status;
use crate::args::FmtArgs;

/// Why `fmt` could not do its job (exit 2), as opposed to finding files to fix (exit 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FmtError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("`-` (standard input) cannot be formatted together with other paths")]
    StdinWithPaths,
}

/// How standard input is named in messages and diffs.
const STDIN: &str = "<stdin>";

/// A file to format: where it is, and how to name it to the user.
struct Target {
    path: PathBuf,
    shown: String,
}

pub(crate) fn run(args: &FmtArgs) -> Result<Status, FmtError> {
    if args.paths.iter().any(|path| path.as_os_str() == "-") {
        if args.paths.len() > 1 {
            return Err(FmtError::StdinWithPaths);
        }
        return stdin(args);
    }
    let targets = targets(&args.paths)?;
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for target in targets {
        let text = fs::read_to_string(&target.path).map_err(|source| FmtError::Read {
            path: target.shown.clone(),
            source,
        })?;
        let Some(formatted) = format_or_report(&text, &target.shown) else {
            failed = true;
            continue;
        };
        if formatted == text {
            continue;
        }
        if args.check {
            failed = true;
            if args.diff {
                out.write_all(diff(&text, &formatted, &target.shown).as_bytes())?;
            } else {
                writeln!(out, "{}", target.shown)?;
            }
        } else {
            fs::write(&target.path, formatted).map_err(|source| FmtError::Write {
                path: target.shown.clone(),
                source,
            })?;
        }
    }
    out.flush()?;
    Ok(if failed {
        Status::Failed
    } else {
        Status::Clean
    })
}

/// `cosmosc fmt -`: standard input to standard output; with `--check`, only the
/// status (and with `--diff` the diff) is printed.
fn stdin(args: &FmtArgs) -> Result<Status, FmtError> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text).map_err(|source| {
        FmtError::Read {
            path: STDIN.to_string(),
            source,
        }
    })?;
    let Some(formatted) = format_or_report(&text, STDIN) else {
        return Ok(Status::Failed);
    };
    let mut out = std::io::stdout().lock();
    let status = if args.check {
        if formatted == text {
            Status::Clean
        } else {
            if args.diff {
                out.write_all(diff(&text, &formatted, STDIN).as_bytes())?;
            }
            Status::Failed
        }
    } else {
        out.write_all(formatted.as_bytes())?;
        Status::Clean
    };
    out.flush()?;
    Ok(status)
}

/// The formatted text, or `None` after telling on stderr why the file was not formatted.
fn format_or_report(text: &str, shown: &str) -> Option<String> {
    match cosmos_format::format(text) {
        Ok(formatted) => Some(formatted),
        Err(FormatError::Syntax(errors)) => {
            if let Some(first) = errors.first() {
                let (line, column) = line_column(text, first.span.start as usize);
                eprintln!(
                    "error: {shown}:{line}:{column}: {}; the file has syntax errors and was not formatted",
                    first.message()
                );
            }
            None
        }
        Err(error @ FormatError::Internal(_)) => {
            eprintln!("error: {shown}: {error}; the file was not formatted");
            None
        }
    }
}

/// A unified diff from the file as it is to the file formatted, three lines of context.
fn diff(text: &str, formatted: &str, shown: &str) -> String {
    similar::TextDiff::from_lines(text, formatted)
        .unified_diff()
        .context_radius(3)
        .header(shown, &format!("{shown} (formatted)"))
        .to_string()
}

/// The files named by the arguments (folders: their `.emx` files, recursively and
/// sorted), or with none, the current project's sources.
fn targets(paths: &[PathBuf]) -> Result<Vec<Target>, FmtError> {
    if paths.is_empty() {
        let root = find_project_root(Path::new("."))?;
        let project = load_project(&root)?;
        return Ok(project
            .files
            .into_iter()
            .map(|file| Target {
                path: root.join(&file.path),
                shown: file.path,
            })
            .collect());
    }
    let mut targets = Vec::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|source| FmtError::Read {
            path: path.display().to_string(),
            source,
        })?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            emx_files(path, &mut found)?;
            found.sort();
            targets.extend(found.into_iter().map(|path| Target {
                shown: path.display().to_string(),
                path,
            }));
        } else {
            targets.push(Target {
                path: path.clone(),
                shown: path.display().to_string(),
            });
        }
    }
    Ok(targets)
}

/// Every `.emx` file under `dir`, skipping hidden files and folders.
fn emx_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FmtError> {
    let read_error = |source| FmtError::Read {
        path: dir.display().to_string(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            emx_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "emx") {
            out.push(path);
        }
    }
    Ok(())
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, column)
}
