//! Issue 12, the vLLM part: the server's flags read from upstream's two representations, and
//! the `vllm` feature converging in a simulated container.

use crate::support::{arg, phoenix, upstream};

/// Upstream 0017fa8's 950 as it is: two flags with two values each are errors at the place of
/// the second value, naming the first; the flags written twice with one value are notes.
#[test]
fn issue_12_upstream_950_gives_vllm_two_values_for_two_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["phoenix_hypervisor_config.json", "phoenix_lxc_configs.json"] {
        std::fs::copy(
            upstream().join(format!("0017fa8__etc__{name}")),
            dir.path().join(name),
        )
        .expect("copy upstream");
    }
    let ran = phoenix(&["validate", "--config", arg(dir.path())]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let errors: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:") && l.contains("container 950"))
        .collect();
    assert_eq!(errors.len(), 2, "{}", ran.stderr);
    for expect in [
        "container 950: max-model-len is given twice with different values: 4096 at lxc_configs.\"950\".vllm_max_model_len and 8192 here; keep one",
        "container 950: gpu-memory-utilization is given twice with different values: 0.9 at lxc_configs.\"950\".vllm_gpu_memory_utilization and 0.75 here; keep one",
    ] {
        assert!(ran.stderr.contains(expect), "{expect}\n{}", ran.stderr);
    }
    assert!(
        ran.stderr.contains(
            "phoenix_lxc_configs.json:414:34 at lxc_configs.\"950\".vllm_parameters.max_model_len"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(
            "container 951: written a second time with the same value (one place is enough): tensor-parallel-size (lxc_configs.\"951\".vllm_tensor_parallel_size), gpu-memory-utilization (lxc_configs.\"951\".vllm_gpu_memory_utilization), max-model-len (lxc_configs.\"951\".vllm_max_model_len)"
        ),
        "{}",
        ran.stderr
    );
}
