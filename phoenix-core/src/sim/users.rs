//! The account tools on a simulated node: `getent passwd|group`, `passwd -S`, `groupadd`,
//! `useradd`, `usermod` and `chpasswd -e`, as shadow-utils 4.13 and glibc print them on Debian 12
//! (captured there: messages, exit statuses, id allocation, a new home `0755 NAME:NAME`).
//!
//! The database is the node's own `/etc/passwd`, `/etc/group` and `/etc/shadow` (root:shadow
//! `0640`), written with core's one writer of those formats (`account`); a node that has none
//! starts from Debian's `base-passwd` master files (`base-passwd.txt`, `base-group.txt`). Not
//! emulated: `/etc/skel` copies, `-g`, `-r` for users, and other options, which fail saying so.
//!
//! The same emulator answers these programs inside a simulated guest (a container, through
//! `Emulator::run_in_guest`): there the database is the guest's own `/etc/passwd`, `/etc/group`
//! and `/etc/shadow`, and a home `useradd --create-home` makes is the guest's directory.

use std::collections::BTreeMap;

use super::emulator::{Emulator, SimOutput, SimSys};
use super::guest::GuestSys;
use super::path::normalize;
use super::state::SimFile;
use super::system::{Dir, Dirs};
use crate::account::{
    GroupEntry, PasswdEntry, PasswordStatus, format_group_line, format_passwd_line,
    parse_group_line, parse_lines, parse_passwd_line,
};

const BASE_PASSWD: &str = include_str!("base-passwd.txt");
const BASE_GROUP: &str = include_str!("base-group.txt");

/// The day of the last password change a simulated account gets (2025-12-05; the node has no
/// clock).
const LAST_CHANGE_DAY: u32 = 20427;
const LAST_CHANGE_DATE: &str = "2025-12-05";

/// Debian 12's `/etc/login.defs`: the ranges ids are allocated from.
const ID_MIN: u32 = 1000;
const ID_MAX: u32 = 60000;
const SYS_ID_MAX: u32 = 999;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Accounts;

impl Emulator for Accounts {
    fn programs(&self) -> Vec<String> {
        [
            "getent", "passwd", "groupadd", "useradd", "usermod", "chpasswd",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn run(&self, argv: &[String], stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        run(argv, stdin, &mut NodeFiles(sys))
    }

    fn guest_programs(&self) -> Vec<String> {
        self.programs()
    }

    fn run_in_guest(
        &self,
        argv: &[String],
        stdin: Option<&str>,
        guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        Some(run(argv, stdin, &mut GuestFiles(guest)))
    }
}

/// Where the account database and homes live: the node's files or a guest's.
trait Files {
    fn read(&self, path: &str) -> Option<String>;
    fn write(&mut self, path: &str, file: SimFile);
    fn is_dir(&mut self, path: &str) -> bool;
    /// Makes the home `path` (`0755 OWNER`) and its missing parents.
    fn make_home(&mut self, path: &str, owner: &str);
}

/// The node's files.
struct NodeFiles<'s, 'a>(&'s mut SimSys<'a>);

impl Files for NodeFiles<'_, '_> {
    fn read(&self, path: &str) -> Option<String> {
        self.0.read(path).map(|f| f.content.clone())
    }

    fn write(&mut self, path: &str, file: SimFile) {
        self.0.write(path, file);
    }

    fn is_dir(&mut self, path: &str) -> bool {
        super::system::is_directory(path, self.0)
    }

    fn make_home(&mut self, path: &str, owner: &str) {
        super::system::record_directories(path, self.0);
        let mut dirs: Dirs = self.0.load("dirs");
        dirs.dirs.insert(
            normalize(path),
            Dir {
                mode: 0o755,
                owner: owner.to_owned(),
            },
        );
        self.0.store("dirs", &dirs);
    }
}

/// A guest's files.
///
/// **Assumption:** a guest keeps no owner or mode of a directory (`GuestSys` has none), so a home
/// made inside a guest is a plain directory.
struct GuestFiles<'s, 'g>(&'s mut dyn GuestSys<'g>);

impl Files for GuestFiles<'_, '_> {
    fn read(&self, path: &str) -> Option<String> {
        self.0.read(path).map(|f| f.content)
    }

    fn write(&mut self, path: &str, file: SimFile) {
        self.0.write(path, file);
    }

    fn is_dir(&mut self, path: &str) -> bool {
        self.0.is_dir(path)
    }

    fn make_home(&mut self, path: &str, _owner: &str) {
        self.0.mkdir(path);
    }
}

/// Runs one account tool against `files`.
fn run(argv: &[String], stdin: Option<&str>, files: &mut dyn Files) -> SimOutput {
    let Some((program, args)) = argv.split_first() else {
        return SimOutput::fail(127, "phoenix sim: empty argv\n");
    };
    let mut db = match Db::load(files) {
        Ok(db) => db,
        Err(message) => return SimOutput::fail(1, format!("phoenix sim: {message}\n")),
    };
    let before = db.clone();
    let mut out = match program.as_str() {
        "getent" => getent(args, &db),
        "passwd" => passwd_status(args, &db),
        "groupadd" => groupadd(args, &mut db),
        "useradd" => useradd(args, &mut db, files),
        "usermod" => usermod(args, &mut db),
        "chpasswd" => chpasswd(args, stdin, &mut db),
        _ => SimOutput::fail(127, format!("sh: 1: {program}: not found\n")),
    };
    if out.status == 0 && db != before {
        db.store(files);
        out.mutated = true;
    }
    out
}

/// The node's account database.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Db {
    users: Vec<PasswdEntry>,
    groups: Vec<GroupEntry>,
    /// Login name → shadow password field.
    shadow: BTreeMap<String, String>,
}

impl Db {
    fn load(files: &dyn Files) -> Result<Db, String> {
        let text = |path: &str, base: &'static str| {
            files.read(path).unwrap_or_else(|| {
                base.lines()
                    .filter(|l| !l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        };
        let users = parse_lines(&text("/etc/passwd", BASE_PASSWD), parse_passwd_line)
            .map_err(|e| format!("/etc/passwd: {e}"))?;
        let groups = parse_lines(&text("/etc/group", BASE_GROUP), parse_group_line)
            .map_err(|e| format!("/etc/group: {e}"))?;
        let shadow = match files.read("/etc/shadow") {
            Some(content) => content
                .lines()
                .filter_map(|l| {
                    let mut fields = l.split(':');
                    Some((fields.next()?.to_owned(), fields.next()?.to_owned()))
                })
                .collect(),
            None => users
                .iter()
                .map(|u| (u.name.clone(), "*".to_owned()))
                .collect(),
        };
        Ok(Db {
            users,
            groups,
            shadow,
        })
    }

    fn store(&self, files: &mut dyn Files) {
        let lines = |lines: Vec<String>| lines.into_iter().map(|l| l + "\n").collect::<String>();
        let passwd = lines(self.users.iter().map(format_passwd_line).collect());
        let group = lines(self.groups.iter().map(format_group_line).collect());
        let shadow = lines(
            self.users
                .iter()
                .map(|u| {
                    let field = self.shadow.get(&u.name).map_or("*", String::as_str);
                    format!("{}:{field}:{LAST_CHANGE_DAY}:0:99999:7:::", u.name)
                })
                .collect(),
        );
        files.write("/etc/passwd", SimFile::new(passwd, 0o644, "root:root"));
        files.write("/etc/group", SimFile::new(group, 0o644, "root:root"));
        files.write("/etc/shadow", SimFile::new(shadow, 0o640, "root:shadow"));
    }

    fn user(&self, name: &str) -> Option<&PasswdEntry> {
        self.users.iter().find(|u| u.name == name)
    }

    fn group(&self, name: &str) -> Option<&GroupEntry> {
        self.groups.iter().find(|g| g.name == name)
    }

    fn group_mut(&mut self, name: &str) -> Option<&mut GroupEntry> {
        self.groups.iter_mut().find(|g| g.name == name)
    }

    /// The next id as shadow-utils allocates it: for a system id the highest free one at most
    /// 999, otherwise one above the highest used from 1000 (or 1000).
    fn next_id(used: &[u32], system: bool) -> u32 {
        if system {
            return (1..=SYS_ID_MAX)
                .rev()
                .find(|id| !used.contains(id))
                .unwrap_or(SYS_ID_MAX);
        }
        used.iter()
            .copied()
            .filter(|id| (ID_MIN..ID_MAX).contains(id))
            .max()
            .map_or(ID_MIN, |max| max + 1)
    }

    fn gids(&self) -> Vec<u32> {
        self.groups.iter().map(|g| g.gid).collect()
    }

    fn uids(&self) -> Vec<u32> {
        self.users.iter().map(|u| u.uid).collect()
    }
}

/// `getent passwd|group [KEY...]`: the entries by name or number, all without keys; exit 2 when
/// a key is not found (the found ones are still printed).
fn getent(args: &[String], db: &Db) -> SimOutput {
    let Some((database, keys)) = args.split_first() else {
        return SimOutput::fail(1, "phoenix sim: `getent` needs a database\n");
    };
    let lines: Vec<(String, u32, String)> = match database.as_str() {
        "passwd" => db
            .users
            .iter()
            .map(|u| (u.name.clone(), u.uid, format_passwd_line(u)))
            .collect(),
        "group" => db
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.gid, format_group_line(g)))
            .collect(),
        other => {
            return SimOutput::fail(
                1,
                format!("phoenix sim: `getent {other}` is not emulated\n"),
            );
        }
    };
    if keys.is_empty() {
        return SimOutput::ok(
            lines
                .iter()
                .map(|(_, _, l)| format!("{l}\n"))
                .collect::<String>(),
        );
    }
    let mut out = String::new();
    let mut status = 0;
    for key in keys {
        let found = lines
            .iter()
            .find(|(name, id, _)| name == key || key.parse::<u32>() == Ok(*id));
        match found {
            Some((_, _, line)) => out.push_str(&format!("{line}\n")),
            None => status = 2,
        }
    }
    SimOutput::new(status, out, "", false)
}

/// `passwd -S NAME`: `NAME STATUS DATE 0 99999 7 -1`, the status from the shadow field.
fn passwd_status(args: &[String], db: &Db) -> SimOutput {
    let [flag, name] = args else {
        return SimOutput::fail(1, "phoenix sim: only `passwd -S NAME` is emulated\n");
    };
    if flag != "-S" {
        return SimOutput::fail(1, "phoenix sim: only `passwd -S NAME` is emulated\n");
    }
    if db.user(name).is_none() {
        return SimOutput::fail(1, format!("passwd: user '{name}' does not exist\n"));
    }
    let status = PasswordStatus::of_shadow_field(db.shadow.get(name).map_or("", String::as_str));
    SimOutput::ok(format!(
        "{name} {} {LAST_CHANGE_DATE} 0 99999 7 -1\n",
        status.field()
    ))
}

/// The options of a shadow-utils command: flags without a value and options with one; the last
/// argument is the name. Unknown options fail, saying they are not emulated.
struct Options<'a> {
    flags: Vec<&'a str>,
    values: BTreeMap<&'a str, &'a str>,
    name: &'a str,
}

fn options<'a>(
    program: &str,
    args: &'a [String],
    flags: &[&str],
    valued: &[&str],
) -> Result<Options<'a>, SimOutput> {
    let not_emulated = |what: &str| {
        SimOutput::fail(
            2,
            format!("phoenix sim: `{program} {what}` is not emulated\n"),
        )
    };
    let Some((name, rest)) = args.split_last() else {
        return Err(not_emulated(""));
    };
    let mut parsed = Options {
        flags: Vec::new(),
        values: BTreeMap::new(),
        name,
    };
    let mut iter = rest.iter();
    while let Some(arg) = iter.next() {
        if flags.contains(&arg.as_str()) {
            parsed.flags.push(arg);
        } else if valued.contains(&arg.as_str()) {
            let value = iter.next().ok_or_else(|| not_emulated(arg))?;
            parsed.values.insert(arg, value);
        } else {
            return Err(not_emulated(arg));
        }
    }
    Ok(parsed)
}

/// `groupadd [--system] [--force] [--gid N] NAME` (`--force`: an existing group is success).
fn groupadd(args: &[String], db: &mut Db) -> SimOutput {
    let opts = match options("groupadd", args, &["--system", "--force"], &["--gid"]) {
        Ok(opts) => opts,
        Err(out) => return out,
    };
    let name = opts.name;
    if db.group(name).is_some() && opts.flags.contains(&"--force") {
        return SimOutput::ok("");
    }
    if db.group(name).is_some() {
        return SimOutput::fail(9, format!("groupadd: group '{name}' already exists\n"));
    }
    let gid = match opts.values.get("--gid") {
        Some(gid) => match gid.parse::<u32>() {
            Ok(gid) if db.gids().contains(&gid) => {
                return SimOutput::fail(4, format!("groupadd: GID '{gid}' already exists\n"));
            }
            Ok(gid) => gid,
            Err(_) => return SimOutput::fail(3, format!("groupadd: invalid group ID '{gid}'\n")),
        },
        None => Db::next_id(&db.gids(), opts.flags.contains(&"--system")),
    };
    db.groups.push(GroupEntry {
        name: name.to_owned(),
        gid,
        members: Vec::new(),
    });
    SimOutput::ok("")
}

/// The groups of a `--groups a,b` value, or the first that does not exist.
fn group_list<'a>(list: &'a str, db: &Db, program: &str) -> Result<Vec<&'a str>, SimOutput> {
    let groups: Vec<&str> = list.split(',').filter(|g| !g.is_empty()).collect();
    match groups.iter().find(|g| db.group(g).is_none()) {
        Some(missing) => Err(SimOutput::fail(
            6,
            format!("{program}: group '{missing}' does not exist\n"),
        )),
        None => Ok(groups),
    }
}

/// `useradd [--uid N] [--home-dir H] [--create-home] [--shell S] [--groups a,b] NAME`.
fn useradd(args: &[String], db: &mut Db, files: &mut dyn Files) -> SimOutput {
    let opts = match options(
        "useradd",
        args,
        &["--create-home", "--no-create-home"],
        &["--uid", "--home-dir", "--shell", "--groups"],
    ) {
        Ok(opts) => opts,
        Err(out) => return out,
    };
    let name = opts.name;
    if db.user(name).is_some() {
        return SimOutput::fail(9, format!("useradd: user '{name}' already exists\n"));
    }
    if db.group(name).is_some() {
        return SimOutput::fail(
            9,
            format!(
                "useradd: group {name} exists - if you want to add this user to that group, use -g.\n"
            ),
        );
    }
    let groups = match opts.values.get("--groups") {
        Some(list) => match group_list(list, db, "useradd") {
            Ok(groups) => groups,
            Err(out) => return out,
        },
        None => Vec::new(),
    };
    let uid = match opts.values.get("--uid").map(|u| u.parse::<u32>()) {
        Some(Ok(uid)) if db.uids().contains(&uid) => {
            return SimOutput::fail(4, format!("useradd: UID {uid} is not unique\n"));
        }
        Some(Ok(uid)) => uid,
        Some(Err(_)) => return SimOutput::fail(3, "useradd: invalid user ID\n"),
        None => Db::next_id(&db.uids(), false),
    };
    // USERGROUPS_ENAB: a group of the same name, with the uid as gid when that is free.
    let gid = if db.gids().contains(&uid) {
        Db::next_id(&db.gids(), false)
    } else {
        uid
    };
    let home = opts
        .values
        .get("--home-dir")
        .map_or_else(|| format!("/home/{name}"), |h| (*h).to_owned());
    db.groups.push(GroupEntry {
        name: name.to_owned(),
        gid,
        members: Vec::new(),
    });
    for group in groups {
        if let Some(entry) = db.group_mut(group) {
            entry.members.push(name.to_owned());
        }
    }
    db.users.push(PasswdEntry {
        name: name.to_owned(),
        uid,
        gid,
        gecos: String::new(),
        home: home.clone(),
        shell: opts
            .values
            .get("--shell")
            .map_or("/bin/sh", |s| s)
            .to_owned(),
    });
    db.shadow.insert(name.to_owned(), "!".to_owned());
    let mut out = SimOutput::ok("");
    if opts.flags.contains(&"--create-home") {
        if files.is_dir(&home) {
            out = out.with_stderr(format!(
                "useradd: warning: the home directory {home} already exists.\nuseradd: Not copying any file from skel directory into it.\n"
            ));
        } else {
            files.make_home(&home, &format!("{name}:{name}"));
        }
    }
    out
}

/// `usermod [--shell S] [--home H] [--append] [--groups a,b] NAME`.
fn usermod(args: &[String], db: &mut Db) -> SimOutput {
    let opts = match options(
        "usermod",
        args,
        &["--append"],
        &["--shell", "--home", "--groups"],
    ) {
        Ok(opts) => opts,
        Err(out) => return out,
    };
    let name = opts.name;
    if db.user(name).is_none() {
        return SimOutput::fail(6, format!("usermod: user '{name}' does not exist\n"));
    }
    let groups = match opts.values.get("--groups") {
        Some(list) => match group_list(list, db, "usermod") {
            Ok(groups) => Some(groups),
            Err(out) => return out,
        },
        None => None,
    };
    let before = db.clone();
    if let Some(user) = db.users.iter_mut().find(|u| u.name == name) {
        if let Some(shell) = opts.values.get("--shell") {
            (*shell).clone_into(&mut user.shell);
        }
        if let Some(home) = opts.values.get("--home") {
            (*home).clone_into(&mut user.home);
        }
    }
    if let Some(groups) = groups {
        let append = opts.flags.contains(&"--append");
        for entry in &mut db.groups {
            let wanted = groups.contains(&entry.name.as_str());
            let member = entry.members.iter().any(|m| m == name);
            if wanted && !member {
                entry.members.push(name.to_owned());
            } else if !wanted && member && !append {
                entry.members.retain(|m| m != name);
            }
        }
    }
    if *db == before {
        return SimOutput::ok("usermod: no changes\n");
    }
    SimOutput::ok("")
}

/// `chpasswd -e`: `NAME:HASH` lines on standard input; any unknown user cancels every line.
fn chpasswd(args: &[String], stdin: Option<&str>, db: &mut Db) -> SimOutput {
    if args != ["-e"] {
        return SimOutput::fail(1, "phoenix sim: only `chpasswd -e` is emulated\n");
    }
    let mut updates = Vec::new();
    for (i, line) in stdin.unwrap_or_default().lines().enumerate() {
        let Some((name, hash)) = line.split_once(':') else {
            return SimOutput::fail(
                1,
                format!(
                    "chpasswd: line {}: missing new password\nchpasswd: error detected, changes ignored\n",
                    i + 1
                ),
            );
        };
        if db.user(name).is_none() {
            return SimOutput::fail(
                1,
                format!(
                    "chpasswd: line {}: user '{name}' does not exist\nchpasswd: error detected, changes ignored\n",
                    i + 1
                ),
            );
        }
        updates.push((name.to_owned(), hash.to_owned()));
    }
    db.shadow.extend(updates);
    SimOutput::ok("")
}

#[cfg(test)]
mod tests {
    use crate::sim::SimNode;
    use crate::{Cmd, Host};

    async fn run(node: &SimNode, cmd: Cmd) -> (Option<i32>, String, String) {
        let out = node.run(&cmd).await.expect("runs");
        (out.status, out.stdout, out.stderr)
    }

    #[tokio::test]
    async fn the_account_tools_print_what_debian_12_prints() {
        let node =
            SimNode::new(Vec::new()).expect("the built-in emulators claim distinct programs");
        let w = |argv: &[&str]| Cmd::write(argv[0], argv[1..].iter().copied());
        let r = |argv: &[&str]| Cmd::read(argv[0], argv[1..].iter().copied());
        assert_eq!(
            run(&node, r(&["getent", "group", "sudo", "nosuch"])).await,
            (Some(2), "sudo:x:27:\n".into(), String::new())
        );
        assert_eq!(run(&node, w(&["groupadd", "phxtestg"])).await.0, Some(0));
        assert_eq!(
            run(&node, w(&["groupadd", "phxtestg"])).await,
            (
                Some(9),
                String::new(),
                "groupadd: group 'phxtestg' already exists\n".into()
            )
        );
        assert_eq!(
            run(&node, w(&["groupadd", "--system", "phxsys"])).await.0,
            Some(0)
        );
        assert_eq!(
            run(&node, r(&["getent", "group", "phxtestg", "phxsys"]))
                .await
                .1,
            "phxtestg:x:1000:\nphxsys:x:999:\n"
        );
        assert_eq!(
            run(
                &node,
                w(&[
                    "useradd",
                    "--create-home",
                    "--shell",
                    "/bin/bash",
                    "--groups",
                    "sudo,phxtestg",
                    "phxuser"
                ])
            )
            .await
            .0,
            Some(0)
        );
        assert_eq!(
            run(&node, r(&["getent", "passwd", "phxuser"])).await.1,
            "phxuser:x:1000:1001::/home/phxuser:/bin/bash\n"
        );
        assert_eq!(
            run(&node, r(&["getent", "group", "sudo", "phxtestg"]))
                .await
                .1,
            "sudo:x:27:phxuser\nphxtestg:x:1000:phxuser\n"
        );
        assert_eq!(
            run(&node, r(&["passwd", "-S", "phxuser"])).await.1,
            "phxuser L 2025-12-05 0 99999 7 -1\n"
        );
        assert_eq!(
            run(&node, w(&["useradd", "--groups", "nosuchgrp", "phxu2"])).await,
            (
                Some(6),
                String::new(),
                "useradd: group 'nosuchgrp' does not exist\n".into()
            )
        );
        let chpasswd = Cmd::write("chpasswd", ["-e"])
            .stdin(crate::Content::sensitive("phxuser:$6$abcdefgh$0123\n"));
        assert_eq!(run(&node, chpasswd).await.0, Some(0));
        assert_eq!(
            run(&node, r(&["passwd", "-S", "phxuser"])).await.1,
            "phxuser P 2025-12-05 0 99999 7 -1\n"
        );
        let unknown =
            Cmd::write("chpasswd", ["-e"]).stdin(crate::Content::sensitive("nosuch:$6$x$y\n"));
        assert_eq!(
            run(&node, unknown).await,
            (
                Some(1),
                String::new(),
                "chpasswd: line 1: user 'nosuch' does not exist\nchpasswd: error detected, changes ignored\n".into()
            )
        );
        assert_eq!(
            run(
                &node,
                w(&["usermod", "--append", "--groups", "phxsys", "phxuser"])
            )
            .await
            .0,
            Some(0)
        );
        assert_eq!(
            run(&node, w(&["usermod", "--shell", "/bin/sh", "nosuch"])).await,
            (
                Some(6),
                String::new(),
                "usermod: user 'nosuch' does not exist\n".into()
            )
        );
        assert_eq!(
            run(&node, r(&["passwd", "-S", "nosuch"])).await,
            (
                Some(1),
                String::new(),
                "passwd: user 'nosuch' does not exist\n".into()
            )
        );
        let home = node
            .read_file(std::path::Path::new("/etc/shadow"))
            .await
            .expect("reads");
        let shadow = home.expect("written");
        assert_eq!((shadow.mode, shadow.owner.as_str()), (0o640, "root:shadow"));
        assert!(
            shadow
                .content
                .contains("phxuser:$6$abcdefgh$0123:20427:0:99999:7:::\n")
        );
    }
}
