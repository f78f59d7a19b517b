//! Benchmark: latency of `cosmosc lsp` on the generated 100,000-line project, driven
//! over stdio like an editor does. Three kinds, N rounds each (alternating within a
//! round): diagnostics after an edit (a full-text `didChange` of a rule body → the
//! `publishDiagnostics` of that file), hover (facts and functions), and completion
//! (after a `.` and at the start of a statement, inside a rule body). The same
//! session on a one-module project, in the same run, is the reference.
//! A second part opens one 24,000-line file and times the requests whose cost grows
//! with the file: semantic tokens, the outline, hover, definition, completion and
//! inlay hints (the target: each under 50 ms at p99).
//! Run with `cargo bench -p cosmosc --bench lsp_latency`; results go to
//! docs/benchmarks.md.
//!
//! `COSMOS_BENCH_ROUNDS=N` changes N (200; 50 for the big file).
//! `COSMOS_BENCH_ONLY=big` runs the big-file part only. `COSMOS_LSP_BEFORE=PATH` runs
//! the big-file part on another `cosmosc` too (an older build, for the ratio), for
//! `COSMOS_BENCH_BEFORE_ROUNDS` rounds (3). `COSMOS_LSP_WRAP="perf record -g -o F --"`
//! starts the server under a wrapper, for profiling.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cosmos_test_support::generate;

use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The module whose file is edited, hovered and completed in (its number).
const MODULE: usize = 50;
/// The rule whose body is edited, hovered and completed in.
const RULE: usize = 30;
/// Rounds before measuring: the first edit of a file re-checks all its bodies.
const WARM_UP: usize = 4;
const TIMEOUT: Duration = Duration::from_secs(60);

fn write_project(dir: &Path, modules: usize) -> Vec<(String, String)> {
    std::fs::write(dir.join("cosmos.toml"), "[project]\nname = \"generated\"\n")
        .expect("write cosmos.toml");
    let project = generate::project(modules);
    for (module, text) in &project {
        let path = dir
            .join("src")
            .join(format!("{}.emx", module.replace('.', "/")));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create src");
        std::fs::write(path, text).expect("write module");
    }
    project
}

/// A message from the server and when it arrived.
struct Incoming {
    at: Instant,
    message: Value,
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Incoming>,
    next_id: u64,
    /// `publishDiagnostics` received so far, in order: (uri, arrival).
    published: Vec<(String, Instant)>,
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start(root: &Path) -> Client {
        Client::start_with(env!("CARGO_BIN_EXE_cosmosc"), root)
    }

    fn start_with(binary: &str, root: &Path) -> Client {
        let mut command = match std::env::var("COSMOS_LSP_WRAP") {
            Ok(wrap) if !wrap.trim().is_empty() => {
                let mut words = wrap.split_whitespace();
                let mut command = Command::new(words.next().expect("wrapper"));
                command.args(words).arg(binary);
                command
            }
            _ => Command::new(binary),
        };
        let mut child = command
            .arg("lsp")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start cosmosc lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (send, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                let at = Instant::now();
                if send.send(Incoming { at, message }).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming,
            next_id: 0,
            published: Vec::new(),
        };
        let uri = uri(root);
        let result = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri,
                "workspaceFolders": [{ "uri": uri, "name": "generated" }],
                "capabilities": {},
            }),
        );
        assert!(result.0.get("capabilities").is_some(), "{}", result.0);
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: &Value) -> Instant {
        // `shutdown` and `exit` take no params at all (not `null`).
        let mut message = message.clone();
        if message.get("params") == Some(&Value::Null) {
            message.as_object_mut().expect("object").remove("params");
        }
        let body = serde_json::to_vec(&message).expect("serialise");
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        let at = Instant::now();
        self.stdin.write_all(&frame).expect("write to server");
        self.stdin.flush().expect("flush");
        at
    }

    fn notify(&mut self, method: &str, params: Value) -> Instant {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }))
    }

    /// Sends a request and waits for its answer: (result, round-trip time).
    fn request(&mut self, method: &str, params: Value) -> (Value, Duration) {
        self.next_id += 1;
        let id = self.next_id;
        let sent = self.send(&json!({
            "jsonrpc": "2.0", "id": id, "method": method, "params": params
        }));
        loop {
            let incoming = self.receive();
            let message = &incoming.message;
            if message.get("method").is_none() && message.get("id") == Some(&json!(id)) {
                assert!(message.get("error").is_none(), "{method}: {message}");
                let result = message.get("result").cloned().unwrap_or(Value::Null);
                return (result, incoming.at - sent);
            }
        }
    }

    /// The next message, handling what the server sends on its own.
    fn receive(&mut self) -> Incoming {
        let incoming = self
            .incoming
            .recv_timeout(TIMEOUT)
            .expect("the server answers in time");
        let message = &incoming.message;
        match message.get("method").and_then(Value::as_str) {
            Some("textDocument/publishDiagnostics") => {
                let params = &message["params"];
                let uri = params["uri"].as_str().expect("uri").to_string();
                let count = params["diagnostics"].as_array().map_or(0, Vec::len);
                assert_eq!(count, 0, "the project checks clean: {params}");
                self.published.push((uri, incoming.at));
            }
            // A request from the server: answer it with nothing.
            Some(_) if message.get("id").is_some() => {
                let id = message["id"].clone();
                self.send(&json!({ "jsonrpc": "2.0", "id": id, "result": null }));
            }
            _ => {}
        }
        incoming
    }

    /// Waits until `count` diagnostics have been published since index `from`, and
    /// returns when the one for `uri` arrived, and when the last one did.
    fn wait_published(&mut self, from: usize, count: usize, uri: &str) -> (Instant, Instant) {
        while self.published.len() < from + count {
            self.receive();
        }
        let cycle = &self.published[from..from + count];
        let distinct: HashSet<_> = cycle.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(distinct.len(), count, "one publication per file per cycle");
        let of_file = cycle
            .iter()
            .find(|(u, _)| u == uri)
            .expect("the edited file is published")
            .1;
        (of_file, cycle[count - 1].1)
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The LSP position (line, UTF-16 column) of a byte offset; the text is ASCII.
fn position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": column })
}

/// The byte offset of `needle` inside the text of rule "step RULE".
fn in_rule(text: &str, needle: &str) -> usize {
    let start = text
        .find(&format!("rule \"step {RULE}\""))
        .expect("the rule");
    let end = start + text[start..].find("\n    }\n").expect("rule end");
    start + text[start..end].find(needle).expect(needle)
}

#[derive(Default)]
struct Samples {
    edit: Vec<Duration>,
    /// From the edit to the last file's diagnostics (the whole project's).
    edit_all: Vec<Duration>,
    hover: Vec<Duration>,
    completion: Vec<Duration>,
    first_edit: Duration,
}

/// One session: start the server on `root`, wait for the initial diagnostics, open
/// module `MODULE` (or the only one), then `rounds` rounds of edit, hover, completion.
fn session(root: &Path, project: &[(String, String)], rounds: usize) -> Samples {
    let files = project.len();
    let index = MODULE.min(files - 1);
    let (module, original) = &project[index];
    let path = root
        .join("src")
        .join(format!("{}.emx", module.replace('.', "/")));
    let file_uri = uri(&path);
    // The edited text: the rule's `EDIT_FROM` replaced.
    let edit_at = in_rule(original, generate::EDIT_FROM);
    let edited = format!(
        "{}{}{}",
        &original[..edit_at],
        generate::EDIT_TO,
        &original[edit_at + generate::EDIT_FROM.len()..]
    );

    let started = Instant::now();
    let mut client = Client::start(root);
    client.wait_published(0, files, &file_uri);
    let loaded = started.elapsed();
    let from = client.published.len();
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": {
            "uri": file_uri, "languageId": "emx", "version": 0, "text": original
        }}),
    );
    client.wait_published(from, files, &file_uri);
    eprintln!("  {files} module(s): initialized and first diagnostics in {loaded:.2?}");

    let m = index;
    let hovers = [
        // A fact, where it is read and where it is written.
        in_rule(original, "inspection != null"),
        in_rule(original, "stage = stage + 1"),
        // A function (the external one) and a helper (`def`).
        in_rule(original, &format!("probe{m}(url")) + 2,
        in_rule(original, &format!("score{m}_")) + 2,
    ];
    let completions = [
        // After a `.`: a fact's record fields (action), `CallError`'s (error).
        // (`result.` in a reaction offers nothing yet.)
        in_rule(original, "inspection.height") + "inspection.".len(),
        in_rule(original, "error.attempt") + "error.".len(),
        // At the start of a statement (reaction, then action).
        in_rule(original, "stage = stage + 1"),
        in_rule(original, &format!("probe{m}(url")),
    ];

    let mut samples = Samples::default();
    let mut version = 0;
    for round in 0..WARM_UP + rounds {
        // Diagnostics after an edit. Both texts are the same length in lines, so the
        // positions below hold in either.
        version += 1;
        let text = if version % 2 == 1 { &edited } else { original };
        let from = client.published.len();
        let sent = client.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": file_uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
        let (of_file, last) = client.wait_published(from, files, &file_uri);

        let doc = |offset: usize| {
            json!({
                "textDocument": { "uri": file_uri },
                "position": position(original, offset),
            })
        };
        let (hover, hover_time) = client.request("textDocument/hover", doc(hovers[round % 4]));
        assert!(hover.get("contents").is_some(), "hover: {hover}");
        let (items, completion_time) =
            client.request("textDocument/completion", doc(completions[round % 4]));
        let count = items.as_array().map_or(0, Vec::len);
        assert!(count > 0, "completion at {}: {items}", round % 4);

        if round == 0 {
            samples.first_edit = of_file - sent;
        }
        if round >= WARM_UP {
            samples.edit.push(of_file - sent);
            samples.edit_all.push(last - sent);
            samples.hover.push(hover_time);
            samples.completion.push(completion_time);
        }
    }
    client.stop();
    samples
}

/// One file of at least `lines` lines: the generated modules one after the other, in
/// module `gen.m000` (the others' imports of it dropped).
fn big_file(lines: usize) -> String {
    let mut text = String::new();
    for (_, module) in generate::project(lines / 1000 + 2) {
        if text.lines().count() >= lines {
            break;
        }
        text.push_str(&module.replace("import gen.m000 { Level }\n", ""));
    }
    text
}

/// The big-file part on `binary`: (request, samples) for each kind.
fn big_file_session(
    binary: &str,
    root: &Path,
    text: &str,
    rounds: usize,
) -> Vec<(&'static str, Vec<Duration>)> {
    let path = root.join("src").join("gen").join("m000.emx");
    let file_uri = uri(&path);
    let started = Instant::now();
    let mut client = Client::start_with(binary, root);
    client.wait_published(0, 1, &file_uri);
    let from = client.published.len();
    client.notify(
        "textDocument/didOpen",
        json!({ "textDocument": {
            "uri": file_uri, "languageId": "emx", "version": 0, "text": text
        }}),
    );
    client.wait_published(from, 1, &file_uri);
    eprintln!(
        "  one file of {} lines: initialized and checked in {:.2?}",
        text.lines().count(),
        started.elapsed()
    );
    // Positions near the end of the file, where a scan from the start costs most.
    let last_rule = text.rfind("rule \"step 30\"").expect("a rule");
    let in_last = |needle: &str| last_rule + text[last_rule..].find(needle).expect(needle);
    let at = |offset: usize| json!({ "textDocument": { "uri": file_uri }, "position": position(text, offset) });
    let whole = json!({ "textDocument": { "uri": file_uri } });
    let lines = text.lines().count();
    let visible = json!({
        "textDocument": { "uri": file_uri },
        "range": { "start": { "line": lines - 60, "character": 0 }, "end": { "line": lines, "character": 0 } },
    });
    let requests: Vec<(&'static str, &str, Value)> = vec![
        (
            "semantic tokens (whole file)",
            "textDocument/semanticTokens/full",
            whole.clone(),
        ),
        (
            "outline (document symbols)",
            "textDocument/documentSymbol",
            whole,
        ),
        (
            "hover",
            "textDocument/hover",
            at(in_last("inspection != null")),
        ),
        (
            "definition",
            "textDocument/definition",
            at(in_last("stage = stage") + 1),
        ),
        (
            "completion",
            "textDocument/completion",
            at(in_last("inspection.height") + "inspection.".len()),
        ),
        (
            "inlay hints (last 60 lines)",
            "textDocument/inlayHint",
            visible,
        ),
    ];
    let mut samples: Vec<(&'static str, Vec<Duration>)> = requests
        .iter()
        .map(|(name, _, _)| (*name, Vec::new()))
        .collect();
    for round in 0..1 + rounds {
        for (i, (name, method, params)) in requests.iter().enumerate() {
            let (result, time) = client.request(method, params.clone());
            assert!(!result.is_null(), "{name}: no answer");
            if round > 0 {
                samples[i].1.push(time);
            }
        }
    }
    client.stop();
    samples
}

/// p50, p90, p99 and max.
fn percentiles(samples: &[Duration]) -> [Duration; 4] {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |p: f64| sorted[((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    [at(0.50), at(0.90), at(0.99), sorted[sorted.len() - 1]]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|n| n.parse().ok())
}

/// The big-file part: this build, and `COSMOS_LSP_BEFORE` for the ratio.
fn big_file_part() {
    let rounds = env_number("COSMOS_BENCH_ROUNDS").unwrap_or(50);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    std::fs::write(root.join("cosmos.toml"), "[project]\nname = \"big\"\n").expect("manifest");
    std::fs::create_dir_all(root.join("src").join("gen")).expect("src");
    let text = big_file(24_000);
    std::fs::write(root.join("src").join("gen").join("m000.emx"), &text).expect("write");
    println!(
        "big file: {} lines, {} bytes; {rounds} rounds after 1 warm-up",
        text.lines().count(),
        text.len()
    );
    let now = big_file_session(env!("CARGO_BIN_EXE_cosmosc"), &root, &text, rounds);
    let before = std::env::var("COSMOS_LSP_BEFORE").ok().map(|binary| {
        let rounds = env_number("COSMOS_BENCH_BEFORE_ROUNDS").unwrap_or(3);
        println!("before: {binary}, {rounds} rounds after 1 warm-up");
        big_file_session(&binary, &root, &text, rounds)
    });
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>8} | {:>9} {:>8}",
        "request (ms)", "p50", "p90", "p99", "max", "before p50", "ratio"
    );
    for (i, (name, samples)) in now.iter().enumerate() {
        let p = percentiles(samples);
        let old = before.as_ref().map(|b| percentiles(&b[i].1)[0]);
        println!(
            "{name:<34} {:>8.2} {:>8.2} {:>8.2} {:>8.2} | {:>9} {:>8}",
            ms(p[0]),
            ms(p[1]),
            ms(p[2]),
            ms(p[3]),
            old.map_or("-".to_string(), |o| format!("{:.1}", ms(o))),
            old.map_or("-".to_string(), |o| format!("{:.0}×", ms(o) / ms(p[0]))),
        );
    }
    for (name, samples) in &now {
        let p99 = percentiles(samples)[2];
        let verdict = if p99 < Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        };
        println!("target p99 < 50 ms, {name}: {verdict} ({:.1} ms)", ms(p99));
    }
}

fn main() {
    if std::env::var("COSMOS_BENCH_ONLY").as_deref() == Ok("big") {
        big_file_part();
        return;
    }
    let rounds = env_number("COSMOS_BENCH_ROUNDS").unwrap_or(200);
    let large_dir = tempfile::tempdir().expect("tempdir");
    let small_dir = tempfile::tempdir().expect("tempdir");
    let large_root = large_dir.path().canonicalize().expect("canonical");
    let small_root = small_dir.path().canonicalize().expect("canonical");
    let large_project = write_project(&large_root, 100);
    let small_project = write_project(&small_root, 1);
    let lines: usize = large_project.iter().map(|(_, t)| t.lines().count()).sum();
    println!("project: 100 modules, {lines} lines; {rounds} rounds after {WARM_UP} warm-up");
    println!("load average before: {}", load());

    let small = session(&small_root, &small_project, rounds);
    let large = session(&large_root, &large_project, rounds);
    println!("load average after:  {}", load());

    println!(
        "first edit (not counted): 100 modules {:.1} ms, 1 module {:.1} ms",
        ms(large.first_edit),
        ms(small.first_edit)
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>6}",
        "kind (ms)", "p50", "p90", "p99", "max", "ref p50", "ref p99", "p99 ×"
    );
    let kinds: [(&str, &[Duration], &[Duration]); 4] = [
        ("diagnostics after edit (file)", &large.edit, &small.edit),
        (
            "diagnostics after edit (all files)",
            &large.edit_all,
            &small.edit_all,
        ),
        ("hover", &large.hover, &small.hover),
        ("completion", &large.completion, &small.completion),
    ];
    for (name, samples, reference) in kinds {
        let p = percentiles(samples);
        let r = percentiles(reference);
        println!(
            "{name:<34} {:>8.2} {:>8.2} {:>8.2} {:>8.2} | {:>8.2} {:>8.2} | {:>6.2}",
            ms(p[0]),
            ms(p[1]),
            ms(p[2]),
            ms(p[3]),
            ms(r[0]),
            ms(r[2]),
            ms(p[2]) / ms(r[2]),
        );
    }
    for (name, samples) in [
        ("diagnostics after edit", &large.edit),
        ("hover", &large.hover),
        ("completion", &large.completion),
    ] {
        let p99 = percentiles(samples)[2];
        let verdict = if p99 < Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        };
        println!("target p99 < 50 ms, {name}: {verdict} ({:.1} ms)", ms(p99));
    }
    big_file_part();
}
