//! A host wrapper that refuses every write: what `plan` runs against.

use std::path::Path;

use async_trait::async_trait;

use super::{FileData, FileWrite, Host, HostError};
use crate::cmd::{Cmd, Effect, Output};

/// Wraps a host so that every write (a [`Effect::Write`] command, a file write or removal) fails
/// with [`HostError::WriteDuringPlan`] and never reaches the inner host.
#[derive(Debug)]
pub struct ReadOnly<H>(pub H);

#[async_trait]
impl<H: Host> Host for ReadOnly<H> {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        if cmd.effect == Effect::Write {
            return Err(HostError::WriteDuringPlan {
                what: format!("run `{cmd}`"),
            });
        }
        self.0.run(cmd).await
    }

    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        self.0.read_file(path).await
    }

    async fn write_file(&self, path: &Path, _file: &FileWrite) -> Result<(), HostError> {
        Err(HostError::WriteDuringPlan {
            what: format!("write {}", path.display()),
        })
    }

    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        Err(HostError::WriteDuringPlan {
            what: format!("remove {}", path.display()),
        })
    }

    fn describe(&self) -> String {
        format!("read-only {}", self.0.describe())
    }
}

#[async_trait]
impl<H: Host + ?Sized> Host for &H {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        (**self).run(cmd).await
    }
    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        (**self).read_file(path).await
    }
    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        (**self).write_file(path, file).await
    }
    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        (**self).remove_file(path).await
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

#[async_trait]
impl<H: Host + ?Sized> Host for std::sync::Arc<H> {
    async fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        (**self).run(cmd).await
    }
    async fn read_file(&self, path: &Path) -> Result<Option<FileData>, HostError> {
        (**self).read_file(path).await
    }
    async fn write_file(&self, path: &Path, file: &FileWrite) -> Result<(), HostError> {
        (**self).write_file(path, file).await
    }
    async fn remove_file(&self, path: &Path) -> Result<(), HostError> {
        (**self).remove_file(path).await
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}
