//! Connections cannot take a node down: a `cosmosc serve` allowed 512 descriptors is
//! flooded with idle and slow-header connections (more than it may hold), and still
//! answers `/healthz` and the API, closes the quiet connections (slow headers, idle,
//! kept alive and unused, a stalled body), and runs workflows' function processes to
//! completion.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::server::{Server, call};
use support::workflows::{chain, chain_total};

/// Idle connections (connect, send nothing) and slow-header ones (half a request
/// line, then a byte now and then): together more than the node's 512 descriptors.
const IDLE: usize = 700;
const SLOW: usize = 200;

/// Opens up to `n` connections to `address`, giving up on one that takes longer
/// than `wait` (the node's backlog is full).
fn open(address: SocketAddr, n: usize, wait: Duration) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| TcpStream::connect_timeout(&address, wait).ok())
        .collect()
}

/// An HTTP client that gives up after 15 s: a node that does not answer fails the
/// test instead of hanging it.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into()
}

fn get(server: &Server, path: &str) -> (u16, Value) {
    call(agent().get(format!("{}{path}", server.base)).call())
}

fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    call(
        agent()
            .post(format!("{}{path}", server.base))
            .send_json(body),
    )
}

/// Whether the server closed `stream` (end of file or reset) within `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut byte = [0u8; 256];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return true,
            // A 408 or 400 before the close is fine: keep reading to the end.
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

#[test]
fn a_connection_flood_leaves_the_node_answering_and_calls_running() {
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", &chain("20.s")),
        (
            "functions/work.sh",
            "read line\nn=$(printf '%s' \"$line\" | tr -dc '0-9-')\nsleep 0.3\necho $(( n * 2 ))\n",
        ),
    ]);
    let server = Server::start_with_open_files(
        project.path(),
        512,
        &["--store", "state.db"],
        &[
            ("COSMOS_HEADER_TIMEOUT_MS", "1000"),
            ("COSMOS_IDLE_TIMEOUT_MS", "1000"),
        ],
    );
    let address: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let started = Instant::now();

    // A workflow whose five calls run while the flood goes on.
    let (status, body) = server.post("/v1/workflows/Chain/instances", json!({"seed": 4}));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_string();

    let mut slow = open(address, SLOW, Duration::from_millis(300));
    for stream in &mut slow {
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    }
    let idle = open(address, IDLE, Duration::from_millis(300));
    assert!(
        slow.len() + idle.len() > 512,
        "the flood holds more connections ({} + {}) than the node has descriptors",
        slow.len(),
        idle.len()
    );
    // Keep the slow ones trickling, a byte every 200 ms, in the background.
    let trickle = std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            for stream in &mut slow {
                let _ = stream.write_all(b"a");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        slow
    });

    // The node answers during the flood.
    let (status, body) = get(&server, "/healthz");
    assert_eq!((status, body), (200, json!("ok\n")));
    let (status, body) = get(&server, &format!("/v1/instances/{id}"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&server, "/v1/workflows/Chain/instances", json!({"seed": 5}));
    assert_eq!(status, 201, "{body}");
    let second = body["id"].as_str().unwrap().to_string();

    // Quiet connections are closed: the slow-header ones by the header timeout even
    // though they keep sending, the idle ones by the same timeout.
    let mut slow = trickle.join().unwrap();
    let mut idle = idle;
    for stream in slow.iter_mut().take(20).chain(idle.iter_mut().take(20)) {
        assert!(
            closed_within(stream, Duration::from_secs(10)),
            "a quiet connection stays open"
        );
    }
    drop((slow, idle));

    // The calls ran: both instances complete with the right totals.
    server.wait_all_finished(&[id.clone(), second.clone()], Duration::from_secs(20));
    for (id, seed) in [(&id, 4), (&second, 5)] {
        let (_, body) = server.get(&format!("/v1/instances/{id}"));
        assert_eq!(body["status"], "COMPLETED", "{body}");
        assert_eq!(body["output"]["total"], json!(chain_total(seed)), "{body}");
    }
    // A kept-alive connection left unused is closed too.
    let mut kept = TcpStream::connect(address).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(
        closed_within(&mut kept, Duration::from_secs(5)),
        "an unused kept-alive connection stays open"
    );
    // A body that stops coming is closed by the idle timeout (its headers were
    // complete, so the header timeout no longer applies).
    let mut stalled = TcpStream::connect(address).unwrap();
    stalled
        .write_all(
            b"POST /v1/workflows/Chain/instances HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"seed\": ",
        )
        .unwrap();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(5)),
        "a stalled body keeps its connection open"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}
