//! Installs the tools the tests need, idempotently, and fails loudly when it cannot.
//!
//! Each tool is checked first and installed only when missing, so a second run does nothing.

use std::collections::BTreeSet;
use std::env;
use std::path::{Path, PathBuf};

use xshell::{Shell, cmd};

use crate::Result;

/// Debian packages the tests need, as (a binary the package ships, the package).
///
/// A package is installed only when its binary is found neither on `PATH` nor in an sbin directory.
/// An absolute path stands for a file the package ships (joining it to a directory gives itself).
pub(crate) const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    // phoenix-security runs the real AppArmor parser on the profile and tunable it generates,
    // which include the LXC abstractions.
    ("apparmor_parser", "apparmor"),
    (
        "/etc/apparmor.d/abstractions/lxc/container-base",
        "liblxc-common",
    ),
    // The admin user's sudoers drop-in is checked by the real visudo.
    ("visudo", "sudo"),
    // phoenix-net's tests run the real testparm on the Samba files Phoenix generates.
    ("testparm", "samba-common-bin"),
    // The NFS exports file is checked by the real exportfs (and the tests compare its listing).
    ("exportfs", "nfs-kernel-server"),
    // phoenix-gpu's device-node unit is checked by the real systemd-analyze verify.
    ("systemd-analyze", "systemd"),
    // phoenix-net's gateway: the generated nginx.conf is checked by the real `nginx -t` with the
    // njs module it imports, and served live (in a network namespace) in front of python3
    // stand-ins, checked with curl.
    ("nginx", "nginx"),
    (
        "/usr/lib/nginx/modules/ngx_http_js_module.so",
        "libnginx-mod-http-js",
    ),
    ("python3", "python3"),
    // The gateway's live test and phoenix-ai's health checks and embedding round trip run the
    // real curl against stand-in HTTP servers.
    ("curl", "curl"),
    // The gateway's TLS, ModSecurity and fail2ban parts: nginx -t loads the ModSecurity module
    // and the CRS rules, the live test checks the handshake with openssl's client and the
    // gateway's own log lines with fail2ban-regex, and the jail file with fail2ban-client -t.
    (
        "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so",
        "libnginx-mod-http-modsecurity",
    ),
    (
        "/usr/share/modsecurity-crs/rules/REQUEST-901-INITIALIZATION.conf",
        "modsecurity-crs",
    ),
    ("fail2ban-client", "fail2ban"),
    ("openssl", "openssl"),
    // phoenix-ai's Qdrant config.yaml is read by a real YAML parser (PyYAML) in the tests and
    // checked against the keys Qdrant documents.
    (
        "/usr/lib/python3/dist-packages/yaml/__init__.py",
        "python3-yaml",
    ),
];

/// Directories searched after `PATH`: daemons such as nginx live in sbin, which a non-root `PATH`
/// often lacks.
const SBIN_DIRS: &[&str] = &["/usr/local/sbin", "/usr/sbin", "/sbin"];

/// Makes sure `cargo insta` and `cargo fuzz` work and every binary of [`DEBIAN_PACKAGES`] is
/// present.
pub(crate) fn ensure_test_tools(sh: &Shell) -> Result<()> {
    ensure_cargo_insta(sh)?;
    ensure_cargo_fuzz(sh)?;
    ensure_debian_packages(sh, DEBIAN_PACKAGES)
}

/// Installs cargo-fuzz (`cargo install cargo-fuzz --locked`) unless `cargo fuzz` already works.
pub(crate) fn ensure_cargo_fuzz(sh: &Shell) -> Result<()> {
    if cargo_subcommand_works(sh, "fuzz") {
        return Ok(());
    }
    eprintln!("xtask: cargo-fuzz is missing; installing it");
    cmd!(sh, "cargo install cargo-fuzz --locked").run()?;
    if !cargo_subcommand_works(sh, "fuzz") {
        return Err("`cargo install cargo-fuzz` succeeded but `cargo fuzz --version` still fails; is ~/.cargo/bin on PATH?".into());
    }
    Ok(())
}

/// Whether `cargo SUBCOMMAND --version` runs.
fn cargo_subcommand_works(sh: &Shell, subcommand: &str) -> bool {
    cmd!(sh, "cargo {subcommand} --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

fn ensure_cargo_insta(sh: &Shell) -> Result<()> {
    if cargo_subcommand_works(sh, "insta") {
        return Ok(());
    }
    eprintln!("xtask: cargo-insta is missing; installing it");
    cmd!(sh, "cargo install cargo-insta --locked").run()?;
    if !cargo_subcommand_works(sh, "insta") {
        return Err("`cargo install cargo-insta` succeeded but `cargo insta --version` still fails; is ~/.cargo/bin on PATH?".into());
    }
    Ok(())
}

fn ensure_debian_packages(sh: &Shell, packages: &[(&str, &str)]) -> Result<()> {
    let missing = missing_packages(packages, |binary| find_binary(binary).is_some());
    if missing.is_empty() {
        return Ok(());
    }
    let missing_list = missing.join(" ");
    if !is_root(sh)? {
        return Err(format!(
            "Debian packages needed by the tests are missing: {missing_list}; install them with `sudo apt-get install --no-install-recommends {missing_list}` or run xtask as root"
        )
        .into());
    }
    eprintln!("xtask: installing Debian packages: {missing_list}");
    // Never prompt, in CI or not: debconf questions would hang the run.
    let _frontend = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    cmd!(sh, "apt-get update").run()?;
    cmd!(
        sh,
        "apt-get install -y --no-install-recommends {missing...}"
    )
    .run()?;
    let still_missing = missing_packages(packages, |binary| find_binary(binary).is_some());
    if !still_missing.is_empty() {
        return Err(format!(
            "installed {missing_list} but the binaries of {} are still not found",
            still_missing.join(" ")
        )
        .into());
    }
    Ok(())
}

/// The packages whose binary is absent, each once, in name order.
fn missing_packages<'a>(
    packages: &[(&str, &'a str)],
    is_present: impl Fn(&str) -> bool,
) -> Vec<&'a str> {
    let missing: BTreeSet<&str> = packages
        .iter()
        .filter(|(binary, _)| !is_present(binary))
        .map(|(_, package)| *package)
        .collect();
    missing.into_iter().collect()
}

/// Finds an executable by name on `PATH`, then in the sbin directories.
pub(crate) fn find_binary(name: &str) -> Option<PathBuf> {
    let path_dirs = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(SBIN_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_file(candidate))
}

fn is_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|meta| meta.is_file())
}

/// Whether xtask runs as root (installing packages and building the testbed image need it).
pub(crate) fn is_root(sh: &Shell) -> Result<bool> {
    let uid = cmd!(sh, "id -u").quiet().read()?;
    Ok(uid.trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_packages_lists_each_package_of_an_absent_binary_once() {
        let packages = [
            ("nginx", "nginx"),
            ("smbd", "samba"),
            ("testparm", "samba"),
            ("sh", "dash"),
        ];
        let missing = missing_packages(&packages, |binary| binary == "sh");
        assert_eq!(missing, ["nginx", "samba"]);
    }

    #[test]
    fn nothing_is_missing_when_every_binary_is_present() {
        let missing = missing_packages(&[("sh", "dash")], |_| true);
        assert!(missing.is_empty());
    }

    #[test]
    fn issue_9_an_absolute_path_is_found_as_the_file_it_names() {
        assert!(find_binary("/bin/sh").is_some());
        assert!(find_binary("/surely/no/such/file").is_none());
    }

    #[test]
    fn find_binary_finds_a_binary_every_system_has() {
        assert!(find_binary("sh").is_some());
        assert!(find_binary("surely-no-such-binary-on-this-host").is_none());
    }
}
