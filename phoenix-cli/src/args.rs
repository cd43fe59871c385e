//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declarative, convergent state for a Proxmox VE host: inspect, diff, apply only what differs.
#[derive(Debug, Parser)]
#[command(name = "phoenix", version, after_help = crate::exit::HELP, disable_help_subcommand = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug, -vvv trace); PHOENIX_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and check the config without touching any host.
    Validate(Common),
    /// Inspect the target and show what apply would change (read-only).
    Plan(PlanArgs),
    /// Plan, confirm, change what differs, and verify that it converged.
    Apply(ApplyArgs),
    /// Roll a container back to its provisioning snapshot (final-form) and converge again.
    Reconfigure(ReconfigureArgs),
    /// Report on the target without planning changes: pool health, disk wear, warnings, and a
    /// table of the AI services (container, endpoint, state, model, version) asked with
    /// read-only HTTP requests from the node (read-only).
    Status(StatusArgs),
    /// Run the embedding round trip of the config's `embedding_round_trip`: embed its sentence
    /// with the vLLM embedding service, upsert it into a scratch Qdrant collection, search it
    /// back and delete the collection (writes only that scratch collection). Apply runs it too,
    /// after either service changed or was unhealthy, unless `after_apply` is false.
    RoundTrip(RoundTripArgs),
    /// Show the dependency graph of the config's resources.
    Graph(GraphArgs),
    /// Show the audit log of a simulated node (every command it ran, and which ones mutated it).
    SimAudit(SimAuditArgs),
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The config: a directory holding phoenix_hypervisor_config.json and/or
    /// phoenix_lxc_configs.json, or one JSON file.
    #[arg(
        long,
        env = "PHOENIX_CONFIG",
        default_value = "/usr/local/phoenix_hypervisor/etc"
    )]
    pub config: PathBuf,
    /// Print JSON (with a format_version) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options for plan and apply.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The host: `local` (this machine), `ssh://[user@]host[:port]` (a remote host, through the
    /// system ssh client), `sim` (a fresh, empty simulated node) or `sim:FILE` (a simulated node
    /// whose state persists in FILE, created if missing). One run per target at a time: a run
    /// takes the target's lock (/run/phoenix/run.lock, or .FILE.lock beside a sim state file)
    /// and a second run refuses, naming the holder.
    #[arg(long, env = "PHOENIX_TARGET", default_value = "local")]
    pub target: String,
    #[command(flatten)]
    pub ssh: SshArgs,
    /// Allow changes that destroy data (wiping a disk, replacing a container, removing a file
    /// the config marks absent).
    #[arg(long)]
    pub allow_destroy: bool,
}

/// How to reach an `ssh://` target.
#[derive(Debug, Clone, Default, Args)]
pub struct SshArgs {
    /// The private key for an ssh:// target (`ssh -i FILE`); default: ssh's own choice.
    #[arg(long, value_name = "FILE", env = "PHOENIX_SSH_IDENTITY")]
    pub ssh_identity: Option<PathBuf>,
    /// The known_hosts file to check an ssh:// target's host key against; default: the user's.
    /// Host keys are always checked strictly unless --ssh-insecure-accept-new is given.
    #[arg(long, value_name = "FILE", env = "PHOENIX_SSH_KNOWN_HOSTS")]
    pub ssh_known_hosts: Option<PathBuf>,
    /// Accept any host key the ssh:// target presents (kept in a temporary known_hosts for this
    /// run only). For throwaway test hosts: it gives up protection against impersonation.
    #[arg(long)]
    pub ssh_insecure_accept_new: bool,
}

/// `phoenix plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Also save the plan as JSON to this file (mode 0600; secrets appear only by size), for
    /// `apply --plan`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `phoenix apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// At most how many resources are changed at once. Changes in one lock domain (one
    /// container, one pool) never overlap, so independent containers apply together up to this
    /// bound, which protects the host from too many heavy operations at once; over SSH the
    /// connection's 8 sessions bound it further.
    #[arg(long, default_value_t = PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Apply only if the host still gives this saved plan (from `plan --out`).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

/// The default `--parallelism` (phoenix-core's `DEFAULT_PARALLELISM`).
const PARALLELISM: u16 = 16;

/// `phoenix reconfigure`.
#[derive(Debug, Args)]
pub struct ReconfigureArgs {
    /// The container id.
    pub ctid: u32,
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// At most how many resources are changed at once. Changes in one lock domain (one
    /// container, one pool) never overlap, so independent containers apply together up to this
    /// bound, which protects the host from too many heavy operations at once; over SSH the
    /// connection's 8 sessions bound it further.
    #[arg(long, default_value_t = PARALLELISM, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// `phoenix status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: Common,
    /// The host: `local`, `ssh://[user@]host[:port]`, `sim` or `sim:FILE`.
    #[arg(long, env = "PHOENIX_TARGET", default_value = "local")]
    pub target: String,
    #[command(flatten)]
    pub ssh: SshArgs,
}

/// `phoenix round-trip`.
#[derive(Debug, Args)]
pub struct RoundTripArgs {
    #[command(flatten)]
    pub common: Common,
    /// The host the requests are sent from: `local`, `ssh://[user@]host[:port]`, `sim` or
    /// `sim:FILE`.
    #[arg(long, env = "PHOENIX_TARGET", default_value = "local")]
    pub target: String,
    #[command(flatten)]
    pub ssh: SshArgs,
}

/// `phoenix graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub common: Common,
    /// The output format.
    #[arg(long, value_enum, default_value_t = GraphFormatArg::Text)]
    pub format: GraphFormatArg,
}

/// Graph output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormatArg {
    /// Execution order, one resource per line with its dependencies.
    Text,
    /// Graphviz dot.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// `phoenix sim-audit`.
#[derive(Debug, Args)]
pub struct SimAuditArgs {
    /// The simulated node: `sim:FILE`.
    #[arg(long, env = "PHOENIX_TARGET")]
    pub target: String,
    /// Which run: `last`, `all`, or a run number.
    #[arg(long, default_value = "last")]
    pub run: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_parallelism_is_the_engine_s() {
        assert_eq!(
            usize::from(super::PARALLELISM),
            phoenix_core::DEFAULT_PARALLELISM
        );
    }
}
