//! Commands run inside a container by `pct exec <vmid> -- ...`: their output and exit codes are
//! the commands' own (`pct exec` replaces itself with `lxc-attach`).
//!
//! Emulated: `env NAME=VALUE... CMD` (the assignments are accepted and ignored), `cat`,
//! `test -e|-f|-d|-s|-x PATH`, `mkdir [-p]`, `rm [-f]`, `sha256sum`, `true`, `false`,
//! `systemctl is-active [--quiet] UNIT...`, `locale-gen`, `update-locale`, `dpkg-query -W` and
//! `apt-get update|install` (`apt.rs`), and `sh -c PROBE_SCRIPT phoenix-probe REQ...` (the probe,
//! recognised by its exact text). The program must exist in the container (found through `PATH`
//! as the real `execvp` would). Any other program, or a command line of the above this module
//! refuses, goes to the emulator of any provider that answers the program inside guests
//! (`guest_sys.rs`), and `sh FILE ARG...` to the one answering the script file's name; what
//! none answers is "not emulated".
//!
//! Texts follow GNU coreutils 9.4 in the C locale (ASCII quotes; a UTF-8 locale prints ‘…’),
//! systemd 255 and Ubuntu's `locales` 2.39 scripts.

use std::collections::BTreeSet;

use phoenix_core::sim::SimFile;

use super::apt;
use super::args::NOT_EMULATED;
use super::ctx::Ctx;
use super::fs::{GuestView, Mounts, Node, service_state};
use super::guest_tools;
use crate::parse::{PROBE_SCRIPT, emulate_probe, sha256_hex};

/// What a command inside the container returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GuestOutput {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Whether an emulator of another provider reported changing the container or the node
    /// (this crate's own changes are staged in `Ctx` and counted by its commit).
    pub(crate) mutated: bool,
    /// Whether this is the refusal to invent output (`not_emulated`).
    pub(crate) refused: bool,
}

impl GuestOutput {
    /// Status 0 with `stdout`.
    pub(crate) fn ok(stdout: impl Into<String>) -> GuestOutput {
        GuestOutput {
            stdout: stdout.into(),
            ..GuestOutput::default()
        }
    }

    /// A failure with `status` and `stderr`.
    pub(crate) fn fail(status: i32, stderr: impl Into<String>) -> GuestOutput {
        GuestOutput {
            status,
            stderr: stderr.into(),
            ..GuestOutput::default()
        }
    }

    /// The refusal to invent output for `argv` (the whole `pct exec` command line).
    pub(crate) fn not_emulated(argv: &[String]) -> GuestOutput {
        GuestOutput {
            refused: true,
            ..GuestOutput::fail(
                NOT_EMULATED,
                format!("phoenix sim: `{}` is not emulated\n", argv.join(" ")),
            )
        }
    }
}

/// The file name of a path.
fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Runs `argv` inside container `id`; `pct_argv` is the whole `pct exec` command line (for the
/// refusal of what is not emulated).
pub(crate) fn run(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    mounts: &Mounts,
    argv: &[String],
    stdin: Option<&str>,
    pct_argv: &[String],
) -> GuestOutput {
    let mut words = argv;
    while let Some((first, rest)) = words.split_first() {
        if basename(first) != "env" || ctx.guest_command(mounts, first).is_none() {
            break;
        }
        let skip = rest
            .iter()
            .take_while(|word| word.contains('=') && !word.starts_with('-'))
            .count();
        words = &rest[skip..];
        if rest.first().is_some_and(|word| word.starts_with('-')) {
            return GuestOutput::not_emulated(pct_argv);
        }
    }
    let Some((program, _)) = words.split_first() else {
        return GuestOutput::not_emulated(pct_argv);
    };
    if program.contains('/')
        && ctx.guest_node(mounts, program) == Some(Node::File)
        && ctx.guest_command(mounts, program).is_none()
    {
        // execvp failed with EACCES: lxc returns 126.
        return GuestOutput::fail(
            126,
            format!(
                "lxc-attach: {id}: ../src/lxc/attach.c: lxc_attach_run_command: 1845 Permission denied - Failed to exec \"{program}\"\n"
            ),
        );
    }
    let Some(path) = ctx.guest_command(mounts, program) else {
        // lxc 5/6 `lxc_attach_run_command`: execvp failed with ENOENT, status 127.
        return GuestOutput::fail(
            127,
            format!(
                "lxc-attach: {id}: ../src/lxc/attach.c: lxc_attach_run_command: 1845 No such file or directory - Failed to exec \"{program}\"\n"
            ),
        );
    };
    let output = own(ctx, id, mounts, words, stdin, pct_argv, &path);
    if !output.refused {
        return output;
    }
    // `sh FILE ARG...` runs a script file (an installer): the emulator answering the file's
    // name in guests emulates it.
    let script = match (basename(&path), words.get(1)) {
        ("sh" | "bash" | "dash", Some(file))
            if !file.starts_with('-') && ctx.guest_node(mounts, file) == Some(Node::File) =>
        {
            Some(file.clone())
        }
        _ => None,
    };
    let dispatched = match script {
        Some(file) => super::guest_sys::dispatch(ctx, id, mounts, &words[1..], stdin, &file),
        None => {
            // A program is named by its name, as `execvp` found it on `PATH`.
            let mut named = words.to_vec();
            named[0] = basename(&path).to_owned();
            super::guest_sys::dispatch(ctx, id, mounts, &named, stdin, &path)
        }
    };
    dispatched.unwrap_or(output)
}

/// Runs a program this module emulates (found at `path`); any other is refused.
fn own(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    mounts: &Mounts,
    words: &[String],
    stdin: Option<&str>,
    pct_argv: &[String],
    path: &str,
) -> GuestOutput {
    let Some((_, args)) = words.split_first() else {
        return GuestOutput::not_emulated(pct_argv);
    };
    match basename(path) {
        "cat" => each_file(ctx, mounts, args, stdin, pct_argv, "cat", cat),
        "test" => test(ctx, mounts, args, pct_argv),
        "mkdir" => mkdir(ctx, mounts, args, pct_argv),
        "rm" => rm(ctx, mounts, args, pct_argv),
        "sha256sum" => each_file(ctx, mounts, args, stdin, pct_argv, "sha256sum", sha256sum),
        "true" => GuestOutput::ok(""),
        "false" => GuestOutput::fail(1, ""),
        "systemctl" => match args {
            // Units are read from their files whenever they are used (`guest_tools`).
            [verb] if verb == "daemon-reload" => GuestOutput::ok(""),
            [verb, unit] if verb != "is-active" => {
                guest_tools::systemctl_verb(ctx, mounts, verb, unit, pct_argv)
            }
            _ => systemctl(ctx, mounts, args, pct_argv),
        },
        "chmod" | "chown" => guest_tools::chmod_chown(ctx, mounts, basename(path), args, pct_argv),
        "mv" => guest_tools::mv(ctx, mounts, args, pct_argv),
        "locale-gen" => locale_gen(ctx, mounts, args, pct_argv),
        "update-locale" => update_locale(ctx, mounts, args, pct_argv),
        "dpkg-query" => apt::dpkg_query(ctx, mounts, args, pct_argv),
        "apt-get" => apt::apt_get(ctx, mounts, args, pct_argv),
        "sh" => match args {
            [flag, script, _name, path]
                if flag == "-c" && script == phoenix_core::file::STAGE_SCRIPT =>
            {
                guest_tools::stage(ctx, mounts, path, stdin)
            }
            _ => shell(ctx, id, mounts, args, pct_argv),
        },
        "dash" | "bash" => shell(ctx, id, mounts, args, pct_argv),
        _ => GuestOutput::not_emulated(pct_argv),
    }
}

/// Operands after options: `known` lists the accepted single-letter flags; `None` for any other
/// option (the command is then not emulated).
fn operands<'w>(args: &'w [String], known: &str) -> Option<(BTreeSet<char>, Vec<&'w str>)> {
    let mut flags = BTreeSet::new();
    let mut operands = Vec::new();
    let mut options_done = false;
    for arg in args {
        if !options_done && arg == "--" {
            options_done = true;
        } else if !options_done && arg.len() > 1 && arg.starts_with('-') {
            for letter in arg[1..].chars() {
                if !known.contains(letter) {
                    return None;
                }
                flags.insert(letter);
            }
        } else {
            operands.push(arg.as_str());
        }
    }
    Some((flags, operands))
}

/// `cat [FILE...]`: each file's content as it is.
fn cat(stdout: &mut String, _file: &str, content: &str) {
    stdout.push_str(content);
}

/// Runs a GNU tool that reads files (`cat`, `sha256sum`) over its operands, or standard input
/// when there are none (`-` is standard input too): `each` gets stdout, the name and the content
/// of every file read. A directory or a missing file is reported on stderr, as `TOOL: FILE: ...`,
/// and the tool goes on to the next operand; the status is then 1.
fn each_file(
    ctx: &Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    stdin: Option<&str>,
    pct_argv: &[String],
    tool: &str,
    each: fn(&mut String, &str, &str),
) -> GuestOutput {
    let Some((_, mut files)) = operands(args, "") else {
        return GuestOutput::not_emulated(pct_argv);
    };
    if files.is_empty() {
        files.push("-");
    }
    let mut out = GuestOutput::default();
    for file in files {
        if file == "-" {
            each(&mut out.stdout, file, stdin.unwrap_or_default());
            continue;
        }
        match ctx.guest_node(mounts, file) {
            Some(Node::File) => {
                if let Some(found) = ctx.guest_read(mounts, file) {
                    each(&mut out.stdout, file, &found.content);
                }
            }
            Some(Node::Dir) => out
                .stderr
                .push_str(&format!("{tool}: {file}: Is a directory\n")),
            None => out
                .stderr
                .push_str(&format!("{tool}: {file}: No such file or directory\n")),
        }
    }
    out.status = i32::from(!out.stderr.is_empty());
    out
}

/// `test -e|-f|-d|-s|-x PATH`: exit 0 or 1, no output.
fn test(ctx: &Ctx<'_, '_>, mounts: &Mounts, args: &[String], pct_argv: &[String]) -> GuestOutput {
    let [op, path] = args else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let node = ctx.guest_node(mounts, path);
    let file = || ctx.guest_read(mounts, path);
    let holds = match op.as_str() {
        "-e" => node.is_some(),
        "-f" => node == Some(Node::File),
        "-d" => node == Some(Node::Dir),
        "-s" => node == Some(Node::File) && file().is_some_and(|f| !f.content.is_empty()),
        "-x" => {
            node == Some(Node::Dir)
                || (node == Some(Node::File) && file().is_some_and(|f| f.mode & 0o111 != 0))
        }
        _ => return GuestOutput::not_emulated(pct_argv),
    };
    GuestOutput {
        status: i32::from(!holds),
        ..GuestOutput::default()
    }
}

/// The parent directory of a path.
fn parent(path: &str) -> String {
    let path = super::fs::normalize(path);
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(at) => path[..at].to_owned(),
    }
}

/// `mkdir [-p] DIR...`.
fn mkdir(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let Some((flags, dirs)) = operands(args, "p") else {
        return GuestOutput::not_emulated(pct_argv);
    };
    if dirs.is_empty() {
        return GuestOutput::not_emulated(pct_argv);
    }
    let parents = flags.contains(&'p');
    let mut out = GuestOutput::default();
    for dir in dirs {
        let error = |reason: &str| format!("mkdir: cannot create directory '{dir}': {reason}\n");
        let normalized = super::fs::normalize(dir);
        if parents {
            let mut path = String::new();
            let mut failed = false;
            for part in normalized.split('/').filter(|part| !part.is_empty()) {
                path.push('/');
                path.push_str(part);
                match ctx.guest_node(mounts, &path) {
                    Some(Node::Dir) => {}
                    Some(Node::File) => {
                        out.stderr.push_str(&error("Not a directory"));
                        failed = true;
                        break;
                    }
                    None => ctx.guest_mkdir(mounts, &path),
                }
            }
            if failed {
                continue;
            }
        } else {
            match (
                ctx.guest_node(mounts, dir),
                ctx.guest_node(mounts, &parent(dir)),
            ) {
                (Some(_), _) => out.stderr.push_str(&error("File exists")),
                (None, Some(Node::Dir)) => ctx.guest_mkdir(mounts, dir),
                (None, Some(Node::File)) => out.stderr.push_str(&error("Not a directory")),
                (None, None) => out.stderr.push_str(&error("No such file or directory")),
            }
        }
    }
    out.status = i32::from(!out.stderr.is_empty());
    out
}

/// `rm [-f] FILE...` (directories are refused: `-r` is not emulated).
fn rm(ctx: &mut Ctx<'_, '_>, mounts: &Mounts, args: &[String], pct_argv: &[String]) -> GuestOutput {
    let Some((flags, files)) = operands(args, "f") else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let force = flags.contains(&'f');
    if files.is_empty() && !force {
        return GuestOutput::not_emulated(pct_argv);
    }
    let mut out = GuestOutput::default();
    for file in files {
        match ctx.guest_node(mounts, file) {
            Some(Node::File) => {
                ctx.guest_remove(mounts, file);
            }
            Some(Node::Dir) => out
                .stderr
                .push_str(&format!("rm: cannot remove '{file}': Is a directory\n")),
            None if !force => out.stderr.push_str(&format!(
                "rm: cannot remove '{file}': No such file or directory\n"
            )),
            None => {}
        }
    }
    out.status = i32::from(!out.stderr.is_empty());
    out
}

/// `sha256sum [FILE...]`: `<hex>  <name>` per file (`-` for standard input).
fn sha256sum(stdout: &mut String, file: &str, content: &str) {
    stdout.push_str(&format!("{}  {file}\n", sha256_hex(content)));
}

/// `systemctl is-active [--quiet] UNIT...`: one state per unit; status 0 when at least one is
/// active, else 3 (`fixtures/host/systemctl-is-active.txt`: an unknown unit is `inactive`).
fn systemctl(
    ctx: &Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let Some((verb, rest)) = args.split_first() else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let quiet = rest.iter().any(|arg| arg == "--quiet" || arg == "-q");
    let units: Vec<&String> = rest.iter().filter(|arg| !arg.starts_with('-')).collect();
    if verb != "is-active"
        || units.is_empty()
        || rest
            .iter()
            .any(|arg| arg.starts_with('-') && arg != "--quiet" && arg != "-q")
    {
        return GuestOutput::not_emulated(pct_argv);
    }
    let Some(content) = ctx.root_content(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let states: Vec<String> = units
        .iter()
        .map(|unit| service_state(content, unit))
        .collect();
    let any_active = states.iter().any(|state| state == "active");
    GuestOutput {
        status: if any_active { 0 } else { 3 },
        stdout: if quiet {
            String::new()
        } else {
            states.iter().map(|state| format!("{state}\n")).collect()
        },
        ..GuestOutput::default()
    }
}

/// Whether `name` looks like a locale (`en_US.UTF-8`, `de_DE`, `C.UTF-8`).
fn is_locale_name(name: &str) -> bool {
    let base = name.split(['.', '@']).next().unwrap_or_default();
    base == "C"
        || base == "POSIX"
        || (base.len() >= 2
            && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && base.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
}

/// Ubuntu's `locale-gen [LOCALE...]`: adds the named locales to
/// `/var/lib/locales/supported.d/local` and (re)generates them.
fn locale_gen(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    if args
        .iter()
        .any(|arg| arg.starts_with('-') || !is_locale_name(arg))
    {
        return GuestOutput::not_emulated(pct_argv);
    }
    const LOCAL: &str = "/var/lib/locales/supported.d/local";
    let mut local = ctx
        .guest_read(mounts, LOCAL)
        .map(|file| file.content)
        .unwrap_or_default();
    let mut changed_file = false;
    for name in args {
        let charset = name
            .split_once('.')
            .map_or("ISO-8859-1", |(_, charset)| charset);
        let line = format!("{name} {charset}");
        if !local.lines().any(|existing| existing == line) {
            local.push_str(&line);
            local.push('\n');
            changed_file = true;
        }
    }
    if changed_file {
        ctx.guest_mkdir(mounts, "/var/lib/locales");
        ctx.guest_mkdir(mounts, "/var/lib/locales/supported.d");
        ctx.guest_write(
            mounts,
            LOCAL,
            SimFile::new(local.clone(), 0o644, "root:root"),
        );
    }
    let Some(content) = ctx.root_content_mut(mounts) else {
        return GuestOutput::not_emulated(pct_argv);
    };
    let mut generate: Vec<String> = local
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    generate.retain(|name| args.is_empty() || args.contains(name));
    let mut stdout = "Generating locales (this might take a while)...\n".to_owned();
    for name in &generate {
        // A name without a charset is generated in its default one: `en_US.ISO-8859-1`.
        let shown = if name.contains('.') {
            name.clone()
        } else {
            format!("{name}.ISO-8859-1")
        };
        stdout.push_str(&format!("  {shown}... done\n"));
        content.locales.insert(name.clone());
    }
    stdout.push_str("Generation complete.\n");
    GuestOutput::ok(stdout)
}

/// The variables `update-locale` accepts.
fn is_locale_variable(name: &str) -> bool {
    matches!(name, "LANG" | "LANGUAGE" | "LC_ALL") || name.starts_with("LC_")
}

/// `update-locale VAR=VALUE...`: checks that the locales exist, then rewrites
/// `/etc/default/locale`, changing assigned variables in place and appending new ones sorted
/// (the Debian `locales` Perl script). A bare `VAR` removes the variable.
fn update_locale(
    ctx: &mut Ctx<'_, '_>,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    let mut assigned: Vec<(String, Option<String>)> = Vec::new();
    for arg in args {
        let (name, value) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        if !is_locale_variable(name) {
            return GuestOutput::not_emulated(pct_argv);
        }
        assigned.retain(|(found, _)| found != name);
        assigned.push((name.to_owned(), value));
    }
    if assigned.is_empty() {
        return GuestOutput::not_emulated(pct_argv);
    }
    let generated = ctx
        .root_content(mounts)
        .map(|content| content.locales.clone())
        .unwrap_or_default();
    let known = |value: &str| {
        matches!(value, "C" | "POSIX" | "C.UTF-8" | "C.utf8") || generated.contains(value)
    };
    let invalid = assigned.iter().any(|(name, value)| {
        name != "LANGUAGE" && value.as_deref().is_some_and(|value| !known(value))
    });
    if invalid {
        let mut sorted = assigned.clone();
        sorted.sort();
        let settings: Vec<String> = sorted
            .iter()
            .filter_map(|(name, value)| value.as_ref().map(|value| format!("{name}={value}")))
            .collect();
        return GuestOutput::fail(
            1,
            format!(
                "*** update-locale: Error: invalid locale settings:  {}\n",
                settings.join(" ")
            ),
        );
    }
    const FILE: &str = "/etc/default/locale";
    let old = ctx.guest_read(mounts, FILE);
    let mut pending = assigned.clone();
    let mut text = String::new();
    for line in old
        .as_ref()
        .map(|file| file.content.as_str())
        .unwrap_or_default()
        .lines()
    {
        let name = line
            .trim_start()
            .split_once('=')
            .map(|(name, _)| name.to_owned())
            .filter(|name| !name.starts_with('#'));
        match name.and_then(|name| pending.iter().position(|(found, _)| *found == name)) {
            Some(at) => {
                let (name, value) = pending.remove(at);
                if let Some(value) = value {
                    text.push_str(&format!("{name}={value}\n"));
                }
            }
            None => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    pending.sort();
    for (name, value) in pending {
        if let Some(value) = value {
            text.push_str(&format!("{name}={value}\n"));
        }
    }
    let (mode, owner) = old
        .map(|file| (file.mode, file.owner))
        .unwrap_or((0o644, "root:root".to_owned()));
    ctx.guest_mkdir(mounts, "/etc/default");
    ctx.guest_write(mounts, FILE, SimFile::new(text, mode, owner));
    GuestOutput::ok("")
}

/// `sh -c SCRIPT NAME ARG...`: only Phoenix's probe script is emulated.
fn shell(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    mounts: &Mounts,
    args: &[String],
    pct_argv: &[String],
) -> GuestOutput {
    match args {
        [flag, script, _name, requests @ ..] if flag == "-c" && script == PROBE_SCRIPT => {
            let view = GuestView { ctx: &*ctx, mounts };
            GuestOutput::ok(emulate_probe(requests, &view))
        }
        [flag, script, _name, args @ ..]
            if flag == "-c" && script == phoenix_core::probe::PROBE_SCRIPT =>
        {
            super::scope_probe::emulate(ctx, id, mounts, args, pct_argv)
        }
        _ => GuestOutput::not_emulated(pct_argv),
    }
}
