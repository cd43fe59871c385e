//! The AppArmor policy Phoenix ships: the nesting tunable and the `lxc-phoenix-v2` profile (seed
//! §7.2 steps 1 and 2), as the texts written under `/etc/apparmor.d`.
//!
//! One name is used everywhere: the file name, the `profile` declaration and the container's
//! `lxc.apparmor.profile` line all say `lxc-phoenix-v2` (upstream renamed the declaration to
//! underscores in one script and not in another; spec §6.4).
//!
//! Where the files live, and why:
//! - The profile is `/etc/apparmor.d/lxc/lxc-phoenix-v2`. The distro's
//!   `/etc/apparmor.d/lxc-containers` includes every file of that directory (dotfiles excepted,
//!   so a staged `.lxc-phoenix-v2.phoenix-new` is never loaded), which is how LXC's own profiles
//!   are loaded at boot; `apparmor_parser -r` on the file loads it now. The file includes
//!   `<tunables/global>` itself, so it also parses on its own (the parser includes a file once,
//!   so the second include through `lxc-containers` is harmless).
//! - The tunable is Phoenix's own `/etc/apparmor.d/tunables/phoenix-nesting`, included by the
//!   profile. Upstream wrote `tunables/nesting`, which nothing included; a file under
//!   `tunables/home.d/` would be included by every profile on the host (and a broken one would
//!   stop them all from loading at boot), so the profile that uses the variable includes it.
//!   Distro-owned files such as `tunables/home` are never written.

/// The directory of AppArmor policy.
pub const APPARMOR_D: &str = "/etc/apparmor.d";

/// The nesting tunable, included by the profiles Phoenix ships.
pub const TUNABLE_PATH: &str = "/etc/apparmor.d/tunables/phoenix-nesting";

/// The tunable's include name (relative to `/etc/apparmor.d`).
const TUNABLE_INCLUDE: &str = "tunables/phoenix-nesting";

/// The variable the tunable sets: the profiles that nested containers may run under (the seed's
/// `@{apparmor_nesting_profiles}`).
pub const NESTING_VARIABLE: &str = "apparmor_nesting_profiles";

/// The container profile for nested Docker (Portainer, fuse-overlayfs), seed §7.2.
pub const PHOENIX_V2: &str = "lxc-phoenix-v2";

/// The profiles Phoenix ships, by name.
pub const SHIPPED: &[&str] = &[PHOENIX_V2];

/// The name that means "no AppArmor confinement".
pub const UNCONFINED: &str = "unconfined";

/// The values of `lxc.apparmor.profile` that name no profile (lxc.container.conf(5)):
/// `unconfined`, `unchanged` (keep the caller's, when nesting) and `generated` (LXC writes one).
pub const LXC_SPECIAL: [&str; 3] = [UNCONFINED, "unchanged", "generated"];

/// The file a shipped profile is written to.
pub fn profile_path(name: &str) -> String {
    format!("{APPARMOR_D}/lxc/{name}")
}

/// Where upstream's setup copied a profile (`/etc/apparmor.d/<name>`, spec §6.1): a host that
/// ran upstream may still have it, loaded at boot beside Phoenix's.
pub fn upstream_copy_path(name: &str) -> String {
    format!("{APPARMOR_D}/{name}")
}

/// Whether Phoenix ships a profile called `name`.
pub fn is_shipped(name: &str) -> bool {
    SHIPPED.contains(&name)
}

/// The nesting tunable's text: the shipped profiles are the nesting profiles.
pub fn tunable_text() -> String {
    format!(
        "# Managed by Phoenix: the AppArmor profiles nested containers may run under (seed §7.2\n\
         # step 1). Included by the profiles in /etc/apparmor.d/lxc that Phoenix ships.\n\
         @{{{NESTING_VARIABLE}}} = {}\n",
        SHIPPED.join(" ")
    )
}

/// The text of the shipped profile `name`; `None` for a profile Phoenix does not ship.
pub fn profile_text(name: &str) -> Option<String> {
    (name == PHOENIX_V2).then(|| format!("{HEADER}{}{PHOENIX_V2_RULES}}}\n", open(name)))
}

/// The includes and the `profile` line.
fn open(name: &str) -> String {
    format!(
        "include <tunables/global>\ninclude <{TUNABLE_INCLUDE}>\n\nprofile {name} flags=(attach_disconnected,mediate_deleted) {{\n"
    )
}

const HEADER: &str = "# Managed by Phoenix; changes here are overwritten. Loaded at boot through\n\
# /etc/apparmor.d/lxc-containers, and by Phoenix with apparmor_parser -r when it changes.\n\n";

/// The rules of `lxc-phoenix-v2` (upstream's profile at 0017fa8, spec §6.2, plus the seed's
/// fuse-overlayfs rules), grouped by purpose. Upstream's `audit` flag, which logs every allowed
/// access, is left out: it is a debugging aid, not policy.
const PHOENIX_V2_RULES: &str = "  include <abstractions/lxc/container-base>
  include <abstractions/lxc/start-container>

  # Capabilities Docker and its containers need.
  capability sys_admin,
  capability sys_chroot,
  capability mknod,
  capability sys_nice,
  capability sys_resource,
  capability net_bind_service,
  capability net_raw,
  capability net_admin,
  capability mac_admin,
  capability net_broadcast,

  network inet stream,
  network inet6 stream,
  network inet dgram,
  network inet6 dgram,
  network bridge,

  /etc/resolv.conf r,
  /etc/hosts r,
  /etc/nsswitch.conf r,
  /lib/** mr,
  /usr/lib/** mr,

  # Shared storage.
  /mnt/shared/** rwm,
  /zfs/storage/** rwm,

  # The container cannot reach LXC's own view of the host's proc and sys.
  audit deny /dev/.lxc/proc/** rw,
  audit deny /dev/.lxc/sys/** rw,

  mount fstype=proc -> /proc/,
  mount fstype=sysfs -> /sys/,
  mount fstype=cgroup -> /sys/fs/cgroup/**,
  mount fstype=cgroup2 -> /sys/fs/cgroup/**,
  mount fstype=tmpfs -> /run/**,
  mount fstype=devpts -> /dev/pts/**,
  mount fstype=mqueue,
  mount fstype=bpf -> /sys/fs/bpf/**,
  mount fstype=securityfs -> /sys/kernel/security/**,
  mount fstype=tracefs,
  mount fstype=zfs -> /zfs/storage/**,
  mount options=(rw,bind) -> /mnt/**,
  mount options=(rw,remount,bind) -> /mnt/**,
  mount options=(rw,bind,nosuid,nodev,noexec) -> /mnt/**,
  audit deny mount fstype=binfmt_misc,

  # Docker checks and loads its own profiles.
  /sys/kernel/security/apparmor/profiles r,
  /etc/apparmor.d/** rwk,
  /usr/sbin/apparmor_parser ix,
  /run/apparmor/** rw,

  # Portainer and user namespaces.
  /data/** rwm,
  /proc/sys/kernel/unprivileged_userns_clone r,
  /sys/fs/cgroup/** rw,
  /home/*/ r,

  # Docker's storage drivers: overlay2, and fuse-overlayfs (seed §7.2 step 2).
  mount fstype=overlay -> /var/lib/docker/overlay2/**,
  mount fstype=fuse.fuse-overlayfs -> /var/lib/docker/fuse-overlayfs/**,
  allow /dev/fuse r,
  allow /sys/fs/fuse/connections r,
  /dev/fuse rw,
  /var/lib/docker/overlay2/** rwm,
  /dev/shm/** rw,
  /run/systemd/mount-rootfs/** rw,

  # Nested containers may run under the nesting profiles (the tunable).
  change_profile -> @{apparmor_nesting_profiles},
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_9_one_name_for_the_file_the_declaration_and_the_tunable() {
        let text = profile_text(PHOENIX_V2).expect("shipped");
        assert!(profile_path(PHOENIX_V2).ends_with("/lxc/lxc-phoenix-v2"));
        assert!(text.contains("\nprofile lxc-phoenix-v2 flags="), "{text}");
        assert!(!text.contains("lxc_phoenix_v2"));
        assert!(tunable_text().ends_with("@{apparmor_nesting_profiles} = lxc-phoenix-v2\n"));
        assert!(text.contains("include <tunables/phoenix-nesting>"));
        assert_eq!(
            format!("{APPARMOR_D}/{TUNABLE_INCLUDE}"),
            TUNABLE_PATH,
            "the profile includes the file Phoenix writes"
        );
        assert_eq!(profile_text("lxc-container-default"), None);
    }

    #[test]
    fn issue_9_the_profile_has_the_seeds_fuse_overlayfs_rules() {
        let text = profile_text(PHOENIX_V2).expect("shipped");
        for rule in [
            "mount fstype=fuse.fuse-overlayfs -> /var/lib/docker/fuse-overlayfs/**,",
            "allow /dev/fuse r,",
            "allow /sys/fs/fuse/connections r,",
        ] {
            assert!(text.lines().any(|line| line.trim() == rule), "{rule}");
        }
    }
}
