//! Every exit code of `phoenix`, in one place (also listed by `phoenix --help` and the README).

/// Success: the config is valid, the plan was made, or apply converged everything.
pub const OK: i32 = 0;
/// An error: bad input (usage, config syntax, type, unknown key, dependency cycle), a plan with
/// errors, a refused or stale apply, a target held by another run, or a resource that failed or
/// did not converge.
pub const ERROR: i32 = 1;
/// `plan --detailed-exitcode` only: the plan has changes to apply.
pub const CHANGES_PENDING: i32 = 2;

/// The text `phoenix --help` shows after the commands.
pub const HELP: &str = "\
Exit codes:
  0  success (with plan --detailed-exitcode: no changes)
  1  error: bad input (usage, JSON syntax, wrong type, unknown key, dependency cycle),
     a plan with errors, a refused or stale apply, a target held by another run,
     a failed or unconverged resource
  2  plan --detailed-exitcode only: changes are pending

Environment:
  PHOENIX_CONFIG        default for --config
  PHOENIX_TARGET        default for --target
  PHOENIX_LOG           log filter (tracing EnvFilter syntax, e.g. debug or phoenix_core=trace)
  PHOENIX_SIM_LATENCY   latency profile of a simulated target: zero or proxmox-typical
  NO_COLOR              disables colour";
