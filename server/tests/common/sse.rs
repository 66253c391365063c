//! A minimal Server-Sent Events client for the change stream (`GET /v1/changes/stream`): one
//! request on its own connection, the chunked body read on a thread and split into event
//! blocks, which arrive on a channel that closes when the server ends the stream.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One SSE event block (or `:` comment) as received.
#[derive(Debug, Clone)]
pub struct Sse {
    pub comment: Option<String>,
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: Option<String>,
}

/// An open stream: blocks arrive on `rx`; the channel closes when the server ends the stream.
pub struct Stream {
    pub status: u16,
    /// The response head, as received.
    pub head: String,
    pub content_type: String,
    pub rx: mpsc::Receiver<Sse>,
}

pub fn open_stream(port: u16, token: &str, query: &str, last_event_id: Option<&str>) -> Stream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut head = format!("GET /v1/changes/stream{query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n");
    if let Some(id) = last_event_id {
        head.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    s.write_all(format!("{head}\r\n").as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "the stream's head");
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head.lines().find_map(|l| l.to_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string())).unwrap_or_default();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // de-chunk, then split into blocks at blank lines
        let mut raw = Vec::new();
        let mut text = String::new();
        let mut chunk = [0u8; 4096];
        let mut last = false;
        while !last {
            let n = match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            raw.extend_from_slice(&chunk[..n]);
            while let Some(nl) = raw.windows(2).position(|w| w == b"\r\n") {
                let size = usize::from_str_radix(String::from_utf8_lossy(&raw[..nl]).trim(), 16).unwrap();
                if size == 0 {
                    last = true;
                    break;
                }
                if raw.len() < nl + 2 + size + 2 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&raw[nl + 2..nl + 2 + size]));
                raw.drain(..nl + 2 + size + 2);
            }
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let mut e = Sse { comment: None, id: None, event: None, data: None };
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("", v)) => e.comment = Some(v.trim().to_string()),
                        Some(("id", v)) => e.id = Some(v.trim().to_string()),
                        Some(("event", v)) => e.event = Some(v.trim().to_string()),
                        Some(("data", v)) => e.data = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
                if tx.send(e).is_err() {
                    return;
                }
            }
        }
    });
    Stream { status, head, content_type, rx }
}

impl Stream {
    /// The next `event: change` (skipping comments) within `wait`.
    pub fn next_change(&self, wait: Duration) -> Option<Sse> {
        let deadline = Instant::now() + wait;
        loop {
            let e = self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).ok()?;
            if e.comment.is_none() {
                return Some(e);
            }
        }
    }
}

