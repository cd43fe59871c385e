//! The `service` primitive: a systemd unit enabled (or not) and running (or not) in a scope,
//! reloaded or restarted only when one of the files it declares changed in this run.
//!
//! The unit's states come from the scope's one probe (`systemctl show`). The reaction to a
//! changed file is a trigger: the plan shows it (`systemctl reload nginx.service`, with the
//! files that cause it), and apply runs it once, after the last of those files, and only when
//! one of them was really written in this run.

use async_trait::async_trait;

use crate::change::{Change, Delta, FieldChange, Step};
use crate::cmd::Cmd;
use crate::error::BoxError;
use crate::id::{Kind, ResourceId};
use crate::probe::{UnitFact, observe};
use crate::resource::{Capability, Ctx, Resource, run_steps};
use crate::scope::Scope;

/// The kind of [`Service`]: `service`.
pub const KIND: &str = "service";

/// What a service does when one of its files changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnChange {
    /// `systemctl reload-or-restart`: reload if the unit supports it, otherwise restart.
    #[default]
    ReloadOrRestart,
    /// `systemctl reload`.
    Reload,
    /// `systemctl restart`.
    Restart,
}

impl OnChange {
    fn verb(self) -> &'static str {
        match self {
            OnChange::ReloadOrRestart => "reload-or-restart",
            OnChange::Reload => "reload",
            OnChange::Restart => "restart",
        }
    }
}

/// A systemd unit in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    scope: Scope,
    unit: String,
    enabled: bool,
    running: bool,
    files: Vec<ResourceId>,
    on_change: OnChange,
    /// A command that replaces `systemctl` as the reaction to a changed file.
    reload_with: Option<Vec<String>>,
    depends_on: Vec<ResourceId>,
}

impl Service {
    /// Unit `unit` in `scope` (`nginx` means `nginx.service`), enabled and running.
    pub fn new(scope: &Scope, unit: &str) -> Service {
        let unit = if unit.contains('.') {
            unit.to_owned()
        } else {
            format!("{unit}.service")
        };
        scope.observe(|inventory| {
            inventory.units.insert(unit.clone());
        });
        Service {
            scope: scope.clone(),
            unit,
            enabled: true,
            running: true,
            files: Vec::new(),
            on_change: OnChange::default(),
            reload_with: None,
            depends_on: Vec::new(),
        }
    }

    /// Whether the unit starts at boot.
    pub fn enabled(mut self, enabled: bool) -> Service {
        self.enabled = enabled;
        self
    }

    /// Whether the unit runs.
    pub fn running(mut self, running: bool) -> Service {
        self.running = running;
        self
    }

    /// A file (its resource id) whose change in this run reloads or restarts the unit.
    pub fn file(mut self, id: ResourceId) -> Service {
        self.files.push(id);
        self
    }

    /// How the unit reacts to a changed file.
    pub fn on_change(mut self, on_change: OnChange) -> Service {
        self.on_change = on_change;
        self
    }

    /// Reacts to a changed file with `argv` (run in the unit's scope) instead of `systemctl`:
    /// a daemon's own reload command, such as `smbcontrol smbd reload-config`, which every smbd
    /// process obeys. An empty `argv` keeps `systemctl`.
    pub fn reload_with<I, S>(mut self, argv: I) -> Service
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let argv: Vec<String> = argv.into_iter().map(Into::into).collect();
        self.reload_with = (!argv.is_empty()).then_some(argv);
        self
    }

    /// Adds a dependency (the package that ships the unit, say).
    pub fn depends_on(mut self, id: ResourceId) -> Service {
        self.depends_on.push(id);
        self
    }

    fn systemctl(&self, verb: &str) -> Step {
        Step::run(
            self.scope
                .command(Cmd::write("systemctl", [verb, self.unit.as_str()])),
        )
    }

    /// The step a changed file adds.
    fn reaction(&self) -> Step {
        match self.reload_with.as_deref() {
            Some([program, args @ ..]) => Step::run(
                self.scope
                    .command(Cmd::write(program, args.iter().cloned())),
            ),
            _ => self.systemctl(self.on_change.verb()),
        }
    }

    /// What the plan calls the reaction.
    fn reaction_name(&self) -> &'static str {
        if self.reload_with.is_some() {
            "reload"
        } else {
            self.on_change.verb()
        }
    }
}

/// Unit file states that need no `systemctl enable` or `disable`: they have no `[Install]`.
fn is_static(unit_file_state: &str) -> bool {
    matches!(
        unit_file_state,
        "static" | "indirect" | "generated" | "transient"
    )
}

#[async_trait]
impl Resource for Service {
    type State = UnitFact;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.scope.qualify(&self.unit))
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        let mut deps = self.depends_on.clone();
        deps.extend(self.files.iter().cloned());
        deps
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<UnitFact>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        Ok(facts
            .units
            .get(&self.unit)
            .filter(|unit| unit.load_state != "not-found")
            .cloned())
    }

    fn diff(&self, observed: Option<&UnitFact>) -> Delta {
        let mut delta = Delta::none();
        let file_state = observed.map(|u| u.unit_file_state.as_str());
        let want = if self.enabled { "enabled" } else { "disabled" };
        if !file_state.is_some_and(|s| s == want || is_static(s)) {
            delta = delta
                .field(FieldChange::new(
                    "enabled",
                    file_state.map(Into::into),
                    Some(want.into()),
                ))
                .step(self.systemctl(if self.enabled { "enable" } else { "disable" }));
        }
        let active = observed.map(|u| u.active_state.as_str());
        if (active == Some("active")) != self.running {
            delta = delta
                .field(FieldChange::new(
                    "active",
                    active.map(Into::into),
                    Some(if self.running { "active" } else { "inactive" }.into()),
                ))
                .step(self.systemctl(if self.running { "start" } else { "stop" }));
        }
        delta
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        self.files.clone()
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        if !self.running {
            return Delta::none();
        }
        let causes: Vec<String> = by.iter().map(ToString::to_string).collect();
        Delta::none()
            .field(
                FieldChange::new(self.reaction_name(), None, Some(true.into()))
                    .note(format!("when changed: {}", causes.join(", "))),
            )
            .step(self.reaction())
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let reaction = self.reaction();
        let (own, triggered) = match change.steps.split_last() {
            Some((last, own)) if *last == reaction => (own, true),
            _ => (&change.steps[..], false),
        };
        run_steps(own, cx).await?;
        // Also when `start` ran just now: a Debian package's maintainer script starts its unit
        // with the distribution's files as soon as it is installed, before this run writes its
        // own, so that `start` found the unit running and did nothing.
        if triggered && self.files.iter().any(|file| cx.changed(file)) {
            run_steps(std::slice::from_ref(&reaction), cx).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::testing::{render_delta, scopes};

    fn check(service: &Service, observed: Option<&UnitFact>) -> String {
        render_delta(&Resource::diff(service, observed))
    }

    fn unit(file: &str, active: &str) -> UnitFact {
        UnitFact {
            load_state: "loaded".into(),
            active_state: active.into(),
            sub_state: if active == "active" {
                "running"
            } else {
                "dead"
            }
            .into(),
            unit_file_state: file.into(),
        }
    }

    #[test]
    fn a_unit_is_enabled_and_started_only_when_it_is_not() {
        let scopes = scopes();
        let nginx = Service::new(&scopes.node(), "nginx");
        insta::assert_snapshot!(check(&nginx, Some(&unit("enabled", "active"))), @"");
        insta::assert_snapshot!(check(&nginx, Some(&unit("static", "active"))), @"");
        insta::assert_snapshot!(check(&nginx, Some(&unit("disabled", "inactive"))), @r#"
        enabled: Some(String("disabled")) -> Some(String("enabled"))
        active: Some(String("inactive")) -> Some(String("active"))
        systemctl enable nginx.service
        systemctl start nginx.service
        "#);
        let stopped = Service::new(&scopes.get("ct:101").expect("guest"), "smbd")
            .enabled(false)
            .running(false);
        insta::assert_snapshot!(check(&stopped, Some(&unit("enabled", "failed"))), @r#"
        enabled: Some(String("enabled")) -> Some(String("disabled"))
        guest-exec 101 -- systemctl disable smbd.service
        "#);
    }

    #[test]
    fn a_changed_file_adds_one_reload_naming_its_causes() {
        let scopes = scopes();
        let a = ResourceId::parse("file[ct:101:/etc/nginx/a]").expect("id");
        let b = ResourceId::parse("file[ct:101:/etc/nginx/b]").expect("id");
        let nginx = Service::new(&scopes.get("ct:101").expect("guest"), "nginx")
            .file(a.clone())
            .file(b.clone())
            .on_change(OnChange::Reload);
        let delta = Resource::when_triggered(&nginx, &[a, b]);
        let steps: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
        assert_eq!(steps, ["guest-exec 101 -- systemctl reload nginx.service"]);
        assert_eq!(
            delta.fields[0].note.as_deref(),
            Some("when changed: file[ct:101:/etc/nginx/a], file[ct:101:/etc/nginx/b]")
        );
        let stopped = Service::new(&scopes.node(), "x").running(false);
        assert!(Resource::when_triggered(&stopped, &[]).is_empty());
    }

    #[test]
    fn issue_9_a_service_reloads_with_its_own_command_when_given_one() {
        let scopes = scopes();
        let conf = ResourceId::parse("file[/etc/samba/phoenix-shares.conf]").expect("id");
        let smbd = Service::new(&scopes.node(), "smbd")
            .file(conf.clone())
            .reload_with(["smbcontrol", "smbd", "reload-config"]);
        let delta = Resource::when_triggered(&smbd, &[conf]);
        insta::assert_snapshot!(render_delta(&delta), @r#"
        reload: None -> Some(Bool(true))
        smbcontrol smbd reload-config
        "#);
    }
}
