//! The simulated node's `curl`: requests to the AI services' endpoints, answered from the node's
//! `ai` namespace (`{"endpoints": {"10.0.0.151:8000": StandIn}}`, see `stand_in`), with curl
//! 7.88's own messages, exit statuses and `-w` output. An address no service listens on refuses
//! the connection, as a real one does (exit 7).
//!
//! The service emulators put a service's stand-in there when its unit starts in a container;
//! tests seed it directly.

use std::collections::BTreeMap;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use serde::{Deserialize, Serialize};

use crate::stand_in::StandIn;

/// The node's namespace of stand-in services.
pub const NAMESPACE: &str = "ai";

/// What the namespace holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoints {
    /// Stand-in services by `IP:PORT`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, StandIn>,
}

/// The emulator of `curl` on the node.
#[derive(Debug, Default, Clone, Copy)]
pub struct CurlEmulator;

/// A parsed command line.
#[derive(Debug, Default)]
struct Request {
    method: Option<String>,
    write_out: Option<String>,
    body_from_stdin: bool,
    url: Option<String>,
}

fn parse(args: &[String]) -> Result<Request, String> {
    let mut request = Request::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-s" | "-S" | "-sS" | "--silent" | "--show-error" => {}
            "--connect-timeout" | "--max-time" | "-m" | "-H" | "--header" => {
                it.next()
                    .ok_or_else(|| format!("option {arg}: requires parameter"))?;
            }
            "-w" | "--write-out" => {
                request.write_out = it.next().cloned();
            }
            "-X" | "--request" => request.method = it.next().cloned(),
            "--data-binary" | "-d" | "--data" => {
                let data = it
                    .next()
                    .ok_or_else(|| format!("option {arg}: requires parameter"))?;
                if data != "@-" {
                    return Err(format!("not emulated: {arg} {data}"));
                }
                request.body_from_stdin = true;
            }
            other if other.starts_with('-') => return Err(format!("not emulated: {other}")),
            url => request.url = Some(url.to_owned()),
        }
    }
    Ok(request)
}

/// `-w`'s expansion (`\n` and `%{http_code}`).
fn write_out(format: Option<&str>, code: u16) -> String {
    format
        .unwrap_or("")
        .replace("\\n", "\n")
        .replace("%{http_code}", &format!("{code:03}"))
}

impl Emulator for CurlEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["curl".to_owned()]
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let request = match parse(&argv[1..]) {
            Ok(request) => request,
            Err(message) => {
                return SimOutput::fail(2, format!("curl: {message}\n"));
            }
        };
        let Some(url) = request.url.as_deref() else {
            return SimOutput::fail(2, "curl: no URL specified\n");
        };
        let Some(rest) = url.strip_prefix("http://") else {
            return SimOutput::fail(
                1,
                format!(
                    "curl: (1) Protocol \"{}\" not supported or disabled in libcurl\n",
                    url.split("://").next().unwrap_or(url)
                ),
            );
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let (host, port) = authority.split_once(':').unwrap_or((authority, "80"));
        let method = request.method.clone().unwrap_or_else(|| {
            if request.body_from_stdin {
                "POST"
            } else {
                "GET"
            }
            .to_owned()
        });
        let body = if request.body_from_stdin {
            stdin.unwrap_or("")
        } else {
            ""
        };
        let mut state: Endpoints = sys.load(NAMESPACE);
        let answer = state
            .endpoints
            .get_mut(&format!("{host}:{port}"))
            .and_then(|service| service.respond(&method, path, body));
        let Some(answer) = answer else {
            return SimOutput::new(
                7,
                write_out(request.write_out.as_deref(), 0),
                format!(
                    "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server\n"
                ),
                false,
            );
        };
        let mutated = answer.changed;
        if mutated {
            sys.store(NAMESPACE, &state);
        }
        let stdout = format!(
            "{}{}",
            answer.body,
            write_out(request.write_out.as_deref(), answer.status)
        );
        SimOutput::new(0, stdout, "", mutated)
    }
}
