//! `FakeHost`: a `Host` with canned replies keyed by exact argv, which records every call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::state::DEFAULT_OWNER;
use crate::cmd::{Cmd, Output};
use crate::host::{FileData, FileWrite, Host, HostError};

/// A host that answers commands from canned replies and keeps files in memory: for parser and
/// single-resource tests. For whole plan/apply cycles, use [`SimNode`](super::SimNode).
///
/// A command is looked up by its exact argv (program first) and gets the same reply every time;
/// an argv without a reply fails like a missing program in a real shell (status 127). Files
/// written are recorded and can be read back.
///
/// ```
/// # use phoenix_core::sim::FakeHost;
/// # use phoenix_core::Output;
/// let host = FakeHost::new().reply(["zfs", "list", "-H"], Output::new(Some(0), "tank\n", ""));
/// ```
#[derive(Debug, Default)]
pub struct FakeHost {
    replies: BTreeMap<Vec<String>, Output>,
    recorded: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    files: BTreeMap<PathBuf, FileData>,
    commands: Vec<Cmd>,
    writes: Vec<(PathBuf, FileWrite)>,
    removals: Vec<PathBuf>,
}

impl FakeHost {
    /// A host with no replies and no files.
    pub fn new() -> FakeHost {
        FakeHost::default()
    }

    /// Answers `argv` (program first) with `output`, replacing any earlier reply to it.
    #[must_use]
    pub fn reply<I, S>(mut self, argv: I, output: Output) -> FakeHost
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.replies
            .insert(argv.into_iter().map(Into::into).collect(), output);
        self
    }

    /// Adds a file that `read_file` returns.
    #[must_use]
    pub fn file(self, path: impl Into<PathBuf>, data: FileData) -> FakeHost {
        self.lock().files.insert(path.into(), data);
        self
    }

    /// The argv of every command run, in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        self.lock().commands.iter().map(Cmd::argv).collect()
    }

    /// Every command run, in order, with its effect and stdin.
    pub fn commands(&self) -> Vec<Cmd> {
        self.lock().commands.clone()
    }

    /// Every file write, in order.
    pub fn writes(&self) -> Vec<(PathBuf, FileWrite)> {
        self.lock().writes.clone()
    }

    /// Every file removal, in order (including removals of missing files).
    pub fn removals(&self) -> Vec<PathBuf> {
        self.lock().removals.clone()
    }

    /// The file at `path` now, after the writes and removals so far.
    pub fn file_at(&self, path: &Path) -> Option<FileData> {
        self.lock().files.get(path).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Host for FakeHost {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        self.lock().commands.push(cmd.clone());
        let output = match self.replies.get(&cmd.argv()) {
            Some(output) => output.clone(),
            None => Output::new(
                Some(127),
                "",
                format!("bash: line 1: {}: command not found\n", cmd.program),
            ),
        };
        tracing::debug!(argv = %cmd, status = ?output.status, "faked");
        Ok(output)
    }

    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        Ok(self.file_at(path))
    }

    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        let mut recorded = self.lock();
        recorded.writes.push((path.to_owned(), file.clone()));
        let owner = file.owner.as_deref().unwrap_or(DEFAULT_OWNER);
        recorded.files.insert(
            path.to_owned(),
            FileData::new(file.content.clone(), file.mode, owner),
        );
        Ok(())
    }

    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        let mut recorded = self.lock();
        recorded.removals.push(path.to_owned());
        recorded.files.remove(path);
        Ok(())
    }

    fn describe(&self) -> String {
        "fake".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_by_exact_argv_and_records_calls() {
        let host = FakeHost::new().reply(["zfs", "list", "-H"], Output::new(Some(0), "tank\n", ""));
        let listed = host
            .run(&Cmd::read("zfs", ["list", "-H"]))
            .await
            .expect("fake never errs");
        assert_eq!(listed, Output::new(Some(0), "tank\n", ""));
        let other = host
            .run(&Cmd::read("zfs", ["list"]))
            .await
            .expect("fake never errs");
        assert_eq!(other.status, Some(127));
        assert_eq!(other.stderr, "bash: line 1: zfs: command not found\n");
        assert_eq!(
            host.calls(),
            [vec!["zfs", "list", "-H"], vec!["zfs", "list"]]
        );
    }

    #[tokio::test]
    async fn files_are_canned_written_recorded_and_removed() {
        let host =
            FakeHost::new().file("/etc/hostname", FileData::new("pve\n", 0o644, "root:root"));
        let hostname = Path::new("/etc/hostname");
        let read = host.read_file(hostname).await.expect("fake never errs");
        assert_eq!(read.map(|file| file.content), Some("pve\n".to_owned()));

        let hosts = Path::new("/etc/hosts");
        host.write_file(hosts, &FileWrite::new("127.0.0.1 localhost\n", 0o644))
            .await
            .expect("fake never errs");
        assert_eq!(
            host.read_file(hosts).await.expect("fake never errs"),
            Some(FileData::new("127.0.0.1 localhost\n", 0o644, "root:root"))
        );
        assert_eq!(host.writes().len(), 1);

        host.remove_file(hostname).await.expect("fake never errs");
        assert_eq!(
            host.read_file(hostname).await.expect("fake never errs"),
            None
        );
        assert_eq!(host.removals(), [PathBuf::from("/etc/hostname")]);
        assert!(host.calls().is_empty());
    }
}
