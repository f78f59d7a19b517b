//! The Emx language server: a tower-lsp-server server over the compiler's [`Analysis`].
//!
//! This crate is the only one that knows LSP types: the compiler answers questions
//! with byte spans and plain data (`cosmos_semantics::ide`), and [`convert`] and
//! [`position`] turn them into LSP's shapes and UTF-16 positions.
//!
//! [`Analysis`]: cosmos_semantics::Analysis

pub mod convert;
mod diagnostics;
pub mod frames;
pub mod position;
mod requests;
mod server;
mod state;
mod stdlib;
mod tokens;

/// How long the last answers may take to be written after `exit`.
const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves LSP on stdin and stdout until the client sends `exit` or closes stdin.
///
/// The editor's frames go through [`frames::filter_input`] before the server reads
/// them, and the server's answers through [`frames::merge_output`]. Returns once the
/// server has stopped and its last answers are written; the task reading stdin may
/// still be waiting for input (an editor need not close stdin after `exit`), so the
/// runtime must be shut down without waiting for it.
pub async fn run_stdio() {
    let (service, socket) = tower_lsp_server::LspService::new(server::Server::new);
    let (server_in, filter_in) = tokio::io::duplex(1 << 16);
    let (server_out, merge_in) = tokio::io::duplex(1 << 16);
    let (answers, answered) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(frames::filter_input(
        tokio::io::BufReader::new(tokio::io::stdin()),
        filter_in,
        answers,
    ));
    let output = tokio::spawn(frames::merge_output(
        merge_in,
        answered,
        tokio::io::stdout(),
    ));
    tower_lsp_server::Server::new(server_in, server_out, socket)
        .serve(service)
        .await;
    // The server's end of its output is dropped: the merge ends once it is written.
    let _ = tokio::time::timeout(FLUSH_TIMEOUT, output).await;
}
