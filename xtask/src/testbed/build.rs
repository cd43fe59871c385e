//! `cargo xtask testbed build`: installs the host tools, computes the cache key (a digest of the
//! recipe and of the Debian package versions it would install), and builds the image only when
//! the cache has none for that key.
//!
//! apt runs with a private sources list and package lists under the cache directory (adding
//! `contrib` and `bookworm-backports`), so the host's /etc/apt and /var/lib/apt/lists stay as
//! they are. The chroot steps are `xtask/testbed/build-image.sh`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use xshell::{Shell, cmd};

use super::{cache_dir, utf8};
use crate::Result;
use crate::install::{find_binary, is_root};

/// The chroot steps; part of the cache key.
const RECIPE: &str = include_str!("../../testbed/build-image.sh");

/// Bumped by hand when something outside the script changes what the image holds.
const RECIPE_REVISION: &str = "1";

/// Packages whose archive versions decide the image's content (the kernel ABI, ZFS, services).
const KEYED_PACKAGES: &[&str] = &[
    "linux-image-cloud-amd64",
    "linux-headers-cloud-amd64",
    "zfs-dkms",
    "zfsutils-linux",
    "lxc",
    "nfs-kernel-server",
    "samba",
    "nginx",
    "apparmor",
    "openssh-server",
    "systemd",
    "util-linux",
];

/// Host tools, as (a binary the package ships, the package, whether only the build needs it).
const HOST_TOOLS: &[(&str, &str, bool)] = &[
    ("qemu-system-x86_64", "qemu-system-x86", false),
    ("qemu-img", "qemu-utils", false),
    ("ssh", "openssh-client", false),
    ("ssh-keygen", "openssh-client", false),
    ("debootstrap", "debootstrap", true),
    ("mkfs.ext4", "e2fsprogs", true),
];

/// The file name prefix of cached images.
const IMAGE_PREFIX: &str = "testbed-";

/// Builds the image unless the cache already holds one for the current key; returns its path.
pub(crate) fn build(sh: &Shell) -> Result<PathBuf> {
    let started = Instant::now();
    let cache = cache_dir();
    let apt = Apt::new(&cache)?;
    ensure_host_tools(sh, &apt, true)?;
    let key = match apt.versions(sh) {
        Ok(versions) => digest(sh, &format!("{RECIPE_REVISION}\n{RECIPE}\n--\n{versions}"))?,
        Err(err) => {
            // Without the archive the versions are unknown: reuse the newest image if there is one.
            let newest = newest_image(&cache)?.ok_or_else(|| {
                format!(
                    "cannot read the Debian archive to key the image ({err}) and no image is cached"
                )
            })?;
            eprintln!(
                "xtask testbed: warning: cannot read the Debian archive ({err}); reusing {}",
                newest.display()
            );
            return Ok(newest);
        }
    };
    let image = cache
        .join("images")
        .join(format!("{IMAGE_PREFIX}{key}.tar"));
    if image.exists() {
        eprintln!(
            "xtask testbed: image {} is cached (recipe and package versions unchanged); checked in {:.1}s",
            image.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(image);
    }
    if !is_root(sh)? {
        return Err(
            "building the testbed image needs root (debootstrap, chroot, bind mounts)".into(),
        );
    }
    eprintln!("xtask testbed: building image {key} (about 6 minutes on 2 cores)");
    let work = cache.join("work");
    let out = work.join("out");
    sh.remove_path(&out)?;
    let script = crate::project_root().join("xtask/testbed/build-image.sh");
    let (mirror, security) = mirrors(sh);
    cmd!(sh, "bash {script}")
        .env("WORK", &work)
        .env("OUT", &out)
        .env("MIRROR", &mirror)
        .env("SECMIRROR", &security)
        .env("CACHE", cache.join("debs"))
        .run()?;
    let images = cache.join("images");
    sh.create_dir(&images)?;
    let partial = images.join(format!(".{IMAGE_PREFIX}{key}.tar.partial"));
    cmd!(
        sh,
        "tar -cf {partial} -C {out} base.qcow2 vmlinuz initrd.img versions.txt"
    )
    .run()?;
    // Older images are of no use any more; one file per key is the whole cache.
    for old in sh.read_dir(&images)? {
        let is_image = old
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(IMAGE_PREFIX));
        if is_image {
            sh.remove_path(&old)?;
        }
    }
    std::fs::rename(&partial, &image)?;
    sh.remove_path(&out)?;
    eprintln!(
        "xtask testbed: built {} in {:.0}s",
        image.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(image)
}

/// The image `up` boots: the newest one in the cache.
pub(crate) fn cached_image(sh: &Shell) -> Result<PathBuf> {
    let cache = cache_dir();
    ensure_host_tools(sh, &Apt::new(&cache)?, false)?;
    newest_image(&cache)?.ok_or_else(|| {
        format!(
            "no testbed image in {}; run `cargo xtask testbed build` first",
            cache.join("images").display()
        )
        .into()
    })
}

fn newest_image(cache: &Path) -> Result<Option<PathBuf>> {
    let dir = cache.join("images");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(None);
    };
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !(name.starts_with(IMAGE_PREFIX) && name.ends_with(".tar")) {
            continue;
        }
        let modified = path.metadata()?.modified()?;
        if newest.as_ref().is_none_or(|(time, _)| modified > *time) {
            newest = Some((modified, path));
        }
    }
    Ok(newest.map(|(_, path)| path))
}

/// Installs the missing host tools (QEMU from bookworm-backports, to match the qemu-utils the
/// machine image ships); fails loudly when not root.
fn ensure_host_tools(sh: &Shell, apt: &Apt, for_build: bool) -> Result<()> {
    let mut missing: Vec<&str> = HOST_TOOLS
        .iter()
        .filter(|(binary, _, build_only)| {
            (for_build || !build_only) && find_binary(binary).is_none()
        })
        .map(|(_, package, _)| *package)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root(sh)? {
        return Err(format!(
            "the testbed needs {list}; install them (as root: apt-get install -t bookworm-backports {list})"
        )
        .into());
    }
    eprintln!("xtask testbed: installing host packages: {list}");
    apt.update(sh)?;
    let options = apt.options();
    let _frontend = sh.push_env("DEBIAN_FRONTEND", "noninteractive");
    cmd!(
        sh,
        "apt-get {options...} install -y -q --no-install-recommends -t bookworm-backports {missing...}"
    )
    .run()?;
    Ok(())
}

/// apt with the testbed's own sources and lists.
struct Apt {
    dir: PathBuf,
}

impl Apt {
    fn new(cache: &Path) -> Result<Apt> {
        let dir = cache.join("apt");
        std::fs::create_dir_all(dir.join("sources.list.d"))?;
        std::fs::create_dir_all(dir.join("lists/partial"))?;
        Ok(Apt { dir })
    }

    fn options(&self) -> Vec<String> {
        let dir = self.dir.display();
        [
            format!("Dir::Etc::SourceParts={dir}/sources.list.d"),
            "Dir::Etc::SourceList=/dev/null".to_owned(),
            format!("Dir::State::Lists={dir}/lists"),
            "DPkg::Lock::Timeout=600".to_owned(),
        ]
        .into_iter()
        .flat_map(|option| ["-o".to_owned(), option])
        .collect()
    }

    fn update(&self, sh: &Shell) -> Result<()> {
        let (mirror, security) = mirrors(sh);
        let sources = format!(
            "Types: deb\nURIs: {mirror}\nSuites: bookworm bookworm-updates bookworm-backports\nComponents: main contrib\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
             Types: deb\nURIs: {security}\nSuites: bookworm-security\nComponents: main contrib\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
        sh.write_file(self.dir.join("sources.list.d/debian.sources"), sources)?;
        let options = self.options();
        cmd!(sh, "apt-get {options...} update -qq").run()?;
        Ok(())
    }

    /// Every archive version of the keyed packages, one `package | version | suite` line each.
    fn versions(&self, sh: &Shell) -> Result<String> {
        self.update(sh)?;
        let options = self.options();
        let text = cmd!(sh, "apt-cache {options...} madison {KEYED_PACKAGES...}")
            .quiet()
            .read()?;
        let mut lines: Vec<&str> = text.lines().map(str::trim).collect();
        lines.sort_unstable();
        if lines.is_empty() {
            return Err("apt-cache madison listed no version of the keyed packages".into());
        }
        Ok(lines.join("\n"))
    }
}

/// The Debian archive and its security archive: `PHOENIX_TESTBED_MIRROR`, else the host's apt
/// sources, else deb.debian.org.
fn mirrors(sh: &Shell) -> (String, String) {
    let from_env = std::env::var("PHOENIX_TESTBED_MIRROR")
        .ok()
        .filter(|m| !m.is_empty());
    let sources = sh
        .read_file("/etc/apt/sources.list.d/debian.sources")
        .unwrap_or_default();
    let uris: Vec<&str> = sources
        .lines()
        .filter_map(|line| line.strip_prefix("URIs:"))
        .flat_map(str::split_whitespace)
        .collect();
    let main = from_env
        .or_else(|| {
            uris.iter()
                .find(|u| !u.contains("security"))
                .map(|u| (*u).to_owned())
        })
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_owned());
    let security = uris.iter().find(|u| u.contains("security")).map_or_else(
        || "http://deb.debian.org/debian-security".to_owned(),
        |u| (*u).to_owned(),
    );
    (main, security)
}

/// The first 16 hex digits of the SHA-256 of `text`.
fn digest(sh: &Shell, text: &str) -> Result<String> {
    let out = cmd!(sh, "sha256sum").stdin(text).quiet().read()?;
    let hex: String = out
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(16)
        .collect();
    if hex.len() != 16 {
        return Err(format!("unexpected sha256sum output {out:?}").into());
    }
    Ok(hex)
}

/// Unpacks an image's files into `dir` (the qcow2 becomes the overlay's backing file).
pub(crate) fn unpack(sh: &Shell, image: &Path, dir: &Path) -> Result<()> {
    let (image, dir) = (utf8(image)?, utf8(dir)?);
    cmd!(sh, "tar -xf {image} -C {dir}").run()?;
    Ok(())
}
