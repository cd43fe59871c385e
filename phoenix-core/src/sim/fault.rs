//! `Fault`: an injected command failure, kept in the state file with its match counter.

use serde::{Deserialize, Serialize};

/// Makes the `nth` command matching `program` and `argv_contains` fail with `status` and
/// `stderr`, without running its emulator (so it changes nothing); or, with `after_effect`, after
/// running it (the command did its work, then failed); with `timeout`, the host reports that the
/// command timed out instead of an exit status (before or after its effect).
///
/// Every matching call counts, over the node's whole life (`matched` is saved in the state), so a
/// fault fires once. `nth` is 1-based; 0 never fires. Faults apply to commands only, not to file
/// operations through the `Host` API. A command that runs inside another (a query of the scope
/// probe) is matched only by a fault that names its `program`, so a fault at "the nth command"
/// counts the commands the node runs, as its audit lists them.
///
/// In JSON every field but `nth` may be left out: `status` defaults to 1, `stderr` to empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Fault {
    /// The program to match; `None` matches every program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// A substring of the space-joined argv (program included) to match; `None` matches any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv_contains: Option<String>,
    /// Which matching call fails, 1-based.
    pub nth: u64,
    /// The exit status the failing call returns.
    #[serde(default = "default_status")]
    pub status: i32,
    /// What the failing call prints on standard error.
    #[serde(default)]
    pub stderr: String,
    /// How many calls have matched so far.
    #[serde(default)]
    pub matched: u64,
    /// The command runs (and changes the node) before it fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_effect: bool,
    /// The command times out (`HostError::Timeout`) instead of exiting with `status`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timeout: bool,
}

impl Fault {
    /// Fails the `nth` call of any command with `status` and `stderr`; narrow it with
    /// [`Fault::program`] and [`Fault::argv_contains`].
    pub fn new(nth: u64, status: i32, stderr: impl Into<String>) -> Fault {
        Fault {
            program: None,
            argv_contains: None,
            nth,
            status,
            stderr: stderr.into(),
            matched: 0,
            after_effect: false,
            timeout: false,
        }
    }

    /// Fails the command after it did its work (its emulator runs and changes the node).
    #[must_use]
    pub fn after_effect(mut self) -> Fault {
        self.after_effect = true;
        self
    }

    /// Reports a timeout instead of an exit status.
    #[must_use]
    pub fn timed_out(mut self) -> Fault {
        self.timeout = true;
        self
    }

    /// Matches only commands running `program`.
    #[must_use]
    pub fn program(mut self, program: impl Into<String>) -> Fault {
        self.program = Some(program.into());
        self
    }

    /// Matches only commands whose space-joined argv contains `needle`.
    #[must_use]
    pub fn argv_contains(mut self, needle: impl Into<String>) -> Fault {
        self.argv_contains = Some(needle.into());
        self
    }

    /// Whether `other` is the same rule (everything but the match counter).
    pub(crate) fn same_rule(&self, other: &Fault) -> bool {
        Fault {
            matched: other.matched,
            ..self.clone()
        } == *other
    }

    /// Whether this fault applies to `argv` (program first); `joined` is `argv` joined by spaces.
    fn matches(&self, argv: &[String], joined: &str) -> bool {
        let program_matches = self
            .program
            .as_deref()
            .is_none_or(|program| argv.first().is_some_and(|first| first == program));
        let argv_matches = self
            .argv_contains
            .as_deref()
            .is_none_or(|needle| joined.contains(needle));
        program_matches && argv_matches
    }
}

fn default_status() -> i32 {
    1
}

/// Counts one call against every fault that matches `argv` and returns the first that fires.
pub(crate) fn check_faults<'a>(faults: &'a mut [Fault], argv: &[String]) -> Option<&'a Fault> {
    check(faults, argv, false)
}

/// [`check_faults`] for a command run inside another: only faults naming its program count it.
pub(crate) fn check_nested_faults<'a>(
    faults: &'a mut [Fault],
    argv: &[String],
) -> Option<&'a Fault> {
    check(faults, argv, true)
}

fn check<'a>(faults: &'a mut [Fault], argv: &[String], nested: bool) -> Option<&'a Fault> {
    let joined = argv.join(" ");
    let mut fired = None;
    for (index, fault) in faults.iter_mut().enumerate() {
        if (!nested || fault.program.is_some()) && fault.matches(argv, &joined) {
            fault.matched += 1;
            if fault.matched == fault.nth && fired.is_none() {
                fired = Some(index);
            }
        }
    }
    fired.map(|index| &faults[index])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn issue_10_a_command_inside_another_is_counted_only_by_faults_naming_its_program() {
        let mut faults = vec![
            Fault::new(1, 5, "any\n"),
            Fault::new(1, 6, "smartctl\n").program("smartctl"),
        ];
        let fired = check_nested_faults(&mut faults, &argv(&["smartctl", "-a", "/dev/x"]));
        assert_eq!(fired.map(|fault| fault.status), Some(6));
        assert_eq!(
            faults[0].matched, 0,
            "positional faults count top-level commands only"
        );
        assert_eq!(
            check_faults(&mut faults, &argv(&["zfs", "list"])).map(|fault| fault.status),
            Some(5)
        );
    }

    #[test]
    fn fires_on_the_nth_match_only() {
        let mut faults = vec![
            Fault::new(2, 5, "boom\n")
                .program("zfs")
                .argv_contains("create tank/a"),
        ];
        let create = argv(&["zfs", "create", "tank/a"]);
        assert!(check_faults(&mut faults, &argv(&["zfs", "list"])).is_none());
        assert!(check_faults(&mut faults, &argv(&["zpool", "create tank/a"])).is_none());
        assert!(check_faults(&mut faults, &create).is_none());
        assert_eq!(
            check_faults(&mut faults, &create).map(|fault| fault.status),
            Some(5)
        );
        assert!(check_faults(&mut faults, &create).is_none());
        assert_eq!(faults[0].matched, 3);
    }

    #[test]
    fn nth_zero_never_fires_and_every_fault_counts() {
        let mut faults = vec![Fault::new(0, 1, ""), Fault::new(1, 2, "")];
        assert_eq!(
            check_faults(&mut faults, &argv(&["true"])).map(|fault| fault.status),
            Some(2)
        );
        assert!(check_faults(&mut faults, &argv(&["true"])).is_none());
        assert_eq!((faults[0].matched, faults[1].matched), (2, 2));
    }

    #[test]
    fn json_defaults() {
        let fault: Fault =
            serde_json::from_str(r#"{"program": "pct", "nth": 1}"#).expect("valid fault");
        assert_eq!(fault, Fault::new(1, 1, "").program("pct"));
        let text = serde_json::to_string(&fault).expect("serialises");
        assert!(
            !text.contains("after_effect") && !text.contains("timeout"),
            "{text}"
        );
        let fault: Fault =
            serde_json::from_str(r#"{"nth": 2, "after_effect": true, "timeout": true}"#)
                .expect("valid fault");
        assert_eq!(fault, Fault::new(2, 1, "").after_effect().timed_out());
    }
}
