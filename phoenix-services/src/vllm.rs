//! The vLLM server a container runs (feature `vllm`): one typed model of `vllm serve`'s flags,
//! read from `vllm_engine_config` and from upstream's older flat keys, validated at JSON paths.
//!
//! phoenix-ai runs the server from this model and reports its problems; phoenix-net's gateway
//! and the health checks read the same model through [`servers`] for the served model names,
//! the port, the context length and whether the server embeds or generates.
//!
//! Where a flag can be written:
//! - `vllm_engine_config.<Section>.<key>`: the sections ([`SECTIONS`]) only group the keys, as
//!   upstream's script flattened them (its 910 puts `quantization` under `CacheConfig`); an
//!   unknown section is an error with a suggestion;
//! - the flat keys `vllm_model`, `vllm_served_model_name`, `vllm_port`, `vllm_max_model_len`,
//!   `vllm_gpu_memory_utilization`, `vllm_tensor_parallel_size`, `vllm_quantization`,
//!   `vllm_trust_remote_code` and `vllm_model_type` (`chat` or `embedding`, the runner);
//! - `vllm_parameters.<key>` (engine keys, as in `vllm_engine_config`);
//! - `vllm_args`: command-line words (`--max-model-len`, `4096`; `--x=y`; `--flag`; `--no-flag`).
//!
//! Keys are vLLM's own names; `snake_case` and `kebab-case` are the same flag (vLLM's parser
//! reads both). The same flag written in two places (upstream's 950 and 951 repeat every flat
//! key in `vllm_args`) is **a note when both say the same value** (`"0.90"` and `0.9` are one
//! number; one note per container lists them) and **an error naming both paths when they differ**: upstream's 950 gives
//! `max_model_len` 4096 (`vllm_max_model_len`, `vllm_args`) and 8192 (`vllm_parameters`), and
//! `gpu_memory_utilization` 0.9 against 0.75; which one the bash tool really ran depended on the
//! era's script, so Phoenix makes the operator pick one instead of guessing.
//!
//! Checked: `model` is required once any flag is given (a container with the feature and no
//! flag has the runtime and serves nothing, like upstream's template 920); `port` is a port; `gpu_memory_utilization` is in (0, 1];
//! `max_model_len`, `max_num_seqs`, `max_num_batched_tokens`, `tensor_parallel_size` are
//! positive integers, and `tensor_parallel_size` is at most the number of GPUs of the
//! container's `gpu_assignment`; `runner` and `convert` take vLLM's choices; `hf_token` and
//! `api_key` are refused (a secret never goes into argv: the Hugging Face token comes from
//! `core_paths.hf_token_file` through the unit's environment file). Any other key is passed to
//! vLLM as written, with a note: Phoenix does not know its type. A `true` value is `--flag`, a
//! `false` one `--no-flag` (vLLM 0.10 gives every boolean engine key both spellings), `null`
//! leaves the flag out, a list gives several values, an object is passed as JSON text.
//!
//! The runner (embedding versus generation) becomes flags by vLLM version
//! ([`Server::serve_args`]): `--runner pooling` from 0.10.1, `--task embed` before.

use std::collections::BTreeMap;
use std::fmt;

use phoenix_core::Severity;
use phoenix_core::config::{ConfigSet, JsonPath, suggest};
use serde_json::Value;

use crate::guests::{Guest, guests, parse_gpu_assignment};

/// The feature name.
pub const FEATURE: &str = "vllm";

/// The structured key.
pub const ENGINE_CONFIG_KEY: &str = "vllm_engine_config";

/// The key that pins the vLLM version of a container (`"0.10.2"`).
pub const VERSION_KEY: &str = "vllm_version";

/// The vLLM version installed when `vllm_version` is not given: upstream's pin.
pub const DEFAULT_VERSION: Version = Version {
    major: 0,
    minor: 10,
    patch: 2,
};

/// The port vLLM listens on when none is given (vLLM's own default).
pub const DEFAULT_PORT: u16 = 8000;

/// The sections of `vllm_engine_config` (vLLM's config classes).
pub const SECTIONS: &[&str] = &[
    "ModelConfig",
    "CacheConfig",
    "ParallelConfig",
    "SchedulerConfig",
    "ServerConfig",
    "LoadConfig",
    "LoRAConfig",
    "DeviceConfig",
    "ObservabilityConfig",
    "DecodingConfig",
    "MultiModalConfig",
    "CompilationConfig",
    "SpeculativeConfig",
];

/// The flat keys of upstream's 2171634 representation, with the flag each one sets.
pub const FLAT_KEYS: &[(&str, &str)] = &[
    ("vllm_model", "model"),
    ("vllm_served_model_name", "served-model-name"),
    ("vllm_port", "port"),
    ("vllm_max_model_len", "max-model-len"),
    ("vllm_gpu_memory_utilization", "gpu-memory-utilization"),
    ("vllm_tensor_parallel_size", "tensor-parallel-size"),
    ("vllm_quantization", "quantization"),
    ("vllm_trust_remote_code", "trust-remote-code"),
    ("vllm_model_type", "runner"),
];

/// The keys of an `lxc_configs` entry this module reads (for claims and phoenix-lxc).
pub const KEYS: &[&str] = &[
    ENGINE_CONFIG_KEY,
    VERSION_KEY,
    "vllm_parameters",
    "vllm_args",
    "vllm_model",
    "vllm_served_model_name",
    "vllm_port",
    "vllm_max_model_len",
    "vllm_gpu_memory_utilization",
    "vllm_tensor_parallel_size",
    "vllm_quantization",
    "vllm_trust_remote_code",
    "vllm_model_type",
];

/// A vLLM release, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl Version {
    /// `0.10.2` (three numbers; `0.10` is `0.10.0`).
    pub fn parse(text: &str) -> Result<Version, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let number = |part: &str| -> Option<u32> {
            (!part.is_empty() && part.len() <= 6 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        let numbers: Option<Vec<u32>> = parts.iter().map(|p| number(p)).collect();
        match numbers.as_deref() {
            Some([major, minor]) => Ok(Version {
                major: *major,
                minor: *minor,
                patch: 0,
            }),
            Some([major, minor, patch]) => Ok(Version {
                major: *major,
                minor: *minor,
                patch: *patch,
            }),
            _ => Err(format!(
                "expected a vLLM release such as \"0.10.2\", found {text:?}"
            )),
        }
    }

    /// Whether this release has `--runner` and `--convert` (0.10.1 and later).
    pub fn has_runner_flag(self) -> bool {
        self >= Version {
            major: 0,
            minor: 10,
            patch: 1,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What the server does with its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// Not given: vLLM picks from the model's architecture.
    Auto,
    /// Text generation (`/v1/chat/completions`, `/v1/completions`).
    Generate,
    /// Pooling: embeddings (`/v1/embeddings`).
    Pooling,
}

impl Runner {
    /// vLLM's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Runner::Auto => "auto",
            Runner::Generate => "generate",
            Runner::Pooling => "pooling",
        }
    }
}

/// The value of one flag, in the form it takes on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    /// `--flag` (true) or `--no-flag` (false).
    Switch(bool),
    /// `--flag v1 v2 ...` (one value for most flags).
    Values(Vec<String>),
}

/// One flag of the server, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The flag's name in kebab case, without `--` (`max-model-len`).
    pub name: String,
    /// Its value.
    pub value: ArgValue,
    /// Where it is written (the first place, when it is written twice).
    pub at: JsonPath,
}

/// A problem of a container's vLLM keys, at its JSON path.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Error or note.
    pub severity: Severity,
    /// Where.
    pub at: JsonPath,
    /// What, as a sentence fragment.
    pub message: String,
}

/// The vLLM server of one container.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    /// The container id.
    pub vmid: u32,
    /// The model (`ibm-granite/granite-embedding-english-r2`), `vllm serve`'s positional argument.
    pub model: String,
    /// The names clients ask for (`served_model_name`; the model itself when none is given).
    pub served_model_names: Vec<String>,
    /// `host`, when given (vLLM listens on every address otherwise).
    pub host: Option<String>,
    /// The port (8000 when not given).
    pub port: u16,
    /// `max_model_len`, when given (vLLM takes the model's own otherwise).
    pub max_model_len: Option<u64>,
    /// Embedding or generation.
    pub runner: Runner,
    /// The pinned vLLM release.
    pub version: Version,
    /// Every flag but the model, the runner and `task`, in a fixed order: Phoenix's typed flags
    /// first, in [`TYPED`]'s order, then the passed-through ones as written.
    pub flags: Vec<Flag>,
    /// The entry's JSON path.
    pub path: JsonPath,
}

impl Server {
    /// The words after `vllm serve`: the model, then the runner flags of [`Server::version`],
    /// then every flag.
    pub fn serve_args(&self) -> Vec<String> {
        let mut args = vec![self.model.clone()];
        match (self.runner, self.version.has_runner_flag()) {
            (Runner::Auto, _) => {}
            (runner, true) => args.extend(["--runner".to_owned(), runner.as_str().to_owned()]),
            (Runner::Pooling, false) => args.extend(["--task".to_owned(), "embed".to_owned()]),
            (Runner::Generate, false) => {
                args.extend(["--task".to_owned(), "generate".to_owned()]);
            }
        }
        for flag in &self.flags {
            match &flag.value {
                ArgValue::Switch(true) => args.push(format!("--{}", flag.name)),
                ArgValue::Switch(false) => args.push(format!("--no-{}", flag.name)),
                ArgValue::Values(values) => {
                    args.push(format!("--{}", flag.name));
                    args.extend(values.iter().cloned());
                }
            }
        }
        args
    }

    /// Whether it serves embeddings.
    pub fn embeds(&self) -> bool {
        self.runner == Runner::Pooling
    }
}

/// The result of reading one container's vLLM keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The server, when the keys have no error. None also when the container has no vLLM flag
    /// at all: it has the vLLM runtime but serves nothing (upstream's template 920).
    pub server: Option<Server>,
    /// Errors and notes, in the order found.
    pub problems: Vec<Problem>,
}

/// The type Phoenix checks for a flag it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    /// A string.
    Text,
    /// One string or several.
    Texts,
    /// A port, 1 to 65535.
    Port,
    /// An integer of at least 1.
    Positive,
    /// A number in (0, 1].
    Fraction,
    /// A boolean.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
}

/// The flags Phoenix knows and checks, in the order it writes them.
pub const TYPED: &[&str] = &[
    "served-model-name",
    "host",
    "port",
    "dtype",
    "max-model-len",
    "quantization",
    "kv-cache-dtype",
    "gpu-memory-utilization",
    "tensor-parallel-size",
    "max-num-seqs",
    "max-num-batched-tokens",
    "trust-remote-code",
    "convert",
    "download-dir",
];

/// The type of a flag Phoenix knows (`model`, `runner` and `task` included).
fn type_of(name: &str) -> Option<Type> {
    Some(match name {
        "model" | "host" | "dtype" | "quantization" | "kv-cache-dtype" | "download-dir" => {
            Type::Text
        }
        "served-model-name" => Type::Texts,
        "port" => Type::Port,
        "max-model-len" | "tensor-parallel-size" | "max-num-seqs" | "max-num-batched-tokens" => {
            Type::Positive
        }
        "gpu-memory-utilization" => Type::Fraction,
        "trust-remote-code" => Type::Bool,
        "runner" => Type::Choice(&["auto", "generate", "pooling"]),
        "convert" => Type::Choice(&["auto", "none", "embed", "classify", "reward"]),
        "task" => Type::Choice(&["auto", "generate", "embedding", "embed"]),
        _ => return None,
    })
}

/// Flags that would put a secret into argv.
const SECRET_FLAGS: &[&str] = &["hf-token", "api-key"];

/// Spellings of one flag under another name (vLLM's `CacheConfig.cache_dtype` is the engine
/// argument `kv_cache_dtype`).
fn canonical(name: &str) -> String {
    let kebab = name.replace('_', "-");
    match kebab.as_str() {
        "cache-dtype" => "kv-cache-dtype".to_owned(),
        _ => kebab,
    }
}

/// One place a flag is written.
#[derive(Debug, Clone)]
struct Given {
    name: String,
    value: ArgValue,
    at: JsonPath,
}

/// Every present container with the feature `vllm` whose keys have no error, by id. For the
/// readers that only need the model (the gateway, the health checks); phoenix-ai reports the
/// problems through [`read`].
pub fn servers(config: &ConfigSet) -> BTreeMap<u32, Server> {
    guests(config)
        .values()
        .filter(|guest| guest.has(FEATURE))
        .filter_map(|guest| read(guest).server)
        .map(|server| (server.vmid, server))
        .collect()
}

/// Reads the vLLM keys of `guest`.
pub fn read(guest: &Guest) -> Reading {
    let mut problems = Vec::new();
    let version = read_version(guest, &mut problems);
    let mut given = Vec::new();
    read_engine_config(guest, &mut given, &mut problems);
    read_flat_keys(guest, &mut given, &mut problems);
    read_parameters(guest, &mut given, &mut problems);
    read_args(guest, &mut given, &mut problems);
    let flags = merge(given, &mut problems);
    let server = build(guest, version, flags, &mut problems);
    let server = server.filter(|_| !problems.iter().any(|p| p.severity == Severity::Error));
    Reading { server, problems }
}

fn error(problems: &mut Vec<Problem>, at: JsonPath, message: impl Into<String>) {
    problems.push(Problem {
        severity: Severity::Error,
        at,
        message: message.into(),
    });
}

fn note(problems: &mut Vec<Problem>, at: JsonPath, message: impl Into<String>) {
    problems.push(Problem {
        severity: Severity::Note,
        at,
        message: message.into(),
    });
}

/// `vllm_version`, or the default.
fn read_version(guest: &Guest, problems: &mut Vec<Problem>) -> Version {
    let Some(value) = guest.entry.get(VERSION_KEY) else {
        return DEFAULT_VERSION;
    };
    let at = guest.path_of(VERSION_KEY);
    match value.as_str().map(Version::parse) {
        Some(Ok(version)) => version,
        Some(Err(message)) => {
            error(problems, at, message);
            DEFAULT_VERSION
        }
        None => {
            error(
                problems,
                at,
                "expected a vLLM release as a string, such as \"0.10.2\"",
            );
            DEFAULT_VERSION
        }
    }
}

/// `vllm_engine_config.<Section>.<key>`.
fn read_engine_config(guest: &Guest, given: &mut Vec<Given>, problems: &mut Vec<Problem>) {
    let Some(config) = guest.entry.get(ENGINE_CONFIG_KEY) else {
        return;
    };
    let path = guest.path_of(ENGINE_CONFIG_KEY);
    let Some(sections) = config.as_object() else {
        error(
            problems,
            path,
            "expected an object of sections (ModelConfig, CacheConfig, ...)",
        );
        return;
    };
    for (section, keys) in sections {
        let at = path.key(section);
        if !SECTIONS.contains(&section.as_str()) {
            let hint = suggest(section, SECTIONS.iter().copied())
                .map(|s| format!("; did you mean {s}?"))
                .unwrap_or_default();
            error(
                problems,
                at,
                format!(
                    "unknown section {section:?}: expected one of {}{hint}",
                    SECTIONS.join(", ")
                ),
            );
            continue;
        }
        read_keys(keys, &at, given, problems);
    }
}

/// The engine keys of an object (a section, or `vllm_parameters`).
fn read_keys(object: &Value, at: &JsonPath, given: &mut Vec<Given>, problems: &mut Vec<Problem>) {
    let Some(keys) = object.as_object() else {
        error(problems, at.clone(), "expected an object of engine keys");
        return;
    };
    for (key, value) in keys {
        let at = at.key(key);
        if let Some(value) = json_value(value, &at, problems) {
            given.push(Given {
                name: canonical(key),
                value,
                at,
            });
        }
    }
}

/// A JSON value as a flag value: `null` is none (the flag is left out).
fn json_value(value: &Value, at: &JsonPath, problems: &mut Vec<Problem>) -> Option<ArgValue> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => ArgValue::Switch(*b),
        Value::Number(n) => ArgValue::Values(vec![n.to_string()]),
        Value::String(s) => ArgValue::Values(vec![s.clone()]),
        Value::Array(items) => {
            let mut values = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => values.push(s.clone()),
                    Value::Number(n) => values.push(n.to_string()),
                    _ => {
                        error(
                            problems,
                            at.index(i),
                            "expected a string or a number in a list of flag values",
                        );
                        return None;
                    }
                }
            }
            ArgValue::Values(values)
        }
        Value::Object(_) => ArgValue::Values(vec![value.to_string()]),
    })
}

/// Upstream's flat keys.
fn read_flat_keys(guest: &Guest, given: &mut Vec<Given>, problems: &mut Vec<Problem>) {
    for (key, flag) in FLAT_KEYS {
        let Some(value) = guest.entry.get(*key) else {
            continue;
        };
        let at = guest.path_of(key);
        if *key == "vllm_model_type" {
            match value.as_str() {
                Some("chat" | "generate") => given.push(Given {
                    name: "runner".to_owned(),
                    value: ArgValue::Values(vec!["generate".to_owned()]),
                    at,
                }),
                Some("embedding" | "embed") => given.push(Given {
                    name: "runner".to_owned(),
                    value: ArgValue::Values(vec!["pooling".to_owned()]),
                    at,
                }),
                _ => error(
                    problems,
                    at,
                    "expected \"chat\" or \"embedding\" (the runner: generate or pooling)",
                ),
            }
            continue;
        }
        if let Some(value) = json_value(value, &at, problems) {
            given.push(Given {
                name: (*flag).to_owned(),
                value,
                at,
            });
        }
    }
}

/// `vllm_parameters`.
fn read_parameters(guest: &Guest, given: &mut Vec<Given>, problems: &mut Vec<Problem>) {
    if let Some(parameters) = guest.entry.get("vllm_parameters") {
        read_keys(
            parameters,
            &guest.path_of("vllm_parameters"),
            given,
            problems,
        );
    }
}

/// `vllm_args`: `--name value...`, `--name=value`, `--flag`, `--no-flag`.
fn read_args(guest: &Guest, given: &mut Vec<Given>, problems: &mut Vec<Problem>) {
    let Some(args) = guest.entry.get("vllm_args") else {
        return;
    };
    let path = guest.path_of("vllm_args");
    let Some(items) = args.as_array() else {
        error(
            problems,
            path,
            "expected a list of command-line words, such as [\"--max-model-len\", \"4096\"]",
        );
        return;
    };
    let mut words = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) => words.push((i, s.clone())),
            Value::Number(n) => words.push((i, n.to_string())),
            _ => {
                error(problems, path.index(i), "expected a string or a number");
                return;
            }
        }
    }
    let mut at = 0;
    while at < words.len() {
        let (index, word) = &words[at];
        at += 1;
        let Some(flag) = word.strip_prefix("--").filter(|f| !f.is_empty()) else {
            error(
                problems,
                path.index(*index),
                format!(
                    "expected a flag starting with -- (vLLM's long form), found {word:?}; the model goes into vllm_model"
                ),
            );
            continue;
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, ArgValue::Values(vec![value.to_owned()])),
            None => {
                let mut values = Vec::new();
                while at < words.len() && !words[at].1.starts_with("--") {
                    values.push(words[at].1.clone());
                    at += 1;
                }
                if values.is_empty() {
                    match flag.strip_prefix("no-") {
                        Some(name) => (name, ArgValue::Switch(false)),
                        None => (flag, ArgValue::Switch(true)),
                    }
                } else {
                    (flag, ArgValue::Values(values))
                }
            }
        };
        given.push(Given {
            name: canonical(name),
            value,
            at: path.index(*index),
        });
    }
}

/// One flag per name: the same value twice is a note, two values an error. Typed flags are
/// checked and put in their canonical form first, so `"0.90"` and `0.9` are one value.
fn merge(given: Vec<Given>, problems: &mut Vec<Problem>) -> Vec<Given> {
    let mut out: Vec<Given> = Vec::new();
    let mut repeated: Vec<(JsonPath, String)> = Vec::new();
    for mut one in given {
        if SECRET_FLAGS.contains(&one.name.as_str()) {
            error(
                problems,
                one.at,
                format!(
                    "{} would put a secret into the server's command line, which every user of the container can read; the Hugging Face token comes from core_paths.hf_token_file",
                    one.name
                ),
            );
            continue;
        }
        if let Some(kind) = type_of(&one.name) {
            match check(kind, &one.value) {
                Ok(value) => one.value = value,
                Err(message) => {
                    error(problems, one.at, format!("{}: {message}", one.name));
                    continue;
                }
            }
        }
        match out.iter().find(|o| o.name == one.name) {
            Some(first) if first.value == one.value => {
                repeated.push((one.at, format!("{} ({})", one.name, first.at)));
            }
            Some(first) => error(
                problems,
                one.at,
                format!(
                    "{} is given twice with different values: {} at {} and {} here; keep one",
                    one.name,
                    show(&first.value),
                    first.at,
                    show(&one.value)
                ),
            ),
            None => out.push(one),
        }
    }
    if let Some((at, _)) = repeated.first() {
        let names: Vec<&str> = repeated.iter().map(|(_, n)| n.as_str()).collect();
        note(
            problems,
            at.clone(),
            format!(
                "written a second time with the same value (one place is enough): {}",
                names.join(", ")
            ),
        );
    }
    out
}

/// A value as the operator wrote it, for messages.
fn show(value: &ArgValue) -> String {
    match value {
        ArgValue::Switch(b) => b.to_string(),
        ArgValue::Values(values) => values.join(" "),
    }
}

/// Checks a typed flag's value and puts it in canonical form.
fn check(kind: Type, value: &ArgValue) -> Result<ArgValue, String> {
    let one = || match value {
        ArgValue::Values(values) if values.len() == 1 => Ok(values[0].as_str()),
        ArgValue::Values(_) => Err("expected one value".to_owned()),
        ArgValue::Switch(_) => Err("expected a value, not true or false".to_owned()),
    };
    let single = |text: String| Ok(ArgValue::Values(vec![text]));
    match kind {
        Type::Text => {
            let text = one()?;
            if text.trim().is_empty() {
                return Err("expected a non-empty string".to_owned());
            }
            single(text.to_owned())
        }
        Type::Texts => match value {
            ArgValue::Values(values)
                if !values.is_empty() && values.iter().all(|v| !v.trim().is_empty()) =>
            {
                Ok(value.clone())
            }
            _ => Err("expected a name or a list of names".to_owned()),
        },
        Type::Port => match one()?.parse::<u16>() {
            Ok(port) if port > 0 => single(port.to_string()),
            _ => Err("expected a port, 1 to 65535".to_owned()),
        },
        Type::Positive => match one()?.parse::<u64>() {
            Ok(n) if n > 0 => single(n.to_string()),
            _ => Err("expected a whole number of at least 1".to_owned()),
        },
        Type::Fraction => match one()?.parse::<f64>() {
            Ok(x) if x > 0.0 && x <= 1.0 => single(x.to_string()),
            _ => Err(
                "expected a number greater than 0 and at most 1 (a share of the GPU's memory)"
                    .to_owned(),
            ),
        },
        Type::Bool => match value {
            ArgValue::Switch(_) => Ok(value.clone()),
            _ => match one()? {
                "true" => Ok(ArgValue::Switch(true)),
                "false" => Ok(ArgValue::Switch(false)),
                _ => Err("expected true or false".to_owned()),
            },
        },
        Type::Choice(choices) => {
            let text = one()?;
            if choices.contains(&text) {
                single(text.to_owned())
            } else {
                Err(format!("expected one of {}", choices.join(", ")))
            }
        }
    }
}

/// The server from the merged flags: the model, the runner, the GPU check, the notes on
/// passed-through flags.
fn build(
    guest: &Guest,
    version: Version,
    flags: Vec<Given>,
    problems: &mut Vec<Problem>,
) -> Option<Server> {
    let value_of = |name: &str| -> Option<(&Given, &str)> {
        flags
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| match &f.value {
                ArgValue::Values(values) => values.first().map(|v| (f, v.as_str())),
                ArgValue::Switch(_) => None,
            })
    };
    let model = value_of("model").map(|(_, m)| m.to_owned());
    let runner = runner(&flags, version, problems);
    check_convert(&flags, version, problems);
    check_gpus(guest, &flags, problems);
    let served_model_names = flags
        .iter()
        .find(|f| f.name == "served-model-name")
        .and_then(|f| match &f.value {
            ArgValue::Values(values) => Some(values.clone()),
            ArgValue::Switch(_) => None,
        });
    let port = value_of("port")
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    let host = value_of("host").map(|(_, h)| h.to_owned());
    let max_model_len = value_of("max-model-len").and_then(|(_, n)| n.parse().ok());
    let mut ordered = Vec::new();
    for name in TYPED {
        if let Some(flag) = flags.iter().find(|f| f.name == *name) {
            ordered.push(Flag {
                name: flag.name.clone(),
                value: flag.value.clone(),
                at: flag.at.clone(),
            });
        }
    }
    for flag in &flags {
        if type_of(&flag.name).is_none() {
            note(
                problems,
                flag.at.clone(),
                format!(
                    "{} is passed to vLLM as --{} without a check: Phoenix does not know its type",
                    flag.name, flag.name
                ),
            );
            ordered.push(Flag {
                name: flag.name.clone(),
                value: flag.value.clone(),
                at: flag.at.clone(),
            });
        }
    }
    let Some(model) = model else {
        if flags.is_empty() {
            // The runtime only, as upstream's templates 920 (2171634) have it: the clones
            // configure the server.
            return None;
        }
        error(
            problems,
            guest.path.clone(),
            "the vllm feature needs a model: vllm_engine_config.ModelConfig.model (or vllm_model)",
        );
        return None;
    };
    Some(Server {
        vmid: guest.vmid,
        served_model_names: served_model_names.unwrap_or_else(|| vec![model.clone()]),
        model,
        host,
        port,
        max_model_len,
        runner,
        version,
        flags: ordered,
        path: guest.path.clone(),
    })
}

/// `runner`, or `task` (the spelling before 0.10.1), as a [`Runner`]: both given is an error.
fn runner(flags: &[Given], version: Version, problems: &mut Vec<Problem>) -> Runner {
    let word = |name: &str| {
        flags
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| match &f.value {
                ArgValue::Values(values) => values.first().map(|v| (f, v.as_str())),
                ArgValue::Switch(_) => None,
            })
    };
    let from_runner = word("runner").map(|(f, w)| {
        let runner = match w {
            "generate" => Runner::Generate,
            "pooling" => Runner::Pooling,
            _ => Runner::Auto,
        };
        (f, runner)
    });
    let from_task = word("task").map(|(f, w)| {
        let runner = match w {
            "generate" => Runner::Generate,
            "embed" | "embedding" => Runner::Pooling,
            _ => Runner::Auto,
        };
        (f, runner)
    });
    match (from_runner, from_task) {
        (Some((_, runner)), None) => runner,
        (None, Some((_, runner))) => runner,
        (None, None) => Runner::Auto,
        (Some((first, runner)), Some((task, _))) => {
            error(
                problems,
                task.at.clone(),
                format!(
                    "task and runner (at {}) are two spellings of one choice; give runner (Phoenix writes --{} for vLLM {version})",
                    first.at,
                    if version.has_runner_flag() {
                        "runner"
                    } else {
                        "task"
                    }
                ),
            );
            runner
        }
    }
}

/// `convert` exists from 0.10.1.
fn check_convert(flags: &[Given], version: Version, problems: &mut Vec<Problem>) {
    if let Some(flag) = flags.iter().find(|f| f.name == "convert")
        && !version.has_runner_flag()
    {
        error(
            problems,
            flag.at.clone(),
            format!(
                "convert needs vLLM 0.10.1 or later (this container pins {version}); before it, runner pooling is written --task embed"
            ),
        );
    }
}

/// `tensor_parallel_size` (1 when not given) against the container's GPUs, when its
/// `gpu_assignment` can be read (a malformed one is phoenix-gpu's error).
fn check_gpus(guest: &Guest, flags: &[Given], problems: &mut Vec<Problem>) {
    let Some(Ok(gpus)) = guest
        .entry
        .get("gpu_assignment")
        .and_then(Value::as_str)
        .map(parse_gpu_assignment)
    else {
        return;
    };
    let given = flags.iter().find(|f| f.name == "tensor-parallel-size");
    let size: u64 = given
        .and_then(|f| match &f.value {
            ArgValue::Values(values) => values.first().and_then(|v| v.parse().ok()),
            ArgValue::Switch(_) => None,
        })
        .unwrap_or(1);
    if size > gpus.len() as u64 {
        let at = given.map_or_else(|| guest.path_of("gpu_assignment"), |f| f.at.clone());
        error(
            problems,
            at,
            format!(
                "tensor_parallel_size {size} needs {size} GPUs, and the container has {} (gpu_assignment {})",
                gpus.len(),
                guest.path_of("gpu_assignment")
            ),
        );
    }
}

#[cfg(test)]
#[path = "vllm_tests.rs"]
mod tests;
