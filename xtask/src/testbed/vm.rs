//! Booting and stopping the testbed VM: a copy-on-write overlay on the cached image, sparse data
//! disks with stable `/dev/disk/by-id/virtio-<serial>` names, sshd forwarded on 127.0.0.1 only,
//! a client key generated per testbed (passed on the kernel command line) and the host key read
//! back from the serial console into a known_hosts file, so SSH checks it strictly.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use xshell::{Shell, cmd};

use super::{build, run_dir, shell_quote, utf8};
use crate::Result;

/// The data disks: (serial, size). Their by-id names are `virtio-<serial>`; the examples and the
/// live tests refer to them by those names.
pub(crate) const DATA_DISKS: &[(&str, &str)] = &[
    ("phoenix-quickos-1", "2G"),
    ("phoenix-quickos-2", "2G"),
    ("phoenix-fastdata-1", "4G"),
    ("phoenix-spare-1", "1G"),
];

/// Guest memory in MiB (the example's ARC maximum is sized for it).
const MEMORY_MIB: &str = "4096";

/// How long `up` waits for SSH (a TCG boot takes about 30 s).
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// The line the guest prints on its console with its SSH host key.
const HOST_KEY_MARKER: &str = "phoenix-testbed-hostkey: ";

/// A running testbed, as `up` records it in `target/testbed/state.env`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) target: String,
    pub(crate) port: u16,
    pub(crate) pid: u32,
    pub(crate) identity: PathBuf,
    pub(crate) known_hosts: PathBuf,
}

impl State {
    fn file() -> PathBuf {
        run_dir().join("state.env")
    }

    /// The running testbed's state, if `up` left one.
    pub(crate) fn load() -> Result<Option<State>> {
        let Ok(text) = std::fs::read_to_string(State::file()) else {
            return Ok(None);
        };
        let field = |name: &str| -> Result<String> {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
                .ok_or_else(|| format!("{} has no {name}=", State::file().display()).into())
        };
        Ok(Some(State {
            target: field("target")?,
            port: field("port")?.parse()?,
            pid: field("pid")?.parse()?,
            identity: field("identity")?.into(),
            known_hosts: field("known_hosts")?.into(),
        }))
    }

    fn save(&self) -> Result<()> {
        let text = format!(
            "target={}\nport={}\npid={}\nidentity={}\nknown_hosts={}\n",
            self.target,
            self.port,
            self.pid,
            self.identity.display(),
            self.known_hosts.display()
        );
        std::fs::write(State::file(), text)?;
        Ok(())
    }

    /// The environment the live tests and `phoenix --target ssh://...` need, as `export` lines.
    pub(crate) fn exports(&self) -> String {
        format!(
            "export PHOENIX_LIVE_HOST={}\nexport PHOENIX_SSH_IDENTITY={}\nexport PHOENIX_SSH_KNOWN_HOSTS={}",
            shell_quote(&self.target),
            shell_quote(&self.identity.display().to_string()),
            shell_quote(&self.known_hosts.display().to_string())
        )
    }

    /// The environment as pairs, for commands xtask runs itself.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PHOENIX_LIVE_HOST", self.target.clone()),
            ("PHOENIX_SSH_IDENTITY", self.identity.display().to_string()),
            (
                "PHOENIX_SSH_KNOWN_HOSTS",
                self.known_hosts.display().to_string(),
            ),
        ]
    }

    /// The ssh options that reach the testbed (strict host-key checking against its known_hosts).
    pub(crate) fn ssh_args(&self) -> Vec<String> {
        [
            "-i".to_owned(),
            self.identity.display().to_string(),
            "-p".to_owned(),
            self.port.to_string(),
            "-o".to_owned(),
            format!("UserKnownHostsFile={}", self.known_hosts.display()),
            "-o".to_owned(),
            "StrictHostKeyChecking=yes".to_owned(),
            "-o".to_owned(),
            "IdentitiesOnly=yes".to_owned(),
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
            "-o".to_owned(),
            "ConnectTimeout=5".to_owned(),
            "-o".to_owned(),
            "LogLevel=ERROR".to_owned(),
            "root@127.0.0.1".to_owned(),
        ]
        .into()
    }
}

/// Whether process `pid` is this testbed's QEMU (guards against a recycled pid).
fn is_our_qemu(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let text = String::from_utf8_lossy(&cmdline);
    text.contains("qemu-system") && text.contains(&*run_dir().display().to_string())
}

/// Boots a fresh testbed from `image` and waits until SSH answers.
pub(crate) fn up(sh: &Shell, image: &Path) -> Result<State> {
    if let Some(state) = State::load()?
        && is_our_qemu(state.pid)
    {
        eprintln!(
            "xtask testbed: already up at {} (pid {}); `cargo xtask testbed down` first for a fresh one",
            state.target, state.pid
        );
        return Ok(state);
    }
    let started = Instant::now();
    let dir = run_dir();
    sh.remove_path(&dir)?;
    sh.create_dir(&dir)?;
    build::unpack(sh, image, &dir)?;
    let base = dir.join("base.qcow2");
    let root = dir.join("root.qcow2");
    cmd!(
        sh,
        "qemu-img create -q -f qcow2 -b {base} -F qcow2 {root} 8G"
    )
    .run()?;
    let identity = dir.join("id_ed25519");
    cmd!(
        sh,
        "ssh-keygen -q -t ed25519 -N '' -C phoenix-testbed -f {identity}"
    )
    .run()?;
    let public = sh.read_file(dir.join("id_ed25519.pub"))?;
    let key_arg = public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(":");
    let port = free_port()?;
    let console = dir.join("console.log");
    let pidfile = dir.join("qemu.pid");
    let mut drives = Vec::new();
    for (index, (serial, size)) in DATA_DISKS.iter().enumerate() {
        let file = dir.join(format!("{serial}.raw"));
        cmd!(sh, "truncate -s {size} {file}").run()?;
        drives.push("-drive".to_owned());
        drives.push(format!(
            "file={},if=none,id=d{},format=raw,cache=unsafe,discard=unmap",
            utf8(&file)?,
            index + 1
        ));
        drives.push("-device".to_owned());
        drives.push(format!(
            "virtio-blk-pci,drive=d{},serial={serial}",
            index + 1
        ));
    }
    let kernel = dir.join("vmlinuz");
    let initrd = dir.join("initrd.img");
    let append = format!(
        "root=LABEL=testbed-root rw console=ttyS0 apparmor=1 security=apparmor net.ifnames=0 phoenix.ssh_key={key_arg}"
    );
    let root_drive = format!(
        "file={},if=none,id=d0,format=qcow2,cache=unsafe,discard=unmap",
        utf8(&root)?
    );
    // restrict=on: the guest reaches neither the host nor the outside; only the forward works.
    let netdev = format!("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22");
    let serial = format!("file:{}", utf8(&console)?);
    cmd!(
        sh,
        "qemu-system-x86_64 -accel tcg,thread=multi,tb-size=512 -cpu max -machine q35 -smp 2 -m {MEMORY_MIB}
            -kernel {kernel} -initrd {initrd} -append {append}
            -drive {root_drive} -device virtio-blk-pci,drive=d0,serial=testbed-root
            {drives...}
            -netdev {netdev} -device virtio-net-pci,netdev=n0 -device virtio-rng-pci
            -display none -serial {serial} -monitor none -daemonize -pidfile {pidfile}"
    )
    .run()?;
    let pid: u32 = sh.read_file(&pidfile)?.trim().parse()?;
    eprintln!(
        "xtask testbed: QEMU pid {pid}, console log {}",
        console.display()
    );
    let known_hosts = dir.join("known_hosts");
    let state = State {
        target: format!("ssh://root@127.0.0.1:{port}"),
        port,
        pid,
        identity,
        known_hosts,
    };
    state.save()?;
    let result = wait_for_ssh(sh, &state, &console, started);
    if let Err(err) = result {
        print_console(&console);
        stop_qemu(sh, pid)?;
        return Err(err);
    }
    eprintln!(
        "xtask testbed: up in {:.0}s at {}",
        started.elapsed().as_secs_f64(),
        state.target
    );
    Ok(state)
}

/// Waits for the host key on the console, writes known_hosts, then waits until `ssh true` works.
fn wait_for_ssh(sh: &Shell, state: &State, console: &Path, started: Instant) -> Result<()> {
    let mut host_key = None;
    while started.elapsed() < BOOT_TIMEOUT {
        if !is_our_qemu(state.pid) {
            return Err("QEMU exited during boot".into());
        }
        if host_key.is_none() {
            let log = std::fs::read(console).unwrap_or_default();
            host_key = String::from_utf8_lossy(&log).lines().find_map(|line| {
                line.split_once(HOST_KEY_MARKER)
                    .map(|(_, key)| key.trim().to_owned())
            });
            if let Some(key) = &host_key {
                std::fs::write(
                    &state.known_hosts,
                    format!("[127.0.0.1]:{} {key}\n", state.port),
                )?;
            }
        }
        if host_key.is_some() {
            let args = state.ssh_args();
            let ok = cmd!(sh, "ssh {args...} true")
                .quiet()
                .ignore_stdout()
                .ignore_stderr()
                .run()
                .is_ok();
            if ok {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    Err(format!(
        "the testbed did not answer on SSH within {}s",
        BOOT_TIMEOUT.as_secs()
    )
    .into())
}

/// Prints the end of the console log (for a failed boot).
fn print_console(console: &Path) {
    let log = std::fs::read(console).unwrap_or_default();
    let text = String::from_utf8_lossy(&log);
    let lines: Vec<&str> = text.lines().collect();
    eprintln!(
        "xtask testbed: last lines of the console log {}:",
        console.display()
    );
    for line in &lines[lines.len().saturating_sub(80)..] {
        eprintln!("  | {line}");
    }
}

/// Powers the testbed off (`systemctl poweroff`), waits, and kills its QEMU by pid if it lingers.
pub(crate) fn down(sh: &Shell) -> Result<()> {
    let Some(state) = State::load()? else {
        eprintln!("xtask testbed: no testbed is up");
        return Ok(());
    };
    if is_our_qemu(state.pid) {
        let args = state.ssh_args();
        let _ = cmd!(sh, "ssh {args...} systemctl poweroff")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run();
        stop_qemu(sh, state.pid)?;
    }
    let dir = run_dir();
    for file in [
        "root.qcow2",
        "base.qcow2",
        "vmlinuz",
        "initrd.img",
        "state.env",
    ] {
        sh.remove_path(dir.join(file))?;
    }
    for (serial, _) in DATA_DISKS {
        sh.remove_path(dir.join(format!("{serial}.raw")))?;
    }
    eprintln!(
        "xtask testbed: down (console log kept in {})",
        dir.display()
    );
    Ok(())
}

/// Waits up to 60 s for QEMU `pid` to exit, then sends SIGTERM, then SIGKILL.
fn stop_qemu(sh: &Shell, pid: u32) -> Result<()> {
    let pid_text = pid.to_string();
    for (wait, signal) in [(60, None), (10, Some("-TERM")), (10, Some("-KILL"))] {
        if let Some(signal) = signal
            && is_our_qemu(pid)
        {
            eprintln!("xtask testbed: QEMU pid {pid} still runs; kill {signal}");
            let _ = cmd!(sh, "kill {signal} {pid_text}").quiet().run();
        }
        for _ in 0..wait {
            if !is_our_qemu(pid) {
                eprintln!("xtask testbed: QEMU pid {pid} stopped");
                return Ok(());
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    Err(format!("QEMU pid {pid} did not stop").into())
}

/// `cargo xtask testbed ssh [CMD...]`.
pub(crate) fn ssh(sh: &Shell, command: &[String]) -> Result<()> {
    let state = State::load()?.ok_or("no testbed is up; run `cargo xtask testbed up`")?;
    let args = state.ssh_args();
    if command.is_empty() {
        // xshell gives commands no stdin, so the shell takes the terminal itself.
        let script = "exec ssh -t \"$@\" < /dev/tty";
        cmd!(sh, "sh -c {script} sh {args...}").run()?;
    } else {
        let remote = command.join(" ");
        cmd!(sh, "ssh {args...} {remote}").run()?;
    }
    Ok(())
}

/// A TCP port on 127.0.0.1 that is free right now.
fn free_port() -> Result<u16> {
    if let Ok(port) = std::env::var("PHOENIX_TESTBED_PORT") {
        return Ok(port.parse()?);
    }
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_quoted_for_the_shell() {
        let state = State {
            target: "ssh://root@127.0.0.1:2222".to_owned(),
            port: 2222,
            pid: 1,
            identity: PathBuf::from("/t/id ed"),
            known_hosts: PathBuf::from("/t/known_hosts"),
        };
        assert_eq!(
            state.exports(),
            "export PHOENIX_LIVE_HOST=ssh://root@127.0.0.1:2222\nexport PHOENIX_SSH_IDENTITY='/t/id ed'\nexport PHOENIX_SSH_KNOWN_HOSTS=/t/known_hosts"
        );
    }
}
