//! The provider's config keys: a container's `health_check` (how long apply waits for its
//! services), upstream's test keys (noted: Phoenix's own checks replace them), and the top-level
//! `embedding_round_trip`.
//!
//! `lxc_configs.<id>.health_check` is upstream's `{command, retries, interval}` (952 only in
//! 0017fa8) plus Phoenix's `timeout_seconds` and `interval_seconds`: the bound is
//! `timeout_seconds`, else `retries` × `interval`; the poll interval is `interval_seconds`,
//! else `interval`. `command` is not run (noted): Phoenix asks the service's own endpoint.
//! `tests`, `integration_tests`, `run_integration_tests` and the legacy `vllm` list name
//! upstream's test scripts, which Phoenix does not have; each is noted once.

use std::collections::{BTreeMap, BTreeSet};

use phoenix_core::config::{JsonPath, Section, excerpt};
use phoenix_core::{DecodeCx, Diagnostic, Location};
use serde::Deserialize;

use crate::endpoint::Service;
use crate::health::Wait;

/// The top-level key of the round trip.
pub const ROUND_TRIP_KEY: &str = "embedding_round_trip";

/// The keys of a container entry this provider reads, relative to `lxc_configs`.
pub const PART_KEYS: &[&str] = &[
    "health_check",
    "tests",
    "integration_tests",
    "run_integration_tests",
    "vllm",
];

/// Upstream's test keys and what Phoenix does instead.
const NOTED: &[(&str, &str)] = &[
    (
        "tests",
        "upstream's test scripts are not run; after apply Phoenix checks every service from the node (vLLM /health and /v1/models, Ollama /api/version, Qdrant /readyz) and runs the embedding round trip (embedding_round_trip)",
    ),
    (
        "integration_tests",
        "legacy test wiring: replaced by the health checks and the embedding round trip",
    ),
    (
        "run_integration_tests",
        "legacy test wiring: replaced by the health checks and the embedding round trip",
    ),
    (
        "vllm",
        "legacy list of vLLM test scripts: replaced by the vLLM health check (/health, /v1/models)",
    ),
];

/// `health_check` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    #[serde(default)]
    timeout_seconds: Option<u64>,
    #[serde(default)]
    interval_seconds: Option<u64>,
    /// Upstream's shell command: not run (noted).
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    retries: Option<u64>,
    #[serde(default)]
    interval: Option<u64>,
}

/// `embedding_round_trip` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoundTrip {
    embedding_container: u32,
    qdrant_container: u32,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    collection: Option<String>,
    #[serde(default)]
    after_apply: Option<bool>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
}

/// The round trip as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundTripSpec {
    /// The container of the vLLM embedding service.
    pub embedding_container: u32,
    /// The container of Qdrant.
    pub qdrant_container: u32,
    /// The sentence embedded.
    pub text: String,
    /// The scratch collection (created and deleted by the round trip).
    pub collection: String,
    /// Whether apply runs it when either service changed in the run.
    pub after_apply: bool,
    /// The bound of each request, in seconds.
    pub timeout_s: u64,
    /// Where it is, for messages.
    pub at: Location,
    /// Its JSON path.
    pub path: JsonPath,
}

/// The round trip of `config` read leniently (for `phoenix round-trip`, after the config passed
/// decode, which reports its errors): `None` when it is absent or does not read.
pub fn round_trip_spec(config: &phoenix_core::config::ConfigSet) -> Option<RoundTripSpec> {
    let section = config.sections().find(|s| s.key == ROUND_TRIP_KEY)?;
    let raw: RawRoundTrip = serde_json::from_value(section.value.clone()).ok()?;
    let path = section.path();
    Some(RoundTripSpec {
        embedding_container: raw.embedding_container,
        qdrant_container: raw.qdrant_container,
        text: raw.text.unwrap_or_else(|| DEFAULT_TEXT.to_owned()),
        collection: raw
            .collection
            .unwrap_or_else(|| DEFAULT_COLLECTION.to_owned()),
        after_apply: raw.after_apply.unwrap_or(true),
        timeout_s: raw.timeout_seconds.unwrap_or(30),
        at: section.location_of(&path),
        path,
    })
}

/// The default sentence of the round trip.
pub const DEFAULT_TEXT: &str = "Phoenix converges a Proxmox host to what its JSON describes.";

/// The default scratch collection.
pub const DEFAULT_COLLECTION: &str = "phoenix-round-trip";

/// What the provider read from the config.
#[derive(Debug, Default)]
pub struct Spec {
    /// The wait of each container with a `health_check`, by id and service (the same for all of
    /// its services unless absent).
    pub waits: BTreeMap<u32, HealthWait>,
    /// The round trip, when configured.
    pub round_trip: Option<RoundTripSpec>,
}

/// A container's configured wait (either part may be left to the service's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthWait {
    /// The bound, in seconds.
    pub timeout_s: Option<u64>,
    /// The poll interval, in seconds.
    pub interval_s: Option<u64>,
}

impl HealthWait {
    /// The wait of `service` with this container's settings.
    pub fn for_service(self, service: Service) -> Wait {
        let default = Wait::default_for(service);
        Wait {
            timeout_s: self.timeout_s.unwrap_or(default.timeout_s),
            interval_s: self.interval_s.unwrap_or(default.interval_s),
        }
    }
}

/// Reads the provider's keys, reporting errors and notes at their JSON paths.
pub fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Spec {
    let mut spec = Spec::default();
    let mut noted = BTreeSet::new();
    for section in sections {
        if section.key == ROUND_TRIP_KEY {
            spec.round_trip = decode_round_trip(section, cx);
            continue;
        }
        if section.key != "lxc_configs" {
            continue;
        }
        let Some(entries) = section.value.as_object() else {
            continue;
        };
        for (key, entry) in entries {
            let Ok(vmid) = key.parse::<u32>() else {
                continue;
            };
            let path = section.path().key(key);
            for (name, reason) in NOTED {
                if entry.get(*name).is_some() && noted.insert(*name) {
                    cx.report(
                        Diagnostic::note(format!("{name} is known but not run: {reason}"))
                            .at(section.location_of(&path.key(*name))),
                    );
                }
            }
            let Some(value) = entry.get("health_check") else {
                continue;
            };
            let at = path.key("health_check");
            if let Some(wait) = decode_health(section, &at, value, cx) {
                spec.waits.insert(vmid, wait);
            }
        }
    }
    spec
}

fn decode_health(
    section: &Section<'_>,
    at: &JsonPath,
    value: &serde_json::Value,
    cx: &mut DecodeCx<'_>,
) -> Option<HealthWait> {
    let raw: RawHealth = cx.decode(section, at, value)?;
    let error = |cx: &mut DecodeCx<'_>, key: &str, expected: &str, found: u64| {
        cx.report(
            Diagnostic::error(format!("expected {expected}, found {found}"))
                .at(section.location_of(&at.key(key))),
        );
    };
    let mut ok = true;
    for (key, value, range) in [
        ("timeout_seconds", raw.timeout_seconds, 1..=86_400),
        ("interval_seconds", raw.interval_seconds, 1..=3_600),
        ("retries", raw.retries, 1..=1_000),
        ("interval", raw.interval, 1..=3_600),
    ] {
        if let Some(found) = value
            && !range.contains(&found)
        {
            let expected = format!(
                "a number of {} from {} to {}",
                if key == "retries" { "tries" } else { "seconds" },
                range.start(),
                range.end()
            );
            error(cx, key, &expected, found);
            ok = false;
        }
    }
    if let Some(command) = &raw.command {
        cx.report(
            Diagnostic::note(format!(
                "health_check.command {} is not run: Phoenix checks the container's services at their own endpoints from the node; retries × interval bound the wait unless timeout_seconds is set",
                excerpt(command)
            ))
            .at(section.location_of(&at.key("command"))),
        );
    }
    if !ok {
        return None;
    }
    let from_retries = match (raw.retries, raw.interval) {
        (Some(retries), Some(interval)) => Some(retries * interval),
        (Some(retries), None) => Some(retries * 5),
        _ => None,
    };
    Some(HealthWait {
        timeout_s: raw.timeout_seconds.or(from_retries),
        interval_s: raw.interval_seconds.or(raw.interval),
    })
}

fn decode_round_trip(section: &Section<'_>, cx: &mut DecodeCx<'_>) -> Option<RoundTripSpec> {
    let path = section.path();
    let raw: RawRoundTrip = cx.decode(section, &path, section.value)?;
    let mut ok = true;
    let guests = phoenix_services::guests(cx.config());
    for (key, vmid, feature) in [
        ("embedding_container", raw.embedding_container, "vllm"),
        ("qdrant_container", raw.qdrant_container, "qdrant"),
    ] {
        let problem = match guests.get(&vmid) {
            None => Some(format!(
                "expected a container of lxc_configs with the {feature} feature, found {vmid}, which lxc_configs does not declare"
            )),
            Some(guest) if !guest.has(feature) => Some(format!(
                "expected a container with the {feature} feature, found container {vmid} with features [{}]",
                guest.features.join(", ")
            )),
            Some(guest) if guest.ip.is_none() => Some(format!(
                "container {vmid} has no static IPv4 address (network_config.ip) to reach its {feature} service at"
            )),
            Some(_) => None,
        };
        if let Some(message) = problem {
            cx.report(Diagnostic::error(message).at(section.location_of(&path.key(key))));
            ok = false;
        }
    }
    let collection = raw
        .collection
        .unwrap_or_else(|| DEFAULT_COLLECTION.to_owned());
    if collection.is_empty()
        || collection.len() > 64
        || !collection
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        cx.report(
            Diagnostic::error(format!(
                "expected a collection name of 1 to 64 letters, digits, '-' or '_', found {}",
                excerpt(&collection)
            ))
            .at(section.location_of(&path.key("collection"))),
        );
        ok = false;
    }
    let text = raw.text.unwrap_or_else(|| DEFAULT_TEXT.to_owned());
    if text.trim().is_empty() || text.chars().count() > 1_000 {
        cx.report(
            Diagnostic::error("expected a sentence of 1 to 1000 characters")
                .at(section.location_of(&path.key("text"))),
        );
        ok = false;
    }
    let timeout_s = raw.timeout_seconds.unwrap_or(30);
    if !(1..=600).contains(&timeout_s) {
        cx.report(
            Diagnostic::error(format!(
                "expected a number of seconds from 1 to 600, found {timeout_s}"
            ))
            .at(section.location_of(&path.key("timeout_seconds"))),
        );
        ok = false;
    }
    ok.then(|| RoundTripSpec {
        embedding_container: raw.embedding_container,
        qdrant_container: raw.qdrant_container,
        text,
        collection,
        after_apply: raw.after_apply.unwrap_or(true),
        timeout_s,
        at: section.location_of(&path),
        path,
    })
}
