//! The programs of the bundles calls come from, by content hash: a call's result is
//! checked against the result type its own bundle declares, whichever bundle the
//! process running it was built from.

use crate::deployment::{COMPILER_VERSION, Deployment, DeploymentError};
use crate::store::Store;
use cosmos_ir::Program;
use cosmos_ir::bundle::Bundle;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bundle programs by hash.
pub trait Programs: Send + Sync {
    /// The program of bundle `hash`, read from `store` the first time.
    fn program(&self, store: &dyn Store, hash: &str) -> Result<Arc<Program>, DeploymentError>;
}

/// A node's programs are its deployment's (compiled by the JIT for its steps anyway).
impl Programs for Deployment {
    fn program(&self, store: &dyn Store, hash: &str) -> Result<Arc<Program>, DeploymentError> {
        Deployment::program(self, store, hash)
    }
}

/// The programs of a process that takes no steps (a `cosmosc worker`): each bundle
/// read from the store and verified like a file (versions, hash, IR validation), and
/// never compiled.
#[derive(Default)]
pub struct StoredPrograms {
    loaded: Mutex<HashMap<String, Arc<Program>>>,
}

impl Programs for StoredPrograms {
    fn program(&self, store: &dyn Store, hash: &str) -> Result<Arc<Program>, DeploymentError> {
        if let Some(program) = self.loaded.lock().ok().and_then(|m| m.get(hash).cloned()) {
            return Ok(program);
        }
        let bytes = store
            .bundle(hash)?
            .ok_or_else(|| DeploymentError::MissingBundle(hash.to_string()))?;
        let program = Arc::new(Bundle::read_stored(hash, &bytes, COMPILER_VERSION)?.program);
        if let Ok(mut map) = self.loaded.lock() {
            map.insert(hash.to_string(), Arc::clone(&program));
        }
        Ok(program)
    }
}
