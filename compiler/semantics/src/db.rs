//! The salsa database: inputs (the project's files and their texts) and the parse query.

use cosmos_diagnostics::FileId;
use cosmos_syntax::{SyntaxError, ast};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The database as the queries see it: salsa's, plus the parser's re-parse caches.
#[salsa::db]
pub trait Db: salsa::Database {
    /// The cache of `file`'s previous parse, which only ever changes how fast it is
    /// parsed again, never the result.
    /// `None` when the host parses each text once (a one-shot `cosmosc check`), where
    /// keeping the pieces would cost time and memory for nothing.
    fn reparse_cache(&self, file: FileId) -> Option<Arc<Mutex<cosmos_syntax::ReparseCache>>>;
}

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

/// What the project's `cosmos.toml` declares that the checker needs: the pool names
/// (`[pools.NAME]`). `None` when the host has no configuration to give.
#[salsa::input(singleton)]
pub struct ProjectConfig {
    #[returns(ref)]
    pub pools: Option<Vec<String>>,
}

/// A file's syntax tree and syntax errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub module: Arc<ast::Module>,
    pub errors: Vec<SyntaxError>,
}

#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn Db, file: SourceFile) -> Parsed {
    let Some(cache) = db.reparse_cache(file.id(db)) else {
        let (module, errors) = cosmos_syntax::parse(file.text(db));
        return Parsed {
            module: Arc::new(module),
            errors,
        };
    };
    let (module, errors) = match cache.lock() {
        Ok(mut cache) => cosmos_syntax::parse_incremental(file.text(db), &mut cache),
        // A parse that panicked while holding the cache left it unknown: start afresh.
        Err(poisoned) => {
            let mut cache = poisoned.into_inner();
            *cache = cosmos_syntax::ReparseCache::default();
            cosmos_syntax::parse_incremental(file.text(db), &mut cache)
        }
    };
    Parsed {
        module: Arc::new(module),
        errors,
    }
}

/// Module name → file, for every file of the project.
#[salsa::tracked(returns(ref))]
pub fn module_index(db: &dyn Db) -> BTreeMap<String, SourceFile> {
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
pub fn module_file(db: &dyn Db, module: &str) -> Option<SourceFile> {
    module_index(db).get(module).copied()
}

/// A record of the queries salsa executed, for tests that prove what was re-checked.
pub type ExecutionLog = Arc<Mutex<Vec<String>>>;

/// One re-parse cache per file, shared by every handle on the database.
type ReparseCaches = Arc<Mutex<HashMap<FileId, Arc<Mutex<cosmos_syntax::ReparseCache>>>>>;

#[salsa::db]
#[derive(Clone)]
pub struct Database {
    storage: salsa::Storage<Self>,
    /// `None` when re-parse caching is off.
    reparse: Option<ReparseCaches>,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            storage: salsa::Storage::new(None),
            reparse: Some(ReparseCaches::default()),
        }
    }
}

impl Database {
    /// Stops keeping each file's pieces for re-parsing (see [`Db::reparse_cache`]).
    pub fn disable_reparse_cache(&mut self) {
        self.reparse = None;
    }

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
            reparse: Some(ReparseCaches::default()),
        }
    }
}

#[salsa::db]
impl salsa::Database for Database {}

#[salsa::db]
impl Db for Database {
    fn reparse_cache(&self, file: FileId) -> Option<Arc<Mutex<cosmos_syntax::ReparseCache>>> {
        let caches = self.reparse.as_ref()?;
        Some(match caches.lock() {
            Ok(mut caches) => caches.entry(file).or_default().clone(),
            // Another thread panicked while inserting; a fresh cache is always correct.
            Err(_) => Arc::default(),
        })
    }
}
