//! The salsa database: inputs (the project's files and their texts) and the parse query.

use cosmos_diagnostics::FileId;
use cosmos_syntax::{SyntaxError, ast};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One source file: its host-assigned id, its dotted module name and its text.
#[salsa::input]
pub struct SourceFile {
    #[returns(copy)]
    pub id: FileId,
    #[returns(ref)]
    pub module: String,
    #[returns(ref)]
    pub text: String,
}

/// The set of files making up the project, standard library included.
#[salsa::input(singleton)]
pub struct ProjectFiles {
    #[returns(ref)]
    pub files: Vec<SourceFile>,
}

/// A file's syntax tree and syntax errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub module: Arc<ast::Module>,
    pub errors: Vec<SyntaxError>,
}

#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn salsa::Database, file: SourceFile) -> Parsed {
    let (module, errors) = cosmos_syntax::parse(file.text(db));
    Parsed {
        module: Arc::new(module),
        errors,
    }
}

/// Module name → file, for every file of the project.
#[salsa::tracked(returns(ref))]
pub fn module_index(db: &dyn salsa::Database) -> BTreeMap<String, SourceFile> {
    let Some(project) = ProjectFiles::try_get(db) else {
        return BTreeMap::new();
    };
    project
        .files(db)
        .iter()
        .map(|file| (file.module(db).clone(), *file))
        .collect()
}

/// The file of a module, if the project has it.
pub fn module_file(db: &dyn salsa::Database, module: &str) -> Option<SourceFile> {
    module_index(db).get(module).copied()
}

/// A record of the queries salsa executed, for tests that prove what was re-checked.
pub type ExecutionLog = Arc<Mutex<Vec<String>>>;

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            storage: salsa::Storage::new(None),
        }
    }
}

impl Database {
    /// A database that appends the name of every query it executes to `log`.
    pub fn with_execution_log(log: ExecutionLog) -> Self {
        Database {
            storage: salsa::Storage::new(Some(Box::new(move |event: salsa::Event| {
                if let salsa::EventKind::WillExecute { database_key } = event.kind
                    && let Ok(mut entries) = log.lock()
                {
                    entries.push(format!("{database_key:?}"));
                }
            }))),
        }
    }
}

#[salsa::db]
impl salsa::Database for Database {}
