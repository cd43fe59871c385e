//! Debian packaging inside a container: `dpkg-query -W` and `apt-get update|install -y`.
//!
//! `dpkg-query -W [-f FORMAT] [PACKAGE...]` (dpkg 1.22): one formatted entry per installed
//! package that matches, in package-name order (`fixtures/host/dpkg-versions.txt` shows the
//! sorting), then `dpkg-query: no packages found matching X` on stderr for each name that matched
//! nothing, and exit 1 if there was one. The default format is `${binary:Package}\t${Version}\n`;
//! `${Package}`, `${binary:Package}`, `${Version}`, `${Architecture}`, `${Status}`,
//! `${db:Status-Status}` and `${db:Status-Abbrev}` are known, other fields print empty, and `\n`,
//! `\t`, `\\` are escapes.
//!
//! `apt-get` (apt 2.7, noble) with its output as apt prints it when stdout is not a terminal
//! (`Reading package lists...` without ` Done`), as CI logs of noble show it. **Assumption:** no
//! capture of a Proxmox container was available; the lines follow such logs, the mirror is
//! `http://archive.ubuntu.com/ubuntu` as in Ubuntu's own containers, and sizes and times come
//! from the catalogue (`state.rs`), not from a real mirror. A fresh template has no package
//! lists: until `apt-get update` runs, only installed packages are found, and any other gives
//! `E: Unable to locate package X` with exit 100.

use std::collections::BTreeMap;

use phoenix_core::sim::SimFile;

use super::ctx::Ctx;
use super::defaults::noble_catalogue;
use super::fs::Mounts;
use super::guest::GuestOutput;
use super::state::PackageSpec;

/// The mirror of the `Get:` lines.
const MIRROR: &str = "http://archive.ubuntu.com/ubuntu";

/// `dpkg-query -W`.
pub(crate) fn dpkg_query(
    ctx: &Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let mut format = "${binary:Package}\t${Version}\n".to_owned();
    let mut show = false;
    let mut names: Vec<&str> = Vec::new();
    let mut words = args.iter();
    let mut options_done = false;
    while let Some(word) = words.next() {
        if options_done || !word.starts_with('-') || word == "-" {
            names.push(word);
        } else if word == "--" {
            options_done = true;
        } else if word == "-W" || word == "--show" {
            show = true;
        } else if word == "-f" || word == "--showformat" {
            match words.next() {
                Some(value) => format.clone_from(value),
                None => return GuestOutput::not_emulated(pct_argv),
            }
        } else if let Some(value) = word.strip_prefix("--showformat=") {
            format = value.to_owned();
        } else if let Some(value) = word.strip_prefix("-f") {
            // dpkg's option parser takes `-fFORMAT` and `-f=FORMAT` alike
            // (`fixtures/host/dpkg-versions.txt` was run with `-f='...'`).
            format = value.strip_prefix('=').unwrap_or(value).to_owned();
        } else if let Some(value) = word.strip_prefix("-W").filter(|rest| rest.starts_with('f')) {
            show = true;
            format = value[1..].to_owned();
        } else {
            return GuestOutput::not_emulated(pct_argv);
        }
    }
    if !show || names.iter().any(|name| name.contains(['*', '?', '['])) {
        return GuestOutput::not_emulated(pct_argv);
    }
    let Some(content) = ctx.root_content(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let mut out = GuestOutput::default();
    for (name, package) in &content.packages {
        let name_only = name.split(':').next().unwrap_or(name);
        if names.is_empty()
            || names
                .iter()
                .any(|wanted| *wanted == name || *wanted == name_only)
        {
            out.stdout
                .push_str(&dpkg_format(&format, name, &package.version));
        }
    }
    for name in names {
        let name_only = name.split(':').next().unwrap_or(name);
        if !content.packages.contains_key(name) && !content.packages.contains_key(name_only) {
            out.stderr
                .push_str(&format!("dpkg-query: no packages found matching {name}\n"));
            out.status = 1;
        }
    }
    out
}

/// Expands a `dpkg-query` format for one installed package.
fn dpkg_format(format: &str, name: &str, version: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("${")
            && let Some(end) = after.find('}')
        {
            let field = after[..end].split(';').next().unwrap_or_default();
            out.push_str(match field {
                "Package" | "binary:Package" => name,
                "Version" => version,
                "Architecture" => "amd64",
                "Status" => "install ok installed",
                "db:Status-Status" => "installed",
                "db:Status-Abbrev" => "ii ",
                "db:Status-Want" => "install",
                "db:Status-Eflag" => "ok",
                _ => "",
            });
            rest = &after[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix('\\') {
            match after.chars().next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
            rest = after.get(1..).unwrap_or_default();
            continue;
        }
        let next = rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '$' || *c == '\\')
            .map_or(rest.len(), |(at, _)| at);
        out.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    out
}

/// apt's `SizeToStr`: powers of 1000, one decimal below 100 (except for bytes). Its digit
/// grouping follows the locale; a fresh container has only `C.UTF-8`, so there is none (as in
/// CI logs: `After this operation, 9116 kB`).
fn size_to_str(bytes: f64) -> String {
    let units = ["", "k", "M", "G", "T", "P"];
    let mut size = bytes;
    let mut unit = 0;
    loop {
        if size < 100.0 && unit != 0 {
            return format!("{size:.1} {}", units[unit]);
        }
        if size < 10_000.0 || unit == units.len() - 1 {
            return format!("{} {}", size.round() as u64, units[unit]);
        }
        size /= 1000.0;
        unit += 1;
    }
}

/// apt's list of package names: two-space indent, wrapped before 80 columns.
fn show_list(names: &[&str]) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for name in names {
        if !line.is_empty() && line.len() + 1 + name.len() > 79 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if line.is_empty() {
            line.push_str("  ");
        } else {
            line.push(' ');
        }
        line.push_str(name);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The packages `apt-get` can find: the built-in catalogue with the declared one on top.
fn catalogue(ctx: &Ctx<'_, '_>) -> BTreeMap<String, PackageSpec> {
    let mut all = noble_catalogue();
    all.extend((*ctx.state.apt_repository).clone());
    all
}

/// The header apt prints while it loads its cache.
const READING: &str =
    "Reading package lists...\nBuilding dependency tree...\nReading state information...\n";

/// `apt-get update` or `apt-get install -y PACKAGE...`.
pub(crate) fn apt_get(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let mut assume_yes = false;
    let mut words: Vec<&str> = Vec::new();
    for arg in args {
        match arg.as_str() {
            "-y" | "--yes" | "--assume-yes" => assume_yes = true,
            "--no-install-recommends" => {}
            option if option.starts_with('-') => return GuestOutput::not_emulated(pct_argv),
            word => words.push(word),
        }
    }
    match words.split_first() {
        Some((&"update", [])) => update(ctx, mounts, pct_argv),
        Some((&"install", names)) if assume_yes && !names.is_empty() => {
            if names.iter().any(|name| name.contains(['=', '/', '*'])) {
                return GuestOutput::not_emulated(pct_argv);
            }
            install(ctx, mounts, names, pct_argv)
        }
        _ => GuestOutput::not_emulated(pct_argv),
    }
}

/// `apt-get update`: fetches the noble indexes the first time, then finds them unchanged.
fn update(ctx: &mut Ctx<'_, '_>, mounts: &Mounts, pct_argv: &[String]) -> GuestOutput {
    let Some(content) = ctx.root_content_mut(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let suites = ["noble", "noble-updates", "noble-security"];
    let mut stdout = String::new();
    if content.apt_lists {
        for (at, suite) in suites.iter().enumerate() {
            stdout.push_str(&format!("Hit:{} {MIRROR} {suite} InRelease\n", at + 1));
        }
    } else {
        let fetched: [(&str, f64); 5] = [
            ("noble InRelease", 256_000.0),
            ("noble-updates InRelease", 126_000.0),
            ("noble-security InRelease", 126_000.0),
            ("noble/main amd64 Packages", 1_401_000.0),
            ("noble/universe amd64 Packages", 15_000_000.0),
        ];
        for (at, (what, size)) in fetched.iter().enumerate() {
            stdout.push_str(&format!(
                "Get:{} {MIRROR} {what} [{}B]\n",
                at + 1,
                size_to_str(*size)
            ));
        }
        let total: f64 = fetched.iter().map(|(_, size)| size).sum();
        stdout.push_str(&format!(
            "Fetched {}B in 3s ({}B/s)\n",
            size_to_str(total),
            size_to_str(total / 3.0)
        ));
        content.apt_lists = true;
    }
    stdout.push_str("Reading package lists...\n");
    GuestOutput::ok(stdout)
}

/// The file name dpkg shows for an archive: the epoch's `:` is escaped as `%3a`.
fn archive_name(name: &str, spec: &PackageSpec) -> String {
    format!(
        "{name}_{}_{}.deb",
        spec.version.replace(':', "%3a"),
        spec.arch
    )
}

/// Whether apt knows `repository` (empty: Ubuntu's archive): a list in
/// `/etc/apt/sources.list.d/` has a `deb` line naming it.
fn listed(content: &super::state::Content, repository: &str) -> bool {
    if repository.is_empty() {
        return true;
    }
    let url = repository.trim_end_matches('/');
    content.files.iter().any(|(path, file)| {
        path.starts_with("/etc/apt/sources.list.d/")
            && file.content.lines().any(|line| {
                line.trim_start().starts_with("deb ")
                    && line
                        .split_whitespace()
                        .any(|word| word.trim_end_matches('/') == url)
            })
    })
}

/// `apt-get install -y NAMES`.
fn install(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    names: &[&str],
    pct_argv: &[String],
) -> GuestOutput {
    let catalogue = catalogue(ctx);
    let Some(content) = ctx.root_content(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let installed = content.packages.clone();
    let lists = content.apt_lists;
    let mut stdout = READING.to_owned();
    let mut already = String::new();
    let mut missing: Vec<&str> = Vec::new();
    let mut order: Vec<String> = Vec::new();
    let mut requested: Vec<&str> = Vec::new();
    for name in names {
        if let Some(package) = installed.get(*name) {
            already.push_str(&format!(
                "{name} is already the newest version ({}).\n",
                package.version
            ));
        } else if lists
            && catalogue
                .get(*name)
                .is_some_and(|spec| listed(content, &spec.repository))
        {
            requested.push(name);
        } else {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        let stderr: String = missing
            .iter()
            .map(|name| format!("E: Unable to locate package {name}\n"))
            .collect();
        return GuestOutput {
            status: 100,
            stdout,
            stderr,
            ..GuestOutput::default()
        };
    }
    // Dependencies first, each once.
    fn visit(
        name: &str,
        catalogue: &BTreeMap<String, PackageSpec>,
        installed: &BTreeMap<String, super::state::InstalledPackage>,
        order: &mut Vec<String>,
    ) {
        if installed.contains_key(name) || order.iter().any(|found| found == name) {
            return;
        }
        let Some(spec) = catalogue.get(name) else {
            return;
        };
        for dependency in &spec.depends {
            visit(dependency, catalogue, installed, order);
        }
        if !order.iter().any(|found| found == name) {
            order.push(name.to_owned());
        }
    }
    for name in &requested {
        visit(name, &catalogue, &installed, &mut order);
    }
    stdout.push_str(&already);
    if !order.is_empty() {
        let mut extras: Vec<&str> = order
            .iter()
            .map(String::as_str)
            .filter(|name| !requested.contains(name))
            .collect();
        extras.sort_unstable();
        if !extras.is_empty() {
            stdout.push_str("The following additional packages will be installed:\n");
            stdout.push_str(&show_list(&extras));
        }
        let mut new: Vec<&str> = order.iter().map(String::as_str).collect();
        new.sort_unstable();
        stdout.push_str("The following NEW packages will be installed:\n");
        stdout.push_str(&show_list(&new));
    }
    stdout.push_str(&format!(
        "0 upgraded, {} newly installed, 0 to remove and 0 not upgraded.\n",
        order.len()
    ));
    if order.is_empty() {
        return GuestOutput::ok(stdout);
    }
    let specs: Vec<(&str, &PackageSpec)> = order
        .iter()
        .filter_map(|name| catalogue.get(name).map(|spec| (name.as_str(), spec)))
        .collect();
    let download: u64 = specs.iter().map(|(_, spec)| spec.size).sum();
    let installed_kb: u64 = specs.iter().map(|(_, spec)| spec.installed_size).sum();
    stdout.push_str(&format!(
        "Need to get {}B of archives.\nAfter this operation, {}B of additional disk space will be used.\n",
        size_to_str(download as f64),
        size_to_str((installed_kb * 1000) as f64)
    ));
    for (at, (name, spec)) in specs.iter().enumerate() {
        if spec.repository.is_empty() {
            stdout.push_str(&format!(
                "Get:{} {MIRROR} {} {} {name} {} {} [{}B]\n",
                at + 1,
                spec.archive,
                spec.arch,
                spec.arch,
                spec.version,
                size_to_str(spec.size as f64)
            ));
        } else {
            // A flat repository (`deb URL /`): no suite, component or architecture.
            stdout.push_str(&format!(
                "Get:{} {}  {name} {} [{}B]\n",
                at + 1,
                spec.repository
                    .trim_end_matches('/')
                    .replace("$(ARCH)", &spec.arch),
                spec.version,
                size_to_str(spec.size as f64)
            ));
        }
    }
    stdout.push_str(&format!(
        "Fetched {}B in 1s ({}B/s)\n",
        size_to_str(download as f64),
        size_to_str(download as f64)
    ));
    let database = installed.len() * 150;
    for (at, (name, spec)) in specs.iter().enumerate() {
        stdout.push_str(&format!(
            "Selecting previously unselected package {name}.\n"
        ));
        if at == 0 {
            // dpkg draws its progress with carriage returns, in steps of 5%.
            stdout.push_str("(Reading database ... \r");
            for percent in (5..=100).step_by(5) {
                stdout.push_str(&format!("(Reading database ... {percent}%\r"));
            }
            stdout.push_str(&format!(
                "(Reading database ... {database} files and directories currently installed.)\n"
            ));
        }
        stdout.push_str(&format!(
            "Preparing to unpack .../{} ...\nUnpacking {name} ({}) ...\n",
            archive_name(name, spec),
            spec.version
        ));
    }
    for (name, spec) in &specs {
        stdout.push_str(&format!("Setting up {name} ({}) ...\n", spec.version));
    }
    let mut files: Vec<(String, String)> = Vec::new();
    if let Some(content) = ctx.root_content_mut(mounts) {
        for (name, spec) in &specs {
            content
                .packages
                .insert((*name).to_owned(), spec.installed());
            for (unit, state) in &spec.services {
                content.services.insert(unit.clone(), state.clone());
            }
            files.extend(
                spec.files
                    .iter()
                    .map(|(path, text)| (path.clone(), text.clone())),
            );
        }
    }
    for (path, text) in files {
        ctx.guest_write(mounts, &path, SimFile::new(text, 0o644, "root:root"));
    }
    GuestOutput::ok(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_sizes() {
        assert_eq!(size_to_str(65_700.0), "65.7 k");
        assert_eq!(size_to_str(356_000.0), "356 k");
        assert_eq!(size_to_str(1_090_000.0), "1090 k");
        assert_eq!(size_to_str(16_909_000.0), "16.9 M");
        assert_eq!(size_to_str(55.0), "55 ");
    }

    #[test]
    fn dpkg_formats() {
        assert_eq!(
            dpkg_format("${Package} ${db:Status-Status}\\n", "curl", "8.5"),
            "curl installed\n"
        );
        assert_eq!(
            dpkg_format("${binary:Package}\t${Version}\n", "jq", "1.7"),
            "jq\t1.7\n"
        );
        assert_eq!(dpkg_format("${Nope}|${Version;10}", "x", "1"), "|1");
    }

    #[test]
    fn lists_wrap() {
        let names: Vec<String> = (0..20).map(|n| format!("package-{n:02}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let text = show_list(&refs);
        assert!(
            text.lines()
                .all(|line| line.len() <= 79 && line.starts_with("  "))
        );
        assert_eq!(text.split_whitespace().count(), 20);
        assert_eq!(
            archive_name(
                "git",
                &PackageSpec {
                    version: "1:2.43".to_owned(),
                    ..PackageSpec::default()
                }
            ),
            "git_1%3a2.43_amd64.deb"
        );
    }
}
