//! A stand-in HTTP server (not a real service): a thread that answers HTTP/1.1 requests on
//! 127.0.0.1 with `phoenix_ai::stand_in::StandIn`, the same answers the simulated node's `curl`
//! gives. A `loading` stand-in closes each connection without answering.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

use phoenix_ai::stand_in::StandIn;

/// A running stand-in server.
pub(crate) struct Server {
    pub(crate) port: u16,
    pub(crate) state: Arc<Mutex<StandIn>>,
}

impl Server {
    pub(crate) fn start(stand_in: StandIn) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(Mutex::new(stand_in));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let mut words = request_line.split_whitespace();
                let method = words.next().unwrap_or("").to_owned();
                let path = words.next().unwrap_or("/").to_owned();
                let answer = shared.lock().expect("state").respond(
                    &method,
                    &path,
                    &String::from_utf8_lossy(&body),
                );
                let Some(answer) = answer else {
                    continue; // dropped: curl reports an empty reply
                };
                let reason = match answer.status {
                    200 => "OK",
                    404 => "Not Found",
                    409 => "Conflict",
                    503 => "Service Unavailable",
                    _ => "Status",
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    answer.status,
                    answer.content_type,
                    answer.body.len(),
                    answer.body
                );
            }
        });
        Server { port, state }
    }

    pub(crate) fn set_state(&self, state: &str) {
        self.state.lock().expect("state").state = state.to_owned();
    }

    pub(crate) fn requests(&self, key: &str) -> u64 {
        self.state
            .lock()
            .expect("state")
            .requests
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

/// A vLLM embedding stand-in serving `model` with 8 dimensions.
pub(crate) fn vllm(model: &str) -> StandIn {
    let mut s = StandIn::new("vllm");
    s.models = vec![model.to_owned()];
    s.version = "0.10.2".to_owned();
    s.dimension = 8;
    s
}

/// A Qdrant stand-in.
pub(crate) fn qdrant() -> StandIn {
    let mut s = StandIn::new("qdrant");
    s.version = "1.12.4".to_owned();
    s
}

/// An Ollama stand-in with one model.
pub(crate) fn ollama() -> StandIn {
    let mut s = StandIn::new("ollama");
    s.version = "0.5.7".to_owned();
    s.models = vec!["llama3.1:8b".to_owned()];
    s
}
