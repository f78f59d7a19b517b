//! The programs a runtime runs: the bundle new instances start on, and every bundle an
//! unfinished instance started on. Bundles are stored by content hash, so a newly
//! deployed bundle leaves running instances on the one they started with, even
//! across restarts.
//!
//! Each loaded bundle is compiled to native code by the JIT (`cosmos-codegen`) once,
//! when it is first needed; `COSMOS_EVALUATOR=interpreter` runs the reference
//! interpreter instead (the JIT is differentially tested against it).

use crate::engine::{Engine, EngineError};
use crate::store::{Store, StoreError};
use cosmos_codegen::{CodegenError, CompiledProgram, Jit, JitWorkflowHost};
use cosmos_ir::Program;
use cosmos_ir::bundle::{Bundle, BundleError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("bundle {0} is not in the store")]
    MissingBundle(String),
    #[error("the JIT cannot compile bundle {hash}: {error}")]
    Jit { hash: String, error: CodegenError },
    #[error("COSMOS_EVALUATOR must be `jit` or `interpreter`, not {0:?}")]
    Evaluator(String),
}

/// The compiler version this runtime accepts bundles from (the workspace shares one).
pub const COMPILER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What runs the bodies of rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Evaluator {
    /// Native code from the Cranelift JIT: the default.
    #[default]
    Jit,
    /// The reference interpreter over the IR.
    Interpreter,
}

impl Evaluator {
    /// From `COSMOS_EVALUATOR` (`jit`, the default, or `interpreter`).
    pub fn from_env() -> Result<Evaluator, DeploymentError> {
        match std::env::var("COSMOS_EVALUATOR").as_deref() {
            Err(_) | Ok("") | Ok("jit") => Ok(Evaluator::Jit),
            Ok("interpreter") => Ok(Evaluator::Interpreter),
            Ok(other) => Err(DeploymentError::Evaluator(other.to_string())),
        }
    }
}

/// One bundle's program, ready to run.
pub struct Loaded {
    pub hash: String,
    /// The project's name, from the bundle's header.
    pub project: String,
    pub program: Arc<Program>,
    /// Its native code, when the evaluator is the JIT.
    pub compiled: Option<CompiledProgram>,
}

impl Loaded {
    fn new(hash: String, bundle: Bundle, evaluator: Evaluator) -> Result<Self, DeploymentError> {
        let Bundle {
            project, program, ..
        } = bundle;
        let compiled = match evaluator {
            Evaluator::Jit => {
                Some(
                    Jit::compile(&program).map_err(|error| DeploymentError::Jit {
                        hash: hash.clone(),
                        error,
                    })?,
                )
            }
            Evaluator::Interpreter => None,
        };
        Ok(Loaded {
            hash,
            project,
            program: Arc::new(program),
            compiled,
        })
    }

    /// Bundle `hash` from the store, verified and compiled.
    fn stored(
        store: &dyn Store,
        hash: &str,
        evaluator: Evaluator,
    ) -> Result<Self, DeploymentError> {
        let bytes = store
            .bundle(hash)?
            .ok_or_else(|| DeploymentError::MissingBundle(hash.to_string()))?;
        // The store is outside this process: its bytes are verified like a file's.
        let bundle = Bundle::read_stored(hash, &bytes, COMPILER_VERSION)?;
        Loaded::new(hash.to_string(), bundle, evaluator)
    }

    /// The engine for `workflow`, on native code or on the interpreter.
    pub fn engine(&self, workflow: &str) -> Result<Engine<'_>, EngineError> {
        match &self.compiled {
            Some(compiled) => {
                let host = JitWorkflowHost::new(compiled, workflow)?;
                Ok(Engine::with_handlers(compiled.program(), Box::new(host)))
            }
            None => Engine::new(&self.program, workflow),
        }
    }
}

pub struct Deployment {
    current: Arc<Loaded>,
    evaluator: Evaluator,
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
}

/// The content hash that names a bundle.
pub fn bundle_hash(bytes: &[u8]) -> String {
    cosmos_ir::bundle::content_hash(bytes)
}

impl Deployment {
    /// Deploys `bytes` (a bundle written by `cosmosc compile`): verifies it
    /// (`Bundle::read`: versions, hash, IR validation), compiles it, records it in
    /// the store, and makes it the bundle new instances start on.
    pub fn deploy(
        store: &dyn Store,
        bytes: &[u8],
        now: i64,
        evaluator: Evaluator,
    ) -> Result<Self, DeploymentError> {
        let bundle = Bundle::read(bytes, COMPILER_VERSION)?;
        let hash = bundle_hash(bytes);
        let current = Arc::new(Loaded::new(hash.clone(), bundle, evaluator)?);
        store.put_bundle(&hash, bytes, now)?;
        let mut loaded = HashMap::new();
        loaded.insert(hash, Arc::clone(&current));
        Ok(Deployment {
            current,
            evaluator,
            loaded: Mutex::new(loaded),
        })
    }

    /// A deployment of bundle `hash`, already in the store, for working on the
    /// instances that run on it without deploying anything (`cosmosc instances
    /// signal --store`): nothing is written.
    pub fn stored(
        store: &dyn Store,
        hash: &str,
        evaluator: Evaluator,
    ) -> Result<Self, DeploymentError> {
        let current = Arc::new(Loaded::stored(store, hash, evaluator)?);
        let mut loaded = HashMap::new();
        loaded.insert(hash.to_string(), Arc::clone(&current));
        Ok(Deployment {
            current,
            evaluator,
            loaded: Mutex::new(loaded),
        })
    }

    /// The bundle new instances start on.
    pub fn current(&self) -> &Arc<Loaded> {
        &self.current
    }

    /// Bundle `hash`, loaded from the store (and compiled) the first time.
    pub fn loaded(&self, store: &dyn Store, hash: &str) -> Result<Arc<Loaded>, DeploymentError> {
        if let Some(l) = self.loaded.lock().ok().and_then(|m| m.get(hash).cloned()) {
            return Ok(l);
        }
        let loaded = Arc::new(Loaded::stored(store, hash, self.evaluator)?);
        if let Ok(mut map) = self.loaded.lock() {
            map.insert(hash.to_string(), Arc::clone(&loaded));
        }
        Ok(loaded)
    }

    /// The program of bundle `hash`.
    pub fn program(&self, store: &dyn Store, hash: &str) -> Result<Arc<Program>, DeploymentError> {
        Ok(Arc::clone(&self.loaded(store, hash)?.program))
    }
}
