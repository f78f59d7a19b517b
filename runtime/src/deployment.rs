//! The programs a runtime runs: the bundle new instances start on, and every bundle an
//! unfinished instance started on. Bundles are stored by content hash, so a newly
//! deployed bundle leaves running instances on the one they started with, even
//! across restarts.

use crate::store::{Store, StoreError};
use cosmos_ir::Program;
use cosmos_ir::bundle::{Bundle, BundleError};
use sha2::{Digest, Sha256};
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
}

/// The compiler version this runtime accepts bundles from (the workspace shares one).
pub const COMPILER_VERSION: &str = env!("CARGO_PKG_VERSION");

pub struct Deployment {
    current: String,
    current_program: Arc<Program>,
    loaded: Mutex<HashMap<String, Arc<Program>>>,
}

/// The content hash that names a bundle.
pub fn bundle_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Deployment {
    /// Deploys `bytes` (a bundle written by `cosmosc compile`): checks it, records it
    /// in the store, and makes it the bundle new instances start on.
    pub fn deploy(store: &dyn Store, bytes: &[u8], now: i64) -> Result<Self, DeploymentError> {
        let bundle = Bundle::read(bytes, COMPILER_VERSION)?;
        let hash = bundle_hash(bytes);
        store.put_bundle(&hash, bytes, now)?;
        let program = Arc::new(bundle.program);
        let mut loaded = HashMap::new();
        loaded.insert(hash.clone(), Arc::clone(&program));
        Ok(Deployment {
            current: hash,
            current_program: program,
            loaded: Mutex::new(loaded),
        })
    }

    /// The bundle new instances start on: its hash and program.
    pub fn current(&self) -> (&str, &Arc<Program>) {
        (&self.current, &self.current_program)
    }

    /// The program of bundle `hash`, loaded from the store the first time.
    pub fn program(&self, store: &dyn Store, hash: &str) -> Result<Arc<Program>, DeploymentError> {
        if let Some(p) = self.loaded.lock().ok().and_then(|m| m.get(hash).cloned()) {
            return Ok(p);
        }
        let bytes = store
            .bundle(hash)?
            .ok_or_else(|| DeploymentError::MissingBundle(hash.to_string()))?;
        let program = Arc::new(Bundle::read(&bytes, COMPILER_VERSION)?.program);
        if let Ok(mut map) = self.loaded.lock() {
            map.insert(hash.to_string(), Arc::clone(&program));
        }
        Ok(program)
    }
}
