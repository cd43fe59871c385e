//! Providers own config keys and resource kinds; the `Registry` is built explicitly from them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::config::{
    Claim, ConfigSet, JsonPath, Section, Support, check_claims, check_strings, decode,
};
use crate::diag::{Diagnostic, Location};
use crate::error::Error;
use crate::id::{Kind, ResourceId};
use crate::resource::DynResource;
use crate::scope::{GuestTransport, Scope, ScopeError, Scopes};

/// A family of resources: the config keys it reads and the kinds it produces.
///
/// A third-party provider implements this against phoenix-core alone and is registered with one
/// line: `Registry::builder().provider(my_provider())`.
pub trait Provider: Send + Sync {
    /// A short name for messages, such as `zfs`.
    fn name(&self) -> &str;

    /// The resource kinds this provider produces. Two providers may not share a kind.
    fn kinds(&self) -> Vec<Kind>;

    /// The top-level config keys this provider owns, or knows about without acting on them.
    fn claims(&self) -> Vec<Claim>;

    /// Turns the provider's sections of the config into resources, reporting every problem found
    /// to `cx` (with its location) rather than stopping at the first.
    fn decode(&self, sections: &[Section<'_>], cx: &mut DecodeCx<'_>);

    /// The emulators of the tools this provider drives, for the simulated node. Registering the
    /// provider registers them: [`Registry::emulators`] collects every provider's, so a provider
    /// and its emulators are one unit. None by default.
    #[cfg(feature = "sim")]
    fn emulators(&self) -> Vec<Arc<dyn crate::sim::Emulator>> {
        Vec::new()
    }

    /// The transports into the guests this provider manages (containers, say), so that any
    /// provider can place scoped resources in them without depending on this one. None by
    /// default.
    fn guest_transports(&self) -> Vec<Arc<dyn GuestTransport>> {
        Vec::new()
    }

    /// The in-guest features this provider implements (`nvidia`, `docker`, ...): names a
    /// guest's feature list may hold, which the guest provider accepts because this provider
    /// places the feature's resources in the guest's scope (see [`crate::feature`]). Two
    /// providers may not implement one feature. None by default.
    fn guest_features(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What a provider's `decode` writes into: resources and diagnostics.
#[derive(Debug)]
pub struct DecodeCx<'a> {
    provider: &'a str,
    kinds: BTreeSet<Kind>,
    config: &'a ConfigSet,
    scopes: Arc<Scopes>,
    features: Arc<BTreeMap<String, String>>,
    resources: Vec<Box<dyn DynResource>>,
    origins: BTreeMap<ResourceId, Location>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> DecodeCx<'a> {
    /// A context for one provider; `kinds` are those it may produce.
    pub fn new(provider: &'a str, kinds: Vec<Kind>, config: &'a ConfigSet) -> DecodeCx<'a> {
        DecodeCx {
            provider,
            kinds: kinds.into_iter().collect(),
            config,
            scopes: Arc::default(),
            features: Arc::default(),
            resources: Vec::new(),
            origins: BTreeMap::new(),
            diagnostics: Vec::new(),
        }
    }

    /// The whole config, read-only, for cross-section checks.
    pub fn config(&self) -> &'a ConfigSet {
        self.config
    }

    /// The same context with the scopes of a whole decode (by default it has its own, with no
    /// guest transport).
    pub fn with_scopes(mut self, scopes: Arc<Scopes>) -> DecodeCx<'a> {
        self.scopes = scopes;
        self
    }

    /// The same context knowing which registered provider implements each in-guest feature.
    pub fn with_guest_features(mut self, features: Arc<BTreeMap<String, String>>) -> DecodeCx<'a> {
        self.features = features;
        self
    }

    /// The name of the registered provider that implements the in-guest feature `feature`
    /// ([`Provider::guest_features`]), if any.
    pub fn guest_feature_provider(&self, feature: &str) -> Option<&str> {
        self.features.get(feature).map(String::as_str)
    }

    /// Every in-guest feature a registered provider implements.
    pub fn guest_features(&self) -> impl Iterator<Item = &str> {
        self.features.keys().map(String::as_str)
    }

    /// The scope called `name` (`node`, `ct:101`): one scope per name for the whole decode, so
    /// every provider's primitives in it share its one probe.
    pub fn scope(&self, name: &str) -> Result<Scope, ScopeError> {
        self.scopes.get(name)
    }

    /// Adds a resource. A kind the provider did not declare is reported as an error.
    pub fn add(&mut self, resource: impl DynResource + 'static) {
        self.add_boxed(Box::new(resource));
    }

    /// Adds a resource that comes from the config entry at `origin`, so that messages about it
    /// (a dependency cycle, a duplicate) can point at that entry.
    pub fn add_at(&mut self, resource: impl DynResource + 'static, origin: Location) {
        self.origins.insert(resource.id(), origin);
        self.add_boxed(Box::new(resource));
    }

    /// Adds a boxed resource.
    pub fn add_boxed(&mut self, resource: Box<dyn DynResource>) {
        let id = resource.id();
        // Core's own kinds (files and the other primitives) may be produced by any provider.
        if self.kinds.contains(&id.kind) || CORE_KINDS.contains(&id.kind.as_str()) {
            self.resources.push(resource);
        } else {
            self.diagnostics.push(
                Diagnostic::error(format!(
                    "provider {} produced a resource of kind {} that it does not declare",
                    self.provider, id.kind
                ))
                .for_resource(id),
            );
        }
    }

    /// Reports a diagnostic.
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Decodes `value` (found at `path` in the section's document) into `T`; on failure reports
    /// the error with its JSON path and line, and returns `None`.
    pub fn decode<T: DeserializeOwned>(
        &mut self,
        section: &Section<'_>,
        path: &JsonPath,
        value: &serde_json::Value,
    ) -> Option<T> {
        match decode(section.document, path, value) {
            Ok(decoded) => Some(decoded),
            Err(diagnostic) => {
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    fn finish(self) -> Desired {
        Desired {
            resources: self.resources,
            diagnostics: self.diagnostics,
            origins: self.origins,
            scopes: self.scopes,
        }
    }
}

/// The primitives' kinds, which any provider may produce.
const CORE_KINDS: &[&str] = &[
    crate::file::KIND,
    crate::package::KIND,
    crate::directory::KIND,
    crate::service::KIND,
    crate::exec::KIND,
    crate::group::KIND,
    crate::user::KIND,
    crate::timezone::KIND,
];

/// Checks the strings of the managed sections (see [`check_strings`]).
fn check_managed_strings(sections: &[Section<'_>], claims: &[Claim]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for section in sections {
        let managed = claims
            .iter()
            .find(|c| c.key == section.key && c.support == Support::Managed && c.part.is_none());
        if let Some(claim) = managed {
            diagnostics.extend(check_strings(section, &claim.free_text));
        }
    }
    diagnostics
}

/// Whether a section this provider claims only part of holds a string that fails the checks.
fn has_bad_strings_in_parts(sections: &[Section<'_>], claims: &[Claim]) -> bool {
    sections.iter().any(|section| {
        let whole = claims
            .iter()
            .any(|c| c.key == section.key && c.part.is_none());
        !whole
            && claims
                .iter()
                .any(|c| c.key == section.key && c.part.is_some())
            && !check_strings(section, &[]).is_empty()
    })
}

/// The providers of one run, built explicitly (there are no globals).
#[derive(Clone)]
pub struct Registry {
    providers: Vec<Arc<dyn Provider>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|p| p.name().to_owned()))
            .finish()
    }
}

/// Collects providers for a [`Registry`].
#[derive(Default)]
pub struct RegistryBuilder {
    providers: Vec<Arc<dyn Provider>>,
}

impl std::fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|p| p.name().to_owned()))
            .finish()
    }
}

impl RegistryBuilder {
    /// Adds a provider.
    pub fn provider(mut self, provider: impl Provider + 'static) -> RegistryBuilder {
        self.providers.push(Arc::new(provider));
        self
    }

    /// Checks that no kind and no in-guest feature is declared twice and builds the registry.
    pub fn build(self) -> Result<Registry, Error> {
        let mut features = BTreeMap::new();
        for provider in &self.providers {
            for feature in provider.guest_features() {
                if features
                    .insert(feature.clone(), provider.name().to_owned())
                    .is_some()
                {
                    return Err(Error::Duplicate {
                        what: "guest feature",
                        name: feature,
                    });
                }
            }
        }
        let mut seen = BTreeMap::new();
        for provider in &self.providers {
            for kind in provider.kinds() {
                if seen
                    .insert(kind.clone(), provider.name().to_owned())
                    .is_some()
                {
                    return Err(Error::Duplicate {
                        what: "kind",
                        name: kind.to_string(),
                    });
                }
            }
        }
        Ok(Registry {
            providers: self.providers,
        })
    }
}

/// The resources the config asks for, plus everything found while decoding it.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Desired {
    /// The resources, in config order.
    pub resources: Vec<Box<dyn DynResource>>,
    /// Errors, warnings and notes about the config.
    pub diagnostics: Vec<Diagnostic>,
    /// Where in the config each resource comes from, for the resources whose provider said so.
    pub origins: BTreeMap<ResourceId, Location>,
    /// The scopes of the decode (their guests' transports tell the engine which are settled).
    pub scopes: Arc<Scopes>,
}

impl Desired {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

impl Registry {
    /// Starts a registry.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The providers, in registration order.
    pub fn providers(&self) -> impl Iterator<Item = &dyn Provider> {
        self.providers.iter().map(|p| &**p)
    }

    /// The emulators of every registered provider, in registration order, for a simulated node
    /// (`SimNode::new(registry.emulators())`).
    #[cfg(feature = "sim")]
    pub fn emulators(&self) -> Vec<Arc<dyn crate::sim::Emulator>> {
        self.providers
            .iter()
            .flat_map(|provider| provider.emulators())
            .collect()
    }

    /// Fresh scopes over every registered provider's guest transports, for resources built in
    /// Rust (decode makes its own, one per run).
    pub fn scopes(&self) -> Scopes {
        Scopes::new(
            self.providers
                .iter()
                .flat_map(|provider| provider.guest_transports()),
        )
    }

    /// Every in-guest feature of the registered providers, with the name of its provider.
    pub fn guest_features(&self) -> BTreeMap<String, String> {
        self.providers
            .iter()
            .flat_map(|p| {
                p.guest_features()
                    .into_iter()
                    .map(|f| (f, p.name().to_owned()))
            })
            .collect()
    }

    /// Decodes the config into resources: checks that every top-level key is claimed, hands each
    /// provider its sections, and checks that resource ids are unique.
    pub fn decode(&self, config: &ConfigSet) -> Desired {
        let claims: Vec<(String, Claim)> = self
            .providers
            .iter()
            .flat_map(|p| p.claims().into_iter().map(|c| (p.name().to_owned(), c)))
            .collect();
        let mut desired = Desired {
            resources: Vec::new(),
            diagnostics: check_claims(config, &claims),
            origins: BTreeMap::new(),
            scopes: Arc::new(self.scopes()),
        };
        let scopes = Arc::clone(&desired.scopes);
        let features = Arc::new(self.guest_features());
        for provider in &self.providers {
            let claims = provider.claims();
            let sections: Vec<Section<'_>> = config
                .sections()
                .filter(|s| claims.iter().any(|c| c.key == s.key))
                .collect();
            // A string with a control character is the root cause of whatever the provider
            // would report about it, so the provider does not decode a config that has one.
            let unsafe_strings = check_managed_strings(&sections, &claims);
            if !unsafe_strings.is_empty() {
                desired.diagnostics.extend(unsafe_strings);
                continue;
            }
            // A part of another provider's key: its owner reports the bad strings.
            if has_bad_strings_in_parts(&sections, &claims) {
                continue;
            }
            let mut cx = DecodeCx::new(provider.name(), provider.kinds(), config)
                .with_scopes(Arc::clone(&scopes))
                .with_guest_features(Arc::clone(&features));
            provider.decode(&sections, &mut cx);
            let decoded = cx.finish();
            desired.resources.extend(decoded.resources);
            desired.origins.extend(decoded.origins);
            desired.diagnostics.extend(decoded.diagnostics);
        }
        let mut ids = BTreeSet::new();
        for resource in &desired.resources {
            let id = resource.id();
            if !ids.insert(id.clone()) {
                let mut diagnostic = Diagnostic::error("the config declares this resource twice");
                if let Some(origin) = desired.origins.get(&id) {
                    diagnostic = diagnostic.at(origin.clone());
                }
                desired.diagnostics.push(diagnostic.for_resource(id));
            }
        }
        desired
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::Document;

    fn decode_files(text: &str) -> (Desired, String) {
        let document = Document::parse(PathBuf::from("c.json"), text.to_owned()).expect("JSON");
        let config = ConfigSet::from_documents(vec![document]);
        let registry = Registry::builder()
            .provider(crate::file::provider())
            .build()
            .expect("one provider");
        let desired = registry.decode(&config);
        let rendered = desired
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        (desired, rendered)
    }

    #[test]
    fn issue_8_control_characters_stop_the_provider_with_their_json_paths() {
        let (desired, rendered) = decode_files(
            "{\"files\": [\n  {\"path\": \"/etc/x]  (create)\\n\\nPlan: 0 to create\", \"content\": \"ok\\n\\tindented\\n\"},\n  {\"path\": \"/etc/\\u001b[2Jy\", \"content\": \"\\u001b[31m\"}\n]}",
        );
        assert!(desired.resources.is_empty(), "nothing is decoded");
        insta::assert_snapshot!(rendered, @r"
        error: c.json:2:12 at files[0].path: control character U+000A (line feed) at character 17; names, paths, options and property values are single-line printable text
        error: c.json:3:12 at files[1].path: control character U+001B (escape) at character 5; names, paths, options and property values are single-line printable text
        error: c.json:3:42 at files[1].content: control character U+001B (escape) at character 0; free text may hold newlines and tabs, no other control characters
        ");
    }

    #[test]
    fn issue_8_two_spellings_of_one_path_are_one_resource_declared_twice() {
        let (desired, rendered) = decode_files(
            "{\"files\": [\n  {\"path\": \"/etc/motd\", \"content\": \"a\"},\n  {\"path\": \"/etc/./motd/\", \"content\": \"b\"},\n  {\"path\": \"/etc/../root/x\", \"content\": \"c\"},\n  {\"path\": \"etc/y\", \"content\": \"d\"}\n]}",
        );
        assert!(desired.has_errors());
        insta::assert_snapshot!(rendered, @r#"
        error: c.json:4:12 at files[2].path: expected a path without ".." components, found "/etc/../root/x"
        error: c.json:5:12 at files[3].path: expected an absolute path, found "etc/y"
        error: c.json:3:3 at files[1]: file[/etc/motd]: the config declares this resource twice
        "#);
    }

    #[test]
    fn issue_8_a_cycle_names_the_config_entries_that_close_it() {
        let (desired, _) = decode_files(
            "{\"files\": [\n  {\"path\": \"/a\", \"content\": \"a\", \"depends_on\": [\"file[/b]\"]},\n  {\"path\": \"/b\", \"content\": \"b\", \"depends_on\": [\"file[/a]\"]}\n]}",
        );
        let err = crate::plan::Engine::new(desired).expect_err("a cycle");
        insta::assert_snapshot!(err.to_string(), @"order resources: dependency cycle file[/a] -> file[/b] -> file[/a]; declared at c.json:2:3 at files[0] (file[/a]), c.json:3:3 at files[1] (file[/b])");
    }
}
