//! The Emx language server: a tower-lsp server over the compiler's [`Analysis`].
//!
//! This crate is the only one that knows LSP types: the compiler answers questions
//! with byte spans and plain data (`cosmos_semantics::ide`), and [`convert`] and
//! [`position`] turn them into LSP's shapes and UTF-16 positions.
//!
//! [`Analysis`]: cosmos_semantics::Analysis

pub mod convert;
mod diagnostics;
pub mod position;
mod server;
mod state;
mod stdlib;

/// Serves LSP on stdin and stdout until the client exits.
pub async fn run_stdio() {
    let (service, socket) = tower_lsp::LspService::new(server::Server::new);
    tower_lsp::Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .serve(service)
        .await;
}
