//! What the config asks of the GPUs: the host driver (`nvidia_driver` in the hypervisor file,
//! or the LXC file's `nvidia_driver_version`/`nvidia_runfile_url`) and each container's
//! `gpu_assignment` (`lxc_configs.<id>.gpu_assignment`, a part of the key phoenix-lxc owns).
//!
//! Each concern is a pure function with its table test; errors carry the file and JSON path.

use phoenix_core::config::{JsonPath, Section, excerpt};
use phoenix_core::{DecodeCx, Diagnostic, Location};
use serde::Deserialize;
use serde_json::Value;

/// The host driver the config asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSpec {
    /// Whether Phoenix installs it (`install`); when false it only reports drift.
    pub install: bool,
    /// The driver version (`580.76.05`).
    pub version: String,
    /// The runfile to install it from (`https://…/NVIDIA-Linux-x86_64-<version>.run`).
    pub runfile_url: Option<String>,
    /// Where the config says so.
    pub at: Location,
}

/// One container's GPUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The container.
    pub vmid: u32,
    /// The GPU indexes, in the config's order (never empty: `"none"` is no assignment).
    pub gpus: Vec<u32>,
    /// Where `gpu_assignment` is.
    pub at: Location,
}

/// Everything this provider takes from the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// The host driver, if the config names one.
    pub driver: Option<DriverSpec>,
    /// The containers with GPUs, in id order.
    pub assignments: Vec<Assignment>,
}

/// The hypervisor file's `nvidia_driver` object. `cuda_version` and `install_vllm_libs` belong
/// to the in-container `nvidia` feature and are accepted here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDriver {
    install: bool,
    version: String,
    #[serde(default)]
    runfile_url: Option<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "the in-container nvidia feature's")]
    cuda_version: Option<Value>,
    #[serde(default)]
    #[allow(dead_code, reason = "the in-container nvidia feature's")]
    install_vllm_libs: Option<Value>,
}

/// Decodes the sections this provider claims; reports every error and returns what is valid.
pub fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Spec {
    let mut spec = Spec {
        driver: decode_driver(sections, cx),
        assignments: Vec::new(),
    };
    for section in sections.iter().filter(|s| s.key == "lxc_configs") {
        let Some(map) = section.value.as_object() else {
            continue; // phoenix-lxc reports it.
        };
        for (key, entry) in map {
            let Some(value) = entry.get("gpu_assignment") else {
                continue;
            };
            let Ok(vmid) = key.parse::<u32>() else {
                continue; // phoenix-lxc reports it.
            };
            if entry.get("ensure").and_then(Value::as_str) == Some("absent") {
                continue;
            }
            let path = section.path().key(key).key("gpu_assignment");
            let at = section.location_of(&path);
            match value.as_str().map(parse_assignment) {
                Some(Ok(gpus)) if gpus.is_empty() => {}
                Some(Ok(gpus)) => spec.assignments.push(Assignment { vmid, gpus, at }),
                Some(Err(reason)) => cx.report(
                    Diagnostic::error(format!(
                        "{path}: {reason}, found {}",
                        excerpt(value.as_str().unwrap_or_default())
                    ))
                    .at(at),
                ),
                None => cx.report(
                    Diagnostic::error(format!(
                        "{path}: expected a string (\"none\", \"0\" or \"0,1\"), found {}",
                        phoenix_core::config::kind_of(value)
                    ))
                    .at(at),
                ),
            }
        }
    }
    spec.assignments.sort_by_key(|a| a.vmid);
    spec
}

/// `gpu_assignment`: `"none"`, or GPU indexes separated by commas; the one parser lives in the
/// format crate, which phoenix-ai reads too.
pub use phoenix_services::guests::parse_gpu_assignment as parse_assignment;

/// The driver: `nvidia_driver` (hypervisor file) wins; the LXC file's `nvidia_driver_version`
/// and `nvidia_runfile_url` are the same facts, and must agree with it when both are given.
fn decode_driver(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Option<DriverSpec> {
    let mut driver = None;
    for section in sections.iter().filter(|s| s.key == "nvidia_driver") {
        let path = section.path();
        let raw: RawDriver = cx.decode(section, &path, section.value)?;
        let runfile_at = section.location_of(&path.key("runfile_url"));
        let checked = check_driver(&raw.version, raw.runfile_url.as_deref());
        match checked {
            Ok(()) => {
                driver = Some(DriverSpec {
                    install: raw.install,
                    version: raw.version,
                    runfile_url: raw.runfile_url,
                    at: section.location(),
                });
            }
            Err((field, reason)) => {
                let at = if field == "runfile_url" {
                    runfile_at
                } else {
                    section.location_of(&path.key(field))
                };
                cx.report(Diagnostic::error(format!("{}: {reason}", path.key(field))).at(at));
                return None;
            }
        }
    }
    let version = string_at(sections, "nvidia_driver_version", cx);
    let runfile = string_at(sections, "nvidia_runfile_url", cx);
    match (&mut driver, version) {
        (Some(driver), Some((version, at))) if version != driver.version => {
            cx.report(
                Diagnostic::error(format!(
                    "nvidia_driver_version: \"{version}\" differs from nvidia_driver.version \"{}\"; the host has one driver, and containers need exactly its version",
                    driver.version
                ))
                .at(at),
            );
            return None;
        }
        (Some(driver), _) => {
            if driver.runfile_url.is_none() {
                driver.runfile_url = runfile.map(|(url, _)| url);
            }
        }
        (None, Some((version, at))) => {
            let runfile_url = runfile.map(|(url, _)| url);
            if let Err((field, reason)) = check_driver(&version, runfile_url.as_deref()) {
                let key = if field == "version" {
                    "nvidia_driver_version"
                } else {
                    "nvidia_runfile_url"
                };
                cx.report(Diagnostic::error(format!("{key}: {reason}")).at(at));
                return None;
            }
            // The LXC file names the version containers use; installing on the host is the
            // hypervisor file's decision, so without `nvidia_driver` Phoenix only checks.
            driver = Some(DriverSpec {
                install: false,
                version,
                runfile_url,
                at,
            });
        }
        (None, None) => {}
    }
    driver
}

/// A top-level string key, reported when it is not a string.
fn string_at(
    sections: &[Section<'_>],
    key: &str,
    cx: &mut DecodeCx<'_>,
) -> Option<(String, Location)> {
    let section = sections.iter().find(|s| s.key == key)?;
    match section.value.as_str() {
        Some(text) => Some((text.to_owned(), section.location())),
        None => {
            cx.report(
                Diagnostic::error(format!(
                    "{key}: expected a string, found {}",
                    phoenix_core::config::kind_of(section.value)
                ))
                .at(section.location()),
            );
            None
        }
    }
}

/// A driver version (`580.76.05`: digits and dots) and an https runfile URL ending in `.run`
/// that names the version (so the URL and the version cannot disagree). Errs with the field.
pub fn check_driver(
    version: &str,
    runfile_url: Option<&str>,
) -> Result<(), (&'static str, String)> {
    let version_ok = !version.is_empty()
        && version
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    if !version_ok {
        return Err((
            "version",
            format!(
                "{} is not a driver version (digits and dots, such as \"580.76.05\")",
                excerpt(version)
            ),
        ));
    }
    let Some(url) = runfile_url else {
        return Ok(());
    };
    let quoted = excerpt(url);
    if !url.starts_with("https://") || url.contains(char::is_whitespace) {
        return Err(("runfile_url", format!("{quoted} is not an https URL")));
    }
    if !url.ends_with(".run") {
        return Err(("runfile_url", format!("{quoted} is not a runfile (.run)")));
    }
    let file = url.rsplit('/').next().unwrap_or_default();
    if !file.contains(&format!("-{version}.run")) {
        return Err((
            "runfile_url",
            format!("{quoted} is not the runfile of version {version}"),
        ));
    }
    Ok(())
}

/// The JSON path of a container's `gpu_assignment`, for messages.
pub fn assignment_path(vmid: u32) -> JsonPath {
    JsonPath::root()
        .key("lxc_configs")
        .key(vmid.to_string())
        .key("gpu_assignment")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments() {
        let cases: &[(&str, Result<Vec<u32>, &str>)] = &[
            ("none", Ok(vec![])),
            ("0", Ok(vec![0])),
            ("0,1", Ok(vec![0, 1])),
            ("0, 1", Ok(vec![0, 1])),
            ("1,0", Ok(vec![1, 0])),
            ("", Err("is not an index")),
            ("0,", Err("is not an index")),
            ("a", Err("is not an index")),
            ("-1", Err("is not an index")),
            ("0,0", Err("named twice")),
            ("1000", Err("is not an index")),
            ("all", Err("is not an index")),
        ];
        for (text, expect) in cases {
            match (parse_assignment(text), expect) {
                (Ok(got), Ok(want)) => assert_eq!(&got, want, "{text}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
                (got, want) => panic!("{text}: {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn drivers() {
        let url = "https://us.download.nvidia.com/XFree86/Linux-x86_64/580.76.05/NVIDIA-Linux-x86_64-580.76.05.run";
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("580.76.05", Some(url), None),
            ("580.76.05", None, None),
            ("580.76", Some(url), Some("runfile_url")),
            ("", None, Some("version")),
            ("580..05", None, Some("version")),
            ("latest", None, Some("version")),
            (
                "580.76.05",
                Some("http://x/NVIDIA-Linux-x86_64-580.76.05.run"),
                Some("runfile_url"),
            ),
            (
                "580.76.05",
                Some("https://x/NVIDIA-Linux-x86_64-580.76.05.tar"),
                Some("runfile_url"),
            ),
            (
                "580.76.05",
                Some("https://x/a b-580.76.05.run"),
                Some("runfile_url"),
            ),
        ];
        for (version, url, field) in cases {
            let got = check_driver(version, *url).err().map(|(field, _)| field);
            assert_eq!(got, *field, "{version} {url:?}");
        }
    }
}
