//! The local CA's resources: the CA on the node (`gateway.ca`), the gateway's server certificate
//! in its container (`gateway.certificate`), and the CA certificate in a container's trust store
//! (`gateway.trust`, with `update-ca-certificates` as its trigger, `gateway.trust_refresh`).
//!
//! Keys are made in this process by [`super::ca`] at apply time, so a plan shows what will be
//! made and why (missing, names changed, another CA, renewal due and its date), never key
//! material: a key goes to the node with `Host::write_file` (0600) and into a container on the
//! standard input of the staging command (sensitive), as core's `file` does. The CA key is read
//! only by the apply of a certificate, never by a probe. A valid certificate is kept, so a
//! second run plans nothing.

use std::path::Path;

use async_trait::async_trait;
use phoenix_core::change::{Change, Delta, FieldChange, Step};
use phoenix_core::file::STAGE_SCRIPT;
use phoenix_core::host::FileWrite;
use phoenix_core::probe::{Probe, observe};
use phoenix_core::resource::{Capability, Ctx, Resource, run_steps};
use phoenix_core::scope::Scope;
use phoenix_core::sensitive::{Content, describe};
use phoenix_core::{BoxError, Cmd, Diagnostic, Fact, Kind, ResourceId};
use serde::Serialize;

use super::ca::{self, CertInfo, Secret};

/// The kind of [`CaResource`].
pub const CA_KIND: &str = "gateway.ca";
/// The kind of [`ServerCert`].
pub const CERT_KIND: &str = "gateway.certificate";
/// The kind of [`Trust`].
pub const TRUST_KIND: &str = "gateway.trust";
/// The kind of [`TrustRefresh`].
pub const REFRESH_KIND: &str = "gateway.trust_refresh";

/// The CA's directory on the node (0700).
pub const CA_DIR: &str = "/etc/phoenix/ca";
/// The CA certificate on the node.
pub const CA_CERT: &str = "/etc/phoenix/ca/phoenix-lab-ca.crt";
/// The CA key on the node (0600, root's).
pub const CA_KEY: &str = "/etc/phoenix/ca/phoenix-lab-ca.key";
/// The directory of the operator's CA certificates in a container.
pub const TRUST_DIR: &str = "/usr/local/share/ca-certificates";
/// Where a container trusts the CA (`update-ca-certificates` reads `*.crt` there).
pub const TRUST_PATH: &str = "/usr/local/share/ca-certificates/phoenix-lab-ca.crt";

/// Where `update-ca-certificates` links [`TRUST_PATH`] into the bundle's directory.
pub const LINK_PATH: &str = "/etc/ssl/certs/phoenix-lab-ca.pem";

/// The steps that write `content` at `path` in `scope` as core's `file` does in a guest:
/// staged beside it from standard input, mode and owner set, renamed over it.
pub(crate) fn write_steps(scope: &Scope, path: &str, content: Content, mode: u32) -> Vec<Step> {
    let file = Path::new(path);
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staged = file
        .with_file_name(format!(".{name}.phoenix-new"))
        .display()
        .to_string();
    vec![
        Step::run(
            scope.command(
                Cmd::write("sh", ["-c", STAGE_SCRIPT, "sh", staged.as_str()]).stdin(content),
            ),
        ),
        Step::run(scope.command(Cmd::write(
            "chmod",
            [format!("{mode:04o}"), "--".into(), staged.clone()],
        ))),
        Step::run(scope.command(Cmd::write("chown", ["root:root", "--", staged.as_str()]))),
        Step::run(scope.command(Cmd::write("mv", ["-f", "--", staged.as_str(), path]))),
    ]
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The CA certificate as the node's probe read it (`None`: missing or unreadable).
async fn ca_cert(cx: &Ctx<'_>, node: &Scope) -> Result<Option<String>, BoxError> {
    let facts = observe(cx, node).await?;
    Ok(facts
        .paths
        .get(CA_CERT)
        .and_then(|fact| fact.content.clone()))
}

/// The local CA on the node.
#[derive(Debug, Clone)]
pub struct CaResource {
    node: Scope,
    depends_on: Vec<ResourceId>,
}

impl CaResource {
    /// The CA, observed by the node's probe (its certificate, and its key's mode and owner; the
    /// probe reads a file whole, as it does the Samba password file, and the key's text is kept
    /// in no state, plan or log).
    pub fn new(node: &Scope) -> CaResource {
        node.observe(|inventory| {
            inventory.paths.insert(CA_CERT.to_owned());
            inventory.paths.insert(CA_KEY.to_owned());
        });
        CaResource {
            node: node.clone(),
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (the CA's directory).
    pub fn depends_on(mut self, id: ResourceId) -> CaResource {
        self.depends_on.push(id);
        self
    }

    /// The id every CA resource has.
    pub fn id_of() -> ResourceId {
        ResourceId::new(Kind::from_static(CA_KIND), CA_DIR)
    }
}

/// The CA as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaState {
    /// The certificate, read back.
    pub cert: Option<CertInfo>,
    /// Why the certificate could not be read.
    pub unreadable: Option<String>,
    /// The key's `mode user:group`, when it exists.
    pub key: Option<String>,
    /// The time of inspection.
    pub now: i64,
}

#[async_trait]
impl Resource for CaResource {
    type State = CaState;

    fn id(&self) -> ResourceId {
        CaResource::id_of()
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<CaState>, BoxError> {
        let facts = observe(cx, &self.node).await?;
        let key = facts
            .paths
            .get(CA_KEY)
            .map(|fact| format!("{:o} {}", fact.mode, fact.owner));
        let (cert, unreadable) = match facts.paths.get(CA_CERT).and_then(|f| f.content.as_ref()) {
            None => (None, None),
            Some(pem) => match ca::read_cert(pem) {
                Ok(info) => (Some(info), None),
                Err(err) => (None, Some(err.to_string())),
            },
        };
        if cert.is_none() && unreadable.is_none() && key.is_none() {
            return Ok(None);
        }
        Ok(Some(CaState {
            cert,
            unreadable,
            key,
            now: now(),
        }))
    }

    fn diff(&self, observed: Option<&CaState>) -> Delta {
        let Some(state) = observed else {
            return Delta::none()
                .field(FieldChange::new(
                    "certificate",
                    None,
                    Some(
                        format!(
                            "CN={}, ECDSA P-256, valid {} days, made by Phoenix at apply",
                            ca::CA_NAME,
                            ca::CA_DAYS
                        )
                        .into(),
                    ),
                ))
                .field(FieldChange::new(
                    "key",
                    None,
                    Some(format!("(sensitive, mode 0600) {CA_KEY}").into()),
                ));
        };
        let incomplete = match (&state.cert, &state.unreadable, &state.key) {
            (_, Some(why), _) => Some(format!("{CA_CERT} cannot be read ({why})")),
            (None, None, _) => Some(format!("{CA_CERT} is missing")),
            (Some(_), None, None) => Some(format!("{CA_KEY} is missing")),
            _ => None,
        };
        if let Some(why) = incomplete {
            return Delta::none().diagnostic(Diagnostic::error(format!(
                "the local CA in {CA_DIR} is incomplete: {why}; Phoenix never replaces a CA that containers may trust: restore the file, or remove both to have a new CA made"
            )));
        }
        let mut delta = Delta::none();
        if let Some(info) = &state.cert
            && info.not_after - state.now < 365 * 86_400
        {
            delta = delta.diagnostic(Diagnostic::warning(format!(
                "the local CA expires on {}: make a new one (remove both files in {CA_DIR}) before then",
                ca::date(info.not_after)
            )));
        }
        if state.key.as_deref() != Some("600 root:root") {
            delta = delta
                .field(FieldChange::new(
                    "key_mode",
                    state.key.clone().map(Into::into),
                    Some("600 root:root".into()),
                ))
                .step(Step::run(Cmd::write("chown", ["root:root", "--", CA_KEY])))
                .step(Step::run(Cmd::write("chmod", ["0600", "--", CA_KEY])));
        }
        delta
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        if change.action != phoenix_core::change::Action::Create {
            return run_steps(&change.steps, cx).await;
        }
        let made = ca::new_ca(now())?;
        // The key first: a certificate without its key would read as an incomplete CA.
        cx.host()
            .write_file(
                Path::new(CA_KEY),
                &FileWrite::new(made.key.reveal(), 0o600).owner("root:root"),
            )
            .await?;
        cx.host()
            .write_file(
                Path::new(CA_CERT),
                &FileWrite::new(made.cert_pem, 0o644).owner("root:root"),
            )
            .await?;
        Ok(())
    }
}

/// The gateway's server certificate and key in its container, issued by the local CA.
#[derive(Debug, Clone)]
pub struct ServerCert {
    scope: Scope,
    node: Scope,
    names: Vec<String>,
    depends_on: Vec<ResourceId>,
}

impl ServerCert {
    /// A certificate for `names` (the first is the common name) in `scope`.
    pub fn new(scope: &Scope, node: &Scope, names: Vec<String>) -> ServerCert {
        scope.observe(|inventory| {
            inventory.paths.insert(super::tls::CERT_PATH.to_owned());
            inventory.paths.insert(super::tls::KEY_PATH.to_owned());
        });
        node.observe(|inventory| {
            inventory.paths.insert(CA_CERT.to_owned());
        });
        ServerCert {
            scope: scope.clone(),
            node: node.clone(),
            names,
            depends_on: vec![CaResource::id_of()],
        }
    }

    /// Adds a dependency (the TLS directory).
    pub fn depends_on(mut self, id: ResourceId) -> ServerCert {
        self.depends_on.push(id);
        self
    }

    /// The id of the certificate in `scope`.
    pub fn id_in(scope: &Scope) -> ResourceId {
        ResourceId::new(
            Kind::from_static(CERT_KIND),
            scope.qualify(super::tls::CERT_PATH),
        )
    }
}

/// The server certificate as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertState {
    /// The certificate, read back (`None`: unreadable).
    pub cert: Option<CertInfo>,
    /// Whether the CA on the node signed it (`false` too when the CA is made in this run).
    pub signed_by_ca: bool,
    /// Whether the key exists, is its certificate's, and is 0600 root's.
    pub key_ok: bool,
    /// Whether its renewal is due at inspection.
    pub renewal_due: bool,
}

impl ServerCert {
    /// The certificate and key as `facts` show them, checked against the node's CA.
    async fn state_of(
        &self,
        cx: &Ctx<'_>,
        facts: &phoenix_core::probe::ScopeFacts,
    ) -> Result<Option<CertState>, BoxError> {
        let Some(pem) = facts
            .paths
            .get(super::tls::CERT_PATH)
            .and_then(|f| f.content.clone())
        else {
            return Ok(None);
        };
        let ca_pem = ca_cert(cx, &self.node).await?;
        let cert = ca::read_cert(&pem).ok();
        let key_ok = facts.paths.get(super::tls::KEY_PATH).is_some_and(|fact| {
            fact.mode == 0o600
                && fact.owner == "root:root"
                && fact
                    .content
                    .as_ref()
                    .is_some_and(|key| ca::key_matches(&pem, &Secret::new(key.clone())))
        });
        Ok(Some(CertState {
            renewal_due: cert.as_ref().is_none_or(|c| c.renewal_due(now())),
            cert,
            signed_by_ca: ca_pem.is_some_and(|ca_pem| ca::signed_by(&pem, &ca_pem)),
            key_ok,
        }))
    }

    /// Whether the container already holds a certificate and key this run would keep: read
    /// afresh at apply when the plan saw none (the container could not be probed then, say
    /// stopped by a failed run), so a valid certificate is not replaced by a new random one.
    /// A probe that fails fails the apply (it changed nothing yet).
    async fn kept_at_apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<bool, BoxError> {
        let unseen = change
            .fields
            .iter()
            .any(|f| f.field == "certificate" && f.before.is_none());
        if !unseen {
            return Ok(false);
        }
        let facts = Probe(self.scope.clone()).gather(cx.host()).await?;
        Ok(match self.state_of(cx, &facts).await? {
            Some(state) => Resource::diff(self, Some(&state)).fields.is_empty(),
            None => false,
        })
    }
}

#[async_trait]
impl Resource for ServerCert {
    type State = CertState;

    fn id(&self) -> ResourceId {
        ServerCert::id_in(&self.scope)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<CertState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        self.state_of(cx, &facts).await
    }
    fn diff(&self, observed: Option<&CertState>) -> Delta {
        let issue = || {
            format!(
                "issued by CN={} for {}, valid {} days (renewal {} days before expiry), made by Phoenix at apply",
                ca::CA_NAME,
                self.names.join(", "),
                ca::SERVER_DAYS,
                ca::RENEW_DAYS
            )
        };
        let key = || Some(describe(0).replace("0 bytes", "mode 0600").into());
        let Some(state) = observed else {
            return Delta::none()
                .field(FieldChange::new("certificate", None, Some(issue().into())))
                .field(FieldChange::new("key", None, key()));
        };
        let mut reasons = Vec::new();
        match &state.cert {
            None => reasons.push("the certificate cannot be read".to_owned()),
            Some(info) => {
                let want: std::collections::BTreeSet<String> = self.names.iter().cloned().collect();
                if info.names != want {
                    reasons.push(format!(
                        "its names are {}",
                        info.names.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                if state.renewal_due {
                    reasons.push(format!(
                        "renewal due: it expires on {}, renewal from {}",
                        ca::date(info.not_after),
                        ca::date(info.renew_on())
                    ));
                }
            }
        }
        if !state.signed_by_ca {
            reasons.push("the local CA did not issue it".to_owned());
        }
        if !state.key_ok {
            reasons.push("its key is missing, another's, or not 0600 root's".to_owned());
        }
        if reasons.is_empty() {
            return Delta::none();
        }
        let before = state
            .cert
            .as_ref()
            .map(|info| format!("valid until {}", ca::date(info.not_after)).into());
        Delta::none()
            .field(
                FieldChange::new("certificate", before, Some(issue().into()))
                    .note(reasons.join("; ")),
            )
            .field(FieldChange::new("key", None, key()))
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        if self.kept_at_apply(change, cx).await? {
            return Ok(());
        }
        let read = |path: &'static str| async move {
            cx.host()
                .read_file(Path::new(path))
                .await?
                .map(|data| data.content)
                .ok_or_else(|| BoxError::from(format!("the local CA's {path} is missing")))
        };
        let ca_pem = read(CA_CERT).await?;
        let ca_key = Secret::new(read(CA_KEY).await?);
        let issued = ca::issue_server(&ca_pem, &ca_key, &self.names, now())?;
        let mut steps = write_steps(
            &self.scope,
            super::tls::KEY_PATH,
            Content::sensitive(issued.key.reveal()),
            0o600,
        );
        steps.extend(write_steps(
            &self.scope,
            super::tls::CERT_PATH,
            Content::plain(issued.cert_pem),
            0o644,
        ));
        run_steps(&steps, cx).await
    }
}

/// The kind of [`OperatorCert`].
pub const OPERATOR_KIND: &str = "gateway.operator_certificate";

/// The operator's certificate (`"mode": "files"`), checked and never written: missing is a plan
/// error (nginx would refuse the configuration), expired an error, due for renewal within
/// [`ca::RENEW_DAYS`] a warning with its date.
#[derive(Debug, Clone)]
pub struct OperatorCert {
    scope: Scope,
    path: String,
}

impl OperatorCert {
    /// The certificate at `path` in `scope`.
    pub fn new(scope: &Scope, path: &str) -> OperatorCert {
        scope.observe(|inventory| {
            inventory.paths.insert(path.to_owned());
        });
        OperatorCert {
            scope: scope.clone(),
            path: path.to_owned(),
        }
    }
}

/// The operator's certificate as observed: read back, or why not; and the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperatorState {
    /// The certificate, or why it cannot be read.
    pub cert: Result<CertInfo, String>,
    /// The time of inspection.
    pub now: i64,
}

#[async_trait]
impl Resource for OperatorCert {
    type State = OperatorState;

    fn id(&self) -> ResourceId {
        ResourceId::new(
            Kind::from_static(OPERATOR_KIND),
            self.scope.qualify(&self.path),
        )
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<OperatorState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        Ok(facts
            .paths
            .get(&self.path)
            .and_then(|f| f.content.as_ref())
            .map(|pem| OperatorState {
                cert: ca::read_cert(pem).map_err(|e| e.to_string()),
                now: now(),
            }))
    }

    fn diff(&self, observed: Option<&OperatorState>) -> Delta {
        let at = format!("{} in {}", self.path, self.scope);
        let diagnostic = match observed.map(|s| (&s.cert, s.now)) {
            None => Diagnostic::error(format!(
                "the gateway's certificate {at} (gateway.tls.certificate) does not exist: put it there (the shared ssl mount), or use \"mode\": \"local_ca\""
            )),
            Some((Err(why), _)) => Diagnostic::error(format!(
                "the gateway's certificate {at} cannot be read: {why}"
            )),
            Some((Ok(info), now)) if now >= info.not_after => Diagnostic::error(format!(
                "the gateway's certificate {at} expired on {}: replace it",
                ca::date(info.not_after)
            )),
            Some((Ok(info), now)) if info.renewal_due(now) => Diagnostic::warning(format!(
                "the gateway's certificate {at} expires on {} (renewal due from {}): replace it; Phoenix never writes the operator's certificate",
                ca::date(info.not_after),
                ca::date(info.renew_on())
            )),
            Some(_) => return Delta::none(),
        };
        Delta::none().diagnostic(diagnostic)
    }
}

/// The CA certificate in a container's trust store.
#[derive(Debug, Clone)]
pub struct Trust {
    scope: Scope,
    node: Scope,
    depends_on: Vec<ResourceId>,
}

impl Trust {
    /// The CA in `scope`'s trust store.
    pub fn new(scope: &Scope, node: &Scope) -> Trust {
        scope.observe(|inventory| {
            inventory.paths.insert(TRUST_PATH.to_owned());
        });
        node.observe(|inventory| {
            inventory.paths.insert(CA_CERT.to_owned());
        });
        Trust {
            scope: scope.clone(),
            node: node.clone(),
            depends_on: vec![CaResource::id_of()],
        }
    }

    /// Adds a dependency (the `ca-certificates` package).
    pub fn depends_on(mut self, id: ResourceId) -> Trust {
        self.depends_on.push(id);
        self
    }

    /// The id of the trust file in `scope`.
    pub fn id_in(scope: &Scope) -> ResourceId {
        ResourceId::new(Kind::from_static(TRUST_KIND), scope.qualify(TRUST_PATH))
    }

    fn steps(&self, pem: &str) -> Vec<Step> {
        write_steps(&self.scope, TRUST_PATH, Content::plain(pem), 0o644)
    }
}

/// The trust file as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustState {
    /// Whether it holds the node's CA certificate.
    pub current: bool,
    /// The node's CA certificate (public), when it exists.
    pub ca: Option<String>,
}

#[async_trait]
impl Resource for Trust {
    type State = TrustState;

    fn id(&self) -> ResourceId {
        Trust::id_in(&self.scope)
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<TrustState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let Some(live) = facts.paths.get(TRUST_PATH).and_then(|f| f.content.clone()) else {
            return Ok(None);
        };
        let ca = ca_cert(cx, &self.node).await?;
        Ok(Some(TrustState {
            current: ca.as_deref() == Some(live.as_str()),
            ca,
        }))
    }

    fn diff(&self, observed: Option<&TrustState>) -> Delta {
        if observed.is_some_and(|s| s.current) {
            return Delta::none();
        }
        let ca = observed.and_then(|s| s.ca.as_deref());
        let delta = Delta::none().field(FieldChange::new(
            "certificate",
            observed.map(|_| "another certificate".into()),
            Some(format!("CN={} from the node's {CA_CERT}", ca::CA_NAME).into()),
        ));
        match ca {
            // Known at plan time: the plan shows the steps.
            Some(pem) => self.steps(pem).into_iter().fold(delta, Delta::step),
            // Made in this run: apply reads it once the CA exists.
            None => delta,
        }
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        if !change.steps.is_empty() {
            return run_steps(&change.steps, cx).await;
        }
        let pem = cx
            .host()
            .read_file(Path::new(CA_CERT))
            .await?
            .map(|data| data.content)
            .ok_or_else(|| BoxError::from(format!("the local CA's {CA_CERT} is missing")))?;
        run_steps(&self.steps(&pem), cx).await
    }
}

/// `update-ca-certificates` in a container, run when its trust file changed in this run, or
/// when the trust store has no link to it ([`LINK_PATH`]: a run that wrote the file and failed
/// before the refresh, or a store rebuilt since).
#[derive(Debug, Clone)]
pub struct TrustRefresh {
    scope: Scope,
    trust: ResourceId,
}

/// What inspection found of the trust store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshState {
    /// Whether the store links the CA ([`LINK_PATH`] exists).
    pub linked: bool,
}

impl TrustRefresh {
    /// The refresh of `scope`'s trust store after its trust file.
    pub fn new(scope: &Scope) -> TrustRefresh {
        scope.observe(|inventory| {
            inventory.paths.insert(LINK_PATH.to_owned());
        });
        TrustRefresh {
            scope: scope.clone(),
            trust: Trust::id_in(scope),
        }
    }

    fn step(&self) -> Step {
        Step::run(
            self.scope
                .command(Cmd::write("update-ca-certificates", [""; 0])),
        )
    }
}

#[async_trait]
impl Resource for TrustRefresh {
    type State = RefreshState;

    fn id(&self) -> ResourceId {
        ResourceId::new(
            Kind::from_static(REFRESH_KIND),
            self.scope.qualify("update-ca-certificates"),
        )
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        vec![self.trust.clone()]
    }

    fn provides(&self) -> Vec<Capability> {
        self.scope.settled().into_iter().collect()
    }

    fn requires(&self) -> Vec<Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<RefreshState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        Ok(Some(RefreshState {
            linked: facts.paths.contains_key(LINK_PATH),
        }))
    }

    fn diff(&self, observed: Option<&RefreshState>) -> Delta {
        match observed {
            Some(state) if !state.linked => Delta::none()
                .field(FieldChange::new(
                    "linked",
                    Some(false.into()),
                    Some(true.into()),
                ))
                .step(self.step()),
            _ => Delta::none(),
        }
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        vec![self.trust.clone()]
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        let causes: Vec<String> = by.iter().map(ToString::to_string).collect();
        Delta::none()
            .field(
                FieldChange::new("update-ca-certificates", None, Some(true.into()))
                    .note(format!("when changed: {}", causes.join(", "))),
            )
            .step(self.step())
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let unlinked = change.fields.iter().any(|f| f.field == "linked");
        if change.steps.contains(&self.step()) && (unlinked || cx.changed(&self.trust)) {
            run_steps(&[self.step()], cx).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use phoenix_core::scope::{GuestTransport, Scopes};

    use super::*;

    #[derive(Debug)]
    struct Pct;

    impl GuestTransport for Pct {
        fn class(&self) -> &str {
            "ct"
        }
        fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd {
            Cmd::write("pct", ["exec", guest, "--", &cmd.to_string()])
        }
    }

    fn scopes() -> (Scope, Scope) {
        let scopes = Scopes::new([Arc::new(Pct) as Arc<dyn GuestTransport>]);
        (scopes.get("ct:101").expect("a guest scope"), scopes.node())
    }

    /// Fields, steps and diagnostics of a delta, one per line.
    fn render(delta: &Delta) -> String {
        let mut out = Vec::new();
        for field in &delta.fields {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref().map_or("(none)".to_owned(), ToString::to_string)
            };
            let note = field
                .note
                .as_ref()
                .map(|n| format!(" [{n}]"))
                .unwrap_or_default();
            out.push(format!(
                "{}: {} -> {}{note}",
                field.field,
                show(&field.before),
                show(&field.after)
            ));
        }
        out.extend(delta.steps.iter().map(|s| format!("$ {s}")));
        out.extend(delta.diagnostics.iter().map(|d| format!("! {}", d.message)));
        out.join("\n")
    }

    const DAY: i64 = 86_400;

    fn issued(names: &[&str], now: i64) -> (ca::Issued, ca::Issued) {
        let authority = ca::new_ca(now).expect("a CA");
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let server = ca::issue_server(&authority.cert_pem, &authority.key, &names, now)
            .expect("a certificate");
        (authority, server)
    }

    #[test]
    fn issue_13_the_ca_is_made_once_never_replaced_and_its_key_kept_root_only() {
        let (_, node) = scopes();
        let ca = CaResource::new(&node);
        let (authority, _) = issued(&["x"], now());
        let info = ca::read_cert(&authority.cert_pem).expect("reads");
        let state = |cert: Option<CertInfo>, key: Option<&str>| CaState {
            cert,
            unreadable: None,
            key: key.map(str::to_owned),
            now: now(),
        };
        let cases = [
            (
                None,
                "certificate: (none) -> \"CN=Phoenix lab CA, ECDSA P-256, valid 3650 days, made by Phoenix at apply\"\nkey: (none) -> \"(sensitive, mode 0600) /etc/phoenix/ca/phoenix-lab-ca.key\"",
            ),
            (Some(state(Some(info.clone()), Some("600 root:root"))), ""),
            (
                Some(state(Some(info.clone()), Some("644 root:root"))),
                "key_mode: \"644 root:root\" -> \"600 root:root\"\n$ chown root:root -- /etc/phoenix/ca/phoenix-lab-ca.key\n$ chmod 0600 -- /etc/phoenix/ca/phoenix-lab-ca.key",
            ),
            (
                Some(state(Some(info), None)),
                "! the local CA in /etc/phoenix/ca is incomplete: /etc/phoenix/ca/phoenix-lab-ca.key is missing; Phoenix never replaces a CA that containers may trust: restore the file, or remove both to have a new CA made",
            ),
        ];
        for (observed, expect) in cases {
            assert_eq!(render(&Resource::diff(&ca, observed.as_ref())), expect);
        }
    }

    #[test]
    fn issue_13_the_server_certificate_is_kept_while_valid_and_renewed_with_its_date() {
        let (scope, node) = scopes();
        let names = vec!["gateway.lab".to_owned(), "10.0.0.153".to_owned()];
        let cert = ServerCert::new(&scope, &node, names);
        let (_, server) = issued(&["gateway.lab", "10.0.0.153"], 1_796_000_000);
        let info = ca::read_cert(&server.cert_pem).expect("reads");
        let good = CertState {
            cert: Some(info.clone()),
            signed_by_ca: true,
            key_ok: true,
            renewal_due: false,
        };
        assert_eq!(render(&Resource::diff(&cert, Some(&good))), "");
        let due = CertState {
            renewal_due: info.renewal_due(info.renew_on()),
            ..good.clone()
        };
        insta::assert_snapshot!(render(&Resource::diff(&cert, Some(&due))), @r#"
        certificate: "valid until 2027-11-30" -> "issued by CN=Phoenix lab CA for gateway.lab, 10.0.0.153, valid 365 days (renewal 30 days before expiry), made by Phoenix at apply" [renewal due: it expires on 2027-11-30, renewal from 2027-10-31]
        key: (none) -> "(sensitive, mode 0600)"
        "#);
        let other = CertState {
            signed_by_ca: false,
            key_ok: false,
            ..good.clone()
        };
        let shown = render(&Resource::diff(&cert, Some(&other)));
        assert!(
            shown.contains(
                "the local CA did not issue it; its key is missing, another's, or not 0600 root's"
            ),
            "{shown}"
        );
        let renamed = ServerCert::new(&scope, &node, vec!["api.lab".to_owned()]);
        let shown = render(&Resource::diff(&renamed, Some(&good)));
        assert!(
            shown.contains("its names are 10.0.0.153, gateway.lab"),
            "{shown}"
        );
        assert!(render(&Resource::diff(&cert, None)).starts_with("certificate: (none) -> "));
        let _ = DAY;
    }

    #[test]
    fn issue_13_the_operator_s_certificate_is_checked_and_never_written() {
        let (scope, _) = scopes();
        let operator = OperatorCert::new(&scope, "/etc/nginx/ssl/gateway.crt");
        let (_, server) = issued(&["gateway.lab"], 1_796_000_000);
        let info = ca::read_cert(&server.cert_pem).expect("reads");
        let at = |now: i64| OperatorState {
            cert: Ok(info.clone()),
            now,
        };
        let cases = [
            (
                None,
                "! the gateway's certificate /etc/nginx/ssl/gateway.crt in ct:101 (gateway.tls.certificate) does not exist: put it there (the shared ssl mount), or use \"mode\": \"local_ca\"",
            ),
            (Some(at(1_796_000_000)), ""),
            (
                Some(at(info.renew_on())),
                "! the gateway's certificate /etc/nginx/ssl/gateway.crt in ct:101 expires on 2027-11-30 (renewal due from 2027-10-31): replace it; Phoenix never writes the operator's certificate",
            ),
            (
                Some(at(info.not_after)),
                "! the gateway's certificate /etc/nginx/ssl/gateway.crt in ct:101 expired on 2027-11-30: replace it",
            ),
            (
                Some(OperatorState {
                    cert: Err("no PEM block".into()),
                    now: 0,
                }),
                "! the gateway's certificate /etc/nginx/ssl/gateway.crt in ct:101 cannot be read: no PEM block",
            ),
        ];
        for (observed, expect) in cases {
            let delta = Resource::diff(&operator, observed.as_ref());
            assert!(delta.steps.is_empty());
            assert_eq!(render(&delta), expect);
        }
    }

    #[test]
    fn issue_13_the_trust_file_is_written_when_it_differs_and_refreshed_as_a_trigger() {
        let (scope, node) = scopes();
        let trust = Trust::new(&scope, &node);
        let current = TrustState {
            current: true,
            ca: Some("PEM".into()),
        };
        assert_eq!(render(&Resource::diff(&trust, Some(&current))), "");
        let stale = TrustState {
            current: false,
            ..current
        };
        let shown = render(&Resource::diff(&trust, Some(&stale)));
        assert!(shown.contains("$ pct exec 101 -- 'sh -c"), "{shown}");
        assert!(shown.ends_with("phoenix-lab-ca.crt'"), "{shown}");
        // The CA made in this run: no steps at plan time, apply reads it.
        let shown = render(&Resource::diff(&trust, None));
        assert!(!shown.contains('$'), "{shown}");
        let refresh = TrustRefresh::new(&scope);
        let linked = RefreshState { linked: true };
        assert_eq!(render(&Resource::diff(&refresh, Some(&linked))), "");
        assert_eq!(render(&Resource::diff(&refresh, None)), "");
        let shown = render(&refresh.when_triggered(&[Trust::id_in(&scope)]));
        assert!(
            shown.contains("$ pct exec 101 -- update-ca-certificates"),
            "{shown}"
        );
        // A store without the link (a run that wrote the file and failed before its refresh)
        // is refreshed without a trigger.
        let unlinked = RefreshState { linked: false };
        let shown = render(&Resource::diff(&refresh, Some(&unlinked)));
        assert!(
            shown.contains("linked") && shown.contains("$ pct exec 101 -- update-ca-certificates"),
            "{shown}"
        );
    }
}
