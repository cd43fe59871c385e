//! Core's scope probe (`phoenix_core::probe::PROBE_SCRIPT`) inside a container, so scoped
//! primitives placed in `ct:<vmid>` are observed on the simulated node as on a real one: one
//! `dpkg-query -W` over the container's packages, one `systemctl show` over its units, and a
//! `stat` (plus the content of a regular file) per path.
//!
//! **Assumption:** the container model keeps a unit's active state but not its enablement; a
//! unit the template or a package ships is reported `UnitFileState=enabled`, as Debian's
//! maintainer scripts leave a service. Directories are `0755 root:root` unless `chmod`/`chown`
//! changed them.

use phoenix_core::probe::UNIT_PROPERTIES;
use phoenix_core::sim::{ProbeSource, ProbedPath, probe_output, stat_line};

use super::apt;
use super::ctx::Ctx;
use super::fs::{Mounts, Node};
use super::guest::GuestOutput;
use super::state::Content;

/// The probe's output for its tagged arguments. A query runs its program in the container as
/// `pct exec` would (`guest.rs`, so through the emulator of any provider that answers it in
/// guests); a program not on the container's `PATH` is not found, as `sh` reports it.
///
/// **Assumption:** a program the container has but nothing emulates (`getent`, `readlink`) is
/// reported missing too, as before guest emulators existed, so the user, group and time-zone
/// primitives stay unsupported in containers on the simulated node rather than failing.
pub(crate) fn emulate(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    if ctx.root_content(mounts).is_none() {
        return GuestOutput::not_emulated(pct_argv);
    }
    let mut guest = GuestProbe {
        ctx,
        id,
        mounts,
        pct_argv,
        mutated: false,
    };
    let stdout = probe_output(args, &mut guest);
    GuestOutput {
        mutated: guest.mutated,
        ..GuestOutput::ok(stdout)
    }
}

/// A container's answers to the scope probe.
struct GuestProbe<'g, 'c, 'a> {
    ctx: &'g mut Ctx<'c, 'a>,
    id: u32,
    mounts: &'g Mounts,
    pct_argv: &'g [String],
    /// Whether a query's emulator reported a change (the node then refuses the read).
    mutated: bool,
}

impl GuestProbe<'_, '_, '_> {
    fn content(&self) -> Option<&Content> {
        self.ctx.root_content(self.mounts)
    }
}

impl ProbeSource for GuestProbe<'_, '_, '_> {
    fn dpkg_query(&mut self, argv: &[String]) -> String {
        apt::dpkg_query(self.ctx, self.mounts, argv, self.pct_argv).stdout
    }

    fn systemctl(&mut self, argv: &[String]) -> String {
        // argv is `show -p PROPERTIES -- UNIT...`.
        let units = argv.iter().skip_while(|arg| *arg != "--").skip(1);
        let blocks: Vec<String> = units
            .map(|unit| {
                let state = self
                    .content()
                    .and_then(|content| content.services.get(unit).map(String::as_str));
                unit_block(unit, state)
            })
            .collect();
        blocks.join("\n")
    }

    fn stat(&mut self, path: &str) -> String {
        match self.ctx.guest_node(self.mounts, path) {
            Some(Node::Dir) => {
                let attrs = self.ctx.guest_dir_attrs(self.mounts, path);
                stat_line(ProbedPath::Directory {
                    mode: attrs.mode,
                    owner: &attrs.owner,
                })
            }
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

    fn query(&mut self, argv: &[String]) -> (i32, String) {
        let program = argv.first().map_or("", String::as_str);
        let not_found = (127, format!("sh: 1: {program}: not found\n"));
        if self.ctx.guest_command(self.mounts, program).is_none() {
            return not_found;
        }
        let output = super::guest::run(self.ctx, self.id, self.mounts, argv, None, argv);
        if output.refused {
            return not_found;
        }
        self.mutated |= output.mutated;
        (output.status, output.stdout + &output.stderr)
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
