//! Copy-on-write volume contents: a root volume stores only how it differs from the template it
//! was created from, so that hundreds of containers keep the node's state small.
//!
//! A volume's `content.base` names its template (a key of `templates`, or `builtin:<name>` for a
//! built-in one); `files`, `dirs`, `packages`, `services` and `locales` then hold only what was
//! added or changed, and `removed` the template files that were deleted. A command first opens
//! (materialises) the volumes it works on, changes them as whole trees, and at the end the
//! context stores each again as a difference from its base.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use phoenix_core::sim::SimFile;

use super::ctx::Ctx;
use super::defaults::{UBUNTU_NOBLE_PREFIX, ubuntu_noble_template};
use super::fs::{Backend, Mounts, normalize};
use super::state::{Content, DirAttrs, TemplateSpec};

/// The base key of the built-in Ubuntu 24.04 template.
const BUILTIN_NOBLE: &str = "builtin:ubuntu-24.04-standard";

/// The full content of a root volume freshly extracted from `template`.
pub(crate) fn template_content(template: &TemplateSpec) -> Content {
    let mut content = Content::default();
    for (path, text) in &template.files {
        content.files.insert(
            normalize(path),
            SimFile::new(text.clone(), 0o644, "root:root"),
        );
    }
    for (name, package) in &template.packages {
        content.packages.insert(name.clone(), package.installed());
        for (path, text) in &package.files {
            content.files.insert(
                normalize(path),
                SimFile::new(text.clone(), 0o644, "root:root"),
            );
        }
        content.services.extend(package.services.clone());
    }
    content.services.extend(template.services.clone());
    content.locales.extend(template.locales.iter().cloned());
    content
        .dirs
        .extend(template.dirs.iter().map(|dir| normalize(dir)));
    content
}

/// The full content of the built-in Ubuntu 24.04 template, built once: every command that opens
/// a volume of a container made from it starts from this.
fn builtin_noble_content() -> &'static Content {
    static CONTENT: OnceLock<Content> = OnceLock::new();
    CONTENT.get_or_init(|| template_content(&ubuntu_noble_template()))
}

/// `overlay` applied on `base`.
pub(crate) fn merge(base: &Content, overlay: &Content) -> Content {
    let mut full = base.clone();
    full.base = None;
    full.files.retain(|path, _| !overlay.removed.contains(path));
    full.files
        .extend(overlay.files.iter().map(|(k, v)| (k.clone(), v.clone())));
    full.dirs.extend(overlay.dirs.iter().cloned());
    full.dir_attrs.extend(
        overlay
            .dir_attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    full.packages
        .extend(overlay.packages.iter().map(|(k, v)| (k.clone(), v.clone())));
    full.services
        .extend(overlay.services.iter().map(|(k, v)| (k.clone(), v.clone())));
    full.locales.extend(overlay.locales.iter().cloned());
    full.apt_lists = overlay.apt_lists;
    full
}

/// How `full` differs from `base` (the inverse of [`merge`]; `base` is left for the caller).
pub(crate) fn diff(base: &Content, full: &Content) -> Content {
    Content {
        base: None,
        files: full
            .files
            .iter()
            .filter(|(path, file)| base.files.get(*path) != Some(file))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        removed: base
            .files
            .keys()
            .filter(|path| !full.files.contains_key(*path))
            .cloned()
            .collect(),
        dirs: full.dirs.difference(&base.dirs).cloned().collect(),
        // A directory of the base whose attributes went back to the default (no entry in
        // `full`) keeps an explicit default, which `merge` lays over the base's.
        dir_attrs: full
            .dir_attrs
            .iter()
            .filter(|(path, attrs)| base.dir_attrs.get(*path) != Some(attrs))
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain(
                base.dir_attrs
                    .keys()
                    .filter(|path| !full.dir_attrs.contains_key(*path))
                    .map(|path| (path.clone(), DirAttrs::default())),
            )
            .collect(),
        packages: full
            .packages
            .iter()
            .filter(|(name, package)| base.packages.get(*name) != Some(package))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        services: full
            .services
            .iter()
            .filter(|(unit, state)| base.services.get(*unit) != Some(state))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        apt_lists: full.apt_lists,
        locales: full
            .locales
            .difference(&base.locales)
            .cloned()
            .collect::<BTreeSet<_>>(),
    }
}

impl Ctx<'_, '_> {
    /// The template `pct create` is given: its base key and description, declared (under the
    /// `ostemplate` as given, the archive's path, or its file name) or built in.
    pub(crate) fn template_spec(
        &self,
        ostemplate: &str,
        path: &str,
    ) -> Option<(String, TemplateSpec)> {
        let file = path.rsplit('/').next().unwrap_or(path);
        for key in [ostemplate, path, file] {
            if let Some(spec) = self.state.templates.get(key) {
                return Some((key.to_owned(), spec.clone()));
            }
        }
        file.starts_with(UBUNTU_NOBLE_PREFIX)
            .then(|| (BUILTIN_NOBLE.to_owned(), ubuntu_noble_template()))
    }

    /// The full content of the template with base key `key` (empty if it is gone).
    fn base_content(&self, key: Option<&str>) -> Cow<'static, Content> {
        match key {
            Some(BUILTIN_NOBLE) => Cow::Borrowed(builtin_noble_content()),
            Some(key) => Cow::Owned(
                self.state
                    .templates
                    .get(key)
                    .map(template_content)
                    .unwrap_or_default(),
            ),
            None => Cow::Owned(Content::default()),
        }
    }

    /// The full content a stored (overlay) content stands for.
    pub(crate) fn materialize(&self, overlay: &Content) -> Content {
        merge(&self.base_content(overlay.base.as_deref()), overlay)
    }

    /// Opens volume `volid` for this command (see the module documentation).
    pub(crate) fn open_volume(&mut self, volid: &str) {
        if self.effective.contains_key(volid) {
            return;
        }
        if let Some(volume) = self.state.volumes.get(volid) {
            let full = self.materialize(&volume.content);
            self.effective.insert(volid.to_owned(), full);
        }
    }

    /// Opens every volume of a container's mount table.
    pub(crate) fn open_mounts(&mut self, mounts: &Mounts) {
        for backend in mounts.backends() {
            if let Backend::Volume { volid, .. } = backend {
                self.open_volume(&volid);
            }
        }
    }

    /// The full content of an opened volume (or the stored one of a volume without a base).
    pub(crate) fn content(&self, volid: &str) -> Option<&Content> {
        self.effective
            .get(volid)
            .or_else(|| self.state.volumes.get(volid).map(|volume| &volume.content))
    }

    /// The full content of volume `volid`, opened (created empty if the state lost it).
    pub(crate) fn content_mut(&mut self, volid: &str) -> &mut Content {
        if !self.state.volumes.contains_key(volid) {
            self.state
                .volumes
                .insert(volid.to_owned(), Default::default());
        }
        self.open_volume(volid);
        self.effective
            .get_mut(volid)
            .expect("invariant: an existing volume opens")
    }

    /// Stores every opened volume again as a difference from its base.
    pub(crate) fn close_volumes(&mut self) {
        let effective = std::mem::take(&mut self.effective);
        for (volid, full) in effective {
            let Some(key) = self
                .state
                .volumes
                .get(&volid)
                .map(|volume| volume.content.base.clone())
            else {
                continue;
            };
            let mut overlay = diff(&self.base_content(key.as_deref()), &full);
            overlay.base = key;
            // Only a changed content is assigned: a mutable borrow copies the volume, and the
            // map, when the cached state shares them (`Shared`).
            let changed = self
                .state
                .volumes
                .get(&volid)
                .is_some_and(|volume| volume.content != overlay);
            if changed && let Some(volume) = self.state.volumes.get_mut(&volid) {
                volume.content = overlay;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_diff_are_inverse() {
        let base = template_content(&ubuntu_noble_template());
        let mut full = base.clone();
        full.files.remove("/etc/machine-id");
        full.files.insert(
            "/etc/default/locale".to_owned(),
            SimFile::text("LANG=C.UTF-8\n"),
        );
        full.services
            .insert("nginx.service".to_owned(), "active".to_owned());
        full.apt_lists = true;
        let overlay = diff(&base, &full);
        assert_eq!(overlay.files.len(), 1);
        assert_eq!(overlay.removed.len(), 1);
        assert!(overlay.packages.is_empty());
        assert_eq!(merge(&base, &overlay), full);
        assert_eq!(diff(&base, &base), Content::default());
    }
}
