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

/// The CUDA toolkit the in-container `nvidia` feature installs (`nvidia_driver.cuda_version`),
/// from NVIDIA's CUDA repository (the LXC file's `nvidia_repo_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaSpec {
    /// `MAJOR.MINOR` (`12.8`).
    pub version: String,
    /// The repository (`https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/`).
    pub repo_url: String,
}

impl CudaSpec {
    /// The toolkit's package in NVIDIA's repository: `cuda-toolkit-12-8`.
    pub fn package(&self) -> String {
        format!("cuda-toolkit-{}", self.version.replace('.', "-"))
    }
}

/// NVIDIA's CUDA repository for Ubuntu 24.04 (the containers' template), upstream's
/// `nvidia_repo_url`, used when the config names none.
pub const DEFAULT_REPO_URL: &str =
    "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/";

/// Everything this provider takes from the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// The host driver, if the config names one.
    pub driver: Option<DriverSpec>,
    /// The CUDA toolkit of containers with the `nvidia` feature, if the config names one.
    pub cuda: Option<CudaSpec>,
    /// The containers with GPUs, in id order.
    pub assignments: Vec<Assignment>,
}

/// The hypervisor file's `nvidia_driver` object. `cuda_version` is the in-container `nvidia`
/// feature's; `install_vllm_libs` is accepted and not used (vLLM brings its own libraries).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDriver {
    install: bool,
    version: String,
    #[serde(default)]
    runfile_url: Option<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "decode_cuda checks it at its JSON path")]
    cuda_version: Option<Value>,
    #[serde(default)]
    #[allow(dead_code, reason = "the in-container nvidia feature's")]
    install_vllm_libs: Option<Value>,
}

/// Decodes the sections this provider claims; reports every error and returns what is valid.
pub fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Spec {
    let mut spec = Spec {
        driver: decode_driver(sections, cx),
        cuda: decode_cuda(sections, cx),
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

/// The CUDA toolkit: `nvidia_driver.cuda_version` (hypervisor file) and the repository of the
/// LXC file's `nvidia_repo_url`; errors at their JSON paths.
fn decode_cuda(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) -> Option<CudaSpec> {
    let repo = string_at(sections, "nvidia_repo_url", cx);
    let repo_url = match repo {
        Some((url, at)) => match check_repo_url(&url) {
            Ok(()) => url,
            Err(reason) => {
                cx.report(Diagnostic::error(format!("nvidia_repo_url: {reason}")).at(at));
                return None;
            }
        },
        None => DEFAULT_REPO_URL.to_owned(),
    };
    let section = sections.iter().find(|s| s.key == "nvidia_driver")?;
    let value = section.value.get("cuda_version")?;
    let path = section.path().key("cuda_version");
    match check_cuda_version(value) {
        Ok(version) => Some(CudaSpec { version, repo_url }),
        Err(reason) => {
            cx.report(
                Diagnostic::error(format!("{path}: {reason}")).at(section.location_of(&path)),
            );
            None
        }
    }
}

/// `cuda_version`: a string `MAJOR.MINOR` (`"12.8"`), the form NVIDIA's toolkit packages are
/// named by (`cuda-toolkit-12-8`).
pub fn check_cuda_version(value: &Value) -> Result<String, String> {
    let Some(text) = value.as_str() else {
        return Err(format!(
            "expected a CUDA version MAJOR.MINOR such as \"12.8\", found {}",
            phoenix_core::config::kind_of(value)
        ));
    };
    let numbers: Vec<&str> = text.split('.').collect();
    let ok = numbers.len() == 2
        && numbers
            .iter()
            .all(|part| (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "expected a CUDA version MAJOR.MINOR such as \"12.8\" (the toolkit package cuda-toolkit-MAJOR-MINOR), found {}",
            excerpt(text)
        ))
    }
}

/// `nvidia_repo_url`: an https URL of a flat apt repository, ending in `/`.
pub fn check_repo_url(url: &str) -> Result<(), String> {
    let quoted = excerpt(url);
    if !url.starts_with("https://") || url.contains(char::is_whitespace) {
        return Err(format!("{quoted} is not an https URL"));
    }
    if !url.ends_with('/') {
        return Err(format!(
            "{quoted} must end in / (the CUDA repository's directory, such as {DEFAULT_REPO_URL})"
        ));
    }
    Ok(())
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
    fn issue_11_cuda_versions() {
        let cases: [(Value, Result<&str, &str>); 8] = [
            (Value::from("12.8"), Ok("12.8")),
            (Value::from("13.0"), Ok("13.0")),
            (Value::from("12"), Err("found \"12\"")),
            (Value::from("12.8.1"), Err("found \"12.8.1\"")),
            (Value::from("12.x"), Err("MAJOR.MINOR")),
            (Value::from(""), Err("MAJOR.MINOR")),
            (Value::from(12.8), Err("found a number")),
            (Value::Null, Err("found null")),
        ];
        for (value, expect) in cases {
            match (check_cuda_version(&value), expect) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(got), Err(want)) => assert!(got.contains(want), "{value}: {got}"),
                (got, want) => panic!("{value}: {got:?}, expected {want:?}"),
            }
        }
        let spec = CudaSpec {
            version: "12.8".into(),
            repo_url: DEFAULT_REPO_URL.into(),
        };
        assert_eq!(spec.package(), "cuda-toolkit-12-8");
        assert!(check_repo_url(DEFAULT_REPO_URL).is_ok());
        assert!(check_repo_url("http://x/").is_err());
        assert!(check_repo_url("https://x/repo").is_err());
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
