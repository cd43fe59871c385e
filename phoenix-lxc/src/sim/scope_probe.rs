//! Core's scope probe (`phoenix_core::probe::PROBE_SCRIPT`) inside a container, so scoped
//! primitives placed in `ct:<vmid>` are observed on the simulated node as on a real one: one
//! `dpkg-query -W` over the container's packages, one `systemctl show` over its units, and a
//! `stat` (plus the content of a regular file) per path.
//!
//! **Assumption:** the container model keeps a unit's active state but not its enablement; a
//! unit the template or a package ships is reported `UnitFileState=enabled`, as Debian's
//! maintainer scripts leave a service. Directories are `0755 root:root`.

use phoenix_core::probe::{DPKG_FORMAT, UNIT_PROPERTIES};

use super::apt;
use super::ctx::Ctx;
use super::fs::{Mounts, Node};
use super::guest::GuestOutput;

/// The probe's output for the newline-separated `packages`, `units` and `paths`.
pub(crate) fn emulate(
    ctx: &Ctx<'_, '_>,
    mounts: &Mounts,
    [packages, units, paths]: [&str; 3],
    pct_argv: &[String],
) -> GuestOutput {
    let split = |list: &str| -> Vec<String> {
        list.split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let Some(content) = ctx.root_content(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let mut stdout = String::from("@packages\n");
    let packages = split(packages);
    if !packages.is_empty() {
        let mut argv = vec![
            "-W".to_owned(),
            format!("-f={DPKG_FORMAT}"),
            "--".to_owned(),
        ];
        argv.extend(packages);
        stdout.push_str(&apt::dpkg_query(ctx, mounts, &argv, pct_argv).stdout);
    }
    stdout.push_str("@units\n");
    let blocks: Vec<String> = split(units)
        .iter()
        .map(|unit| unit_block(unit, content.services.get(unit).map(String::as_str)))
        .collect();
    stdout.push_str(&blocks.join("\n"));
    stdout.push_str("@paths\n");
    for path in split(paths) {
        stdout.push_str(&format!("@path {path}\n"));
        match ctx.guest_node(mounts, &path) {
            Some(Node::Dir) => stdout.push_str("directory|755|root:root|4096\n"),
            Some(Node::File) => match ctx.guest_read(mounts, &path) {
                Some(file) if file.content.is_empty() => stdout.push_str(&format!(
                    "regular empty file|{:o}|{}|0\n",
                    file.mode, file.owner
                )),
                Some(file) => stdout.push_str(&format!(
                    "regular file|{:o}|{}|{}\n{}",
                    file.mode,
                    file.owner,
                    file.content.len(),
                    file.content
                )),
                None => stdout.push_str("missing\n"),
            },
            None => stdout.push_str("missing\n"),
        }
    }
    GuestOutput::ok(stdout)
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
