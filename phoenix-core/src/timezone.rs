//! The `timezone` primitive: the time zone of a scope (the node or a guest), and the provider of
//! the config's `timezone` key (the node's zone, such as `"America/New_York"`).
//!
//! Observed by two queries of the scope's one probe: `readlink /etc/localtime` (the zone in
//! use: the link's target below `zoneinfo/`) and `readlink -e /usr/share/zoneinfo/NAME` (whether
//! the wanted zone is installed). Set with `timedatectl set-timezone NAME` only when the zone in
//! use differs; a zone that is not installed is a plan error, not a failed apply.

use async_trait::async_trait;
use serde::Serialize;

use crate::change::{Delta, FieldChange, Step};
use crate::cmd::Cmd;
use crate::config::{Claim, Section};
use crate::diag::Diagnostic;
use crate::error::BoxError;
use crate::id::{Kind, ResourceId};
use crate::probe::{ScopeFacts, observe};
use crate::provider::{DecodeCx, Provider};
use crate::resource::{Capability, Ctx, Resource};
use crate::scope::Scope;

/// The kind of [`Timezone`]: `timezone`.
pub const KIND: &str = "timezone";

/// Where the zones are installed (Debian's `tzdata`).
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The probe query of the zone in use.
pub const LOCALTIME_QUERY: &str = "timezone.localtime";

/// The probe query of whether the wanted zone is installed.
pub const INSTALLED_QUERY: &str = "timezone.installed";

/// The time zone of a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timezone {
    scope: Scope,
    zone: String,
}

/// A scope's time zone as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimezoneState {
    /// The zone `/etc/localtime` links to; `None` when it is not a link into `zoneinfo`.
    pub zone: Option<String>,
    /// Whether the wanted zone is installed.
    pub installed: bool,
}

impl Timezone {
    /// Zone `zone` (already checked with [`check_zone_name`]) in `scope`; the scope's probe
    /// learns of it.
    pub fn new(scope: &Scope, zone: impl Into<String>) -> Timezone {
        let zone = zone.into();
        let installed = format!("{ZONEINFO}/{zone}");
        // A zone the argv rules refuse (checked at decode) is not registered; inspect then says
        // the probe did not run it.
        scope.observe(|inventory| {
            let _ = inventory.query(LOCALTIME_QUERY, ["readlink", "/etc/localtime"]);
            let _ = inventory.query(INSTALLED_QUERY, ["readlink", "-e", installed.as_str()]);
        });
        Timezone {
            scope: scope.clone(),
            zone,
        }
    }

    /// The zone as the scope's probe saw it.
    pub fn state_in(&self, facts: &ScopeFacts) -> Result<TimezoneState, BoxError> {
        let query = |name: &str| {
            facts
                .queries
                .get(name)
                .ok_or_else(|| BoxError::from(format!("the probe did not run query {name}")))
        };
        let localtime = query(LOCALTIME_QUERY)?;
        let installed = query(INSTALLED_QUERY)?;
        for q in [localtime, installed] {
            if q.is_missing_program() {
                return Err(
                    format!("readlink is missing in {}: {}", self.scope, q.output.trim()).into(),
                );
            }
        }
        Ok(TimezoneState {
            zone: localtime
                .success()
                .then(|| zone_of_link(localtime.output.trim_end()))
                .flatten(),
            installed: installed.success(),
        })
    }
}

/// The zone a `/etc/localtime` link names: what follows `zoneinfo/` in its target
/// (`../usr/share/zoneinfo/America/New_York`, as `timedatectl` writes it, or an absolute link).
pub fn zone_of_link(target: &str) -> Option<String> {
    let (_, zone) = target.split_once("zoneinfo/")?;
    (!zone.is_empty()).then(|| zone.to_owned())
}

/// Checks a zone name against the tz database's rules for names (its `theory.html`): components
/// separated by `/`, each 1 to 14 ASCII letters, digits, `.`, `-`, `_` or `+`, not `.` or `..`
/// and not starting with `-`. Whether the zone is installed is checked on the host.
pub fn check_zone_name(zone: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        (1..=14).contains(&c.len())
            && c != "."
            && c != ".."
            && !c.starts_with('-')
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_' | '+'))
    };
    if zone.is_empty() || !zone.split('/').all(component_ok) {
        return Err(format!(
            "expected a time zone name such as \"America/New_York\" or \"UTC\" (components of 1 to 14 letters, digits, '.', '-', '_' or '+', separated by '/'), found {}",
            crate::config::excerpt(zone)
        ));
    }
    Ok(())
}

#[async_trait]
impl Resource for Timezone {
    type State = TimezoneState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.scope.name())
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<TimezoneState>, BoxError> {
        Ok(Some(self.state_in(&*observe(cx, &self.scope).await?)?))
    }

    fn diff(&self, observed: Option<&TimezoneState>) -> Delta {
        let before = observed.and_then(|s| s.zone.clone());
        if before.as_deref() == Some(self.zone.as_str()) {
            return Delta::none();
        }
        let field = FieldChange::new(
            "zone",
            before.map(Into::into),
            Some(self.zone.clone().into()),
        );
        if observed.is_some_and(|s| !s.installed) {
            return Delta::none().field(field).diagnostic(
                Diagnostic::error(format!(
                    "time zone {} is not installed in {} (no {ZONEINFO}/{}); check the name or install tzdata",
                    self.zone, self.scope, self.zone
                ))
                .for_resource(Resource::id(self)),
            );
        }
        Delta::none()
            .field(field)
            .step(Step::run(self.scope.command(Cmd::write(
                "timedatectl",
                ["set-timezone", self.zone.as_str()],
            ))))
    }
}

/// The provider of the config's `timezone` key: the node's time zone.
#[derive(Debug, Default, Clone, Copy)]
pub struct TimezoneProvider;

/// The time zone provider.
pub fn provider() -> TimezoneProvider {
    TimezoneProvider
}

impl Provider for TimezoneProvider {
    fn name(&self) -> &str {
        "timezone"
    }

    fn kinds(&self) -> Vec<Kind> {
        vec![Kind::from_static(KIND)]
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::managed("timezone")]
    }

    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
        for section in sections {
            let path = section.path();
            let Some(zone) = cx.decode::<String>(section, &path, section.value) else {
                continue;
            };
            if let Err(message) = check_zone_name(&zone) {
                cx.report(Diagnostic::error(message).at(section.location_of(&path)));
                continue;
            }
            let node = cx
                .scope("node")
                .expect("invariant: the node is always a scope");
            cx.add_at(Timezone::new(&node, zone), section.location_of(&path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::QueryFact;
    use crate::scope::testing::{render_delta, scopes};

    fn check(tz: &Timezone, observed: Option<&TimezoneState>) -> String {
        let delta = Resource::diff(tz, observed);
        let mut out = render_delta(&delta);
        for diagnostic in &delta.diagnostics {
            out.push_str(&format!("\n{diagnostic}"));
        }
        out
    }

    fn state(zone: Option<&str>, installed: bool) -> Option<TimezoneState> {
        Some(TimezoneState {
            zone: zone.map(str::to_owned),
            installed,
        })
    }

    #[test]
    fn issue_9_the_zone_is_set_only_when_it_differs_and_is_installed() {
        let scopes = scopes();
        let node = Timezone::new(&scopes.node(), "America/New_York");
        let guest = Timezone::new(&scopes.get("ct:101").expect("guest"), "Etc/UTC");
        let table = [
            (&node, state(Some("America/New_York"), true), String::new()),
            (
                &node,
                state(Some("Etc/UTC"), true),
                "zone: Some(String(\"Etc/UTC\")) -> Some(String(\"America/New_York\"))\ntimedatectl set-timezone America/New_York".to_owned(),
            ),
            (
                &node,
                state(None, true),
                "zone: None -> Some(String(\"America/New_York\"))\ntimedatectl set-timezone America/New_York".to_owned(),
            ),
            (
                &node,
                state(Some("Etc/UTC"), false),
                "zone: Some(String(\"Etc/UTC\")) -> Some(String(\"America/New_York\"))\nerror: timezone[node]: time zone America/New_York is not installed in node (no /usr/share/zoneinfo/America/New_York); check the name or install tzdata".to_owned(),
            ),
            (
                &guest,
                state(Some("America/New_York"), true),
                "zone: Some(String(\"America/New_York\")) -> Some(String(\"Etc/UTC\"))\nguest-exec 101 -- timedatectl set-timezone Etc/UTC".to_owned(),
            ),
        ];
        for (tz, observed, expect) in table {
            assert_eq!(check(tz, observed.as_ref()), expect, "{observed:?}");
        }
    }

    #[test]
    fn zone_names_follow_the_tz_rules() {
        let table = [
            ("America/New_York", true),
            ("UTC", true),
            ("Etc/GMT+5", true),
            ("America/Argentina/Buenos_Aires", true),
            ("EST5EDT", true),
            ("", false),
            ("/etc/passwd", false),
            ("America/", false),
            ("../../etc/shadow", false),
            ("America/New York", false),
            ("-rf", false),
            ("America/Fifteen_Letters", false),
            ("Europe/Paris;reboot", false),
        ];
        for (zone, ok) in table {
            assert_eq!(check_zone_name(zone).is_ok(), ok, "{zone}");
        }
    }

    #[test]
    fn the_zone_is_read_from_the_localtime_link() {
        assert_eq!(
            zone_of_link("../usr/share/zoneinfo/America/New_York").as_deref(),
            Some("America/New_York")
        );
        assert_eq!(
            zone_of_link("/usr/share/zoneinfo/Etc/UTC").as_deref(),
            Some("Etc/UTC")
        );
        assert_eq!(zone_of_link("/etc/other"), None);
        let tz = Timezone::new(&scopes().node(), "Europe/Paris");
        let mut facts = ScopeFacts::default();
        facts.queries.insert(
            LOCALTIME_QUERY.into(),
            QueryFact {
                status: 0,
                output: "/usr/share/zoneinfo/Etc/UTC".into(),
            },
        );
        facts.queries.insert(
            INSTALLED_QUERY.into(),
            QueryFact {
                status: 1,
                output: String::new(),
            },
        );
        assert_eq!(
            tz.state_in(&facts).expect("ok"),
            TimezoneState {
                zone: Some("Etc/UTC".into()),
                installed: false
            }
        );
    }
}
