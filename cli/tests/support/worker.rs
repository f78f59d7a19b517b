//! A real `cosmosc worker` process for the runtime's tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};

pub struct Worker {
    pub child: Child,
    pub name: String,
    /// What the worker printed on stderr after it started.
    log: Arc<Mutex<String>>,
}

impl Worker {
    /// Starts `cosmosc worker . --name NAME` in `root` with `args` and `env`, and waits
    /// until it runs.
    pub fn start(root: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cosmosc"))
            .args(["worker", ".", "--name", name])
            .args(args)
            .envs(env.iter().copied())
            .current_dir(root)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut before = String::new();
        loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("worker exited before running; it printed:\n{before}"));
            let line = line.unwrap();
            if line.contains(" running pools ") {
                break;
            }
            before.push_str(&line);
            before.push('\n');
        }
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Worker {
            child,
            name: name.to_string(),
            log,
        }
    }

    /// What the worker has printed on stderr since it started.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn kill9(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-9", &pid]).status().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and how the worker exited; with what it printed.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let exit = self.child.wait().unwrap();
        // The draining thread ends with the pipe.
        std::thread::sleep(std::time::Duration::from_millis(100));
        (exit, self.log())
    }
}
