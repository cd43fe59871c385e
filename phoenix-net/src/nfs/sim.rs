//! The `exportfs` emulator (nfs-utils 2.6.2, Debian 12) and the one `unshare` command that
//! checks a staged exports file with it.
//!
//! State: the node's `nfs` namespace holds the export table as `/var/lib/nfs/etab` keeps it
//! (`{"etab": [{"path", "client", "options"}]}`, in the order exportfs wrote it).
//! - `exportfs -ra` reads `/etc/exports` (a missing one reads as empty: Debian's package ships
//!   one), then every `*.exports` file of `/etc/exports.d` in name order, skipping dot files,
//!   with the one reader of the format (`exports_file::parse_exports`) and the one option model
//!   (`options::Flags`), prints exportfs's warnings and errors on stderr, stops reading a file at
//!   its first refused option as exportfs does, rewrites the table and exits 1 after an error.
//! - `exportfs -v` and `exportfs -s` print the table (`fixtures/host/exportfs-v.txt`,
//!   `exportfs-v.empty.txt`, `exportfs-s.txt`) in exportfs's own order: its export list is a
//!   hash table per client type whose first entry of a path goes to the head of the list, which
//!   `list_order` reproduces, so several paths print in the order the real tool prints them.
//! - `exportfs -u CLIENT:PATH` removes one entry (silently, as the real one).
//! - `unshare --mount --net sh -c CHECK_SCRIPT sh STAGED` (the exports file's validate command)
//!   reads the staged file as `/etc/exports.d/phoenix.exports` alone and answers as `exportfs
//!   -ra` would, changing nothing.
//!
//! **Assumptions:** every host name resolves, to itself (exportfs lists a host under the name
//! DNS gives it); the node's file system does not model ZFS mountpoints, so a missing export
//! path (`Failed to stat`) is not reported here: `nfs.path` reports it at plan time, and the
//! live tests run the real tool.

use std::collections::BTreeMap;
use std::time::Duration;

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use serde::{Deserialize, Serialize};

use super::build::CHECK_SCRIPT;
use super::exports_file::{ETC_EXPORTS, EXPORTS_DIR, EXPORTS_FILE, parse_exports};
use super::options::Flags;

/// The emulator; see the module documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExportfsEmulator;

/// The `nfs` namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct NfsState {
    #[serde(default)]
    etab: Vec<EtabEntry>,
}

/// One entry of the export table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EtabEntry {
    path: String,
    client: String,
    options: Vec<String>,
}

impl Emulator for ExportfsEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["exportfs".to_owned(), "unshare".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
        match (argv.first().map(String::as_str), args.as_slice()) {
            (Some("exportfs"), ["-v"]) => SimOutput::ok(show(&load(sys), true)),
            (Some("exportfs"), ["-s"]) => SimOutput::ok(show(&load(sys), false)),
            (Some("exportfs"), [] | ["-v", "-s"] | ["-s", "-v"]) => {
                SimOutput::ok(show(&load(sys), args.contains(&"-v")))
            }
            (Some("exportfs"), ["-ra" | "-ar"] | ["-r", "-a"] | ["-a", "-r"]) => reexport(sys),
            (Some("exportfs"), ["-u", spec]) => unexport(spec, sys),
            (Some("unshare"), ["--mount", "--net", "sh", "-c", script, "sh", staged])
                if *script == CHECK_SCRIPT =>
            {
                check(staged, sys)
            }
            _ => SimOutput::fail(
                1,
                format!("phoenix sim: `{}` is not emulated\n", argv.join(" ")),
            ),
        }
    }

    fn typical_latency(&self, program: &str) -> Option<Duration> {
        // exportfs reads a few small files; the check also sets up two namespaces and mounts.
        match program {
            "exportfs" => Some(Duration::from_millis(15)),
            "unshare" => Some(Duration::from_millis(40)),
            _ => None,
        }
    }
}

fn load(sys: &mut SimSys<'_>) -> Vec<EtabEntry> {
    sys.load::<NfsState>("nfs").etab
}

/// exportfs's client types (`MCL_FQDN`, `MCL_SUBNETWORK`, `MCL_WILDCARD`, `MCL_NETGROUP`,
/// `MCL_ANONYMOUS`, `MCL_GSS`), in the order it lists them: `client_gettype`.
fn client_type(client: &str) -> usize {
    if client.is_empty() || client == "*" {
        return 4;
    }
    if client.starts_with("gss/") {
        return 5;
    }
    if client.starts_with('@') {
        return 3;
    }
    for c in client.chars() {
        if matches!(c, '*' | '?' | '[') {
            return 2;
        }
        if c == '/' {
            return 1;
        }
    }
    0
}

/// nfs-utils' `export_hash`: the sum of each byte times its index, modulo 1021.
fn export_hash(path: &str) -> usize {
    let sum = path.bytes().enumerate().fold(0u32, |sum, (i, b)| {
        sum.wrapping_add(u32::from(b).wrapping_mul(u32::try_from(i).unwrap_or(u32::MAX)))
    });
    usize::try_from(sum % 1021).unwrap_or(0)
}

/// The order exportfs iterates its export list in after adding `entries` in order
/// (`export_add`): per client type, the first entry of a hash bucket goes to the head of the
/// type's list, a later one right after the bucket's last.
fn list_order(entries: &[EtabEntry]) -> Vec<usize> {
    let mut lists: Vec<Vec<usize>> = vec![Vec::new(); 6];
    let mut last_of: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let kind = client_type(&entry.client);
        let list = &mut lists[kind];
        let bucket = (kind, export_hash(&entry.path));
        match last_of.get(&bucket) {
            None => list.insert(0, index),
            Some(last) => {
                let at = list
                    .iter()
                    .position(|i| i == last)
                    .map_or(list.len(), |p| p + 1);
                list.insert(at, index);
            }
        }
        last_of.insert(bucket, index);
    }
    lists.into_iter().flatten().collect()
}

/// `exportfs -v` (`verbose`) or `exportfs -s`: `dump`.
fn show(etab: &[EtabEntry], verbose: bool) -> String {
    let mut out = String::new();
    for index in list_order(etab) {
        let entry = &etab[index];
        let anonymous = client_type(&entry.client) == 4;
        let options = Flags::from_options(entry.options.iter().map(String::as_str))
            .unwrap_or_default()
            .verbose(true);
        if verbose {
            let host = if anonymous { "<world>" } else { &entry.client };
            if entry.path.len() > 14 {
                out.push_str(&format!("{}\n\t\t{host}", entry.path));
            } else {
                out.push_str(&format!("{:<14}\t{host}", entry.path));
            }
        } else {
            let host = if anonymous { "*" } else { &entry.client };
            out.push_str(&format!("{}  {host}", entry.path));
        }
        out.push_str(&format!("({options})\n"));
    }
    out
}

/// Reads exports files as `exportfs -ra` does: the entries (first of each client and path),
/// what it prints, and whether there was an error.
fn read_files(files: &[(String, String)]) -> (Vec<EtabEntry>, String, bool) {
    let mut entries: Vec<EtabEntry> = Vec::new();
    let mut messages = String::new();
    let mut failed = false;
    for (name, text) in files {
        let (parsed, syntax) = parse_exports(text);
        for entry in parsed {
            let flags = Flags::from_options(entry.options.iter().map(String::as_str));
            if let Err(bad) = flags {
                // `unknown keyword` is `FILE:LINE: `, `bad fsid` and the like `FILE: LINE: `.
                let line = entry.line;
                if bad.0.starts_with("unknown flavor") {
                    messages.push_str(&format!("exportfs: {}\n\n", bad.0));
                } else if bad.0.starts_with("bad ") {
                    messages.push_str(&format!("exportfs: {name}: {line}: {}\n\n", bad.0));
                } else {
                    messages.push_str(&format!("exportfs: {name}:{line}: {}\n\n", bad.0));
                }
                failed = true;
                break;
            }
            if !entry.has_options {
                messages.push_str(&format!(
                    "exportfs: No options for {} {}: suggest {}(sync) to avoid warning\n",
                    entry.path, entry.client, entry.client
                ));
            }
            let subtree = entry
                .options
                .iter()
                .any(|o| o == "subtree_check" || o == "no_subtree_check");
            if !subtree {
                messages.push_str(&format!(
                    "exportfs: {name} [{}]: Neither 'subtree_check' or 'no_subtree_check' specified for export \"{}:{}\".\n  Assuming default behaviour ('no_subtree_check').\n  NOTE: this default has changed since nfs-utils version 1.0.x\n\n",
                    entry.line, entry.client, entry.path
                ));
            }
            let duplicate = entries
                .iter()
                .any(|e| e.path == entry.path && e.client == entry.client);
            if !duplicate {
                entries.push(EtabEntry {
                    path: entry.path,
                    client: entry.client,
                    options: entry.options,
                });
            }
        }
        if let Some(error) = syntax {
            messages.push_str(&format!(
                "exportfs: {name}:{}: {}\n",
                error.line, error.message
            ));
            failed = true;
        }
    }
    // The table is written in the export list's order.
    let ordered = list_order(&entries)
        .into_iter()
        .map(|i| entries[i].clone())
        .collect();
    (ordered, messages, failed)
}

/// What `exportfs -ra` then `exportfs -v` print for `files` on a node that exported nothing.
#[cfg(test)]
pub(crate) struct Emulated {
    pub(crate) verbose: String,
    pub(crate) messages: String,
    pub(crate) failed: bool,
}

/// See [`Emulated`].
#[cfg(test)]
pub(crate) fn emulate(files: &[(String, String)]) -> Emulated {
    let (etab, messages, failed) = read_files(files);
    Emulated {
        verbose: show(&etab, true),
        messages,
        failed,
    }
}

/// The exports files exportfs reads on the node, in order.
fn node_files(sys: &mut SimSys<'_>) -> Vec<(String, String)> {
    let mut files = Vec::new();
    if let Some(file) = sys.read(ETC_EXPORTS) {
        files.push((ETC_EXPORTS.to_owned(), file.content.clone()));
    }
    let dir = format!("{EXPORTS_DIR}/");
    for path in sys.list(EXPORTS_DIR) {
        let Some(name) = path.strip_prefix(&dir) else {
            continue;
        };
        if name.contains('/')
            || name.starts_with('.')
            || !name.ends_with(".exports")
            || name == ".exports"
        {
            continue;
        }
        if let Some(file) = sys.read(&path) {
            files.push((path.clone(), file.content.clone()));
        }
    }
    files
}

/// `exportfs -ra`.
fn reexport(sys: &mut SimSys<'_>) -> SimOutput {
    let files = node_files(sys);
    let (etab, messages, failed) = read_files(&files);
    let mut state: NfsState = sys.load("nfs");
    let mutated = state.etab != etab;
    state.etab = etab;
    if mutated {
        sys.store("nfs", &state);
    }
    SimOutput::new(i32::from(failed), "", messages, mutated)
}

/// `exportfs -u CLIENT:PATH`.
fn unexport(spec: &str, sys: &mut SimSys<'_>) -> SimOutput {
    let Some((client, path)) = spec.rsplit_once(":/").map(|(c, p)| (c, format!("/{p}"))) else {
        return SimOutput::fail(1, format!("exportfs: Invalid unexport syntax: {spec}\n"));
    };
    let mut state: NfsState = sys.load("nfs");
    let before = state.etab.len();
    state
        .etab
        .retain(|e| !(e.path == path && e.client == client));
    if state.etab.len() == before {
        return SimOutput::fail(
            1,
            format!("exportfs: Could not find '{client}:{path}' to unexport.\n"),
        );
    }
    sys.store("nfs", &state);
    SimOutput::ok_mutated("")
}

/// The validate command: the staged file read alone, as the live exports file.
fn check(staged: &str, sys: &mut SimSys<'_>) -> SimOutput {
    let Some(file) = sys.read(staged) else {
        return SimOutput::fail(
            1,
            format!("cp: cannot stat '{staged}': No such file or directory\n"),
        );
    };
    let (_, messages, failed) = read_files(&[(EXPORTS_FILE.to_owned(), file.content.clone())]);
    SimOutput::new(i32::from(failed), "", messages, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, client: &str, options: &str) -> EtabEntry {
        EtabEntry {
            path: path.into(),
            client: client.into(),
            options: options.split(',').map(str::to_owned).collect(),
        }
    }

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/host")
            .join(name);
        phoenix_core::sim::read_fixture(&path).expect("the sample exists")
    }

    /// The exports line the sample host had (`capture-testbed.sh`).
    const SAMPLE: &str = "/quickOS/shared-prod-data 127.0.0.1(rw,async,no_subtree_check,no_root_squash) 10.0.0.0/24(ro,sync,no_subtree_check)\n";

    #[test]
    fn issue_9_the_emulator_prints_the_real_samples() {
        let (etab, messages, failed) = read_files(&[(ETC_EXPORTS.to_owned(), SAMPLE.to_owned())]);
        assert_eq!((messages.as_str(), failed), ("", false));
        assert_eq!(show(&etab, true), fixture("exportfs-v.txt"));
        assert_eq!(show(&etab, false), fixture("exportfs-s.txt"));
        assert_eq!(
            show(&[], true),
            fixture("exportfs-v.empty.txt").trim_start_matches('\n')
        );
        assert_eq!(
            fixture("exportfs-v.empty.txt"),
            "\n",
            "the capture adds one newline"
        );
    }

    #[test]
    fn issue_9_paths_print_in_exportfs_list_order() {
        let etab = [
            entry("/a", "10.0.0.0/24", "rw"),
            entry("/b", "10.0.0.0/24", "rw"),
            entry("/a", "10.0.0.1", "rw"),
            entry("/a", "*", "ro"),
            entry("/b", "10.1.0.0/16", "rw"),
        ];
        let order: Vec<String> = list_order(&etab)
            .into_iter()
            .map(|i| format!("{} {}", etab[i].path, etab[i].client))
            .collect();
        assert_eq!(
            order,
            [
                "/a 10.0.0.1",
                "/b 10.0.0.0/24",
                "/b 10.1.0.0/16",
                "/a 10.0.0.0/24",
                "/a *"
            ]
        );
    }

    #[test]
    fn issue_9_a_refused_option_stops_the_file_with_exportfs_message() {
        let text = "/srv/a 10.0.0.1(rw,no_subtree_check)\n/srv/b 127.0.0.1(rw,badopt)\n/srv/c *(rw,no_subtree_check)\n";
        let (etab, messages, failed) = read_files(&[(EXPORTS_FILE.to_owned(), text.to_owned())]);
        assert!(failed);
        assert_eq!(etab.len(), 1);
        assert_eq!(
            messages,
            "exportfs: /etc/exports.d/phoenix.exports:2: unknown keyword \"badopt\"\n\n"
        );
        let (_, messages, _) = read_files(&[(
            EXPORTS_FILE.to_owned(),
            "/srv/a 1.2.3.4(rw,sync,fsid=x)\n".to_owned(),
        )]);
        assert_eq!(
            messages,
            "exportfs: /etc/exports.d/phoenix.exports: 1: bad fsid \"fsid=x\"\n\n"
        );
    }
}
