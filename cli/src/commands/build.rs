//! Building a project into a bundle in memory, for the commands that run it (`run`,
//! `serve`): the same checks as `check`, diagnostics on stderr, and the bundle bytes
//! that `compile` would write.

use std::io::Write;
use std::path::Path;

use cosmos_diagnostics::{Summary, human};
use cosmos_ir::bundle::{Bundle, BundleError, BundleSource};
use cosmos_project::{Project, ProjectError, find_project_root, load_project};
use cosmos_semantics::Analysis;

use crate::args::ColorChoice;
use crate::commands::check;

#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("cannot write diagnostics: {0}")]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

/// Whether the process ends soon after building (`compile`), or lives on with the
/// bundle (`run`, `serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    Exit,
    Run,
}

/// Prints the project's diagnostics on stderr, as `check` renders them for people,
/// and when there are errors the summary line; whether there were errors.
pub(crate) fn print_diagnostics(
    project: &Project,
    analysis: &Analysis,
    color: ColorChoice,
) -> std::io::Result<bool> {
    let diagnostics = analysis.diagnostics();
    let summary = Summary::of(&diagnostics);
    let stderr = std::io::stderr();
    let colored = crate::color::enabled(color, &stderr);
    let mut err = stderr.lock();
    if !diagnostics.is_empty() {
        let files = check::files(project);
        err.write_all(human::render(&diagnostics, &files, colored).as_bytes())?;
    }
    if summary.errors > 0 {
        writeln!(err, "{}", check::summary_line(project.files.len(), summary))?;
    }
    err.flush()?;
    Ok(summary.errors > 0)
}

/// A checked project and its bundle, or `None` when it has errors (already printed on
/// stderr with the summary line, or the lowering error).
pub(crate) fn build(
    dir: &Path,
    color: ColorChoice,
    then: Then,
) -> Result<Option<(Project, Bundle)>, BuildError> {
    let root = find_project_root(dir)?;
    let project = load_project(&root)?;
    let mut analysis = Analysis::new();
    analysis.disable_reparse_cache();
    analysis.set_declared_pools(project.config.pools.keys().cloned().collect());
    for file in &project.files {
        analysis.set_file(file.id, &file.module, file.text.clone());
    }
    if print_diagnostics(&project, &analysis, color)? {
        return Ok(None);
    }
    let mut err = std::io::stderr().lock();
    let mut program = match analysis.lower_project() {
        Ok(program) => program,
        Err(error) => {
            writeln!(err, "error: {error}")?;
            err.flush()?;
            return Ok(None);
        }
    };
    match then {
        // Freeing the compiler's many small trees takes longer than the exit does.
        Then::Exit => std::mem::forget(analysis),
        // `run` and `serve` live on: the memory would stay resident for nothing.
        Then::Run => drop(analysis),
    }
    name_files(&mut program, &project);
    let sources = project
        .files
        .iter()
        .map(|file| BundleSource::new(&file.path, &file.module, file.text.as_bytes()))
        .collect();
    let bundle = Bundle::new(
        env!("CARGO_PKG_VERSION"),
        project.config.project.name.clone(),
        sources,
        program,
    );
    Ok(Some((project, bundle)))
}

/// Shows the project's own files in run-time errors under their paths from the
/// project root (`src/flows.emx:12:17`); the standard library's keep `std/…`.
pub(crate) fn name_files(program: &mut cosmos_ir::Program, project: &Project) {
    program.name_files(|module| {
        project
            .files
            .iter()
            .find(|f| f.module == module)
            .map(|f| f.path.clone())
    });
}
