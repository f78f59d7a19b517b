//! The API's self-description checked by real tools from PyPI, pinned in
//! `cli/tests/openapi/requirements.txt` and installed in a virtual environment under
//! this build's `target/` (kept between runs, rebuilt when the pins change):
//!
//! - `openapi-spec-validator` validates `GET /v1/openapi.json` of a real
//!   `cosmosc serve` of `examples/encode`, served with a token;
//! - `openapi-python-client` generates a Python client from that document, and
//!   `openapi/client.py` starts, signals and completes a Transcode instance with it;
//! - `jsonschema` checks, in `openapi/agree.py`, that the schemas of
//!   `GET /v1/workflows` accept exactly the inputs and signal arguments the API
//!   accepts, over every kind of Emx type.
//!
//! Skipped, with a message saying so, only when the package registry cannot be
//! reached; Python 3 with `venv` is required (`.ci/run` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::server::Server;
use support::workflows::KINDS;

/// What the test installs: every package pinned.
const REQUIREMENTS: &str = include_str!("openapi/requirements.txt");

/// A folder of `cli/tests/openapi`.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The index pip installs from: `PIP_INDEX_URL`, else pip's configuration, else PyPI.
fn index_url(python: &Path) -> String {
    if let Ok(url) = std::env::var("PIP_INDEX_URL")
        && !url.is_empty()
    {
        return url;
    }
    let configured = Command::new(python)
        .args(["-m", "pip", "config", "get", "global.index-url"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|url| !url.is_empty());
    configured.unwrap_or_else(|| "https://pypi.org/simple/".to_string())
}

/// Why the registry at `url` cannot be reached, or `None` when it answers.
fn unreachable(python: &Path, url: &str) -> Option<String> {
    let probe = Command::new(python)
        .args([
            "-c",
            "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20)",
            url,
        ])
        .output()
        .unwrap();
    (!probe.status.success()).then(|| text(&probe).lines().last().unwrap_or("").to_string())
}

/// The virtual environment with the pinned tools, or `None` (after saying why) when
/// the registry cannot be reached.
fn tools() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi-tools");
    let stamp = venv.join("installed-requirements.txt");
    let python = venv.join("bin/python");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(REQUIREMENTS) && python.exists() {
        return Some(venv);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 runs (install python3 and python3-venv; .ci/run does)");
    assert!(
        made.status.success(),
        "python3 -m venv failed (install python3-venv; .ci/run does): {}",
        text(&made)
    );
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "-r",
        ])
        .arg(scripts().join("requirements.txt"))
        .output()
        .unwrap();
    if !installed.status.success() {
        let url = index_url(&python);
        if let Some(why) = unreachable(&python, &url) {
            println!(
                "SKIPPED: the package registry {url} cannot be reached ({why}); the OpenAPI tools cannot be installed"
            );
            return None;
        }
        panic!("pip install failed:\n{}", text(&installed));
    }
    std::fs::write(&stamp, REQUIREMENTS).unwrap();
    Some(venv)
}

/// Runs `program` of the tools' environment with `args` in `cwd`, with the
/// environment's `bin` first on PATH; fails the test with its output unless it
/// succeeds.
fn run(venv: &Path, program: &str, args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> String {
    let bin = venv.join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(bin.join(program))
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}",
        text(&output)
    );
    text(&output)
}

#[test]
fn a_real_validator_accepts_the_document_and_a_generated_client_runs_the_example() {
    let Some(venv) = tools() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let store = scratch.path().join("encode.db");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/encode");
    let token = "openapi-test-token";
    let server = Server::start(
        &example,
        &["--store", store.to_str().unwrap()],
        &[("COSMOS_TOKEN", token)],
    );
    let agent = support::server::agent();
    let mut response = agent
        .get(format!("{}/v1/openapi.json", server.base))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let document = response.body_mut().read_to_string().unwrap();
    let file = scratch.path().join("openapi.json");
    std::fs::write(&file, &document).unwrap();

    let validated = run(
        &venv,
        "openapi-spec-validator",
        &[file.to_str().unwrap()],
        scratch.path(),
        &[],
    );
    assert!(validated.contains("OK"), "{validated}");

    run(
        &venv,
        "openapi-python-client",
        &[
            "generate",
            "--path",
            file.to_str().unwrap(),
            "--meta",
            "none",
            "--output-path",
            "cosmos_client",
        ],
        scratch.path(),
        &[],
    );
    let client = scripts().join("client.py");
    let said = run(
        &venv,
        "python",
        &[client.to_str().unwrap()],
        scratch.path(),
        &[
            ("PYTHONPATH", scratch.path().to_str().unwrap()),
            ("COSMOS_BASE", &server.base),
            ("COSMOS_TOKEN", token),
        ],
    );
    assert!(said.contains("completed with"), "{said}");

    // The schemas of /v1/workflows and the API agree on what they accept.
    let project = support::project(&[support::MANIFEST, ("src/main.emx", KINDS)]);
    let kinds = Server::start(project.path(), &["--store", "state.db"], &[]);
    let agree = scripts().join("agree.py");
    let said = run(
        &venv,
        "python",
        &[agree.to_str().unwrap()],
        project.path(),
        &[("COSMOS_BASE", &kinds.base)],
    );
    assert!(said.contains("schemas agree with the API"), "{said}");
}
