//! Run statistics: every command counted by program, through a counting host wrapper.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

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
    /// How long at least one host operation (a command or a file read or write) was in flight,
    /// in milliseconds. `wall_ms - host_busy_ms` is the time the engine spent on its own: its
    /// overhead, which is what remains on a zero-latency host.
    #[serde(default)]
    pub host_busy_ms: u64,
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
        self.host_busy_ms += other.host_busy_ms;
    }

    /// The wall time no host operation was in flight: the engine's own work.
    pub fn engine_ms(&self) -> u64 {
        self.wall_ms.saturating_sub(self.host_busy_ms)
    }
}

/// Wraps a host and counts what passes through.
#[derive(Debug)]
pub(crate) struct Counting<H> {
    inner: H,
    stats: Mutex<Stats>,
    busy: Mutex<Busy>,
}

/// The union of the intervals in which host operations were in flight.
#[derive(Debug, Default)]
struct Busy {
    in_flight: usize,
    since: Option<Instant>,
    total: Duration,
}

impl Busy {
    fn start(&mut self, now: Instant) {
        if self.in_flight == 0 {
            self.since = Some(now);
        }
        self.in_flight += 1;
    }

    fn end(&mut self, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0
            && let Some(since) = self.since.take()
        {
            self.total += now.saturating_duration_since(since);
        }
    }
}

impl<H: Host> Counting<H> {
    pub(crate) fn new(inner: H) -> Counting<H> {
        Counting {
            inner,
            stats: Mutex::new(Stats::default()),
            busy: Mutex::default(),
        }
    }

    pub(crate) fn take(&self) -> Stats {
        let busy = std::mem::take(&mut *self.busy.lock().unwrap_or_else(PoisonError::into_inner));
        let mut stats =
            std::mem::take(&mut *self.stats.lock().unwrap_or_else(PoisonError::into_inner));
        stats.host_busy_ms = u64::try_from(busy.total.as_millis()).unwrap_or(u64::MAX);
        stats
    }

    /// Runs `operation` as a host operation in flight (until it finishes or is dropped).
    async fn timed<T>(&self, operation: impl std::future::Future<Output = T>) -> T {
        /// Ends the operation however its future ends.
        struct InFlight<'a>(&'a Mutex<Busy>);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .end(Instant::now());
            }
        }
        self.busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .start(Instant::now());
        let _in_flight = InFlight(&self.busy);
        operation.await
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
        let result = self.timed(self.inner.run(cmd)).await;
        let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.count(|s| s.slowest_command_ms = s.slowest_command_ms.max(took));
        result
    }

    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        self.count(|s| s.file_reads += 1);
        self.timed(self.inner.read_file(path)).await
    }

    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        self.count(|s| s.file_writes += 1);
        self.timed(self.inner.write_file(path, file)).await
    }

    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        self.count(|s| s.file_writes += 1);
        self.timed(self.inner.remove_file(path)).await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_10_busy_time_is_the_union_of_operations_in_flight() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut busy = Busy::default();
        // Two overlapping operations (0-20 and 5-40), idle until 70, one more (70-80).
        busy.start(at(0));
        busy.start(at(5));
        busy.end(at(20));
        busy.end(at(40));
        busy.start(at(70));
        busy.end(at(80));
        assert_eq!(busy.total, Duration::from_millis(50));
        let stats = Stats {
            wall_ms: 100,
            host_busy_ms: 60,
            ..Stats::default()
        };
        assert_eq!(stats.engine_ms(), 40);
    }
}
