//! What an emulator sees when a program runs inside a simulated guest (a container): the
//! guest's own files, units and packages, and the node's state.
//!
//! The provider that simulates a class of guests (phoenix-lxc for containers) finds the program
//! on the guest's `PATH`, runs what it emulates itself (`cat`, `apt-get`, the scope probe, ...),
//! and hands every other program to the emulator that lists it in
//! [`Emulator::guest_programs`], through [`Emulator::run_in_guest`], with a [`GuestSys`] over
//! that guest. So an emulator of any provider (`nvidia-smi`, `docker`, `pip`) answers inside a
//! container, for `pct exec` and for the probe's queries alike, without depending on the
//! container provider.

use super::emulator::{SimOutput, SimSys};
use super::state::SimFile;

/// One guest, as an emulator running a program inside it sees it.
///
/// Paths are the guest's own (`/etc/docker/daemon.json`); the guest provider maps them to its
/// storage (a container's volumes and bind mounts). What an emulator keeps about a guest belongs
/// in the guest's files whenever the real tool keeps it on disk: files follow the guest's
/// snapshots, rollbacks and clones, a node namespace does not. State with no place on disk goes
/// in the node's namespaces ([`GuestSys::node`]), keyed by [`GuestSys::scope`].
pub trait GuestSys<'a> {
    /// The guest's scope name, such as `ct:101` (core's `Scope` name).
    fn scope(&self) -> &str;

    /// The regular file at `path`, if there is one.
    fn read(&self, path: &str) -> Option<SimFile>;

    /// Whether `path` is a directory.
    fn is_dir(&self, path: &str) -> bool;

    /// Creates or replaces the file at `path`, creating its missing parent directories.
    fn write(&mut self, path: &str, file: SimFile);

    /// Removes the file at `path`; whether there was one.
    fn remove(&mut self, path: &str) -> bool;

    /// Creates the directory `path` and its missing parents (`mkdir -p`).
    fn mkdir(&mut self, path: &str);

    /// Where the guest's `PATH` finds the executable `name` (`command -v`); a name with a `/` is
    /// taken as a path.
    fn command_path(&self, name: &str) -> Option<String>;

    /// The installed version of the Debian package `name`.
    fn package_version(&self, name: &str) -> Option<String>;

    /// The active state (`active`, `inactive`, `failed`) of a unit the guest knows; `None` for a
    /// unit it does not have. A name without a suffix is a service.
    fn unit_state(&self, unit: &str) -> Option<String>;

    /// Sets the active state of a unit, adding the unit when the guest does not have it; `None`
    /// removes it (an installer that ships or deletes a unit file).
    fn set_unit_state(&mut self, unit: &str, state: Option<&str>);

    /// Runs another program inside the same guest, as a script the program runs would (its
    /// output and status, whatever emulates it).
    fn run(&mut self, argv: &[String], stdin: Option<&str>) -> SimOutput;

    /// The node: its files (the host's, such as `/proc/driver/nvidia/version`, which a container
    /// shares) and its tool-state namespaces.
    fn node(&mut self) -> &mut SimSys<'a>;
}
