//! `cosmosc instances list|show|history|signal|cancel`: the real binary against a real
//! `cosmosc serve` on SQLite over HTTP (tables, `--json` equal to the API's answers,
//! refusals, a missing token, an unreachable server), and directly on the store
//! (`--store`) while a serve runs on it, which then runs what a signal started.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::server::Server;
use support::workflows::GATE_V1;
use support::{code, stderr, stdout};

/// `Wait` stalls until signal `go` gives it a number, which it then doubles with a
/// function (`functions/double.sh`).
const WAIT: &str = r#"
function double(n: Int): Int {
    command ["sh", "functions/double.sh"]
    timeout 20.s
}

workflow Wait {
    facts {
        n: Int?
        doubled: Int?
    }
    rule "double" {
        match { n != null && doubled == null }
        action { double(n: n) }
        reaction { doubled = result }
    }
    signal go(value: Int) {
        n = value
    }
    complete when { doubled != null }
    output { [doubled: doubled] }
}
"#;

const DOUBLE: &str = "n=$(tr -dc '0-9'); echo $((n * 2))\n";

fn project() -> tempfile::TempDir {
    support::project(&[
        support::MANIFEST,
        ("src/main.emx", &format!("{GATE_V1}\n{WAIT}")),
        ("functions/double.sh", DOUBLE),
    ])
}

/// Runs `cosmosc instances ARGS` in `cwd` with `env`, without the caller's
/// COSMOS_SERVER and COSMOS_TOKEN.
fn instances(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .arg("instances")
        .args(args)
        .current_dir(cwd)
        .env_remove("COSMOS_SERVER")
        .env_remove("COSMOS_TOKEN")
        .env_remove("COSMOS_STORE")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// The JSON a successful `--json` command printed.
fn json_of(output: &Output) -> Value {
    assert_eq!(code(output), 0, "stderr: {}", stderr(output));
    serde_json::from_str(&stdout(output)).unwrap()
}

fn start(server: &Server, workflow: &str) -> String {
    let (status, body) = server.post(&format!("/v1/workflows/{workflow}/instances"), json!({}));
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

fn wait_for(server: &Server, id: &str, status: &str) -> Value {
    let start = Instant::now();
    loop {
        let (_, body) = server.get(&format!("/v1/instances/{id}"));
        if body["status"] == status {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "instance {id} is not {status}: {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn instances_commands_against_a_running_server() {
    let project = project();
    let root = project.path();
    let server = Server::start(root, &["--store", "state.db"], &[]);
    let base = server.base.as_str();
    let gate = start(&server, "Gate");
    let other = start(&server, "Gate");
    let wait = start(&server, "Wait");
    wait_for(&server, &gate, "STALLED");
    wait_for(&server, &other, "STALLED");
    wait_for(&server, &wait, "STALLED");

    // list: a table for people, the API's JSON with --json, filters.
    let output = instances(root, &["list", "--server", base], &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let table = stdout(&output);
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("WORKFLOW") && header.contains("STATUS"),
        "{table}"
    );
    let column = header.find("STATUS").unwrap();
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{table}");
    for (row, id) in rows.iter().zip([&gate, &other, &wait]) {
        assert!(row.starts_with(id.as_str()), "{table}");
        assert_eq!(&row[column..column + 7], "STALLED", "aligned: {table}");
    }
    let listed = json_of(&instances(root, &["list", "--server", base, "--json"], &[]));
    assert_eq!(listed, server.get("/v1/instances").1);
    let filtered = json_of(&instances(
        root,
        &[
            "list",
            "--server",
            base,
            "--workflow",
            "Gate",
            "--status",
            "stalled",
            "--limit",
            "1",
            "--json",
        ],
        &[],
    ));
    let ids: Vec<&str> = filtered["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [gate.as_str()]);
    // A full page says where the next one starts, on stderr.
    let output = instances(root, &["list", "--server", base, "--limit", "2"], &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 3, "{}", stdout(&output));
    assert_eq!(
        stderr(&output),
        format!("the page is full; more may follow: cosmosc instances list --after {other}\n")
    );
    let output = instances(
        root,
        &["list", "--server", base, "--limit", "2", "--after", &other],
        &[],
    );
    assert!(stdout(&output).contains(&wait), "{}", stdout(&output));
    assert_eq!(stderr(&output), "");
    // COSMOS_SERVER stands for --server.
    let output = instances(
        root,
        &["list", "--workflow", "Wait"],
        &[("COSMOS_SERVER", base)],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 2, "{}", stdout(&output));
    let output = instances(root, &["list", "--server", base, "--status", "done"], &[]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("bad_status"),
        "{}",
        stderr(&output)
    );

    // show and history.
    let output = instances(root, &["show", &gate, "--server", base], &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let shown = stdout(&output);
    assert!(shown.contains(&format!("id        {gate}")), "{shown}");
    assert!(shown.contains("status    STALLED"), "{shown}");
    assert!(shown.contains("facts\n  by  null"), "{shown}");
    let json = json_of(&instances(
        root,
        &["show", &gate, "--server", base, "--json"],
        &[],
    ));
    assert_eq!(json, server.get(&format!("/v1/instances/{gate}")).1);
    let output = instances(root, &["history", &gate, "--server", base], &[]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let history = stdout(&output);
    assert!(history.starts_with("SEQ  AT"), "{history}");
    assert!(history.contains("started"), "{history}");
    let json = json_of(&instances(
        root,
        &["history", &gate, "--server", base, "--json"],
        &[],
    ));
    assert_eq!(json, server.get(&format!("/v1/instances/{gate}/history")).1);

    // signal: --data and --data-file; the answer is the instance after it.
    let output = instances(
        root,
        &[
            "signal",
            &gate,
            "approve",
            "--data",
            r#"{"who": "ann"}"#,
            "--server",
            base,
        ],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("status    COMPLETED"),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output).contains(r#"output    {"by":"v1:ann"}"#),
        "{}",
        stdout(&output)
    );
    std::fs::write(root.join("go.json"), r#"{"value": 4}"#).unwrap();
    let signalled = json_of(&instances(
        root,
        &[
            "signal",
            &wait,
            "go",
            "--data-file",
            "go.json",
            "--server",
            base,
            "--json",
        ],
        &[],
    ));
    assert_eq!(signalled["facts"]["n"], 4, "{signalled}");
    let done = wait_for(&server, &wait, "COMPLETED");
    assert_eq!(done["output"], json!({"doubled": 8}));

    // cancel, and the refusals: exit 1 with the API's message and code.
    let cancelled = json_of(&instances(
        root,
        &["cancel", &other, "--server", base, "--json"],
        &[],
    ));
    assert_eq!(cancelled["status"], "CANCELLED");
    let refusals: [(&[&str], &str); 5] = [
        (&["cancel", &other], "instance_finished"),
        (&["show", "no-such-instance"], "unknown_instance"),
        (&["history", "no-such-instance"], "unknown_instance"),
        (&["signal", &gate, "nope"], "instance_finished"),
        (
            &["signal", "no-such-instance", "approve"],
            "unknown_instance",
        ),
    ];
    for (args, expected) in refusals {
        let mut args = args.to_vec();
        args.extend(["--server", base]);
        let output = instances(root, &args, &[]);
        assert_eq!(code(&output), 1, "{args:?}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.starts_with("error: ") && err.contains(expected),
            "{args:?}: {err}"
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    let fresh = start(&server, "Gate");
    wait_for(&server, &fresh, "STALLED");
    let output = instances(
        root,
        &[
            "signal",
            &fresh,
            "approve",
            "--data",
            r#"{"who": 1}"#,
            "--server",
            base,
        ],
        &[],
    );
    assert_eq!(code(&output), 1);
    assert!(stderr(&output).contains("$.who"), "{}", stderr(&output));
    assert!(stderr(&output).contains("bad_input"), "{}", stderr(&output));
    let output = instances(root, &["signal", &fresh, "nope", "--server", base], &[]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("unknown_signal"),
        "{}",
        stderr(&output)
    );

    // Usage errors: exit 2, and nothing is sent.
    for (data, message) in [
        ("{who: ann}", "--data is not valid JSON"),
        ("[1]", "must be a JSON object"),
    ] {
        let output = instances(
            root,
            &[
                "signal", &fresh, "approve", "--data", data, "--server", base,
            ],
            &[],
        );
        assert_eq!(code(&output), 2, "{}", stderr(&output));
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
    }
    let output = instances(
        root,
        &["list", "--server", base, "--store", "state.db"],
        &[],
    );
    assert_eq!(code(&output), 2);
    assert_eq!(
        server.get(&format!("/v1/instances/{fresh}")).1["status"],
        "STALLED"
    );
}

#[test]
fn a_server_with_a_token_asks_for_cosmos_token() {
    let project = project();
    let root = project.path();
    let server = Server::start(
        root,
        &["--store", "state.db"],
        &[("COSMOS_TOKEN", "s3cret-token")],
    );
    let base = server.base.as_str();

    let output = instances(root, &["list", "--server", base], &[]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.contains("requires a token") && err.contains("COSMOS_TOKEN"),
        "{err}"
    );

    let output = instances(root, &["list", "--server", base, "--token", "wrong"], &[]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("refused the token"),
        "{}",
        stderr(&output)
    );

    let listed = json_of(&instances(
        root,
        &["list", "--server", base, "--json"],
        &[("COSMOS_TOKEN", "s3cret-token")],
    ));
    assert_eq!(listed, json!({"instances": []}));
    let output = instances(
        root,
        &["list", "--server", base, "--token", "s3cret-token"],
        &[],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "no instances\n");
}

#[test]
fn an_unreachable_server_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on the loopback: nothing listens there.
    let output = instances(dir.path(), &["list", "--server", "http://127.0.0.1:1"], &[]);
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.starts_with("error: cannot reach the runtime at http://127.0.0.1:1"),
        "{err}"
    );
    assert!(err.contains("COSMOS_SERVER"), "{err}");
}

/// `cosmosc instances … --store URL` beside a `cosmosc serve --store URL`.
fn instances_commands_on_the_store_of_a_running_server(url: &str) {
    let project = project();
    let root = project.path();
    let server = Server::start(root, &["--store", url], &[]);
    let wait = start(&server, "Wait");
    let gate = start(&server, "Gate");
    wait_for(&server, &wait, "STALLED");
    wait_for(&server, &gate, "STALLED");
    let store = ["--store", url];
    let with_store = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(store);
        instances(root, &all, &[])
    };

    // Read: the same JSON as the API's.
    let listed = json_of(&with_store(&["list", "--json"]));
    assert_eq!(listed, server.get("/v1/instances").1);
    let output = with_store(&["list", "--workflow", "Gate"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains(&gate) && !stdout(&output).contains(&wait));
    let shown = json_of(&with_store(&["show", &gate, "--json"]));
    assert_eq!(shown, server.get(&format!("/v1/instances/{gate}")).1);

    // A signal taken on the store starts a call that the serving node runs.
    let signalled = json_of(&with_store(&[
        "signal",
        &wait,
        "go",
        "--data",
        r#"{"value": 21}"#,
        "--json",
    ]));
    assert_eq!(signalled["facts"]["n"], 21, "{signalled}");
    let done = wait_for(&server, &wait, "COMPLETED");
    assert_eq!(done["output"], json!({"doubled": 42}));
    let history = json_of(&with_store(&["history", &wait, "--json"]));
    assert_eq!(
        history,
        server.get(&format!("/v1/instances/{wait}/history")).1
    );
    let kinds: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"signalled") && kinds.contains(&"completed"),
        "{kinds:?}"
    );
    support::server::assert_steps_never_overlap(&history);

    let cancelled = json_of(&with_store(&["cancel", &gate, "--json"]));
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(
        server.get(&format!("/v1/instances/{gate}")).1["status"],
        "CANCELLED"
    );

    // Refusals are the API's, exit 1; a store that is not there is exit 2.
    let output = with_store(&["cancel", &gate]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("instance_finished"),
        "{}",
        stderr(&output)
    );
    let output = with_store(&["show", "no-such-instance"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("unknown_instance"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn instances_commands_on_the_sqlite_store_of_a_running_server() {
    instances_commands_on_the_store_of_a_running_server("state.db");
}

#[test]
fn instances_commands_on_the_postgres_store_of_a_running_server() {
    let Some(schema) =
        support::postgres::schema("instances_commands_on_the_postgres_store_of_a_running_server")
    else {
        return;
    };
    instances_commands_on_the_store_of_a_running_server(&schema.url);
}

#[test]
fn a_store_that_cannot_be_opened_is_refused() {
    let project = project();
    let root = project.path();
    // A SQLite file that is not there is not created.
    let output = instances(root, &["list", "--store", "missing.db"], &[]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("no store at"),
        "{}",
        stderr(&output)
    );
    assert!(!root.join("missing.db").exists());
    let unreachable = "postgres://nobody@127.0.0.1:1/none?connect_timeout=1";
    let output = instances(root, &["show", "x", "--store", unreachable], &[]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cannot open store"),
        "{}",
        stderr(&output)
    );
}
