//! A real `cosmosc serve` process for the runtime's tests, and an HTTP client for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What the server printed on stderr after it started listening.
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `cosmosc serve . --listen 127.0.0.1:0` in `root` with `args` and `env`,
    /// and waits until it listens.
    pub fn start(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_with(Command::new(env!("CARGO_BIN_EXE_cosmosc")), root, args, env)
    }

    /// [`Server::start`] with another `cosmosc` than this build's (an earlier build, for
    /// a benchmark that compares the two in one run).
    pub fn start_binary(binary: &Path, root: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        Self::start_with(Command::new(binary), root, args, env)
    }

    /// [`Server::start`] with the process allowed `open_files` descriptors at most
    /// (soft and hard limit, set by `sh`'s `ulimit -n` before it runs `cosmosc`).
    pub fn start_with_open_files(
        root: &Path,
        open_files: u32,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!("ulimit -n {open_files} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_cosmosc"));
        Self::start_with(sh, root, args, env)
    }

    fn start_with(
        mut command: Command,
        root: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut child = command
            .args(["serve", ".", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .current_dir(root)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Server { child, base, log }
    }

    /// The text of its `/metrics`.
    pub fn metrics(&self) -> String {
        let mut response = agent()
            .get(format!("{}/metrics", self.base))
            .call()
            .unwrap();
        response.body_mut().read_to_string().unwrap()
    }

    /// What the server has printed on stderr since it started listening.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn kill9(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-9", &pid]).status().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: the server must stop gracefully and exit 0.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "serve exits 0 after SIGTERM: {exit:?}");
    }

    /// Waits until none of `ids` is RUNNING, failing the test after `limit`.
    pub fn wait_all_finished(&self, ids: &[String], limit: std::time::Duration) {
        let start = std::time::Instant::now();
        loop {
            let unfinished = ids
                .iter()
                .filter(|id| self.get(&format!("/v1/instances/{id}")).1["status"] == "RUNNING")
                .count();
            if unfinished == 0 {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "{unfinished} instances still running after {limit:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        call(agent().get(format!("{}{path}", self.base)).call())
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        call(agent().post(format!("{}{path}", self.base)).send_json(body))
    }

    pub fn post_raw(&self, path: &str, body: &str) -> (u16, Value) {
        call(
            agent()
                .post(format!("{}{path}", self.base))
                .content_type("application/json")
                .send(body),
        )
    }
}

impl Server {
    /// POSTs `body` over a plain socket and returns the response's status. The server
    /// may answer (413) and close before the whole body is sent, so the body is written
    /// from another thread whose write errors are ignored — what a browser or curl does
    /// with an early response — and only the status line is read.
    pub fn post_oversized(&self, path: &str, body: String) -> u16 {
        use std::io::{Read, Write};
        let address = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            let _ = writer.write_all(body.as_bytes());
        });
        let mut response = Vec::new();
        let mut chunk = [0u8; 4096];
        while !response.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("reading the response failed: {e}"),
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Both);
        let _ = sender.join();
        let line = String::from_utf8_lossy(&response);
        line.split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {line:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// From an instance's history alone (`GET /v1/instances/{id}/history`): its steps
/// never overlapped — each step (the consecutive rows sharing one stamp) finished
/// before the next one started — and every row is stamped. Returns the nodes that
/// took its steps, in order.
pub fn assert_steps_never_overlap(history: &Value) -> Vec<String> {
    let rows = history["history"].as_array().unwrap();
    let mut steps: Vec<&Value> = Vec::new();
    for row in rows {
        let stamp = &row["step"];
        assert!(stamp.is_object(), "an unstamped row: {row}");
        if steps.last() != Some(&stamp) {
            steps.push(stamp);
        }
    }
    let time = |stamp: &Value, key: &str| stamp[key].as_i64().unwrap();
    for stamp in &steps {
        assert!(
            time(stamp, "started_us") <= time(stamp, "finished_us"),
            "a step that ends before it starts: {stamp}"
        );
    }
    for pair in steps.windows(2) {
        assert!(
            time(pair[0], "finished_us") <= time(pair[1], "started_us"),
            "two steps overlapped: {} then {}\n{history}",
            pair[0],
            pair[1]
        );
    }
    steps
        .iter()
        .map(|s| s["node"].as_str().unwrap().to_string())
        .collect()
}

/// A response's status and JSON body (or its text as a JSON string).
pub fn call(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    match result {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let text = response.body_mut().read_to_string().unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(ureq::Error::StatusCode(code)) => (code, Value::Null),
        Err(e) => panic!("request failed: {e}"),
    }
}

/// How many instances of `workflow` with `status` the server at `base` lists, page by
/// page.
pub fn count_instances(agent: &ureq::Agent, base: &str, workflow: &str, status: &str) -> usize {
    let mut total = 0;
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{base}/v1/instances?workflow={workflow}&status={status}&limit=1000");
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let (_, page) = call(agent.get(&url).call());
        let rows = page["instances"].as_array().unwrap();
        total += rows.len();
        if rows.len() < 1000 {
            return total;
        }
        after = rows.last().map(|r| r["id"].as_str().unwrap().to_string());
    }
}

/// The value of metric `name` (with labels, if any, as written) in `text`, the text of
/// `/metrics` ([`Server::metrics`]).
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// An HTTP client that returns 4xx and 5xx responses instead of failing on them.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

impl Server {
    /// Sends `request` (a whole HTTP/1.1 request, which should say `Connection:
    /// close`) over a plain socket, byte for byte, and returns the response's status,
    /// its `Content-Type` and its body as JSON (or as a JSON string when it is not
    /// JSON). For what an HTTP client will not send: bytes that are not UTF-8 in a
    /// header, raw paths, duplicate query parameters.
    pub fn raw(&self, request: &[u8]) -> (u16, String, Value) {
        use std::io::{Read, Write};
        let address = self.base.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "no response head in {response:?} to {:?}",
                    String::from_utf8_lossy(request)
                )
            });
        let head = String::from_utf8_lossy(&response[..split]).to_string();
        let mut body = response[split + 4..].to_vec();
        let header = |name: &str| {
            head.lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        };
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            body = dechunk(&body);
        }
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        let text = String::from_utf8_lossy(&body).to_string();
        (
            status,
            header("content-type").unwrap_or_default(),
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A request line and headers for [`Server::raw`], with `Host` and `Connection:
    /// close` added; `extra` are more header lines (without their CRLF), `body` is
    /// sent with its length.
    pub fn request(&self, method: &str, target: &[u8], extra: &[&[u8]], body: &str) -> Vec<u8> {
        let address = self.base.trim_start_matches("http://");
        let mut out = Vec::new();
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(target);
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(address.as_bytes());
        out.extend_from_slice(b"\r\nConnection: close\r\n");
        for line in extra {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() || method == "POST" {
            out.extend_from_slice(b"Content-Type: application/json\r\n");
            out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body.as_bytes());
        out
    }
}

/// The body of a chunked response.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
