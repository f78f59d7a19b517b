//! `cosmosc lsp`: the language server on stdin and stdout, for editors.

use crate::Status;

/// mimalloc's option for how long freed memory is kept before it is handed back.
pub(crate) const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// mimalloc hands freed pages back 10 ms after they are freed, so each large answer
/// (the semantic tokens of a 24,000-line file are 2 MB of JSON) lands on fresh pages
/// that the kernel must clear first: a quarter of the server's time in
/// `docs/benchmarks.md`'s profile. A server answering an editor keeps them (`-1`:
/// never handed back; mimalloc still reuses them, so the server's memory stays at its
/// peak, not above it). mimalloc reads its options from the environment when the process
/// starts, so the server starts itself again in place (`exec`: the same process, the
/// same stdin and stdout) with the option set, unless it is set already; if that
/// fails it goes on as it is.
fn keep_freed_pages_a_while() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(PURGE_DELAY).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let error = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(PURGE_DELAY, "-1")
        .exec();
    eprintln!("cosmosc lsp: running with mimalloc's defaults ({error})");
}

/// Serves until the client sends `exit` or closes the connection.
pub(crate) fn run() -> Result<Status, std::io::Error> {
    keep_freed_pages_a_while();
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
