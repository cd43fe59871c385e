//! Core's scope probe (`phoenix_core::probe::PROBE_SCRIPT`) inside a container, so scoped
//! primitives placed in `ct:<vmid>` are observed on the simulated node as on a real one: one
//! `dpkg-query -W` over the container's packages, one `systemctl show` over its units, and a
//! `stat` (plus the content of a regular file) per path.
//!
//! **Assumption:** the container model keeps a unit's active state but not its enablement; a
//! unit the template or a package ships is reported `UnitFileState=enabled`, as Debian's
//! maintainer scripts leave a service. Directories are `0755 root:root`.

use phoenix_core::probe::UNIT_PROPERTIES;
use phoenix_core::sim::{ProbeSource, ProbedPath, probe_output, stat_line};

use super::apt;
use super::ctx::Ctx;
use super::fs::{Mounts, Node};
use super::guest::GuestOutput;
use super::state::Content;

/// The probe's output for its tagged arguments (a query runs no program in the container model:
/// each is reported missing).
pub(crate) fn emulate(
    ctx: &Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let Some(content) = ctx.root_content(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let mut guest = GuestProbe {
        ctx,
        mounts,
        content,
        pct_argv,
    };
    GuestOutput::ok(probe_output(args, &mut guest))
}

/// A container's answers to the scope probe.
struct GuestProbe<'g, 'c, 'a> {
    ctx: &'g Ctx<'c, 'a>,
    mounts: &'g Mounts,
    content: &'g Content,
    pct_argv: &'g [String],
}

impl ProbeSource for GuestProbe<'_, '_, '_> {
    fn dpkg_query(&mut self, argv: &[String]) -> String {
        apt::dpkg_query(self.ctx, self.mounts, argv, self.pct_argv).stdout
    }

    fn systemctl(&mut self, argv: &[String]) -> String {
        // argv is `show -p PROPERTIES -- UNIT...`.
        let units = argv.iter().skip_while(|arg| *arg != "--").skip(1);
        let blocks: Vec<String> = units
            .map(|unit| unit_block(unit, self.content.services.get(unit).map(String::as_str)))
            .collect();
        blocks.join("\n")
    }

    fn stat(&mut self, path: &str) -> String {
        let root = "root:root";
        match self.ctx.guest_node(self.mounts, path) {
            Some(Node::Dir) => stat_line(ProbedPath::Directory {
                mode: 0o755,
                owner: root,
            }),
            Some(Node::File) => match self.ctx.guest_read(self.mounts, path) {
                Some(file) => stat_line(ProbedPath::File {
                    mode: file.mode,
                    owner: &file.owner,
                    content: &file.content,
                }),
                None => stat_line(ProbedPath::Missing),
            },
            None => stat_line(ProbedPath::Missing),
        }
    }
}

/// One unit's `systemctl show -p UNIT_PROPERTIES` block.
fn unit_block(unit: &str, active: Option<&str>) -> String {
    let (load, active_state, sub, file) = match active {
        Some(state) => (
            "loaded",
            state,
            if state == "active" { "running" } else { "dead" },
            "enabled",
        ),
        None => ("not-found", "inactive", "dead", ""),
    };
    debug_assert_eq!(
        UNIT_PROPERTIES,
        "Id,LoadState,ActiveState,SubState,UnitFileState"
    );
    format!(
        "Id={unit}\nLoadState={load}\nActiveState={active_state}\nSubState={sub}\nUnitFileState={file}\n"
    )
}
