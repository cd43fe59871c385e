//! The checks a config asks for: a health check (`health::Check`) for every service of a
//! running container whose feature is checked, and the embedding round trip
//! (`roundtrip::RoundTripCheck`) after the checks of its two services.

use std::collections::BTreeMap;

use phoenix_core::config::Section;
use phoenix_core::{DecodeCx, Diagnostic, Resource, ResourceId};

use crate::config;
use crate::endpoint::{self, Endpoint, Service};
use crate::health::Check;
use crate::roundtrip::{RoundTrip, RoundTripCheck};

/// Reads the provider's check keys (reporting their errors and notes) and adds the checks of
/// `features`' services.
pub(crate) fn decode_all(sections: &[Section<'_>], cx: &mut DecodeCx<'_>, features: &[String]) {
    let spec = config::decode(sections, cx);
    let features: Vec<&str> = features.iter().map(String::as_str).collect();
    if features.is_empty() {
        return;
    }
    let node = match cx.scope("node") {
        Ok(node) => node,
        Err(err) => {
            cx.report(Diagnostic::error(err.to_string()));
            return;
        }
    };
    let mut checks: BTreeMap<(u32, Service), (ResourceId, Endpoint)> = BTreeMap::new();
    for guest in phoenix_services::guests(cx.config()).values() {
        let has_service = guest
            .features
            .iter()
            .any(|f| features.contains(&f.as_str()));
        if !has_service || !guest.start_at_boot {
            // A template does not run: its clones' services are checked.
            continue;
        }
        if guest.ip.is_none() {
            cx.report(
                Diagnostic::warning(format!(
                    "container {} has no static IPv4 address (network_config.ip): the health of its services is not checked",
                    guest.vmid
                ))
                .at(guest.location.clone()),
            );
            continue;
        }
        let scope = match cx.scope(&format!("ct:{}", guest.vmid)) {
            Ok(scope) => scope,
            Err(err) => {
                cx.report(Diagnostic::error(err.to_string()));
                continue;
            }
        };
        let wait = spec.waits.get(&guest.vmid).copied().unwrap_or_default();
        for endpoint in endpoint::endpoints_of(guest, &features) {
            let service = endpoint.service;
            let check = Check::new(endpoint.clone(), &node, &scope, wait.for_service(service));
            checks.insert((guest.vmid, service), (Resource::id(&check), endpoint));
            cx.add_at(check, guest.location.clone());
        }
    }
    let Some(round_trip) = spec.round_trip.filter(|r| r.after_apply) else {
        return;
    };
    let embedding = checks.get(&(round_trip.embedding_container, Service::Vllm));
    let qdrant = checks.get(&(round_trip.qdrant_container, Service::Qdrant));
    if let (Some((e_id, e)), Some((q_id, q))) = (embedding, qdrant) {
        let key_file = crate::qdrant::api_key_file_of(cx.config(), round_trip.qdrant_container);
        cx.add_at(
            RoundTripCheck::new(
                RoundTrip::new(&round_trip, e.clone(), q.clone()).with_api_key_file(key_file),
                vec![e_id.clone(), q_id.clone()],
            ),
            round_trip.at.clone(),
        );
    }
}
