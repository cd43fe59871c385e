//! NFS as a composition of core's primitives plus two small resources of its own:
//! `package[nfs-kernel-server]`, `directory[/etc/exports.d]`, one `nfs.path` check per export,
//! `file[/etc/exports.d/phoenix.exports]` (checked by the real exportfs before it goes live),
//! `service[nfs-server.service]` enabled and running, and `nfs.exports`, which re-exports when
//! the file changed in this run or the live table drifted from it.
//!
//! An empty `exports` list manages nothing: no package is installed to export nothing, and an
//! existing Phoenix exports file is left as it is (Phoenix removes nothing because it is absent
//! from the config); the decode says so in a note.

use phoenix_core::config::Section;
use phoenix_core::directory::Directory;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::service::Service;
use phoenix_core::{DecodeCx, Diagnostic, Resource};

use super::config;
use super::export_path::ExportPath;
use super::exports_file::{EXPORTS_DIR, EXPORTS_FILE, format_exports};
use super::table::{ExportTable, PACKAGE};

/// How the staged exports file is checked by the real exportfs without touching the live
/// exports: in a private mount namespace (and an empty network namespace, so the kernel's
/// export caches of the host are not even flushed), `/var/lib/nfs` is a fresh tmpfs (so the
/// host's `etab` is neither read nor written), `/etc/exports` an empty file and
/// `/etc/exports.d` a directory holding only the staged file as `phoenix.exports`; then
/// `exportfs -ra` reads it exactly as it will read the live file and exits 1 on an unknown
/// option, a bad client or a missing path, printing its own message.
pub(crate) const CHECK_SCRIPT: &str = "set -eu; \
mount -t tmpfs -o mode=0755 phoenix-exports-check /var/lib/nfs; \
mkdir /var/lib/nfs/exports.d; \
cp -- \"$1\" /var/lib/nfs/exports.d/phoenix.exports; \
: > /var/lib/nfs/exports; \
if [ -e /etc/exports ]; then mount --bind /var/lib/nfs/exports /etc/exports; fi; \
mount --bind /var/lib/nfs/exports.d /etc/exports.d; \
exec exportfs -ra";

/// The validate argv of the exports file (`%s` is the staged file).
pub(crate) fn check_argv() -> Vec<String> {
    [
        "unshare",
        "--mount",
        "--net",
        "sh",
        "-c",
        CHECK_SCRIPT,
        "sh",
        "%s",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Decodes the `nfs` sections and adds the resources.
pub(crate) fn decode(sections: &[Section<'_>], cx: &mut DecodeCx<'_>) {
    let Some(section) = sections.iter().find(|s| s.key == "nfs") else {
        return;
    };
    let Some(exports) = config::decode(sections, cx) else {
        return;
    };
    if exports.is_empty() {
        cx.report(
            Diagnostic::note(format!(
                "nfs.exports is empty: Phoenix manages no NFS export here (nothing is installed, \
                 and an existing {EXPORTS_FILE} is left as it is)"
            ))
            .at(section.location()),
        );
        return;
    }
    let node = cx
        .scope("node")
        .expect("invariant: the node is always a scope");
    let package = Package::new(&node, PACKAGE);
    let package_id = Resource::id(&package);
    cx.add(package);
    cx.add(Directory::new(&node, EXPORTS_DIR).mode(0o755));
    let mut file = File::new(EXPORTS_FILE, format_exports(&exports))
        .mode(0o644)
        .owner("root:root")
        .in_scope(&node)
        .validate(check_argv())
        .depends_on(package_id.clone());
    for export in &exports {
        let check = ExportPath::new(&node, &export.path, export.at.clone());
        file = file.depends_on(Resource::id(&check));
        cx.add_at(check, export.at.clone());
    }
    cx.add(file);
    let service = Service::new(&node, "nfs-server").depends_on(package_id);
    let service_id = Resource::id(&service);
    cx.add(service);
    let mut table = ExportTable::new(&node, &exports, format_exports(&exports));
    table.depends_on.push(service_id);
    cx.add(table);
}
