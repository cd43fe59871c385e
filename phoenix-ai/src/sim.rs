//! The simulated node's `curl`: requests to the AI services' endpoints, answered from the node's
//! `ai` namespace (`{"endpoints": {"10.0.0.151:8000": StandIn}}`, see `stand_in`), with curl
//! 7.88's own messages, exit statuses and `-w` output. An address no service listens on refuses
//! the connection, as a real one does (exit 7).
//!
//! An address without an entry there is looked up in the containers' configurations
//! (`/etc/pve/lxc/<id>.conf`, `netN: ...,ip=A.B.C.D/NN`): a running container answers through
//! its own in-guest stand-ins (`guest_stand_in`, reached by `pct exec <id> -- curl` against
//! `127.0.0.1`), so the node and a guest share one parser and one answerer per service; a
//! stopped container refuses the connection. Tests seed the namespace directly.

mod python;

use std::collections::BTreeMap;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use serde::{Deserialize, Serialize};

use crate::guest_stand_in::{parse_curl, write_out};
use crate::stand_in::StandIn;

pub use python::PythonEmulator;

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

/// curl's message when nothing answers at `host:port`, with `-w`'s output.
fn refused(host: &str, port: &str, format: Option<&str>) -> SimOutput {
    SimOutput::new(
        7,
        write_out(format, 0),
        format!(
            "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server\n"
        ),
        false,
    )
}

/// The container whose configuration (`/etc/pve/lxc/<id>.conf`, any `netN`'s `ip=`) has the
/// address `host`.
fn container_at(sys: &SimSys<'_>, host: &str) -> Option<u32> {
    sys.list("/etc/pve/lxc").into_iter().find_map(|path| {
        let id: u32 = path
            .strip_prefix("/etc/pve/lxc/")?
            .strip_suffix(".conf")?
            .parse()
            .ok()?;
        let conf = phoenix_pve::parse_conf(&sys.read(&path)?.content).ok()?;
        let has = (0..10).any(|n| {
            conf.main
                .net(&format!("net{n}"))
                .and_then(Result::ok)
                .and_then(|net| net.ip().map(|ip| ip.split('/').next() == Some(host)))
                .unwrap_or(false)
        });
        has.then_some(id)
    })
}

/// The request answered inside container `id` by its own stand-ins: `pct exec <id> -- curl`
/// with the same options against `127.0.0.1:PORT`, so both paths share one answerer. A stopped
/// container answers nothing.
fn through_guest(
    sys: &mut SimSys<'_>,
    id: u32,
    args: &[String],
    url: &str,
    (host, port, path): (&str, &str, &str),
    format: Option<&str>,
    stdin: Option<&str>,
) -> SimOutput {
    let id = id.to_string();
    let status = sys.run_program(&["pct".to_owned(), "status".to_owned(), id.clone()]);
    if status.stdout.trim() != "status: running" {
        return refused(host, port, format);
    }
    let local = format!("http://127.0.0.1:{port}{path}");
    let mut argv: Vec<String> = ["pct", "exec", id.as_str(), "--", "curl"]
        .map(str::to_owned)
        .to_vec();
    argv.extend(args.iter().map(|arg| {
        if arg == url {
            local.clone()
        } else {
            arg.clone()
        }
    }));
    let output = sys.run_program_with_stdin(&argv, stdin);
    let stderr = output.stderr.replace(
        &format!("to 127.0.0.1 port {port} "),
        &format!("to {host} port {port} "),
    );
    SimOutput::new(output.status, output.stdout, stderr, output.mutated)
}

impl Emulator for CurlEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["curl".to_owned()]
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let request = match parse_curl(&argv[1..], stdin) {
            Ok(request) => request,
            Err(message) => {
                return SimOutput::fail(2, format!("curl: {message}\n"));
            }
        };
        let url = request.url.as_str();
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
        let format = request.write_out.as_deref();
        let mut state: Endpoints = sys.load(NAMESPACE);
        let Some(service) = state.endpoints.get_mut(&format!("{host}:{port}")) else {
            return match container_at(sys, host) {
                Some(id) => {
                    through_guest(sys, id, &argv[1..], url, (host, port, path), format, stdin)
                }
                None => refused(host, port, format),
            };
        };
        let body = request.body.as_deref().unwrap_or("");
        let Some(answer) = service.respond(&request.method, path, body) else {
            return refused(host, port, format);
        };
        let mutated = answer.changed;
        if mutated {
            sys.store(NAMESPACE, &state);
        }
        let stdout = format!("{}{}", answer.body, write_out(format, answer.status));
        SimOutput::new(0, stdout, "", mutated)
    }
}
