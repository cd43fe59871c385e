//! `docker.gpu_check`: the health step of Docker with GPUs, `docker run --rm --gpus all IMAGE
//! nvidia-smi -L` in the container (NVML initialised through the toolkit, every GPU listed), after apply when its toolkit or Docker's engine changed in the
//! run (a no-op plan shows nothing and runs nothing). A failure fails the apply naming the
//! container and the output; runc's CVE-2025-52881 breakage under an older LXC AppArmor profile
//! (`open sysctl net.ipv4.ip_unprivileged_port_start ... permission denied`) is explained.

use async_trait::async_trait;
use phoenix_core::{
    BoxError, Change, Cmd, Ctx, Delta, FieldChange, Kind, Resource, ResourceId, Scope, Step,
};

/// The kind: `docker.gpu_check`.
pub const KIND: &str = "docker.gpu_check";

/// The image the check runs when the container's entry names none (`gpu_check_image`): the
/// toolkit mounts the host's `nvidia-smi` and libraries into any image.
pub const DEFAULT_IMAGE: &str = "ubuntu:24.04";

/// The smoke check of one container.
#[derive(Debug, Clone)]
pub struct GpuCheck {
    scope: Scope,
    vmid: u32,
    image: String,
    after: Vec<ResourceId>,
}

impl GpuCheck {
    /// The check of container `vmid` with `image`, run when a resource of `after` changed.
    pub fn new(scope: &Scope, vmid: u32, image: String, after: Vec<ResourceId>) -> GpuCheck {
        GpuCheck {
            scope: scope.clone(),
            vmid,
            image,
            after,
        }
    }

    fn cmd(&self) -> Cmd {
        self.scope.command(Cmd::read(
            "docker",
            [
                "run",
                "--rm",
                "--gpus",
                "all",
                self.image.as_str(),
                "nvidia-smi",
                "-L",
            ],
        ))
    }
}

/// Why the check failed, from its output.
pub fn failure(vmid: u32, image: &str, status: Option<i32>, output: &str) -> String {
    let output = output.trim_end();
    let status = status.map_or_else(|| "no status".to_owned(), |s| format!("exit {s}"));
    let mut message = format!(
        "container {vmid}: the GPU smoke check `docker run --rm --gpus all {image} nvidia-smi -L` failed ({status}): {output}"
    );
    if output.contains("ip_unprivileged_port_start") && output.contains("permission denied") {
        message.push_str(
            "\nthis is runc's CVE-2025-52881 fix meeting an LXC AppArmor profile older than LXC 6.0.6, which denies the new way runc opens /proc/sys files: update lxc-pve (LXC >= 6.0.6) on the node, or hold runc in the container at the release before the fix until then",
        );
    }
    message
}

#[async_trait]
impl Resource for GpuCheck {
    type State = ();

    fn id(&self) -> ResourceId {
        ResourceId::new(Kind::from_static(KIND), format!("ct:{}", self.vmid))
    }

    fn depends_on(&self) -> Vec<ResourceId> {
        self.after.clone()
    }

    fn requires(&self) -> Vec<phoenix_core::Capability> {
        self.scope.ready().into_iter().collect()
    }

    async fn inspect(&self, _cx: &Ctx<'_>) -> Result<Option<()>, BoxError> {
        Ok(Some(()))
    }

    fn diff(&self, _observed: Option<&()>) -> Delta {
        Delta::none()
    }

    async fn apply(&self, _change: &Change, cx: &Ctx<'_>) -> Result<(), BoxError> {
        let output = cx.host().run(&self.cmd()).await?;
        if output.success() {
            return Ok(());
        }
        Err(failure(
            self.vmid,
            &self.image,
            output.status,
            &format!("{}{}", output.stdout, output.stderr),
        )
        .into())
    }

    fn triggered_by(&self) -> Vec<ResourceId> {
        self.after.clone()
    }

    fn when_triggered(&self, by: &[ResourceId]) -> Delta {
        let names: Vec<String> = by.iter().map(ToString::to_string).collect();
        Delta::none()
            .field(
                FieldChange::new(
                    "GPU smoke check",
                    None,
                    Some(format!("docker run --rm --gpus all {} nvidia-smi -L", self.image).into()),
                )
                .note(format!("after {} in this run", names.join(", "))),
            )
            .step(Step::run(self.cmd()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_11_a_failed_check_names_the_container_and_explains_the_runc_breakage() {
        let plain = failure(
            957,
            DEFAULT_IMAGE,
            Some(125),
            "docker: Error response from daemon: unknown or invalid runtime name: nvidia\n",
        );
        assert_eq!(
            plain,
            "container 957: the GPU smoke check `docker run --rm --gpus all ubuntu:24.04 nvidia-smi -L` failed (exit 125): docker: Error response from daemon: unknown or invalid runtime name: nvidia"
        );
        let cve = failure(
            957,
            DEFAULT_IMAGE,
            Some(127),
            "docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: open sysctl net.ipv4.ip_unprivileged_port_start file: reopen fd 8: permission denied: unknown\n",
        );
        assert!(cve.contains("CVE-2025-52881"), "{cve}");
        assert!(!plain.contains("CVE"), "{plain}");
    }
}
