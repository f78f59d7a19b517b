//! `cosmosc lsp` starts itself again in place with mimalloc's purge delay set (so that
//! large answers do not land on fresh pages each time), and the restarted process is
//! the one the editor talks to: same pid, same stdin and stdout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn frame(body: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{body}", body.len())
}

#[test]
fn the_server_runs_with_freed_pages_kept_and_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(["lsp", "--stdio"])
        .env_remove("MIMALLOC_PURGE_DELAY")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let initialize =
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
    stdin.write_all(frame(initialize).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The answer comes from the process the client started.
    let mut length = 0;
    loop {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    stdout.read_exact(&mut body).unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(answer["result"]["capabilities"].is_object(), "{answer}");
    assert!(
        environ(child.id()).contains(&"MIMALLOC_PURGE_DELAY=-1".to_string()),
        "{:?}",
        environ(child.id())
    );
    for message in [
        r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#,
        r#"{"jsonrpc":"2.0","method":"exit"}"#,
    ] {
        stdin.write_all(frame(message).as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the server did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_purge_delay_already_set_is_kept() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .args(["lsp"])
        .env("MIMALLOC_PURGE_DELAY", "7")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let env = environ(child.id());
    drop(child.stdin.take());
    child.kill().ok();
    child.wait().ok();
    assert!(
        env.contains(&"MIMALLOC_PURGE_DELAY=7".to_string()),
        "{env:?}"
    );
}
