//! `samba.include`: the one `include = <Phoenix's file>` line in the operator's smb.conf.
//!
//! Core's `file` owns whole files, and smb.conf is the operator's (its `[global]`, their own
//! shares), so this resource owns one line of it: present in any spelling Samba reads as the
//! same parameter (found with the one smb.conf reader), else appended. The edit is a core
//! `File` of the whole new text, so it is staged, checked by `testparm -s` and renamed over the
//! live file like any validated file. The plan shows the edit for the file as inspected; apply
//! reads the live file again and edits that, because the samba package installed earlier in the
//! same run may have just created it (the same design as `lxc.features`).
//! It also refuses, at plan time, a Phoenix share whose name the operator's smb.conf already
//! uses.

use async_trait::async_trait;
use phoenix_core::change::{Change, Delta, Ensure};
use phoenix_core::file::{File, FileState};
use phoenix_core::probe::observe;
use phoenix_core::{BoxError, Ctx, Kind, Resource, ResourceId, Scope};

use super::conf::{append_include, parse_smb_conf};

/// The kind of [`IncludeLine`].
pub(crate) const KIND: &str = "samba.include";

/// The include line in smb.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IncludeLine {
    scope: Scope,
    conf: String,
    include: String,
    shares: Vec<String>,
    depends_on: Vec<ResourceId>,
}

impl IncludeLine {
    /// `include = include` in smb.conf at `conf`, on the node; `shares` are Phoenix's share
    /// names, which the operator's file must not define.
    pub(crate) fn new(
        scope: &Scope,
        conf: &str,
        include: &str,
        shares: Vec<String>,
    ) -> IncludeLine {
        scope.observe(|inventory| {
            inventory.paths.insert(conf.to_owned());
        });
        IncludeLine {
            scope: scope.clone(),
            conf: conf.to_owned(),
            include: include.to_owned(),
            shares,
            depends_on: Vec::new(),
        }
    }

    /// Adds a dependency (the package, the include file).
    pub(crate) fn depends_on(mut self, id: ResourceId) -> IncludeLine {
        self.depends_on.push(id);
        self
    }

    /// The whole-file edit that adds the line to `observed` (a missing smb.conf gets only the
    /// line: Samba's defaults are the rest), keeping its mode and owner.
    fn edit(&self, observed: Option<&FileState>) -> File {
        let text = observed.map_or("", |s| s.content.as_str());
        // `check` refused a file the line cannot be added to, so this is the file unchanged
        // only for a file the plan never edits.
        let content = append_include(text, &self.include).unwrap_or_else(|| text.to_owned());
        let file = File::new(&self.conf, content)
            .mode(observed.map_or(0o644, |s| s.mode))
            .owner(observed.map_or("root:root", |s| s.owner.as_str()))
            .validate(["testparm", "-s", "%s"]);
        // Placed in the scope without adding to its probe (the path is already observed).
        file.in_scope(&self.scope)
    }

    /// The problem with the operator's file: unreadable as smb.conf, or defining a share that
    /// Phoenix defines too.
    fn check(&self, content: &str) -> Result<bool, String> {
        let conf = parse_smb_conf(content).map_err(|err| format!("{}: {err}", self.conf))?;
        if let Some(clash) = conf
            .share_names()
            .find(|name| self.shares.iter().any(|s| s.eq_ignore_ascii_case(name)))
        {
            return Err(format!(
                "{} already defines share [{clash}], which samba.shares defines too; rename one of them",
                self.conf
            ));
        }
        let included = conf.includes(&self.include);
        if !included && append_include(content, &self.include).is_none() {
            return Err(format!(
                "{} has a continued line (a trailing backslash) or a carriage return, where a new `include = {}` line could join another; Phoenix edits only plain one-line-per-parameter files, so join those lines first",
                self.conf, self.include
            ));
        }
        Ok(included)
    }
}

/// smb.conf as observed, and whether it has the line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct IncludeState {
    /// The file.
    pub(crate) file: FileState,
    /// Whether it includes Phoenix's file.
    pub(crate) included: bool,
}

#[async_trait]
impl Resource for IncludeLine {
    type State = IncludeState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.scope.qualify(&self.conf))
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.depends_on.clone()
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<IncludeState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let Some(fact) = facts.paths.get(&self.conf) else {
            return Ok(None);
        };
        let Some(content) = fact.content.as_ref().filter(|_| fact.is_file()) else {
            return Err(
                format!("{} is a {}, not a regular file", self.conf, fact.file_type).into(),
            );
        };
        let included = self.check(content)?;
        Ok(Some(IncludeState {
            file: FileState {
                content: content.clone(),
                mode: fact.mode,
                owner: fact.owner.clone(),
            },
            included,
        }))
    }

    fn diff(&self, observed: Option<&IncludeState>) -> Delta {
        if observed.is_some_and(|s| s.included) {
            return Delta::none();
        }
        let file = observed.map(|s| &s.file);
        Resource::diff(&self.edit(file), file)
    }

    async fn apply(&self, _change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let live = cx
            .host()
            .read_file(std::path::Path::new(&self.conf))
            .await?;
        let live = live.map(|data| FileState {
            content: data.content,
            mode: data.mode,
            owner: data.owner,
        });
        if let Some(state) = &live
            && self.check(&state.content)?
        {
            return Ok(());
        }
        let edit = self.edit(live.as_ref());
        let delta = Resource::diff(&edit, live.as_ref());
        let change = Change::decide(Resource::id(&edit), Ensure::Present, live.is_some(), delta);
        Resource::apply(&edit, &change, cx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoenix_core::Scopes;

    fn check(observed: Option<&str>) -> String {
        let scopes = Scopes::default();
        let line = IncludeLine::new(
            &scopes.node(),
            "/etc/samba/smb.conf",
            "/etc/samba/phoenix-shares.conf",
            vec!["shared-prod-data".into()],
        );
        let state = match observed.map(|text| line.check(text).map(|included| (text, included))) {
            None => None,
            Some(Err(message)) => return format!("error: {message}"),
            Some(Ok((text, included))) => Some(IncludeState {
                file: FileState {
                    content: text.into(),
                    mode: 0o644,
                    owner: "root:root".into(),
                },
                included,
            }),
        };
        let delta = Resource::diff(&line, state.as_ref());
        let steps: Vec<String> = delta.steps.iter().map(ToString::to_string).collect();
        format!(
            "{}{}",
            delta.file_diff.unwrap_or_default(),
            steps.join("\n")
        )
    }

    #[test]
    fn issue_9_the_include_line_is_added_once_and_the_operators_file_kept() {
        insta::assert_snapshot!(check(Some("[global]\n\tworkgroup = LAB\n")), @"
        --- /etc/samba/smb.conf
        +++ /etc/samba/smb.conf
        @@ -1,2 +1,3 @@
         [global]
         	workgroup = LAB
        +include = /etc/samba/phoenix-shares.conf
        write /etc/samba/.smb.conf.phoenix-new (67 bytes, mode 0644, owner root:root)
        testparm -s /etc/samba/.smb.conf.phoenix-new
        mv -f -- /etc/samba/.smb.conf.phoenix-new /etc/samba/smb.conf
        ");
        insta::assert_snapshot!(check(Some("[global]\n  Include=/etc/samba/phoenix-shares.conf\n")), @"");
        insta::assert_snapshot!(check(None), @r"
        --- /etc/samba/smb.conf
        +++ /etc/samba/smb.conf
        @@ -0,0 +1 @@
        +include = /etc/samba/phoenix-shares.conf
        write /etc/samba/.smb.conf.phoenix-new (41 bytes, mode 0644, owner root:root)
        testparm -s /etc/samba/.smb.conf.phoenix-new
        mv -f -- /etc/samba/.smb.conf.phoenix-new /etc/samba/smb.conf
        ");
        insta::assert_snapshot!(
            check(Some("[global]\n[Shared-Prod-Data]\n\tpath = /x\n")),
            @"error: /etc/samba/smb.conf already defines share [Shared-Prod-Data], which samba.shares defines too; rename one of them"
        );
        insta::assert_snapshot!(
            check(Some("[global]\n\tworkgroup = LAB \\")),
            @"error: /etc/samba/smb.conf has a continued line (a trailing backslash) or a carriage return, where a new `include = /etc/samba/phoenix-shares.conf` line could join another; Phoenix edits only plain one-line-per-parameter files, so join those lines first"
        );
        insta::assert_snapshot!(
            check(Some("[broken\n")),
            @r#"error: /etc/samba/smb.conf: parse line 1: section header without ]: "[broken""#
        );
    }
}
