//! `cosmosc lsp`: the language server on stdin and stdout, for editors.

use crate::Status;

/// Serves until the client sends `exit` or closes the connection.
pub(crate) fn run() -> Result<Status, std::io::Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(cosmos_lsp::run_stdio());
    // The thread reading stdin may be blocked until the editor closes it, which it
    // need not do after `exit`: the process ends without waiting for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(Status::Clean)
}
