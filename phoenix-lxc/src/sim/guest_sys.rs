//! Programs this crate does not emulate inside a container, handed to the emulator of any
//! provider that answers them in guests (`phoenix_core::sim::Emulator::run_in_guest`), with a
//! `GuestSys` over the container: its files through the volumes and bind mounts (`fs.rs`), its
//! packages and units from the root volume, and the node.

use phoenix_core::sim::{GuestSys, SimFile, SimOutput, SimSys};

use super::ctx::Ctx;
use super::fs::{Mounts, Node, normalize};
use super::guest::{self, GuestOutput};

/// Runs `argv` (its program found at `path` on the container's `PATH`, or a script file `sh`
/// runs) through the emulator that answers the file's name in guests; `None` when none does, or
/// it refuses this command line.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_, '_>,
    id: u32,
    mounts: &Mounts,
    argv: &[String],
    stdin: Option<&str>,
    path: &str,
) -> Option<GuestOutput> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let emulator = ctx.sys().guest_emulator(name)?;
    let mut guest = ContainerGuest {
        ctx,
        id,
        mounts,
        scope: format!("ct:{id}"),
    };
    let output = emulator.run_in_guest(argv, stdin, &mut guest)?;
    Some(GuestOutput {
        status: output.status,
        stdout: output.stdout,
        stderr: output.stderr,
        mutated: output.mutated,
        ..GuestOutput::default()
    })
}

/// One running container, as an emulator of another provider sees it.
struct ContainerGuest<'g, 'x, 'a> {
    ctx: &'g mut Ctx<'x, 'a>,
    id: u32,
    mounts: &'g Mounts,
    scope: String,
}

impl<'a> GuestSys<'a> for ContainerGuest<'_, '_, 'a> {
    fn scope(&self) -> &str {
        &self.scope
    }

    fn read(&self, path: &str) -> Option<SimFile> {
        match self.ctx.guest_node(self.mounts, path)? {
            Node::File => self.ctx.guest_read(self.mounts, path),
            Node::Dir => None,
        }
    }

    fn is_dir(&self, path: &str) -> bool {
        self.ctx.guest_node(self.mounts, path) == Some(Node::Dir)
    }

    fn write(&mut self, path: &str, file: SimFile) {
        if let Some((parent, _)) = normalize(path).rsplit_once('/')
            && !parent.is_empty()
        {
            self.mkdir(parent);
        }
        self.ctx.guest_write(self.mounts, path, file);
    }

    fn remove(&mut self, path: &str) -> bool {
        self.ctx.guest_node(self.mounts, path) == Some(Node::File)
            && self.ctx.guest_remove(self.mounts, path)
    }

    fn mkdir(&mut self, path: &str) {
        let mut dir = String::new();
        for part in normalize(path).split('/').filter(|part| !part.is_empty()) {
            dir.push('/');
            dir.push_str(part);
            if self.ctx.guest_node(self.mounts, &dir).is_none() {
                self.ctx.guest_mkdir(self.mounts, &dir);
            }
        }
    }

    fn command_path(&self, name: &str) -> Option<String> {
        self.ctx.guest_command(self.mounts, name)
    }

    fn package_version(&self, name: &str) -> Option<String> {
        self.ctx
            .root_content(self.mounts)?
            .packages
            .get(name)
            .map(|package| package.version.clone())
    }

    fn unit_state(&self, unit: &str) -> Option<String> {
        self.ctx
            .root_content(self.mounts)?
            .services
            .get(&unit_name(unit))
            .cloned()
    }

    fn set_unit_state(&mut self, unit: &str, state: Option<&str>) {
        let Some(content) = self.ctx.root_content_mut(self.mounts) else {
            return;
        };
        match state {
            Some(state) => {
                content.services.insert(unit_name(unit), state.to_owned());
            }
            None => {
                content.services.remove(&unit_name(unit));
            }
        }
    }

    fn run(&mut self, argv: &[String], stdin: Option<&str>) -> SimOutput {
        let output = guest::run(self.ctx, self.id, self.mounts, argv, stdin, argv);
        SimOutput::new(output.status, output.stdout, output.stderr, output.mutated)
    }

    fn node(&mut self) -> &mut SimSys<'a> {
        self.ctx.sys()
    }
}

/// A unit's full name: a name without a suffix is a service.
fn unit_name(unit: &str) -> String {
    if unit.contains('.') {
        unit.to_owned()
    } else {
        format!("{unit}.service")
    }
}
