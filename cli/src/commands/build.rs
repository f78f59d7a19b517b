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
    #[error("the project has errors: {0}")]
    Lower(String),
}

/// A checked project and its bundle, or `None` when it has errors (already printed).
pub(crate) fn build(
    dir: &Path,
    color: ColorChoice,
) -> Result<Option<(Project, Vec<u8>)>, BuildError> {
    let root = find_project_root(dir)?;
    let project = load_project(&root)?;
    let mut analysis = Analysis::new();
    analysis.disable_reparse_cache();
    analysis.set_declared_pools(project.config.pools.keys().cloned().collect());
    for file in &project.files {
        analysis.set_file(file.id, &file.module, file.text.clone());
    }
    let diagnostics = analysis.diagnostics();
    let summary = Summary::of(&diagnostics);
    let stderr = std::io::stderr();
    let colored = crate::color::enabled(color, &stderr);
    let mut err = stderr.lock();
    if !diagnostics.is_empty() {
        let files = check::files(&project);
        err.write_all(human::render(&diagnostics, &files, colored).as_bytes())?;
    }
    if summary.errors > 0 {
        writeln!(err, "{}", check::summary_line(project.files.len(), summary))?;
        err.flush()?;
        return Ok(None);
    }
    let program = analysis
        .lower_project()
        .map_err(|e| BuildError::Lower(e.to_string()))?;
    // Dropped, not forgotten as `check` does: `serve` lives on, and the compiler's
    // memory would stay resident for nothing.
    drop(analysis);
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
    let bytes = bundle.to_bytes()?;
    Ok(Some((project, bytes)))
}
