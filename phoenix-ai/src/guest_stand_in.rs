//! Stand-ins inside simulated containers: `ollama` and `curl` run in a container, and `sh` runs
//! the release installer (`guest_install`); `ollama` and `curl` (the node's own `curl`, `sim`'s,
//! reaches a container's address through this one, with the same parser), answering
//! as the real Ollama CLI and as the real Ollama, Qdrant and vLLM servers do over HTTP (the JSON
//! shapes of `/api/tags`, `/api/version`, `/readyz`, `/healthz` and `/collections`; vLLM's
//! `/health`, `/v1/models` and `/v1/embeddings` are `stand_in`'s answers). They are stand-ins:
//! no model is downloaded and no vector is indexed.
//!
//! What they know lives in the container's files, as the real servers keep it: a server answers
//! while its unit is active; Ollama's port and models directory come from its unit's
//! `OLLAMA_HOST` and `OLLAMA_MODELS`, its version from the versioned binary the unit runs, and a
//! pulled model is its manifest file (`manifests/registry.ollama.ai/library/NAME/TAG` in the
//! models directory, Ollama's own layout); Qdrant's port and storage come from
//! `/etc/qdrant/config.yaml`, and a collection is a directory of `collections/` in the storage
//! path with its points in a stand-in file, so the points follow the data volume; vLLM's port,
//! served names and runner come from its unit's `ExecStart=`, its version from the venv that
//! command runs from.

use std::sync::Arc;

use phoenix_core::sim::{Emulator, GuestSys, SimFile, SimOutput, SimSys};
use serde_json::{Value, json};

use crate::ollama::unit as ollama_unit;
use crate::qdrant::files as qdrant_files;
use crate::stand_in::StandIn;
use crate::vllm::unit as vllm_unit;

/// The stand-ins of `ollama` and `curl` inside simulated containers.
#[derive(Debug, Default, Clone, Copy)]
pub struct AiStandIns;

/// The guest emulators of this module.
pub fn emulators() -> Vec<Arc<dyn Emulator>> {
    vec![Arc::new(AiStandIns)]
}

/// The file in a collection's directory that holds its points (a stand-in's own; the real
/// server keeps segments).
pub const POINTS_FILE: &str = "phoenix-stand-in-points.json";

impl Emulator for AiStandIns {
    fn programs(&self) -> Vec<String> {
        Vec::new()
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, _sys: &mut SimSys<'_>) -> SimOutput {
        SimOutput::fail(
            2,
            format!(
                "phoenix sim: `{}` is not emulated on the node\n",
                argv.join(" ")
            ),
        )
    }

    fn guest_programs(&self) -> Vec<String> {
        vec!["ollama".to_owned(), "curl".to_owned(), "sh".to_owned()]
    }

    fn run_in_guest(
        &self,
        argv: &[String],
        stdin: Option<&str>,
        guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        match argv.first().map(String::as_str) {
            Some("ollama") => ollama(&argv[1..], guest),
            // A download an emulator serves (a runfile), else a call to a guest service.
            Some("curl") => phoenix_core::sim::curl_download(argv, guest)
                .or_else(|| curl(&argv[1..], stdin, guest)),
            Some("sh") => crate::guest_install::run(&argv[1..], guest),
            _ => None,
        }
    }
}

/// The Ollama server of a guest, as its unit describes it.
struct OllamaServer {
    port: u16,
    models_dir: String,
    version: String,
}

/// The running Ollama server of `guest`, if its unit is active.
fn ollama_server(guest: &dyn GuestSys<'_>) -> Option<OllamaServer> {
    if guest.unit_state(ollama_unit::UNIT).as_deref() != Some("active") {
        return None;
    }
    let unit = guest.read(&format!("/etc/systemd/system/{}", ollama_unit::UNIT))?;
    let env = |name: &str| {
        unit.content.lines().find_map(|line| {
            line.strip_prefix("Environment=\"")?
                .strip_suffix('"')?
                .strip_prefix(&format!("{name}="))
                .map(str::to_owned)
        })
    };
    let port = env("OLLAMA_HOST")
        .and_then(|host| host.rsplit(':').next()?.parse().ok())
        .unwrap_or(11434);
    let models_dir = env("OLLAMA_MODELS").unwrap_or_else(|| ollama_unit::HOME.to_owned());
    let version = unit
        .content
        .lines()
        .find_map(|line| {
            line.strip_prefix("ExecStart=")?
                .strip_prefix(&format!("{}/", ollama_unit::INSTALL_ROOT))?
                .split('/')
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Some(OllamaServer {
        port,
        models_dir,
        version,
    })
}

/// Where Ollama keeps the manifest of `name:tag`.
fn manifest_path(models_dir: &str, model: &str) -> String {
    let (path, tag) = model.rsplit_once(':').unwrap_or((model, "latest"));
    let path = match path.split('/').count() {
        1 => format!("registry.ollama.ai/library/{path}"),
        2 => format!("registry.ollama.ai/{path}"),
        _ => path.to_owned(),
    };
    format!("{models_dir}/manifests/{path}/{tag}")
}

/// The models a server has, as `/api/tags` names them.
fn pulled_models(guest: &dyn GuestSys<'_>, server: &OllamaServer) -> Vec<String> {
    let root = format!("{}/manifests/", server.models_dir);
    let mut models = Vec::new();
    // The stand-in keeps an index beside the manifests (a guest's files cannot be listed).
    if let Some(index) = guest.read(&format!("{root}.phoenix-stand-in-index")) {
        for name in index.content.lines() {
            if guest
                .read(&manifest_path(&server.models_dir, name))
                .is_some()
            {
                models.push(name.to_owned());
            }
        }
    }
    models
}

/// `ollama pull NAME` and `ollama list`.
fn ollama(args: &[String], guest: &mut dyn GuestSys<'_>) -> Option<SimOutput> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(server) = ollama_server(guest) else {
        return Some(SimOutput::fail(
            1,
            "Error: could not connect to ollama server, run 'ollama serve' to start it\n",
        ));
    };
    match args.as_slice() {
        ["pull", name] => {
            let model = phoenix_services::ollama::normalise_model(name)?;
            let manifest = manifest_path(&server.models_dir, &model);
            guest.write(
                &manifest,
                SimFile::new(
                    json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
                        .to_string(),
                    0o644,
                    "ollama:ollama",
                ),
            );
            let index_path = format!("{}/manifests/.phoenix-stand-in-index", server.models_dir);
            let mut index = guest
                .read(&index_path)
                .map(|f| f.content)
                .unwrap_or_default();
            if !index.lines().any(|line| line == model) {
                index.push_str(&format!("{model}\n"));
            }
            guest.write(&index_path, SimFile::new(index, 0o644, "ollama:ollama"));
            Some(SimOutput::ok_mutated(
                "pulling manifest \nverifying sha256 digest \nwriting manifest \nsuccess \n",
            ))
        }
        ["list"] | ["ls"] => {
            let mut out = format!("{:<24}{:<16}{:<10}{}\n", "NAME", "ID", "SIZE", "MODIFIED");
            for model in pulled_models(guest, &server) {
                out.push_str(&format!(
                    "{:<24}{:<16}{:<10}{}\n",
                    model, "a80c4f17acd5", "2.0 GB", "About a minute ago"
                ));
            }
            Some(SimOutput::ok(out))
        }
        _ => None,
    }
}

/// The Qdrant server of a guest: its port and storage path from its config.yaml.
struct QdrantServer {
    port: u16,
    storage: String,
    api_key: Option<String>,
}

/// The running Qdrant server of `guest`, if its unit is active.
fn qdrant_server(guest: &dyn GuestSys<'_>) -> Option<QdrantServer> {
    if guest.unit_state(qdrant_files::UNIT).as_deref() != Some("active") {
        return None;
    }
    let config = guest.read(qdrant_files::CONFIG_PATH)?;
    let port = config
        .content
        .lines()
        .find_map(|l| l.strip_prefix("  http_port: ")?.trim().parse().ok())
        .unwrap_or(6333);
    let storage = qdrant_files::storage_path_of(&config.content)?.to_owned();
    let api_key = guest.read(qdrant_files::API_KEY_ENV).and_then(|f| {
        f.content.lines().find_map(|l| {
            l.strip_prefix("QDRANT__SERVICE__API_KEY=")
                .map(str::to_owned)
        })
    });
    Some(QdrantServer {
        port,
        storage,
        api_key,
    })
}

/// curl's exit 7 when nothing listens at `host:port`, with `-w`'s output `written`.
fn refused(host: &str, port: u16, written: &str) -> SimOutput {
    SimOutput::new(
        7,
        written,
        format!(
            "curl: (7) Failed to connect to {host} port {port} after 0 ms: Couldn't connect to server\n"
        ),
        false,
    )
}

/// The vLLM server of a guest, as its unit's `ExecStart=` starts it.
struct VllmServer {
    port: u16,
    stand_in: StandIn,
}

/// The running vLLM server of `guest`, if its unit is active: `VENV/bin/vllm serve MODEL
/// FLAGS...` listens on `--port` (8000 by default) and serves the `--served-model-name`s (the
/// model by default), embeddings when its runner is pooling (`--runner pooling`, or `--task
/// embed` before 0.10.1; 768 dimensions, granite-embedding-english-r2's); its version is the
/// venv's (`/opt/vllm/<version>`). Like the real server it answers `/health` with 200 and an
/// empty body and `/v1/models` with the OpenAI list (`stand_in`'s answers).
fn vllm_server(guest: &dyn GuestSys<'_>) -> Option<VllmServer> {
    if guest.unit_state(vllm_unit::UNIT).as_deref() != Some("active") {
        return None;
    }
    let unit = guest.read(vllm_unit::UNIT_PATH)?;
    let argv = vllm_unit::words(
        unit.content
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("ExecStart="))?,
    );
    let [program, serve, model, flags @ ..] = argv.as_slice() else {
        return None;
    };
    if serve != "serve" || model.starts_with('-') {
        return None;
    }
    let values = |name: &str| -> Vec<String> {
        flags
            .iter()
            .position(|f| f == name)
            .map(|at| {
                flags[at + 1..]
                    .iter()
                    .take_while(|f| !f.starts_with("--"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let port = match values("--port").first() {
        Some(port) => port.parse().ok()?,
        None => 8000,
    };
    let mut stand_in = StandIn::new("vllm");
    stand_in.models = values("--served-model-name");
    if stand_in.models.is_empty() {
        stand_in.models.push(model.clone());
    }
    let pooling = values("--runner").first().is_some_and(|r| r == "pooling")
        || values("--task").first().is_some_and(|t| t == "embed");
    stand_in.dimension = if pooling { 768 } else { 0 };
    stand_in.version = program
        .strip_prefix(&format!("{}/", vllm_unit::VENV_ROOT))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    Some(VllmServer { port, stand_in })
}

/// A parsed `curl` command line, the node's (`sim`) and a guest's alike.
pub(crate) struct Request {
    fail: bool,
    /// `-X`, or GET (POST when a body is sent).
    pub(crate) method: String,
    /// The last non-option word.
    pub(crate) url: String,
    headers: Vec<String>,
    /// `-d DATA`, or standard input for `--data-binary @-`.
    pub(crate) body: Option<String>,
    out: Option<String>,
    /// `-w FORMAT`.
    pub(crate) write_out: Option<String>,
}

/// Reads the options Phoenix (health checks, round trip, installers) and the tests use; an error
/// names anything else. `stdin` is the body of `--data-binary @-`.
pub(crate) fn parse_curl(args: &[String], stdin: Option<&str>) -> Result<Request, String> {
    let mut request = Request {
        fail: false,
        method: String::new(),
        url: String::new(),
        headers: Vec::new(),
        body: None,
        out: None,
        write_out: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let arg = arg.as_str();
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("option {arg}: requires parameter"))
        };
        match arg {
            "-f" | "-fsS" | "-fsSL" | "--fail" => request.fail = true,
            "-s" | "-S" | "-sS" | "--silent" | "--show-error" | "--retry-connrefused" => {}
            "--max-time" | "-m" | "--connect-timeout" | "--retry" | "--retry-delay" => {
                value()?;
            }
            "-o" => request.out = Some(value()?),
            "-w" | "--write-out" => request.write_out = Some(value()?),
            "-X" | "--request" => request.method = value()?,
            "-H" | "--header" => request.headers.push(value()?),
            "-K" | "--config" => {
                let file = value()?;
                if file != "-" {
                    return Err(format!("not emulated: {arg} {file}"));
                }
                read_curl_config(stdin.unwrap_or(""), &mut request)?;
            }
            "-d" | "--data" | "--data-binary" => {
                let data = value()?;
                request.body = Some(if data == "@-" {
                    stdin.unwrap_or("").to_owned()
                } else if data.starts_with('@') {
                    return Err(format!("not emulated: {arg} {data}"));
                } else {
                    data
                });
            }
            other if other.starts_with('-') => return Err(format!("not emulated: {other}")),
            url => url.clone_into(&mut request.url),
        }
    }
    if request.method.is_empty() {
        request.method = if request.body.is_some() {
            "POST"
        } else {
            "GET"
        }
        .to_owned();
    }
    if request.url.is_empty() {
        return Err("no URL specified".to_owned());
    }
    Ok(request)
}

/// Reads the options of curl's config on standard input (`--config -`) that Phoenix puts there:
/// `header = "..."` and `data-binary = "..."`, with curl's escapes. The messages never quote a
/// value (a header there is a secret).
fn read_curl_config(text: &str, request: &mut Request) -> Result<(), String> {
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or("not emulated: a config line without '='")?;
        let value = unquote_config(value.trim()).ok_or("not emulated: an unquoted config value")?;
        match name.trim() {
            "header" => request.headers.push(value),
            "data-binary" => request.body = Some(value),
            other => return Err(format!("not emulated: config option {other}")),
        }
    }
    Ok(())
}

/// A double-quoted value of curl's config, unescaped.
fn unquote_config(value: &str) -> Option<String> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            other => other,
        });
    }
    Some(out)
}

/// `-w`'s expansion (`\n` and `%{http_code}`, `000` when no answer came).
pub(crate) fn write_out(format: Option<&str>, code: u16) -> String {
    format
        .unwrap_or("")
        .replace("\\n", "\n")
        .replace("%{http_code}", &format!("{code:03}"))
}

/// `curl` against the stand-in servers of the guest.
fn curl(args: &[String], stdin: Option<&str>, guest: &mut dyn GuestSys<'_>) -> Option<SimOutput> {
    let request = parse_curl(args, stdin).ok()?;
    let written = |code| write_out(request.write_out.as_deref(), code);
    let rest = request.url.strip_prefix("http://")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    // The query (`?wait=true`) does not change what the stand-ins answer.
    let path = path.split('?').next().unwrap_or_default().to_owned();
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    if !matches!(host, "127.0.0.1" | "localhost") {
        return None;
    }
    let answer = if let Some(server) = ollama_server(guest).filter(|s| s.port == port) {
        ollama_http(&request, &path, &server, guest)
    } else if let Some(mut server) = vllm_server(guest).filter(|s| s.port == port) {
        let body = request.body.as_deref().unwrap_or("");
        match server.stand_in.respond(&request.method, &path, body) {
            Some(answer) => (answer.status, answer.body, false),
            None => return Some(refused(host, port, &written(0))),
        }
    } else if let Some(server) = qdrant_server(guest).filter(|s| s.port == port) {
        qdrant_http(&request, &path, &server, guest)
    } else {
        return Some(refused(host, port, &written(0)));
    };
    let (status, body, mutated) = answer;
    if request.fail && status >= 400 {
        return Some(SimOutput::new(
            22,
            written(status),
            format!("curl: (22) The requested URL returned error: {status}\n"),
            mutated,
        ));
    }
    let out = match &request.out {
        Some(path) if path == "/dev/null" => String::new(),
        Some(path) => {
            guest.write(path, SimFile::text(body));
            String::new()
        }
        None => body,
    } + &written(status);
    Some(
        if mutated || request.out.as_deref().is_some_and(|p| p != "/dev/null") {
            SimOutput::ok_mutated(out)
        } else {
            SimOutput::ok(out)
        },
    )
}

/// Ollama's answers: `/api/version`, `/api/tags`, and `/` ("Ollama is running").
fn ollama_http(
    request: &Request,
    path: &str,
    server: &OllamaServer,
    guest: &dyn GuestSys<'_>,
) -> (u16, String, bool) {
    match (request.method.as_str(), path) {
        ("GET", "/") => (200, "Ollama is running".to_owned(), false),
        ("GET", "/api/version") => (200, json!({"version": server.version}).to_string(), false),
        ("GET", "/api/tags") => {
            let models: Vec<Value> = pulled_models(guest, server)
                .into_iter()
                .map(|name| {
                    json!({
                        "name": name, "model": name,
                        "modified_at": "2025-10-01T10:00:00.000000000Z",
                        "size": 2_019_393_189_u64,
                        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                        "details": {"parent_model": "", "format": "gguf", "family": "llama",
                                    "families": ["llama"], "parameter_size": "3.2B",
                                    "quantization_level": "Q4_K_M"}
                    })
                })
                .collect();
            (200, json!({"models": models}).to_string(), false)
        }
        _ => (404, "404 page not found".to_owned(), false),
    }
}

/// Qdrant's answers: `/healthz`, `/livez`, `/readyz` (no key needed), and with the key the
/// collections: list, create (`PUT /collections/NAME`), upsert (`PUT .../points`) and count
/// (`POST .../points/count`).
fn qdrant_http(
    request: &Request,
    path: &str,
    server: &QdrantServer,
    guest: &mut dyn GuestSys<'_>,
) -> (u16, String, bool) {
    let ok =
        |result: Value| json!({"result": result, "status": "ok", "time": 0.000_012}).to_string();
    match path {
        "/healthz" | "/livez" => return (200, "healthz check passed".to_owned(), false),
        "/readyz" => return (200, "all shards are ready".to_owned(), false),
        _ => {}
    }
    if let Some(key) = &server.api_key
        && !request
            .headers
            .iter()
            .any(|h| h.strip_prefix("api-key: ") == Some(key.as_str()))
    {
        return (
            401,
            json!({"status": {"error": "Must provide an API key or an Authorization bearer token"}, "time": 0.0}).to_string(),
            false,
        );
    }
    let collections = format!("{}/collections", server.storage);
    let index_path = format!("{collections}/.phoenix-stand-in-index");
    let names: Vec<String> = guest
        .read(&index_path)
        .map(|f| f.content.lines().map(str::to_owned).collect())
        .unwrap_or_default();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["collections"]) => {
            let list: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
            (200, ok(json!({"collections": list})), false)
        }
        ("PUT", ["collections", name]) => {
            let mut names = names.clone();
            if !names.iter().any(|n| n == name) {
                names.push((*name).to_owned());
            }
            guest.write(&index_path, SimFile::new(names.join("\n") + "\n", 0o644, "qdrant:qdrant"));
            guest.write(
                &format!("{collections}/{name}/{POINTS_FILE}"),
                SimFile::new("[]", 0o644, "qdrant:qdrant"),
            );
            (200, ok(json!(true)), true)
        }
        ("PUT", ["collections", name, "points"]) if names.iter().any(|n| n == name) => {
            let file = format!("{collections}/{name}/{POINTS_FILE}");
            let mut points: Vec<Value> = guest
                .read(&file)
                .and_then(|f| serde_json::from_str(&f.content).ok())
                .unwrap_or_default();
            let new: Value = request
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or_default();
            for point in new["points"].as_array().into_iter().flatten() {
                points.retain(|p| p["id"] != point["id"]);
                points.push(point.clone());
            }
            guest.write(
                &file,
                SimFile::new(Value::from(points).to_string(), 0o644, "qdrant:qdrant"),
            );
            (200, ok(json!({"operation_id": 0, "status": "completed"})), true)
        }
        ("POST", ["collections", name, "points", "count"]) if names.iter().any(|n| n == name) => {
            let count = guest
                .read(&format!("{collections}/{name}/{POINTS_FILE}"))
                .and_then(|f| serde_json::from_str::<Vec<Value>>(&f.content).ok())
                .map_or(0, |p| p.len());
            (200, ok(json!({"count": count})), false)
        }
        ("POST", ["collections", name, "points", "search"]) if names.iter().any(|n| n == name) => {
            let points: Vec<Value> = guest
                .read(&format!("{collections}/{name}/{POINTS_FILE}"))
                .and_then(|f| serde_json::from_str(&f.content).ok())
                .unwrap_or_default();
            let query: Value = request
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or_default();
            let limit = query["limit"].as_u64().unwrap_or(10);
            let mut scored: Vec<Value> = points
                .iter()
                .map(|p| {
                    json!({"id": p["id"], "version": 0,
                           "score": cosine(&query["vector"], &p["vector"]),
                           "payload": p.get("payload").cloned().unwrap_or(Value::Null)})
                })
                .collect();
            scored.sort_by(|a, b| {
                let score = |v: &Value| v["score"].as_f64().unwrap_or(0.0);
                score(b).total_cmp(&score(a))
            });
            scored.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            (200, ok(Value::from(scored)), false)
        }
        ("DELETE", ["collections", name]) => {
            let kept: Vec<&String> = names.iter().filter(|n| *n != name).collect();
            let existed = kept.len() != names.len();
            if existed {
                let text: String = kept.iter().map(|n| format!("{n}\n")).collect();
                guest.write(&index_path, SimFile::new(text, 0o644, "qdrant:qdrant"));
                guest.remove(&format!("{collections}/{name}/{POINTS_FILE}"));
            }
            (200, ok(json!(existed)), existed)
        }
        (_, ["collections", name, ..]) => (
            404,
            json!({"status": {"error": format!("Not found: Collection `{name}` doesn't exist!")}, "time": 0.0}).to_string(),
            false,
        ),
        _ => (404, String::new(), false),
    }
}

/// The cosine similarity of two JSON vectors (0 when either is not one).
fn cosine(a: &Value, b: &Value) -> f64 {
    let numbers = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let (a, b) = (numbers(a), numbers(b));
    let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let norms = norm(&a) * norm(&b);
    if a.len() != b.len() || norms == 0.0 {
        0.0
    } else {
        dot / norms
    }
}
