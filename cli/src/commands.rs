//! One module per subcommand, each with a `run` that returns a [`Status`](crate::Status)
//! or an error for `main` to print.

pub(crate) mod build;
pub(crate) mod check;
pub(crate) mod compile;
pub(crate) mod completions;
pub(crate) mod explain;
pub(crate) mod fmt;
pub(crate) mod init;
pub(crate) mod instances;
pub(crate) mod lsp;
pub(crate) mod run;
pub(crate) mod schedules;
pub(crate) mod serve;
pub(crate) mod test;
pub(crate) mod worker;
pub(crate) mod worker_http;
