//! Built-in descriptions: Proxmox's Ubuntu 24.04 standard template and a small noble apt
//! catalogue, used when the state declares nothing for them (see `state.rs`).
//!
//! **Assumptions, not captures.** No listing of the template's packages was available. The set
//! below follows Ubuntu's `ubuntu-minimal` seed plus `openssh-server`, which is what a Proxmox
//! "standard" template is built from: it has apt, dpkg, systemd, coreutils, dash/bash, locales
//! and `vi` (vim-tiny), and lacks curl, wget, vim, htop, jq, git, rsync, s-tui and gnupg (only
//! `gpgv`). Versions are those of the noble release and updates pockets as far as known, and may
//! be off by an update; the output shapes do not depend on them. Sizes are round guesses.

use std::collections::BTreeMap;

use super::state::{PackageSpec, TemplateSpec};

/// The file-name prefix of the template described by [`ubuntu_noble_template`].
pub(crate) const UBUNTU_NOBLE_PREFIX: &str = "ubuntu-24.04-standard_";

/// `/etc/os-release` of Ubuntu 24.04 (as shipped by base-files 13ubuntu10).
const NOBLE_OS_RELEASE: &str = "PRETTY_NAME=\"Ubuntu 24.04 LTS\"
NAME=\"Ubuntu\"
VERSION_ID=\"24.04\"
VERSION=\"24.04 LTS (Noble Numbat)\"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL=\"https://www.ubuntu.com/\"
SUPPORT_URL=\"https://help.ubuntu.com/\"
BUG_REPORT_URL=\"https://bugs.launchpad.net/ubuntu/\"
PRIVACY_POLICY_URL=\"https://www.ubuntu.com/legal/terms-and-policies/privacy-policy\"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
";

const NOBLE_LSB_RELEASE: &str = "DISTRIB_ID=Ubuntu
DISTRIB_RELEASE=24.04
DISTRIB_CODENAME=noble
DISTRIB_DESCRIPTION=\"Ubuntu 24.04 LTS\"
";

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

const GROUP: &str = "root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
sudo:x:27:
www-data:x:33:
video:x:44:
render:x:993:
nogroup:x:65534:
";

/// A package of the template: version and commands (bare names are in `/usr/bin`).
fn package(version: &str, commands: &[&str]) -> PackageSpec {
    PackageSpec {
        version: version.to_owned(),
        commands: commands
            .iter()
            .map(|command| (*command).to_owned())
            .collect(),
        ..PackageSpec::default()
    }
}

/// Proxmox's `ubuntu-24.04-standard_24.04-2_amd64.tar.zst`, as described in the module docs.
pub(crate) fn ubuntu_noble_template() -> TemplateSpec {
    let packages: BTreeMap<String, PackageSpec> = [
        (
            "adduser",
            package("3.137ubuntu1", &["/usr/sbin/adduser", "/usr/sbin/deluser"]),
        ),
        (
            "apt",
            package(
                "2.7.14build2",
                &[
                    "apt",
                    "apt-get",
                    "apt-cache",
                    "apt-config",
                    "apt-key",
                    "apt-mark",
                ],
            ),
        ),
        ("base-files", package("13ubuntu10", &[])),
        ("bash", package("5.2.21-2ubuntu4", &["bash"])),
        (
            "coreutils",
            package(
                "9.4-3ubuntu6",
                &[
                    "cat",
                    "chmod",
                    "chown",
                    "cp",
                    "date",
                    "echo",
                    "env",
                    "id",
                    "ln",
                    "ls",
                    "mkdir",
                    "mktemp",
                    "mv",
                    "printf",
                    "rm",
                    "sha256sum",
                    "sleep",
                    "test",
                    "touch",
                    "true",
                    "false",
                    "uname",
                ],
            ),
        ),
        ("dash", package("0.5.12-6ubuntu5", &["dash", "sh"])),
        (
            "dpkg",
            package("1.22.6ubuntu6", &["dpkg", "dpkg-deb", "dpkg-query"]),
        ),
        ("findutils", package("4.9.0-5build1", &["find", "xargs"])),
        ("gpgv", package("2.4.4-2ubuntu17", &["gpgv"])),
        ("grep", package("3.11-4build1", &["grep"])),
        ("gzip", package("1.12-1ubuntu3", &["gzip", "gunzip"])),
        ("hostname", package("3.23+nmu2ubuntu2", &["hostname"])),
        ("iproute2", package("6.1.0-1ubuntu6", &["ip", "ss"])),
        ("iputils-ping", package("3:20240117-1build1", &["ping"])),
        ("less", package("590-2ubuntu2", &["less"])),
        (
            "libc-bin",
            package(
                "2.39-0ubuntu8",
                &["getent", "locale", "localedef", "/usr/sbin/ldconfig"],
            ),
        ),
        (
            "locales",
            package(
                "2.39-0ubuntu8",
                &[
                    "/usr/sbin/locale-gen",
                    "/usr/sbin/update-locale",
                    "/usr/sbin/validlocale",
                ],
            ),
        ),
        ("login", package("1:4.13+dfsg1-4ubuntu3", &["login", "su"])),
        ("mawk", package("1.3.4.20240123-1build1", &["awk", "mawk"])),
        ("mount", package("2.39.3-9ubuntu6", &["mount", "umount"])),
        (
            "openssh-server",
            package("1:9.6p1-3ubuntu13", &["/usr/sbin/sshd"]),
        ),
        (
            "passwd",
            package(
                "1:4.13+dfsg1-4ubuntu3",
                &[
                    "passwd",
                    "/usr/sbin/chpasswd",
                    "/usr/sbin/groupadd",
                    "/usr/sbin/useradd",
                    "/usr/sbin/usermod",
                ],
            ),
        ),
        (
            "procps",
            package(
                "2:4.0.4-4ubuntu3",
                &["free", "kill", "pgrep", "pkill", "ps", "top"],
            ),
        ),
        ("sed", package("4.9-2build1", &["sed"])),
        ("sudo", package("1.9.15p5-3ubuntu5", &["sudo"])),
        (
            "systemd",
            package(
                "255.4-1ubuntu8",
                &[
                    "hostnamectl",
                    "journalctl",
                    "localectl",
                    "loginctl",
                    "systemctl",
                    "timedatectl",
                ],
            ),
        ),
        (
            "systemd-sysv",
            package(
                "255.4-1ubuntu8",
                &["/usr/sbin/init", "/usr/sbin/reboot", "/usr/sbin/shutdown"],
            ),
        ),
        ("tar", package("1.35+dfsg-3build1", &["tar"])),
        ("tzdata", package("2024a-2ubuntu1", &[])),
        (
            "util-linux",
            package("2.39.3-9ubuntu6", &["findmnt", "lsblk", "more"]),
        ),
        (
            "vim-tiny",
            package("2:9.1.0016-1ubuntu7", &["vi", "vim.tiny"]),
        ),
    ]
    .into_iter()
    .map(|(name, spec)| (name.to_owned(), spec))
    .collect();
    let files: BTreeMap<String, String> = [
        ("/etc/os-release", NOBLE_OS_RELEASE),
        ("/etc/lsb-release", NOBLE_LSB_RELEASE),
        ("/etc/hostname", "localhost\n"),
        ("/etc/machine-id", ""),
        ("/etc/passwd", PASSWD),
        ("/etc/group", GROUP),
        ("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n"),
        ("/etc/locale.gen", "# This file lists locales that you wish to have built.\n# en_US.UTF-8 UTF-8\n"),
    ]
    .into_iter()
    .map(|(path, content)| (path.to_owned(), content.to_owned()))
    .collect();
    let services: BTreeMap<String, String> = [
        ("ssh.socket", "active"),
        ("ssh.service", "inactive"),
        ("systemd-journald.service", "active"),
        ("systemd-networkd.service", "active"),
        ("systemd-resolved.service", "active"),
    ]
    .into_iter()
    .map(|(unit, state)| (unit.to_owned(), state.to_owned()))
    .collect();
    TemplateSpec {
        ostype: "ubuntu".to_owned(),
        arch: "amd64".to_owned(),
        // A guess: the compressed archive is about 130 MB, its tar stream about 470 MiB.
        size: 492_830_720,
        rate: 150,
        files,
        packages,
        services,
        locales: vec!["C.UTF-8".to_owned()],
        dirs: super::state::default_dirs(),
        ssh_keys: super::state::default_ssh_keys(),
    }
}

/// A catalogue package.
fn available(
    version: &str,
    commands: &[&str],
    depends: &[&str],
    size: u64,
    installed_size: u64,
    archive: &str,
) -> PackageSpec {
    PackageSpec {
        version: version.to_owned(),
        commands: commands
            .iter()
            .map(|command| (*command).to_owned())
            .collect(),
        depends: depends.iter().map(|name| (*name).to_owned()).collect(),
        size,
        installed_size,
        archive: archive.to_owned(),
        ..PackageSpec::default()
    }
}

/// The noble packages `apt-get install` finds without any declaration: what upstream's
/// `base_setup` and docker feature install, with their main dependencies.
pub(crate) fn noble_catalogue() -> BTreeMap<String, PackageSpec> {
    let mut catalogue: BTreeMap<String, PackageSpec> = [
        (
            "ca-certificates",
            available(
                "20240203",
                &["/usr/sbin/update-ca-certificates"],
                &[],
                159_000,
                385,
                "noble/main",
            ),
        ),
        (
            "curl",
            available(
                "8.5.0-2ubuntu10.6",
                &["curl"],
                &["libcurl4t64"],
                226_900,
                534,
                "noble-updates/main",
            ),
        ),
        // Ollama's release archive is .tar.zst: GNU tar runs zstd to unpack it.
        // **Assumption:** the sizes are Debian 12's zstd 1.5.4 (701368 bytes, 2106 kB); noble's
        // were not captured.
        (
            "zstd",
            available(
                "1.5.5+dfsg2-2build1.1",
                &["zstd", "unzstd", "zstdcat"],
                &[],
                701_368,
                2106,
                "noble-updates/main",
            ),
        ),
        (
            "git",
            available(
                "1:2.43.0-1ubuntu7.3",
                &["git"],
                &["git-man"],
                3_680_000,
                21_900,
                "noble-updates/main",
            ),
        ),
        (
            "git-man",
            available(
                "1:2.43.0-1ubuntu7.3",
                &[],
                &[],
                1_100_000,
                2_500,
                "noble-updates/main",
            ),
        ),
        (
            "gnupg",
            available(
                "2.4.4-2ubuntu17.3",
                &["gpg", "gpg-agent"],
                &[],
                359_000,
                381,
                "noble-updates/main",
            ),
        ),
        (
            "htop",
            available(
                "3.3.0-4build1",
                &["htop"],
                &["libnl-3-200"],
                171_000,
                434,
                "noble/main",
            ),
        ),
        (
            "jq",
            available(
                "1.7.1-3build1",
                &["jq"],
                &["libjq1", "libonig5"],
                65_700,
                102,
                "noble/main",
            ),
        ),
        (
            "libcurl4t64",
            available(
                "8.5.0-2ubuntu10.6",
                &[],
                &[],
                341_000,
                883,
                "noble-updates/main",
            ),
        ),
        (
            "libjq1",
            available("1.7.1-3build1", &[], &[], 141_000, 388, "noble/main"),
        ),
        (
            "libnl-3-200",
            available(
                "3.7.0-0.3build1.1",
                &[],
                &[],
                55_700,
                178,
                "noble-updates/main",
            ),
        ),
        (
            "libonig5",
            available("6.9.9-1build1", &[], &[], 172_000, 604, "noble/main"),
        ),
        (
            "lsb-release",
            available("12.0-2", &["lsb_release"], &[], 6_520, 36, "noble/main"),
        ),
        (
            "rsync",
            available(
                "3.2.7-1ubuntu1.2",
                &["rsync"],
                &[],
                436_000,
                784,
                "noble-updates/main",
            ),
        ),
        (
            "s-tui",
            available("0.8.3-5", &["s-tui"], &[], 55_400, 275, "noble/universe"),
        ),
        (
            "vim",
            available(
                "2:9.1.0016-1ubuntu7.8",
                &["vim"],
                &["vim-runtime"],
                1_880_000,
                4_100,
                "noble-updates/main",
            ),
        ),
        (
            "vim-runtime",
            available(
                "2:9.1.0016-1ubuntu7.8",
                &[],
                &[],
                7_280_000,
                42_000,
                "noble-updates/main",
            ),
        ),
        (
            "wget",
            available(
                "1.21.4-1ubuntu4.1",
                &["wget"],
                &[],
                334_000,
                979,
                "noble-updates/main",
            ),
        ),
    ]
    .into_iter()
    .map(|(name, spec)| (name.to_owned(), spec))
    .collect();
    for name in ["git-man", "s-tui", "vim-runtime", "ca-certificates"] {
        if let Some(spec) = catalogue.get_mut(name) {
            spec.arch = "all".to_owned();
        }
    }
    let mut nginx = available(
        "1.24.0-2ubuntu7.5",
        &["/usr/sbin/nginx"],
        &[],
        521_000,
        1_400,
        "noble-updates/main",
    );
    nginx
        .services
        .insert("nginx.service".to_owned(), "active".to_owned());
    nginx.files.insert(
        "/etc/nginx/nginx.conf".to_owned(),
        "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\ninclude /etc/nginx/modules-enabled/*.conf;\n\nevents {\n\tworker_connections 768;\n}\n\nhttp {\n\tinclude /etc/nginx/mime.types;\n\tinclude /etc/nginx/conf.d/*.conf;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n".to_owned(),
    );
    catalogue.insert("nginx".to_owned(), nginx);
    // The gateway's njs module (noble's universe, source libnginx-mod-js; packages.ubuntu.com:
    // 349.4 kB, 1,033 kB installed), which depends on the stream module (sizes of the latter
    // assumed), each enabling itself in modules-enabled as Debian's module packages do.
    let mut stream = available(
        "1.24.0-2ubuntu7.5",
        &[],
        &[],
        84_000,
        205,
        "noble-updates/main",
    );
    stream.files.insert(
        "/etc/nginx/modules-enabled/50-mod-stream.conf".to_owned(),
        "load_module modules/ngx_stream_module.so;\n".to_owned(),
    );
    catalogue.insert("libnginx-mod-stream".to_owned(), stream);
    let mut js = available(
        "0.8.2-1ubuntu1",
        &[],
        &["libnginx-mod-stream"],
        349_400,
        1_033,
        "noble/universe",
    );
    js.files.insert(
        "/etc/nginx/modules-enabled/50-mod-http-js.conf".to_owned(),
        "load_module modules/ngx_http_js_module.so;\n".to_owned(),
    );
    catalogue.insert("libnginx-mod-http-js".to_owned(), js);
    // Docker Engine from noble-updates (the docker feature). **Assumption:** versions as of
    // late 2025 (runc with the CVE-2025-52881 fix); not captured from a mirror.
    let mut docker = available(
        "27.5.1-0ubuntu3~24.04.2",
        &["/usr/bin/docker", "/usr/sbin/dockerd"],
        &["containerd", "runc"],
        34_200_000,
        111_000,
        "noble-updates/universe",
    );
    docker
        .services
        .insert("docker.service".to_owned(), "active".to_owned());
    catalogue.insert("docker.io".to_owned(), docker);
    let mut containerd = available(
        "1.7.28-0ubuntu1~24.04.1",
        &["/usr/bin/containerd"],
        &[],
        38_100_000,
        149_000,
        "noble-updates/main",
    );
    containerd
        .services
        .insert("containerd.service".to_owned(), "active".to_owned());
    catalogue.insert("containerd".to_owned(), containerd);
    catalogue.insert(
        "runc".to_owned(),
        available(
            "1.3.3-0ubuntu1~24.04.3",
            &["/usr/sbin/runc"],
            &[],
            8_900_000,
            35_000,
            "noble-updates/main",
        ),
    );
    catalogue.insert(
        "fuse-overlayfs".to_owned(),
        available(
            "1.13-1",
            &["fuse-overlayfs"],
            &[],
            46_000,
            130,
            "noble/universe",
        ),
    );
    // Python for the vLLM feature: `python3 -m venv` needs ensurepip, which python3-venv brings.
    for (name, version, commands, depends, size, installed_size) in [
        (
            "python3",
            "3.12.3-0ubuntu2",
            &["python3"][..],
            &[][..],
            23_600,
            87,
        ),
        (
            "python3.12-venv",
            "3.12.3-1ubuntu0.8",
            &[][..],
            &[][..],
            5_680_000,
            6_000,
        ),
        (
            "python3-venv",
            "3.12.3-0ubuntu2",
            &[][..],
            &["python3", "python3.12-venv"][..],
            1_030,
            7,
        ),
    ] {
        let archive = if name == "python3.12-venv" {
            "noble-updates/universe"
        } else {
            "noble/main"
        };
        catalogue.insert(
            name.to_owned(),
            available(version, commands, depends, size, installed_size, archive),
        );
    }
    catalogue.extend(nvidia_catalogue());
    catalogue
}

/// NVIDIA's CUDA repository for Ubuntu 24.04, which the `nvidia` feature configures.
pub(crate) const CUDA_REPOSITORY: &str =
    "https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/";

/// NVIDIA's libnvidia-container repository (the NVIDIA Container Toolkit), as its list names it
/// (apt expands `$(ARCH)`).
pub(crate) const CONTAINER_TOOLKIT_REPOSITORY: &str =
    "https://nvidia.github.io/libnvidia-container/stable/deb/$(ARCH)";

/// `nvidia-container-runtime`'s configuration as nvidia-container-toolkit-base's postinst
/// writes it (`nvidia-ctk config --in-place`): every key at its default, commented out.
/// **Assumption:** the keys of toolkit 1.17's `config.toml`, shortened to those Phoenix reads.
pub(crate) const NVIDIA_CONTAINER_RUNTIME_CONFIG: &str =
    "#accept-nvidia-visible-devices-as-volume-mounts = false
#accept-nvidia-visible-devices-envvar-when-unprivileged = true
disable-require = false
supported-driver-capabilities = \"compat32,compute,display,graphics,ngx,utility,video\"
#swarm-resource = \"DOCKER_RESOURCE_GPU\"

[nvidia-container-cli]
#debug = \"/var/log/nvidia-container-toolkit.log\"
environment = []
#ldcache = \"/etc/ld.so.cache\"
ldconfig = \"@/sbin/ldconfig.real\"
load-kmods = true
#no-cgroups = false
#path = \"/usr/bin/nvidia-container-cli\"
#root = \"/run/nvidia/driver\"
#user = \"root:video\"

[nvidia-container-runtime]
#debug = \"/var/log/nvidia-container-runtime.log\"
log-level = \"info\"
mode = \"auto\"
runtimes = [\"runc\", \"crun\"]
";

/// NVIDIA's packages: the CUDA repository's toolkits (one package per `MAJOR-MINOR`, installed
/// side by side under `/usr/local/cuda-MAJOR.MINOR`), which the `nvidia` feature installs, and
/// the NVIDIA Container Toolkit with its libraries from libnvidia-container's repository, which
/// the `docker` feature installs with `nvidia`. **Assumption:** versions and sizes of the repository in
/// late 2025, not captured from it; a toolkit is one package here (the real meta-package pulls
/// some hundred `cuda-*` packages).
fn nvidia_catalogue() -> BTreeMap<String, PackageSpec> {
    let from_cuda_repository = |mut spec: PackageSpec| {
        spec.repository = CUDA_REPOSITORY.to_owned();
        spec.archive = String::new();
        spec
    };
    let mut catalogue = BTreeMap::new();
    for (version, full) in [
        ("12.8", "12.8.1-1"),
        ("12.9", "12.9.1-1"),
        ("13.0", "13.0.2-1"),
    ] {
        let nvcc = format!("/usr/local/cuda-{version}/bin/nvcc");
        catalogue.insert(
            format!("cuda-toolkit-{}", version.replace('.', "-")),
            from_cuda_repository(available(full, &[nvcc.as_str()], &[], 2_500, 8, "")),
        );
    }
    let container = "1.17.8-1";
    let mut base = available(
        container,
        &["nvidia-ctk", "nvidia-container-runtime", "nvidia-cdi-hook"],
        &[],
        5_900_000,
        23_000,
        "",
    );
    base.files.insert(
        "/etc/nvidia-container-runtime/config.toml".to_owned(),
        NVIDIA_CONTAINER_RUNTIME_CONFIG.to_owned(),
    );
    for (name, spec) in [
        (
            "nvidia-container-toolkit",
            available(
                container,
                &["nvidia-container-runtime-hook"],
                &["nvidia-container-toolkit-base", "libnvidia-container-tools"],
                1_200_000,
                4_400,
                "",
            ),
        ),
        ("nvidia-container-toolkit-base", base),
        (
            "libnvidia-container-tools",
            available(
                container,
                &["nvidia-container-cli"],
                &["libnvidia-container1"],
                21_000,
                90,
                "",
            ),
        ),
        (
            "libnvidia-container1",
            available(container, &[], &[], 1_000_000, 3_000, ""),
        ),
    ] {
        let mut spec = from_cuda_repository(spec);
        spec.repository = CONTAINER_TOOLKIT_REPOSITORY.to_owned();
        catalogue.insert(name.to_owned(), spec);
    }
    catalogue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_lacks_what_base_setup_installs() {
        let template = ubuntu_noble_template();
        for missing in [
            "curl", "wget", "vim", "htop", "jq", "git", "rsync", "s-tui", "gnupg",
        ] {
            assert!(!template.packages.contains_key(missing), "{missing}");
        }
        for present in ["apt", "dpkg", "systemd", "coreutils", "locales", "dash"] {
            assert!(template.packages.contains_key(present), "{present}");
        }
        let catalogue = noble_catalogue();
        for name in catalogue.values().flat_map(|spec| spec.depends.iter()) {
            assert!(
                catalogue.contains_key(name),
                "dependency {name} is in the catalogue"
            );
        }
    }
}
