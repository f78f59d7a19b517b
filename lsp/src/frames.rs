//! The LSP base protocol's frames (`Content-Length: n`, a blank line, `n` bytes of
//! JSON) between the editor and the server, checked before the server sees them.
//!
//! tower-lsp-server stops reading at the first frame it cannot decode, which would end
//! the session on one malformed message; so every frame is read here first. A frame
//! whose body is not JSON is answered with a JSON-RPC "parse error", one that is JSON
//! but not a JSON-RPC message (`null`, `[]`, `{"x": 1}`) with "invalid request", both
//! with a `null` id as JSON-RPC 2.0 requires, and the session goes on. The server's own
//! output is passed through frame by frame, so that the answers never land inside one
//! of its messages.

use serde_json::{Value, json};
use std::io;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
};
use tokio::sync::mpsc;

/// What was read: a frame's body, or a header block without a usable length.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Body(Vec<u8>),
    BadHeader,
}

/// Reads one frame; `None` at the end of the stream.
pub async fn read_frame(reader: &mut (impl AsyncBufRead + Unpin)) -> io::Result<Option<Frame>> {
    let mut length: Option<usize> = None;
    let mut bad = false;
    let mut seen_header = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if seen_header {
                break;
            }
            // Blank lines between frames are skipped.
            continue;
        }
        seen_header = true;
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad = true,
                }
            }
            Some(_) => {}
            None => bad = true,
        }
    }
    match length {
        Some(n) if !bad => {
            let mut body = vec![0; n];
            reader.read_exact(&mut body).await?;
            Ok(Some(Frame::Body(body)))
        }
        _ => Ok(Some(Frame::BadHeader)),
    }
}

/// `body` as a frame.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Why a body is not passed on: the JSON-RPC error to answer it with.
pub fn rejection(body: &[u8]) -> Option<Value> {
    let error = |code: i64, message: &str| json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Some(error(-32700, "Parse error: the message is not JSON"));
    };
    let Some(object) = value.as_object() else {
        return Some(error(
            -32600,
            "Invalid Request: a JSON-RPC message is a JSON object",
        ));
    };
    let version = object.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    let request = object.get("method").is_some_and(Value::is_string);
    let response = object.contains_key("id")
        && (object.contains_key("result") || object.contains_key("error"));
    if !version || !(request || response) {
        return Some(error(
            -32600,
            "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
        ));
    }
    None
}

/// Passes the editor's well-formed frames to the server and answers the others through
/// `answers`; closes `server` at the end of the input.
pub async fn filter_input(
    mut input: impl AsyncBufRead + Unpin,
    mut server: impl AsyncWrite + Unpin,
    answers: mpsc::UnboundedSender<Vec<u8>>,
) {
    while let Ok(Some(read)) = read_frame(&mut input).await {
        let body = match read {
            Frame::Body(body) => body,
            Frame::BadHeader => {
                let answer = json!({"jsonrpc": "2.0", "id": null, "error": {
                    "code": -32700, "message": "Parse error: a header without Content-Length"}});
                let _ = answers.send(answer.to_string().into_bytes());
                continue;
            }
        };
        if let Some(answer) = rejection(&body) {
            let _ = answers.send(answer.to_string().into_bytes());
            continue;
        }
        if server.write_all(&frame(&body)).await.is_err() || server.flush().await.is_err() {
            return;
        }
    }
    let _ = server.shutdown().await;
}

/// Writes the server's frames and the filter's answers to `output`, whole frames at a
/// time, until the server's output ends.
pub async fn merge_output(
    server: impl AsyncRead + Unpin + Send + 'static,
    mut answers: mpsc::UnboundedReceiver<Vec<u8>>,
    mut output: impl AsyncWrite + Unpin,
) {
    let (sender, mut frames) = mpsc::unbounded_channel::<Vec<u8>>();
    let reader = tokio::spawn(async move {
        let mut server = tokio::io::BufReader::new(server);
        while let Ok(Some(Frame::Body(body))) = read_frame(&mut server).await {
            if sender.send(body).is_err() {
                return;
            }
        }
    });
    loop {
        let body = tokio::select! {
            body = frames.recv() => match body {
                Some(body) => body,
                None => break,
            },
            Some(answer) = answers.recv() => answer,
        };
        if output.write_all(&frame(&body)).await.is_err() || output.flush().await.is_err() {
            break;
        }
    }
    let _ = reader.await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn malformed_bodies_are_rejected_with_their_error() {
        let code = |body: &str| rejection(body.as_bytes()).map(|v| v["error"]["code"].clone());
        assert_eq!(code("{not json}"), Some(json!(-32700)));
        assert_eq!(code("null"), Some(json!(-32600)));
        assert_eq!(code("[]"), Some(json!(-32600)));
        assert_eq!(code(r#"{"x": 1}"#), Some(json!(-32600)));
        assert_eq!(code(r#"{"jsonrpc": "2.0", "method": "exit"}"#), None);
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 1, "method": "shutdown", "params": null}"#),
            None
        );
        assert_eq!(code(r#"{"jsonrpc": "2.0", "id": 1, "result": null}"#), None);
    }

    #[tokio::test]
    async fn frames_are_read_one_by_one() {
        let input = b"Content-Length: 2\r\n\r\n{}Content-Length: x\r\n\r\nContent-Length: 4\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\nnull";
        let mut reader = tokio::io::BufReader::new(&input[..]);
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            Some(Frame::Body(b"{}".to_vec()))
        );
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            Some(Frame::BadHeader)
        );
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            Some(Frame::Body(b"null".to_vec()))
        );
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);
    }
}
