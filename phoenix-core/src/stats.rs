//! Run statistics: every command counted by program, through a counting host wrapper.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::cmd::{Cmd, Effect, Output};
use crate::host::{FileData, FileWrite, Host, HostError};

/// What a run did to the host, for `--json` reports and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Commands run, in total.
    pub commands_total: u64,
    /// Commands run, by program.
    pub commands_by_program: BTreeMap<String, u64>,
    /// Commands declared as writes.
    pub commands_writing: u64,
    /// Files read.
    pub file_reads: u64,
    /// Files written or removed.
    pub file_writes: u64,
    /// Wall time in milliseconds.
    pub wall_ms: u64,
    /// The longest any single command took, in milliseconds: the floor of a run whose commands
    /// all ran in one parallel round.
    #[serde(default)]
    pub slowest_command_ms: u64,
}

impl Stats {
    /// Adds another phase's counts.
    pub fn add(&mut self, other: &Stats) {
        self.commands_total += other.commands_total;
        for (program, n) in &other.commands_by_program {
            *self.commands_by_program.entry(program.clone()).or_default() += n;
        }
        self.commands_writing += other.commands_writing;
        self.file_reads += other.file_reads;
        self.file_writes += other.file_writes;
        self.wall_ms += other.wall_ms;
        self.slowest_command_ms = self.slowest_command_ms.max(other.slowest_command_ms);
    }
}

/// Wraps a host and counts what passes through.
#[derive(Debug)]
pub(crate) struct Counting<H> {
    inner: H,
    stats: Mutex<Stats>,
}

impl<H: Host> Counting<H> {
    pub(crate) fn new(inner: H) -> Counting<H> {
        Counting {
            inner,
            stats: Mutex::new(Stats::default()),
        }
    }

    pub(crate) fn take(&self) -> Stats {
        std::mem::take(
            &mut *self
                .stats
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    fn count(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self
            .stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }
}

#[async_trait]
impl<H: Host> Host for Counting<H> {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        self.count(|s| {
            s.commands_total += 1;
            *s.commands_by_program
                .entry(cmd.program.clone())
                .or_default() += 1;
            if cmd.effect == Effect::Write {
                s.commands_writing += 1;
            }
        });
        let started = std::time::Instant::now();
        let result = self.inner.run(cmd).await;
        let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.count(|s| s.slowest_command_ms = s.slowest_command_ms.max(took));
        result
    }

    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        self.count(|s| s.file_reads += 1);
        self.inner.read_file(path).await
    }

    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        self.count(|s| s.file_writes += 1);
        self.inner.write_file(path, file).await
    }

    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        self.count(|s| s.file_writes += 1);
        self.inner.remove_file(path).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}
