//! The command line's shape, declared with clap's derive API. The help texts here are
//! the user's documentation of streams and exit codes, so they must stay true.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cosmosc",
    version,
    about = "The Cosmos toolchain for Emx workflows",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output: `auto` colours only a terminal and honours NO_COLOR
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Check(CheckArgs),
    Compile(CompileArgs),
    Completions(CompletionsArgs),
    Explain(ExplainArgs),
    Fmt(FmtArgs),
    Init(InitArgs),
    Instances(InstancesArgs),
    /// Runs the language server on stdin and stdout (for editors)
    Lsp(LspArgs),
    Run(RunArgs),
    Schedules(crate::commands::schedules::SchedulesArgs),
    Serve(ServeArgs),
    Test(TestArgs),
    Worker(WorkerArgs),
}

/// The language server's arguments. It always speaks LSP on stdin and stdout.
#[derive(Debug, Args)]
pub(crate) struct LspArgs {
    /// Use stdin and stdout (the default and only transport; accepted because LSP
    /// clients such as vscode-languageclient pass it)
    #[arg(long)]
    pub stdio: bool,
}

/// Runs one instance of a workflow to the end on the embedded store.
#[derive(Debug, Args)]
#[command(
    long_about = "Runs one instance of WORKFLOW to the end on a store (by default the SQLite file \
.cosmos/cosmos.db under the project's root), running its functions as processes in the \
project's root folder, and streams the instance's history to stderr as it happens.\n\n\
The project is found by walking up from DIR (default `.`) to the nearest folder holding \
`cosmos.toml`.",
    after_help = "Output:\n  \
stderr  the instance's history, one line per event, as it happens\n  \
stdout  with --json only: one document at the end, {\"id\", \"status\", \"output\", \"facts\"}\n\n\
Environment:\n  \
COSMOS_STORE      the store, when --store is not given\n  \
COSMOS_EVALUATOR  `jit` (the default: rules run as native code) or `interpreter`\n\n\
Exit status:\n  \
0  the instance completed\n  \
1  it failed or stalled, or the project has errors\n  \
2  usage error, bad input, or the project or store could not be loaded; one `error:` line on stderr"
)]
pub(crate) struct RunArgs {
    /// [DIR] WORKFLOW: a folder in the project (default `.`) and the workflow to run
    #[arg(value_name = "[DIR] WORKFLOW", num_args = 1..=2, required = true)]
    pub target: Vec<String>,

    /// The instance's input: a JSON object, or @FILE to read it from a file
    #[arg(long, value_name = "JSON", default_value = "{}")]
    pub input: String,

    /// The store: a SQLite file path (relative to the project's root) or a
    /// postgres:// URL [default: COSMOS_STORE, else [runtime] store of cosmos.toml,
    /// else .cosmos/cosmos.db]
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Print {"id", "status", "output", "facts"} on stdout at the end
    #[arg(long)]
    pub json: bool,
}

/// Explains why each rule of an instance did or didn't fire.
#[derive(Debug, Args)]
#[command(
    long_about = "Explains, for each rule of a stored instance, whether it is in flight, \
eligible, refracted (its match holds but nothing it reads changed since it fired) or not \
matching, with the value of each condition of its match, evaluated now on the bundle the \
instance runs on. Reads the store of the project found from DIR (default `.`), the one \
`cosmosc run` and `cosmosc serve` use. The HTTP API gives the same answer at \
GET /v1/instances/{id}/rules.",
    after_help = "Output (stdout): one block per rule, or with --json {\"rules\": [...]}\n\n\
Exit status:\n  \
0  explained\n  \
2  no such instance, or the project or store could not be loaded"
)]
pub(crate) struct ExplainArgs {
    /// The instance's id (printed by `cosmosc run --json` and the API)
    pub instance: String,

    /// A folder in the project, or below its root
    #[arg(long, default_value = ".")]
    pub dir: String,

    /// The store: a SQLite file path (relative to the project's root) [env: COSMOS_STORE]
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Print {"rules": [...], "in_flight": [...]} as JSON
    #[arg(long)]
    pub json: bool,
}

/// Lists, shows, signals and cancels the instances of a running deployment.
#[derive(Debug, Args)]
#[command(
    long_about = "Operates the instances of a deployment: over the HTTP API of a running \
`cosmosc serve` (--server URL, else COSMOS_SERVER, else http://127.0.0.1:8080; the token from \
--token, else COSMOS_TOKEN), or directly on its store (--store URL: a SQLite file, relative to \
the project's root as `serve` takes it, or a postgres:// URL). On a store, `signal` and `cancel` \
take the same step the API takes; the nodes serving that store run what it starts.",
    after_help = "Output (stdout):\n  \
human  an aligned table (list, history) or the instance's fields (show, signal, cancel)\n  \
--json the API's JSON: {\"instances\": [...]}, the instance, or {\"history\": [...]}\n\n\
Exit status:\n  \
0  done\n  \
1  refused (no such instance or signal, bad arguments, the instance has finished); one \
`error:` line on stderr with the API's message\n  \
2  usage error, bad --data, the runtime cannot be reached or wants a token, or the store \
cannot be opened; one `error:` line on stderr"
)]
pub(crate) struct InstancesArgs {
    #[command(subcommand)]
    pub command: InstancesCommand,

    /// The runtime's address [env: COSMOS_SERVER; default: http://127.0.0.1:8080]
    #[arg(long, value_name = "URL", global = true)]
    pub server: Option<String>,

    /// The API's bearer token [env: COSMOS_TOKEN]
    #[arg(long, value_name = "TOKEN", global = true)]
    pub token: Option<String>,

    /// Work on this store directly instead of a server: a SQLite file or a postgres:// URL
    #[arg(long, value_name = "URL", global = true)]
    pub store: Option<String>,

    /// Print the API's JSON instead of a table
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum InstancesCommand {
    /// Lists instances, oldest first
    List {
        /// Only this workflow's instances
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// Only instances with this status (running, stalled, completed, failed, cancelled)
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// At most this many (default 100, at most 1000)
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Only instances after this id (the last id of the previous page)
        #[arg(long, value_name = "ID")]
        after: Option<String>,
    },
    /// Shows an instance: status, times, input, facts, output, calls in flight
    Show {
        /// The instance's id
        id: String,
    },
    /// Shows an instance's history, one row per event
    History {
        /// The instance's id
        id: String,
    },
    /// Sends a signal to an instance
    Signal {
        /// The instance's id
        id: String,
        /// The signal's name
        signal: String,
        /// The signal's arguments, a JSON object (default `{}`)
        #[arg(long, value_name = "JSON", conflicts_with = "data_file")]
        data: Option<String>,
        /// Read the arguments from this file
        #[arg(long, value_name = "FILE")]
        data_file: Option<PathBuf>,
    },
    /// Cancels an instance
    Cancel {
        /// The instance's id
        id: String,
    },
}

/// Runs the runtime with its HTTP API.
#[derive(Debug, Args)]
#[command(
    long_about = "Runs the runtime: compiles the project (or loads a bundle written by \
`cosmosc compile`), then serves the HTTP API of docs/runtime.md while the engine steps \
instances and the executor runs their functions as processes in the project's root folder. \
SIGTERM or Ctrl-C stops it gracefully: no new work is taken, running calls get a grace \
period, and the leases of the rest are released for the next start.",
    after_help = "Settings (the flag, else the environment variable, else [runtime] of cosmos.toml, \
else the default):\n  \
--listen ADDR    COSMOS_LISTEN     listen   default 127.0.0.1:8080\n  \
--store URL      COSMOS_STORE      store    default .cosmos/cosmos.db under the project's root\n                   \
COSMOS_TOKEN      token    default none; admin tokens (comma-separated): requests need `Authorization: Bearer TOKEN`\n                   \
COSMOS_WORKER_TOKEN        default none; worker tokens (comma-separated): only the worker endpoints /v1/worker/...\n  \
--tokens-file F  COSMOS_TOKENS_FILE tokens_file  `admin NAME TOKEN` / `worker NAME TOKEN` lines, added to the above\n                   \
COSMOS_LOG                 default warn: what the runtime logs to stderr (error, warn, info, debug)\n                   \
COSMOS_EVALUATOR           default jit: rules run as native code; `interpreter` for the reference one\n                   \
COSMOS_LEASE_MS            default 30000: how long the node's leases last before another node may take over \
(a running call's is renewed every third of it)\n  \
--no-functions                     functions default true: this node runs functions; false (or the flag): \
only `cosmosc worker`s do\n\n\
Exit status:\n  \
0  stopped by a signal\n  \
1  the project has errors\n  \
2  the project, bundle or store could not be loaded, or the address is taken"
)]
pub(crate) struct ServeArgs {
    /// A folder in the project, or below its root
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Serve this bundle (from `cosmosc compile`) instead of compiling the sources
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,

    /// The address to listen on, such as 127.0.0.1:8080 (port 0 picks a free one)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// The store: a SQLite file path (relative to the project's root) or a postgres:// URL
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// A file of API tokens, one `admin NAME TOKEN` or `worker NAME TOKEN` per line
    /// (also COSMOS_TOKENS_FILE or `[runtime] tokens_file`)
    #[arg(long, value_name = "FILE")]
    pub tokens_file: Option<PathBuf>,

    /// Run no functions: take engine steps and serve the API only, and leave the calls
    /// in the store for `cosmosc worker`s (also `[runtime] functions = false`)
    #[arg(long)]
    pub no_functions: bool,
}

/// Runs functions for the nodes sharing a store, and nothing else.
#[derive(Debug, Args)]
#[command(
    long_about = "Runs functions, and nothing else: leases the calls of its pools from the store \
that `cosmosc serve` nodes (typically started with --no-functions) share, runs them as processes \
in the project's root folder exactly as a node would (one-shot and warm processes, batches, \
pools, progress, heartbeats, timeouts, the clean environment), renews their leases while they \
run and records each result or failure. It takes no engine steps and serves no API; it keeps \
its row in the store's registry of workers (GET /v1/workers). It runs as many calls at once as \
its pools allow ([pools.NAME] max of cosmos.toml).\n\n\
SIGTERM or Ctrl-C stops it gracefully: it leases nothing more, lets running calls finish for \
the grace period, and gives the leases of the rest back at once, for other workers to take. A \
worker that dies (kill -9) loses nothing: its calls are leased again when their leases expire.",
    after_help = "Settings (the flag, else the environment variable, else [runtime] of cosmos.toml, \
else the default):\n  \
--store URL      COSMOS_STORE      store    default .cosmos/cosmos.db under the project's root\n                   \
COSMOS_LOG                 default warn: what the worker logs to stderr (error, warn, info, debug)\n                   \
COSMOS_LEASE_MS            default 30000: how long a call's lease lasts without renewal (renewed \
every third of it while the call runs): how soon others take the calls of a worker that died\n\n\
Exit status:\n  \
0  stopped by a signal\n  \
1  the project has errors\n  \
2  the project, bundle or store could not be loaded, or --pools names a pool the project has not"
)]
pub(crate) struct WorkerArgs {
    /// A folder in the project, or below its root
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Run the functions of this bundle (from `cosmosc compile`) instead of compiling
    /// the sources
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,

    /// The store: a SQLite file path (relative to the project's root) or a postgres:// URL
    #[arg(long, value_name = "URL", conflicts_with = "server")]
    pub store: Option<String>,

    /// Lease calls from a node's API (http://HOST:PORT) over the HTTP worker protocol
    /// instead of from the store
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,

    /// The token for --server [default: COSMOS_WORKER_TOKEN, else COSMOS_TOKEN]
    #[arg(long, value_name = "TOKEN", requires = "server")]
    pub token: Option<String>,

    /// The pools whose calls to run, comma-separated [default: every pool of the
    /// project: its [pools.NAME] tables and the pools its functions name]
    #[arg(long, value_name = "POOLS", value_delimiter = ',')]
    pub pools: Vec<String>,

    /// The worker's name, unique among the processes sharing the store [default:
    /// HOSTNAME-PID]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// How long, on SIGTERM or Ctrl-C, running calls may take to finish before their
    /// leases are given back
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub grace_ms: u64,
}

/// Runs the project's `test` blocks on the engine, with every function mocked.
#[derive(Debug, Args)]
#[command(
    long_about = "Runs the project's `test` blocks (docs/language.md section 8). Each test drives one \
instance on a virtual clock with every function mocked; a call with no mock fails the test.\n\n\
The project is found by walking up from DIR to the nearest folder holding `cosmos.toml`.",
    after_help = "Output (stdout):\n  \
human  one line per test: `PASS name (12 ms)` or `FAIL name`, followed for a failure by the \
failing assert with the value of each part, the instance's status and its history; then a \
summary line: `N passed, M failed`\n  \
json   one document: {\"tests\": [{\"name\", \"module\", \"passed\", \"ms\", \"failure\"}], \
\"passed\": N, \"failed\": M}\n  \
junit  JUnit XML (<testsuites>), one <testsuite> per module, the failure report in <failure>\n\n\
Exit status:\n  \
0  every test passed\n  \
1  some test failed, or the project has errors (printed on stderr as `check` prints them)\n  \
2  usage error, or the project could not be loaded; one `error:` line on stderr"
)]
pub(crate) struct TestArgs {
    /// A folder in the project, or below its root
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Run only the tests whose name contains TEXT
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    /// With --filter: run only the test named exactly TEXT (what an editor's "Run
    /// test" uses)
    #[arg(long, requires = "filter")]
    pub exact: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    pub format: TestFormat,
}

/// How `cosmosc test` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TestFormat {
    /// One line per test and a summary line, on stdout
    Human,
    /// One JSON document on stdout: {"tests": [...], "passed": N, "failed": M}
    Json,
    /// JUnit XML on stdout, for CI systems
    Junit,
}

/// Checks a project: parses and type-checks every `.emx` file under its source root.
#[derive(Debug, Args)]
#[command(
    long_about = "Checks a project: parses and type-checks every `.emx` file under its source root.\n\n\
The project is found by walking up from DIR to the nearest folder holding `cosmos.toml`. \
File paths in diagnostics are relative to that folder.",
    after_help = "Output:\n  \
human  diagnostics and a summary line (`checked N files: E errors, W warnings`) on stderr\n  \
json   one JSON document on stdout: {\"diagnostics\": [...], \"errors\": N, \"warnings\": N}\n  \
sarif  a SARIF 2.1.0 log on stdout, for code scanning\n  \
github GitHub Actions annotations on stdout (`::error file=…,line=…::…`), one per diagnostic, \
paths relative to GITHUB_WORKSPACE; the default when GITHUB_ACTIONS=true\n\n\
Exit status:\n  \
0  no errors (and no warnings, with --deny-warnings)\n  \
1  errors found, or warnings with --deny-warnings\n  \
2  usage error, or the project could not be loaded (no or bad cosmos.toml, unreadable file); \
one `error:` line on stderr and nothing else"
)]
pub(crate) struct CheckArgs {
    /// A folder in the project, or below its root
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Output format [default: human, or github when GITHUB_ACTIONS=true]
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Exit with status 1 when there are warnings, even without errors
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Compiles a project: checks it, lowers it to the typed IR and writes a bundle.
#[derive(Debug, Args)]
#[command(
    long_about = "Compiles a project: checks it as `cosmosc check` does, lowers every body to the \
typed IR and writes a bundle that the runtime loads without reading the sources again.\n\n\
The project is found by walking up from DIR to the nearest folder holding `cosmos.toml`. \
The bundle holds the checked IR, the SHA-256 of every source file and the compiler's version; \
only this version of cosmosc loads it (recompile after upgrading). It is written to FILE, by \
default `<project root>/target/<project name>.cosmos`, replacing it whole.",
    after_help = "Output:\n  \
stderr  diagnostics as `check` renders them for people; then, when the bundle is written, \
`compiled N workflows, M functions (the standard library's included) to FILE` (M counts \
compiled bodies: defs, and each rule's match, action, reaction and error block, signal handlers, \
complete-when and output, the standard library's helpers included)\n  \
stdout  only with --emit: `ir` prints the typed IR of every body, `clif` the Cranelift IR the JIT \
compiles each body to (headed `;; NAME`), for people to read; `openapi` the OpenAPI 3.1 \
document `cosmosc serve` answers at GET /v1/openapi.json for this bundle (JSON); \
--emit alone writes no bundle, --emit with -o writes one as well\n\n\
Exit status:\n  \
0  compiled\n  \
1  the project has errors, or uses something the compiler cannot compile yet; nothing is written\n  \
2  usage error, the project could not be loaded, or the bundle could not be written; \
one `error:` line on stderr"
)]
pub(crate) struct CompileArgs {
    /// A folder in the project, or below its root
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// Where to write the bundle [default: <project root>/target/<project name>.cosmos]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print a form of the program for people on stdout (no bundle is written unless -o is given)
    #[arg(long, value_enum, value_name = "FORM")]
    pub emit: Option<Emit>,
}

/// Formats `.emx` files in the one canonical style.
#[derive(Debug, Args)]
#[command(
    long_about = "Formats `.emx` files in the one canonical style (docs/formatting.md), in place.\n\n\
Each PATH is a file or a folder (every `.emx` file under it, recursively); `-` formats \
standard input to standard output (for editors and pipes). With no PATH, formats the sources \
of the project found by walking up from the current folder to the nearest `cosmos.toml`. \
Formatting never changes what a file means and keeps every comment.",
    after_help = "Output:\n  \
--check lists each file that would change, one per line, on stdout; with --diff, a \
unified diff of each instead\n  \
-       the formatted text on stdout (with --check, nothing; with --diff, the diff)\n  \
a file with syntax errors is left untouched: one `error:` line on stderr names it \
and its first error's line:column\n\n\
Exit status:\n  \
0  every file is formatted (or was formatted now)\n  \
1  with --check, some file would change; or some file has syntax errors\n  \
2  usage error, a PATH that cannot be read, or no project found"
)]
pub(crate) struct FmtArgs {
    /// Files or folders to format; the current project's sources when none is given
    pub paths: Vec<PathBuf>,

    /// Change nothing: list the files that would change and exit 1 if there are any
    #[arg(long)]
    pub check: bool,

    /// With --check: print a unified diff of each change instead of the file's name
    #[arg(long, requires = "check")]
    pub diff: bool,
}

/// Creates a new project: a workflow, its function, a test, .gitignore and a CI example.
#[derive(Debug, Args)]
#[command(
    long_about = "Creates a small working project in DIR (default: the current folder, created \
if missing): cosmos.toml, src/main.emx (a workflow calling one function), \
functions/greet.sh (that function, in POSIX shell), src/tests.emx (its tests), .gitignore \
and .github/workflows/cosmos.yml (a CI example running `check --format sarif`, \
`fmt --check` and `test --format junit`). `cosmosc check`, `test` and `run Hello` work on it \
as it is.",
    after_help = "Exit status:\n  \
0  the project was written; the next commands are printed on stderr\n  \
2  some file it would write already exists (nothing is written), or a file cannot be written"
)]
pub(crate) struct InitArgs {
    /// The folder to create the project in
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Prints a shell completion script for cosmosc.
#[derive(Debug, Args)]
#[command(
    long_about = "Prints a completion script for SHELL on stdout. For example:\n  \
bash  cosmosc completions bash > ~/.local/share/bash-completion/completions/cosmosc\n  \
zsh   cosmosc completions zsh > \"${fpath[1]}/_cosmosc\"\n  \
fish  cosmosc completions fish > ~/.config/fish/completions/cosmosc.fish"
)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Rendered for people, on stderr
    Human,
    /// One JSON document, on stdout
    Json,
    /// SARIF 2.1.0, on stdout
    Sarif,
    /// GitHub Actions annotations (workflow commands), on stdout
    Github,
}

/// What `compile --emit` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Emit {
    /// The typed IR of every body
    Ir,
    /// The Cranelift IR the JIT compiles every body to, each headed by its name
    Clif,
    /// The OpenAPI 3.1 document of the HTTP API serving this bundle, as
    /// `GET /v1/openapi.json` answers it
    Openapi,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}
