//! Latency profiles: how long each simulated command or file operation takes.

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::SimError;

/// How long the simulated node makes each operation take, per program with a default.
///
/// Two profiles exist, chosen by name with [`LatencyProfile::named`]:
///
/// - `zero`: nothing sleeps at all. The default, so tests and plans against a simulated node are
///   instant.
/// - `proxmox-typical`: wall-clock costs measured or estimated on a Proxmox VE host, so that
///   parallelism and progress reporting can be judged without a real host:
///   - each provider's tools cost what its emulator's `Emulator::typical_latency` says (for
///     example the Proxmox CLIs are Perl programs that pay about 0.4 s of start-up per call);
///   - `cat` and the other coreutils cost about 1 to 2 ms (process start-up); 2 ms is used;
///   - Reading, writing or removing a file through the `Host` API: about 1 ms.
///   - Any other program: 5 ms.
///
/// The profile is data only; the node applies it with `tokio::time::sleep` outside its lock.
/// Which profile a command line run uses is the caller's choice (see `SimNode::set_latency`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyProfile {
    name: &'static str,
    default: Duration,
    file_op: Duration,
    programs: BTreeMap<&'static str, Duration>,
}

/// Per-program costs of the `proxmox-typical` profile, in milliseconds.
const PROXMOX_TYPICAL_MS: &[(&str, u64)] = &[
    ("cat", 2),
    ("true", 2),
    ("false", 2),
    ("ls", 2),
    ("stat", 2),
    ("test", 2),
    ("mkdir", 2),
    ("rm", 2),
    ("cp", 2),
    ("mv", 2),
    ("chmod", 2),
    ("chown", 2),
    ("ln", 2),
    ("touch", 2),
];

impl LatencyProfile {
    /// The names of all profiles, default first.
    pub const NAMES: &'static [&'static str] = &["zero", "proxmox-typical"];

    /// The profile called `name`: `zero` or `proxmox-typical`.
    pub fn named(name: &str) -> Result<LatencyProfile, SimError> {
        match name {
            "zero" => Ok(LatencyProfile::zero()),
            "proxmox-typical" => Ok(LatencyProfile::proxmox_typical()),
            _ => Err(SimError::UnknownLatency {
                name: name.to_owned(),
            }),
        }
    }

    /// The profile in which nothing sleeps.
    pub fn zero() -> LatencyProfile {
        LatencyProfile {
            name: "zero",
            default: Duration::ZERO,
            file_op: Duration::ZERO,
            programs: BTreeMap::new(),
        }
    }

    /// The profile with a Proxmox VE host's typical costs (see the type's documentation).
    pub fn proxmox_typical() -> LatencyProfile {
        LatencyProfile {
            name: "proxmox-typical",
            default: Duration::from_millis(5),
            file_op: Duration::from_millis(1),
            programs: PROXMOX_TYPICAL_MS
                .iter()
                .map(|&(program, ms)| (program, Duration::from_millis(ms)))
                .collect(),
        }
    }

    /// The profile's name, as stored in the state file.
    pub fn name(&self) -> &str {
        self.name
    }

    /// How long running `program` takes, given what its emulator says is typical.
    pub fn for_program(&self, program: &str, typical: Option<Duration>) -> Duration {
        if self.name == "zero" {
            return Duration::ZERO;
        }
        self.programs
            .get(program)
            .copied()
            .or(typical)
            .unwrap_or(self.default)
    }

    /// How long one file read, write or removal through the `Host` API takes.
    pub fn file_op(&self) -> Duration {
        self.file_op
    }
}

impl Default for LatencyProfile {
    fn default() -> LatencyProfile {
        LatencyProfile::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_resolves_to_itself() {
        for name in LatencyProfile::NAMES {
            let profile = LatencyProfile::named(name).expect("listed profile exists");
            assert_eq!(profile.name(), *name);
        }
    }

    #[test]
    fn zero_never_sleeps() {
        let zero = LatencyProfile::zero();
        for program in ["cat", "anything"] {
            assert_eq!(
                zero.for_program(program, Some(Duration::from_millis(400))),
                Duration::ZERO
            );
        }
        assert_eq!(zero.file_op(), Duration::ZERO);
    }

    #[test]
    fn proxmox_typical_takes_the_emulators_word() {
        let typical = LatencyProfile::named("proxmox-typical").expect("profile exists");
        let perl = Some(Duration::from_millis(400));
        assert_eq!(
            typical.for_program("some-perl-cli", perl),
            Duration::from_millis(400)
        );
        assert_eq!(typical.for_program("cat", None), Duration::from_millis(2));
        assert_eq!(
            typical.for_program("unheard-of", None),
            Duration::from_millis(5)
        );
        assert_eq!(typical.file_op(), Duration::from_millis(1));
    }

    #[test]
    fn unknown_name_is_an_error() {
        let err = LatencyProfile::named("slow").expect_err("no such profile");
        assert_eq!(
            err.to_string(),
            "use latency profile `slow`: there is no such profile (known: zero, proxmox-typical)"
        );
    }
}
