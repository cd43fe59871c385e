//! The `samba` key as resources: the samba package, one `samba.share` check per share, the
//! Phoenix-owned include file (a core `file`, checked by `testparm -s` before it goes live),
//! the one include line in smb.conf, smbd enabled and running (reloaded with `smbcontrol smbd
//! reload-config` only when one of those two changed in this run), and the Samba user.

use phoenix_core::config::Section;
use phoenix_core::diag::Diagnostic;
use phoenix_core::file::File;
use phoenix_core::package::Package;
use phoenix_core::service::Service;
use phoenix_core::{DecodeCx, Resource};

use super::conf::format_shares;
use super::config::{Mounts, RawSamba, decode_spec};
use super::include::IncludeLine;
use super::share::SharePath;
use super::user::SambaUser;

/// The operator's smb.conf.
pub const SMB_CONF: &str = "/etc/samba/smb.conf";

/// The file Phoenix owns, included by [`SMB_CONF`].
pub const SHARES_CONF: &str = "/etc/samba/phoenix-shares.conf";

/// What in `testparm`'s output refuses the include file although it exits 0: an unknown
/// parameter, a global one in a share, or a value Samba ignores
/// (`host/testparm-s.unknown-option.txt`, `fixtures/testparm-s.global-in-share.txt`).
pub(crate) const REFUSED_OUTPUT: &[&str] = &[
    "Unknown parameter encountered",
    "Ignoring unknown parameter",
    "found in service section!",
    "Ignoring invalid value",
];

/// The reload smbd obeys in every one of its processes.
pub(crate) const RELOAD: &[&str] = &["smbcontrol", "smbd", "reload-config"];

/// Decodes the `samba` section into resources; with any problem in it, none are added.
pub(crate) fn decode(section: &Section<'_>, cx: &mut DecodeCx<'_>) {
    let Some(raw) = cx.decode::<RawSamba>(section, &section.path(), section.value) else {
        return;
    };
    let mounts = Mounts::from_config(cx.config());
    let (spec, problems) = decode_spec(raw, &section.path(), &mounts);
    let mut failed = false;
    for problem in problems {
        failed |= !problem.is_note;
        let diagnostic = if problem.is_note {
            Diagnostic::note(problem.message)
        } else {
            Diagnostic::error(problem.message)
        };
        cx.report(diagnostic.at(section.location_of(&problem.at)));
    }
    if failed {
        return;
    }
    let scope = cx
        .scope("node")
        .expect("invariant: the node is always a scope");
    let package = Package::new(&scope, "samba");
    let package_id = Resource::id(&package);
    cx.add(package);
    let mut smbd = Service::new(&scope, "smbd")
        .depends_on(package_id.clone())
        .reload_with(RELOAD.iter().copied());
    if !spec.shares.is_empty() {
        let sections: Vec<_> = spec.shares.iter().map(|s| s.section.clone()).collect();
        let mut file = File::new(SHARES_CONF, format_shares(&sections))
            .mode(0o644)
            .owner("root:root")
            .in_scope(&scope)
            .validate(["testparm", "-s", "%s"])
            .refuse_output(REFUSED_OUTPUT.iter().copied())
            .depends_on(package_id.clone());
        for share in &spec.shares {
            let check = SharePath::new(
                &scope,
                &share.section.name,
                &share.section.path,
                share.dataset_mount,
            );
            file = file.depends_on(Resource::id(&check));
            cx.add_at(check, section.location_of(&share.at));
        }
        let file_id = Resource::id(&file);
        let names = sections.iter().map(|s| s.name.clone()).collect();
        let line = IncludeLine::new(&scope, SMB_CONF, SHARES_CONF, names)
            .depends_on(package_id.clone())
            .depends_on(file_id.clone());
        smbd = smbd.file(file_id).file(Resource::id(&line));
        cx.add_at(file, section.location());
        cx.add_at(line, section.location());
    }
    cx.add(smbd);
    if let Some(user) = &spec.user {
        let user =
            SambaUser::new(&scope, user, spec.password_file.as_deref()).depends_on(package_id);
        cx.add_at(user, section.location_of(&section.path().key("user")));
    }
}
