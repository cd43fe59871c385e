//! The `vllm` feature: the vLLM server of every container that has the feature, read by
//! `phoenix_services::vllm`, whose problems this provider reports at their JSON paths.

use phoenix_core::config::{JsonPath, Section};
use phoenix_core::{DecodeCx, Diagnostic, Location};
use phoenix_services::vllm::{self as model, FEATURE, KEYS};
use phoenix_services::{Guest, guests};

/// Reads the vLLM server of every container with the feature and reports the problems; a
/// container with vLLM keys but without the feature gets a note that they are not used.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
    for guest in guests(cx.config()).values() {
        if !guest.has(FEATURE) {
            if let Some(key) = KEYS.iter().find(|k| guest.entry.get(**k).is_some()) {
                cx.report(
                    Diagnostic::note(format!(
                        "container {}: {key} is not used: the container does not have the vllm feature",
                        guest.vmid
                    ))
                    .at(locate(sections, guest, &guest.path_of(key))),
                );
            }
            continue;
        }
        let reading = model::read(guest);
        for problem in &reading.problems {
            cx.report(
                Diagnostic::new(
                    problem.severity,
                    format!("container {}: {}", guest.vmid, problem.message),
                )
                .at(locate(sections, guest, &problem.at)),
            );
        }
    }
}

/// Where `path` (in `guest`'s entry) is: in the `lxc_configs` section that holds the entry.
fn locate(sections: &[Section<'_>], guest: &Guest, path: &JsonPath) -> Location {
    sections
        .iter()
        .find(|s| s.key == "lxc_configs" && s.document.get(&guest.path).is_some())
        .map_or_else(|| guest.location.clone(), |s| s.location_of(path))
}
