//! `nfs.exports`: the live export table (`exportfs -v`) holds what Phoenix's exports file says.
//!
//! `exportfs -ra` runs in two cases, once: when the exports file changes in this run (a trigger,
//! run after the file is written and only if it really was), or when the file is as it should
//! be but the live table is not (someone ran `exportfs -u` or `exportfs -o`): drift, which the
//! plan shows entry by entry. The table is read from the scope's one probe; when the file is
//! about to change, the trigger alone re-exports, so a run never re-exports twice.

use async_trait::async_trait;
use phoenix_core::file::File;
use phoenix_core::probe::observe;
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, FieldChange, Kind, Resource, ResourceId, Scope, Step,
};
use serde::Serialize;

use super::config::{ClientKind, Export};
use super::exports_file::EXPORTS_FILE;
use super::options::Flags;
use super::parse::{LiveExport, parse_exportfs_v};

/// The kind: `nfs.exports`.
pub(crate) const KIND: &str = "nfs.exports";

/// The scope probe's query of the live table: `exportfs -v`.
pub(crate) const QUERY: &str = "exportfs";

/// The package that ships `exportfs` and the NFS server.
pub(crate) const PACKAGE: &str = "nfs-kernel-server";

/// The live export table of a scope.
#[derive(Debug, Clone)]
pub(crate) struct ExportTable {
    pub(crate) scope: Scope,
    /// What `exportfs -v` should list for Phoenix's paths, sorted.
    pub(crate) desired: Vec<Wanted>,
    /// The exports file's content.
    pub(crate) content: String,
    pub(crate) depends_on: Vec<ResourceId>,
}

/// One export entry the table should hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Wanted {
    pub(crate) entry: LiveExport,
    /// A host name: exportfs lists it under the name it resolves to.
    pub(crate) host_name: bool,
}

/// What the probe saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TableState {
    /// The exports file's content, `None` when missing.
    pub(crate) file: Option<String>,
    /// The table's entries for Phoenix's paths (`secure`, the default, left out of the options).
    pub(crate) live: Vec<LiveExport>,
}

impl ExportTable {
    pub(crate) fn new(scope: &Scope, exports: &[Export], content: String) -> ExportTable {
        scope.observe(|inventory| {
            inventory.paths.insert(EXPORTS_FILE.to_owned());
            inventory.packages.insert(PACKAGE.to_owned());
            inventory
                .query(QUERY, ["exportfs", "-v"])
                .expect("invariant: a constant, valid query");
        });
        let mut desired: Vec<Wanted> = exports
            .iter()
            .flat_map(|export| {
                let options = Flags::from_options(export.options.iter().map(String::as_str))
                    .map(|flags| comparable(&flags.verbose(true)))
                    .unwrap_or_default();
                export.clients.iter().map(move |client| Wanted {
                    entry: LiveExport {
                        path: export.path.clone(),
                        client: client.spec.clone(),
                        options: options.clone(),
                    },
                    host_name: client.kind == ClientKind::Host,
                })
            })
            .collect();
        desired.sort();
        ExportTable {
            scope: scope.clone(),
            desired,
            content,
            depends_on: Vec::new(),
        }
    }

    fn file_id(&self) -> ResourceId {
        File::id_in(&self.scope, std::path::Path::new(EXPORTS_FILE))
    }

    /// The one command that re-exports everything from the exports files.
    fn reexport(&self) -> Step {
        Step::run(self.scope.command(Cmd::write("exportfs", ["-ra"])))
    }

    /// Whether a live entry is what `wanted` asks for.
    fn matches(wanted: &Wanted, live: &LiveExport) -> bool {
        let client = if wanted.host_name {
            let name = wanted.entry.client.to_ascii_lowercase();
            let live = live.client.to_ascii_lowercase();
            live == name || live.starts_with(&format!("{name}."))
        } else {
            live.client == wanted.entry.client
        };
        client && live.path == wanted.entry.path && live.options == wanted.entry.options
    }
}

/// An option list without `secure`: it is the default, and exportfs shows it only where the
/// kernel's nfsd reports per-flavor port flags (see `Flags::verbose`); `insecure` is kept.
fn comparable(options: &str) -> Vec<String> {
    options
        .split(',')
        .filter(|o| *o != "secure")
        .map(str::to_owned)
        .collect()
}

/// How an entry shows in the plan.
fn show(entry: &LiveExport) -> String {
    format!(
        "{} {}({})",
        entry.path,
        entry.client,
        entry.options.join(",")
    )
}

/// The field a trigger adds, and that `apply` tells from the drift field.
const TRIGGERED: &str = "reexport";

#[async_trait]
impl Resource for ExportTable {
    type State = TableState;

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), self.scope.name())
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        let mut deps = self.depends_on.clone();
        deps.push(self.file_id());
        deps
    }

    async fn inspect(&self, cx: &Ctx<'_>) -> Result<Option<TableState>, BoxError> {
        let facts = observe(cx, &self.scope).await?;
        let file = facts
            .paths
            .get(EXPORTS_FILE)
            .and_then(|p| p.content.clone());
        let installed = facts
            .packages
            .get(PACKAGE)
            .is_some_and(|p| p.is_installed());
        let live = match facts.queries.get(QUERY) {
            Some(query) if installed && query.success() => parse_exportfs_v(&query.output)?,
            Some(query) if installed && !query.is_missing_program() => {
                return Err(BoxError::from(format!(
                    "exportfs -v failed (exit {}): {}",
                    query.status,
                    query.output.trim()
                )));
            }
            // Not installed yet: nothing is exported.
            _ => Vec::new(),
        };
        let paths: std::collections::BTreeSet<&str> =
            self.desired.iter().map(|w| w.entry.path.as_str()).collect();
        let mut live: Vec<LiveExport> = live
            .into_iter()
            .filter(|e| paths.contains(e.path.as_str()))
            .map(|e| LiveExport {
                options: e.options.into_iter().filter(|o| o != "secure").collect(),
                ..e
            })
            .collect();
        live.sort();
        Ok(Some(TableState { file, live }))
    }

    fn diff(&self, observed: Option<&TableState>) -> Delta {
        let Some(state) = observed else {
            return Delta::none();
        };
        // A changing file triggers the re-export (see `when_triggered`).
        if state.file.as_deref() != Some(self.content.as_str()) {
            return Delta::none();
        }
        let missing: Vec<String> = self
            .desired
            .iter()
            .filter(|w| !state.live.iter().any(|l| ExportTable::matches(w, l)))
            .map(|w| show(&w.entry))
            .collect();
        let extra: Vec<String> = state
            .live
            .iter()
            .filter(|l| !self.desired.iter().any(|w| ExportTable::matches(w, l)))
            .map(show)
            .collect();
        if missing.is_empty() && extra.is_empty() {
            return Delta::none();
        }
        let mut delta = Delta::none();
        if !missing.is_empty() {
            delta = delta.field(
                FieldChange::new("missing", Some(missing.clone().into()), None).note(format!(
                    "not in the live export table; exported again from {EXPORTS_FILE}"
                )),
            );
        }
        if !extra.is_empty() {
            delta = delta.field(
                FieldChange::new("unexpected", Some(extra.into()), None).note(format!(
                    "in the live export table but not in {EXPORTS_FILE}"
                )),
            );
        }
        delta.step(self.reexport())
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        vec![self.file_id()]
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        let causes: Vec<String> = by.iter().map(ToString::to_string).collect();
        Delta::none()
            .field(
                FieldChange::new(TRIGGERED, None, Some(true.into()))
                    .note(format!("when changed: {}", causes.join(", "))),
            )
            .step(self.reexport())
    }

    async fn apply(&self, change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let triggered = change.fields.iter().any(|f| f.field == TRIGGERED);
        if triggered && !cx.changed(&self.file_id()) {
            return Ok(());
        }
        phoenix_core::resource::run_steps(&change.steps, cx).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nfs::config::Client;

    fn table() -> ExportTable {
        let export = Export {
            path: "/quickOS/shared".into(),
            clients: vec![
                Client {
                    spec: "10.0.0.0/24".into(),
                    kind: ClientKind::Network,
                },
                Client {
                    spec: "nas".into(),
                    kind: ClientKind::Host,
                },
            ],
            options: vec!["rw".into(), "sync".into(), "no_root_squash".into()],
            at: phoenix_core::Location::new("", ""),
        };
        ExportTable::new(&Scope::node(), &[export], "content\n".into())
    }

    fn live(client: &str, options: &str) -> LiveExport {
        LiveExport {
            path: "/quickOS/shared".into(),
            client: client.into(),
            options: options.split(',').map(str::to_owned).collect(),
        }
    }

    const RW: &str = "sync,wdelay,hide,no_subtree_check,sec=sys,rw,no_root_squash,no_all_squash";

    fn check(file: Option<&str>, live: &[LiveExport]) -> String {
        let delta = Resource::diff(
            &table(),
            Some(&TableState {
                file: file.map(str::to_owned),
                live: live.to_vec(),
            }),
        );
        let mut out: Vec<String> = delta
            .fields
            .iter()
            .map(|f| {
                format!(
                    "{}: {:?} ({})",
                    f.field,
                    f.before,
                    f.note.clone().unwrap_or_default()
                )
            })
            .collect();
        out.extend(delta.steps.iter().map(ToString::to_string));
        out.join("\n")
    }

    #[test]
    fn issue_9_the_live_table_is_compared_with_the_file_and_drift_reexports_once() {
        let converged = [live("10.0.0.0/24", RW), live("nas.lab.example", RW)];
        assert_eq!(check(Some("content\n"), &converged), "");
        // The file changes: the trigger re-exports, not the diff.
        assert_eq!(check(Some("old\n"), &[]), "");
        assert_eq!(check(None, &[]), "");
        insta::assert_snapshot!(check(Some("content\n"), &converged[1..]), @r#"
        missing: Some(Array [String("/quickOS/shared 10.0.0.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,rw,no_root_squash,no_all_squash)")]) (not in the live export table; exported again from /etc/exports.d/phoenix.exports)
        exportfs -ra
        "#);
        let ro = RW.replace(",rw,", ",ro,");
        insta::assert_snapshot!(check(Some("content\n"), &[live("10.0.0.0/24", &ro), converged[1].clone(), live("10.9.9.9", RW)]), @r#"
        missing: Some(Array [String("/quickOS/shared 10.0.0.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,rw,no_root_squash,no_all_squash)")]) (not in the live export table; exported again from /etc/exports.d/phoenix.exports)
        unexpected: Some(Array [String("/quickOS/shared 10.0.0.0/24(sync,wdelay,hide,no_subtree_check,sec=sys,ro,no_root_squash,no_all_squash)"), String("/quickOS/shared 10.9.9.9(sync,wdelay,hide,no_subtree_check,sec=sys,rw,no_root_squash,no_all_squash)")]) (in the live export table but not in /etc/exports.d/phoenix.exports)
        exportfs -ra
        "#);
        let delta = Resource::when_triggered(&table(), &[table().file_id()]);
        assert_eq!(
            delta
                .steps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["exportfs -ra"]
        );
    }
}
