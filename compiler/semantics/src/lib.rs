//! Emx semantics on salsa: the project's file texts are inputs; parsing, module scopes,
//! signatures and one type check per body are tracked queries.
//!
//! The public surface is [`Analysis`]: hosts (the CLI, the LSP, tests) set file texts
//! and ask for diagnostics and facts about the code. This crate does no IO.

mod bodies;
mod body;
pub mod builtins;
mod check;
mod children;
mod db;
mod diagnostics;
mod fixes;
pub mod ide;
mod items;
mod lower;
mod retry;
mod scope;
mod signatures;
mod suggest;
mod syntax_hints;
pub mod types;

pub use body::BodyPath;
pub use check::BodyKind;
pub use db::ExecutionLog;
pub use lower::{AssertIr, AssertPart, LowerError, MockIr, TestIr, TestStep};
pub use signatures::{FieldSig, WorkflowSig};

use cosmos_diagnostics::{Diagnostic, FileId};
use db::{Database, ProjectFiles, SourceFile};
use salsa::{Durability, Setter};
use std::collections::{BTreeMap, BTreeSet};

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

static STD: &[StdSource] = &[
    StdSource {
        module: "std.core",
        path: "std/core.emx",
        text: include_str!("../../../std/core.emx"),
        file: FileId(STD_FILE_BASE),
    },
    StdSource {
        module: "std.media",
        path: "std/media.emx",
        text: include_str!("../../../std/media.emx"),
        file: FileId(STD_FILE_BASE + 1),
    },
    StdSource {
        module: "std.retry",
        path: "std/retry.emx",
        text: include_str!("../../../std/retry.emx"),
        file: FileId(STD_FILE_BASE + 2),
    },
];

/// The standard library's modules.
pub fn std_sources() -> &'static [StdSource] {
    STD
}

/// What the runtime needs to know about one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSets {
    pub name: String,
    /// Facts and inputs its `match` reads.
    pub reads: BTreeSet<String>,
    /// Facts its `reaction` and `error` may assign.
    pub writes: BTreeSet<String>,
}

/// The analysis of one project: a salsa database behind a small API.
pub struct Analysis {
    db: Database,
    /// What `cosmos.toml` tells the checker (created with the database, so that queries
    /// always see it).
    config: db::ProjectConfig,
    /// How many threads check files at once.
    threads: usize,
    project: ProjectFiles,
    files: BTreeMap<FileId, SourceFile>,
}

impl Default for Analysis {
    fn default() -> Self {
        Self::new()
    }
}

impl Analysis {
    /// An empty project (the standard library is always present).
    pub fn new() -> Self {
        Self::from_database(Database::default())
    }

    /// Like [`Analysis::new`], appending the name of every query salsa executes to `log`.
    pub fn with_execution_log(log: ExecutionLog) -> Self {
        Self::from_database(Database::with_execution_log(log))
    }

    fn from_database(db: Database) -> Self {
        let project = ProjectFiles::new(&db, Vec::new());
        let config = db::ProjectConfig::builder(None)
            .pools_durability(Durability::MEDIUM)
            .new(&db);
        let mut analysis = Analysis {
            db,
            config,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            project,
            files: BTreeMap::new(),
        };
        for source in STD {
            analysis.set_file(source.file, source.module, source.text.to_string());
        }
        analysis
    }

    /// Adds a source file or replaces its text. `module` is its dotted module name
    /// (`media.types` for `src/media/types.emx`).
    ///
    /// Durability tells salsa what changes rarely, so that it can skip re-verifying
    /// work that depends only on such inputs: the standard library never changes, a
    /// file as loaded changes rarely, and a file once edited is expected to change
    /// again.
    pub fn set_file(&mut self, file: FileId, module: &str, text: String) {
        if let Some(existing) = self.files.get(&file).copied() {
            if existing.module(&self.db) != module {
                existing
                    .set_module(&mut self.db)
                    .with_durability(Durability::LOW)
                    .to(module.to_string());
            }
            if existing.text(&self.db) != &text {
                existing
                    .set_text(&mut self.db)
                    .with_durability(Durability::LOW)
                    .to(text);
            }
            return;
        }
        let durability = if file.0 >= STD_FILE_BASE {
            Durability::HIGH
        } else {
            Durability::MEDIUM
        };
        let source = SourceFile::builder(file, module.to_string(), text)
            .id_durability(durability)
            .module_durability(durability)
            .text_durability(durability)
            .new(&self.db);
        self.files.insert(file, source);
        self.sync_project();
    }

    /// For hosts that check each text once and exit (a one-shot `cosmosc check`): files
    /// are parsed from scratch, with no pieces kept for re-parsing after an edit.
    pub fn disable_reparse_cache(&mut self) {
        self.db.disable_reparse_cache();
    }

    /// Sets how many threads check files at once (at least one).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Tells the checker which pools `cosmos.toml` declares (`[pools.NAME]`), so that a
    /// function naming another pool is reported (W0006). Without this call no pool
    /// names are checked.
    pub fn set_declared_pools(&mut self, pools: Vec<String>) {
        let config = self.config;
        if config.pools(&self.db).as_ref() != Some(&pools) {
            config
                .set_pools(&mut self.db)
                .with_durability(Durability::MEDIUM)
                .to(Some(pools));
        }
    }

    /// Removes a source file from the project.
    pub fn remove_file(&mut self, file: FileId) {
        if self.files.remove(&file).is_some() {
            self.sync_project();
        }
    }

    fn sync_project(&mut self) {
        let files: Vec<SourceFile> = self.files.values().copied().collect();
        self.project
            .set_files(&mut self.db)
            .with_durability(Durability::MEDIUM)
            .to(files);
    }

    /// Every diagnostic of the project's own files (not the standard library's),
    /// sorted by file and position.
    ///
    /// Files are checked on as many threads as the machine has cores, each with its
    /// own handle on the database; salsa shares the work they have in common.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let files: Vec<SourceFile> = self
            .files
            .iter()
            .filter(|(id, _)| id.0 < STD_FILE_BASE)
            .map(|(_, file)| *file)
            .collect();
        let threads = self.threads.min(files.len());
        if threads <= 1 {
            return files
                .iter()
                .flat_map(|file| diagnostics::file_diagnostics(&self.db, *file).clone())
                .collect();
        }
        let mut slots: Vec<Option<Vec<Diagnostic>>> = vec![None; files.len()];
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|worker| {
                    let db = self.db.clone();
                    let files = &files;
                    scope.spawn(move || {
                        // Round-robin, so that large and small files spread evenly.
                        files
                            .iter()
                            .enumerate()
                            .skip(worker)
                            .step_by(threads)
                            .map(|(i, file)| (i, diagnostics::file_diagnostics(&db, *file).clone()))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for worker in workers {
                if let Ok(results) = worker.join() {
                    for (i, found) in results {
                        if let Some(slot) = slots.get_mut(i) {
                            *slot = Some(found);
                        }
                    }
                }
            }
        });
        // A worker that panicked left its files empty: check them here, where a panic
        // reaches the caller as it would have without threads.
        files
            .iter()
            .zip(slots)
            .flat_map(|(file, slot)| {
                slot.unwrap_or_else(|| diagnostics::file_diagnostics(&self.db, *file).clone())
            })
            .collect()
    }

    /// The diagnostics of one file.
    pub fn file_diagnostics(&self, file: FileId) -> Vec<Diagnostic> {
        match self.files.get(&file) {
            Some(source) => diagnostics::file_diagnostics(&self.db, *source).clone(),
            None => Vec::new(),
        }
    }

    /// Diagnostics of the standard library itself (empty unless `std/` is broken).
    pub fn std_diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (id, file) in &self.files {
            if id.0 >= STD_FILE_BASE {
                out.extend(
                    diagnostics::file_diagnostics(&self.db, *file)
                        .iter()
                        .cloned(),
                );
            }
        }
        out
    }

    /// The read and write sets of every rule of a workflow, by workflow name.
    pub fn rule_sets(&self, workflow: &str) -> Option<Vec<RuleSets>> {
        self.files
            .values()
            .find_map(|file| diagnostics::rule_sets(&self.db, *file, workflow))
    }

    /// Lowers the whole project to the typed IR, standard library included. Refuses a
    /// project with errors: only checked code is lowered.
    pub fn lower_project(&self) -> Result<cosmos_ir::Program, LowerError> {
        let files = self.checked_files()?;
        lower::lower_project(&self.db, &files)
    }

    /// Lowers the project, as [`Analysis::lower_project`] does, and its `test` blocks.
    pub fn lower_with_tests(&self) -> Result<(cosmos_ir::Program, Vec<TestIr>), LowerError> {
        let files = self.checked_files()?;
        lower::lower_project_and_tests(&self.db, &files)
    }

    /// Every file, when the project (standard library included) has no errors.
    fn checked_files(&self) -> Result<Vec<SourceFile>, LowerError> {
        let errors = self
            .diagnostics()
            .into_iter()
            .chain(self.std_diagnostics())
            .filter(|d| d.severity == cosmos_diagnostics::Severity::Error)
            .count();
        if errors > 0 {
            return Err(LowerError::HasErrors(errors));
        }
        Ok(self.files.values().copied().collect())
    }

    /// A read-only copy of the analysis as it is now, for another thread: see
    /// [`Snapshot`].
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            analysis: Analysis {
                db: self.db.clone(),
                config: self.config,
                threads: self.threads,
                project: self.project,
                files: self.files.clone(),
            },
        }
    }

    /// The signature of a workflow, by name.
    pub fn workflow_signature(&self, workflow: &str) -> Option<WorkflowSig> {
        self.files.values().find_map(|file| {
            signatures::module_signatures(&self.db, *file)
                .workflows
                .get(workflow)
                .cloned()
        })
    }
}

/// A read-only handle on an [`Analysis`], to compute answers on another thread while
/// the host keeps editing the original. A change to the original (`set_file`, …)
/// cancels the work of every snapshot and waits until they are dropped, so that a
/// snapshot's answers never mix two states: run the work through
/// [`Snapshot::catch`] and drop the snapshot when it returns [`Cancelled`].
pub struct Snapshot {
    analysis: Analysis,
}

/// The analysis changed while a snapshot was computing: its answer would be stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the analysis changed while the answer was being computed")]
pub struct Cancelled;

impl Snapshot {
    /// Runs `f` on the snapshot, or reports that the original changed meanwhile.
    pub fn catch<T>(&self, f: impl FnOnce(&Analysis) -> T) -> Result<T, Cancelled> {
        salsa::Cancelled::catch(std::panic::AssertUnwindSafe(|| f(&self.analysis)))
            .map_err(|_| Cancelled)
    }
}
