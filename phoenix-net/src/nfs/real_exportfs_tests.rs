//! The real exportfs on generated exports files: the validate command Phoenix runs accepts what
//! the provider writes and refuses a bad option with the message the emulator prints, and what
//! the real `exportfs -v` then lists is what the emulator lists.
//!
//! They run the real tools (`unshare`, `mount`, `exportfs` from nfs-kernel-server, which
//! `cargo xtask ci` installs) as root, in private mount and network namespaces, so the host's
//! exports are never touched; a missing tool fails the test.

use phoenix_core::host::Host;
use phoenix_core::{Cmd, LocalHost, Location, Output};

use super::build::{CHECK_SCRIPT, check_argv};
use super::config::{Client, Export, check_client};
use super::exports_file::{EXPORTS_FILE, format_exports};
use super::sim::emulate;

fn run(argv: &[String]) -> Output {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (program, args) = argv.split_first().expect("an argv");
    runtime
        .block_on(LocalHost::new().run(&Cmd::write(program, args.iter().cloned())))
        .expect("the real tools run (nfs-kernel-server, util-linux, mount; as root)")
}

fn export(path: &str, clients: &[&str], options: &[&str]) -> Export {
    Export {
        path: path.to_owned(),
        clients: clients
            .iter()
            .map(|spec| Client {
                spec: (*spec).to_owned(),
                kind: check_client(spec).expect("a valid client"),
            })
            .collect(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        at: Location::new("", ""),
    }
}

/// The validate argv with `%s` replaced, and its script changed by `edit`.
fn check_of(staged: &std::path::Path, edit: impl Fn(&str) -> String) -> Vec<String> {
    check_argv()
        .into_iter()
        .map(|arg| {
            if arg == CHECK_SCRIPT {
                edit(&arg)
            } else {
                arg.replace("%s", &staged.display().to_string())
            }
        })
        .collect()
}

/// Directories to export, and the staged file's place.
struct Scene {
    dir: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        // exportfs reads the live exports.d, which Phoenix creates before its file.
        run(&["mkdir".into(), "-p".into(), "/etc/exports.d".into()]);
        let dir = tempfile::Builder::new()
            .prefix("px")
            .rand_bytes(4)
            .tempdir_in("/tmp")
            .expect("a temp dir");
        for sub in ["a", "long-export-directory"] {
            std::fs::create_dir(dir.path().join(sub)).expect("a directory to export");
        }
        Scene { dir }
    }

    fn path(&self, sub: &str) -> String {
        self.dir.path().join(sub).display().to_string()
    }

    fn staged(&self, content: &str) -> std::path::PathBuf {
        let staged = self.dir.path().join(".phoenix.exports.phoenix-new");
        std::fs::write(&staged, content).expect("stage the file");
        staged
    }
}

/// Without the kernel's nfsd, exportfs does not list `secure` or `insecure` among the
/// per-flavor options (`/proc/fs/nfsd/export_features`); a host serving NFS does, and so does
/// the emulator (`fixtures/host/exportfs-v.txt` was captured on one).
fn as_this_kernel_prints(emulated: &str) -> String {
    if std::path::Path::new("/proc/fs/nfsd/export_features").exists() {
        emulated.to_owned()
    } else {
        emulated.replace(",secure,", ",").replace(",insecure,", ",")
    }
}

#[test]
fn issue_9_the_real_exportfs_accepts_the_generated_file_and_lists_what_the_emulator_lists() {
    let scene = Scene::new();
    let (short, long) = (scene.path("a"), scene.path("long-export-directory"));
    let content = format_exports(&[
        export(
            &long,
            &["10.0.0.0/24", "127.0.0.1", "*.lan"],
            &["rw", "sync", "no_subtree_check", "no_root_squash"],
        ),
        export(
            &short,
            &["*", "10.1.0.0/16", "@trusted"],
            &[
                "ro",
                "async",
                "subtree_check",
                "insecure",
                "crossmnt",
                "fsid=root",
                "anonuid=1000",
                "sec=sys:krb5",
                "mp",
                "nohide",
            ],
        ),
    ]);
    let staged = scene.staged(&content);
    let validated = run(&check_of(&staged, str::to_owned));
    assert_eq!(
        (
            validated.status,
            validated.stderr.as_str(),
            validated.stdout.as_str()
        ),
        (Some(0), "", ""),
        "the validate command accepts the generated file"
    );
    let listed = run(&check_of(&staged, |script| {
        script.replace("exec exportfs -ra", "exportfs -ra; exportfs -v")
    }));
    assert_eq!(listed.status, Some(0), "{}", listed.stderr);
    let emulated = emulate(&[(EXPORTS_FILE.to_owned(), content)]);
    assert_eq!(emulated.messages, "");
    assert_eq!(listed.stdout, as_this_kernel_prints(&emulated.verbose));
}

#[test]
fn issue_9_the_real_exportfs_refuses_a_bad_option_as_the_emulator_does() {
    let scene = Scene::new();
    let content = format!(
        "{} 10.0.0.0/24(rw,no_subtree_check)\n{} 127.0.0.1(rw,badopt)\n",
        scene.path("a"),
        scene.path("long-export-directory")
    );
    let staged = scene.staged(&content);
    let refused = run(&check_of(&staged, str::to_owned));
    let emulated = emulate(&[(EXPORTS_FILE.to_owned(), content)]);
    assert_eq!(refused.status, Some(1));
    assert_eq!(refused.stderr, emulated.messages);
    assert!(emulated.failed);
    assert_eq!(
        emulated.messages,
        "exportfs: /etc/exports.d/phoenix.exports:2: unknown keyword \"badopt\"\n\n"
    );
}
