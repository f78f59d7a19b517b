//! `cosmosc compile`: checks the project as `check` does, lowers it to the typed IR and
//! writes a bundle (`cosmos_ir::bundle`) that the runtime loads without the sources.
//! Diagnostics and the summary line go to stderr; stdout carries only `--emit` output.

use std::io::Write;
use std::path::{Path, PathBuf};

use cosmos_ir::bundle::{BundleError, EXTENSION};
use cosmos_project::{Project, ProjectError};
use cosmos_runtime::api::workflows::BundleInfo;

use crate::Status;
use crate::args::{ColorChoice, CompileArgs, Emit};
use crate::commands::build::{BuildError, Then, build};
use crate::commands::check;

/// Why `compile` could not do its job (exit 2), as opposed to the project not
/// compiling (exit 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompileError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Build(#[from] BuildError),
}

pub(crate) fn run(args: &CompileArgs, color: ColorChoice) -> Result<Status, CompileError> {
    let Some((project, bundle)) = build(&args.dir, color, Then::Exit)? else {
        return Ok(Status::Failed);
    };
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    let (workflows, bodies) = bundle.counts();

    if args.emit == Some(Emit::Ir) {
        let mut out = std::io::stdout().lock();
        out.write_all(bundle.program.dump().as_bytes())?;
        out.flush()?;
    }
    if args.emit == Some(Emit::Clif) {
        match cosmos_codegen::Jit::clif(&bundle.program) {
            Ok(text) => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
            Err(error) => {
                writeln!(err, "error: {error}")?;
                err.flush()?;
                return Ok(Status::Failed);
            }
        }
    }

    if args.emit == Some(Emit::Openapi) {
        let bytes = bundle.to_bytes()?;
        let hash = cosmos_runtime::deployment::bundle_hash(&bytes);
        let document = cosmos_runtime::api::openapi::document(BundleInfo {
            project: &bundle.project,
            hash: &hash,
            compiler_version: &bundle.compiler_version,
            program: &bundle.program,
        });
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &document).map_err(std::io::Error::from)?;
        writeln!(out)?;
        out.flush()?;
    }

    // `--emit` alone only prints; `-o` (or no `--emit`) writes the bundle.
    if args.emit.is_none() || args.output.is_some() {
        let path = match &args.output {
            Some(path) => path.clone(),
            None => default_output(&project),
        };
        write_bundle(&path, &bundle.to_bytes()?)?;
        writeln!(
            err,
            "compiled {}, {} (the standard library's included) to {}",
            check::plural(workflows, "workflow"),
            check::plural(bodies, "function"),
            path.display()
        )?;
    }
    err.flush()?;
    Ok(Status::Clean)
}

/// `<project root>/target/<project name>.cosmos`.
pub(crate) fn default_output(project: &Project) -> PathBuf {
    project
        .root
        .join("target")
        .join(format!("{}.{EXTENSION}", project.config.project.name))
}

/// Writes through a temporary file beside `path` and renames it into place, so that
/// a failed write never leaves a partial bundle where the runtime would load it.
fn write_bundle(path: &Path, bytes: &[u8]) -> Result<(), CompileError> {
    let fail = |source| CompileError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        fail(e)
    })
}
