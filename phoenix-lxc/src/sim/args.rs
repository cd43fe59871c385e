//! `pct` command lines: options as Proxmox's CLI handler takes them, the failures every
//! subcommand shares, and their exact texts.
//!
//! Options are `--name value`, `-name value` or `--name=value`, anywhere among the positional
//! arguments (Getopt::Long permutes); a boolean may stand alone (`--full`) or take `0`/`1`
//! (`yes`/`no`, `on`/`off`, `true`/`false`); `--` ends the options. An option the emulator does
//! not know makes the whole command "not emulated" rather than guessing Proxmox's usage text.
//!
//! Errors (`fixtures/proxmox/SOURCES.md` §3): every failure goes through Perl `die` and exits 255
//! with its message on stderr. Parameter errors print `400 Parameter verification failed.`, one
//! `param: message` line per bad parameter (sorted), then the usage line
//! (`pct-error.param-verification.1.txt`).

use phoenix_core::sim::SimOutput;

/// The exit status of a failed `pct` command.
pub(crate) const DIE: i32 = 255;

/// The status of a command line the emulator does not emulate.
pub(crate) const NOT_EMULATED: i32 = 2;

/// What a subcommand printed before it failed, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Failure {
    /// A Perl `die "message\n"`: exit 255, the message on stderr.
    pub(crate) fn die(message: impl AsRef<str>) -> Failure {
        Failure {
            status: DIE,
            stdout: String::new(),
            stderr: format!("{}\n", message.as_ref()),
        }
    }

    /// `400 Parameter verification failed.` with `errors` (param, message) and the usage line.
    pub(crate) fn param(errors: &[(String, String)], usage: &str) -> Failure {
        let mut errors: Vec<&(String, String)> = errors.iter().collect();
        errors.sort();
        let mut stderr = "400 Parameter verification failed.\n".to_owned();
        for (param, message) in errors {
            stderr.push_str(&format!("{param}: {message}\n"));
        }
        stderr.push_str(usage);
        stderr.push('\n');
        Failure {
            status: DIE,
            stdout: String::new(),
            stderr,
        }
    }

    /// The refusal to invent output: exit 2 and a message naming the command line.
    pub(crate) fn not_emulated(argv: &[String]) -> Failure {
        Failure {
            status: NOT_EMULATED,
            stdout: String::new(),
            stderr: format!("phoenix sim: `{}` is not emulated\n", argv.join(" ")),
        }
    }

    /// The same failure after `stdout` was already printed.
    pub(crate) fn after(mut self, stdout: &str) -> Failure {
        self.stdout = format!("{stdout}{}", self.stdout);
        self
    }

    /// As the node's output.
    pub(crate) fn into_output(self) -> SimOutput {
        SimOutput::new(self.status, self.stdout, self.stderr, false)
    }
}

/// A subcommand's result.
pub(crate) type Step<T> = Result<T, Failure>;

/// What a successful subcommand printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Printed {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Printed {
    /// Only standard output.
    pub(crate) fn out(stdout: impl Into<String>) -> Printed {
        Printed {
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }
}

/// How an option takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A boolean: alone, or followed by a boolean word.
    Bool,
    /// An integer (checked by the caller against the schema).
    Int,
    /// Any string.
    Text,
}

/// A parsed command line: positional arguments, options in order, and the words after `--`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) positional: Vec<String>,
    pub(crate) options: Vec<(String, String)>,
    pub(crate) extra: Vec<String>,
}

impl Args {
    /// Parses `words` with `kind` telling each option's kind (`None`: unknown). `None` when an
    /// option is unknown or lacks its value.
    pub(crate) fn parse(words: &[String], kind: &dyn Fn(&str) -> Option<Kind>) -> Option<Args> {
        let mut args = Args::default();
        let mut words = words.iter().peekable();
        while let Some(word) = words.next() {
            if word == "--" {
                args.extra.extend(words.by_ref().cloned());
                break;
            }
            let Some(name) = word
                .strip_prefix("--")
                .or_else(|| word.strip_prefix('-'))
                .filter(|name| name.starts_with(|c: char| c.is_ascii_alphabetic()))
            else {
                args.positional.push(word.clone());
                continue;
            };
            if let Some((name, value)) = name.split_once('=') {
                kind(name)?;
                args.options.push((name.to_owned(), value.to_owned()));
                continue;
            }
            let value = match kind(name)? {
                Kind::Bool => match words.peek() {
                    Some(next) if phoenix_pve::parse_bool(next).is_some() => words.next()?.clone(),
                    _ => "1".to_owned(),
                },
                Kind::Int | Kind::Text => words.next()?.clone(),
            };
            args.options.push((name.to_owned(), value));
        }
        Some(args)
    }

    /// The last value of option `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(found, _)| found == name)
            .map(|(_, value)| value.as_str())
    }

    /// Option `name` as a boolean (absent: `default`); `None` for a value that is not one.
    pub(crate) fn flag(&self, name: &str, default: bool) -> Option<bool> {
        match self.get(name) {
            Some(value) => phoenix_pve::parse_bool(value),
            None => Some(default),
        }
    }

    /// Each option once (the last value wins), in first-seen order.
    pub(crate) fn unique_options(&self) -> Vec<(String, String)> {
        let mut unique: Vec<(String, String)> = Vec::new();
        for (name, value) in &self.options {
            match unique.iter_mut().find(|(found, _)| found == name) {
                Some(entry) => entry.1.clone_from(value),
                None => unique.push((name.clone(), value.clone())),
            }
        }
        unique
    }
}

/// Whether `name` is `<prefix><digits>` with a number below `max`.
pub(crate) fn indexed(name: &str, prefix: &str, max: u32) -> bool {
    name.strip_prefix(prefix)
        .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u32>().ok())
        .is_some_and(|number| number < max)
}

/// The container options `pct create` and `pct set` share, with their kinds.
pub(crate) fn config_option(name: &str) -> Option<Kind> {
    if indexed(name, "net", 32) || indexed(name, "mp", 256) || indexed(name, "dev", 256) {
        return Some(Kind::Text);
    }
    if indexed(name, "unused", 256) {
        return Some(Kind::Text);
    }
    match name {
        "onboot" | "protection" | "unprivileged" | "console" | "template" | "debug" => {
            Some(Kind::Bool)
        }
        "memory" | "swap" | "cores" | "cpuunits" | "tty" => Some(Kind::Int),
        "hostname" | "description" | "features" | "startup" | "tags" | "nameserver"
        | "searchdomain" | "timezone" | "arch" | "ostype" | "cmode" | "cpulimit" | "rootfs"
        | "hookscript" | "lock" => Some(Kind::Text),
        _ => None,
    }
}

/// Checks an integer option against the schema's type and bounds: `(param, message)` errors.
pub(crate) fn check_int(name: &str, value: &str, errors: &mut Vec<(String, String)>) {
    let (minimum, maximum): (u64, Option<u64>) = match name {
        "memory" => (16, None),
        "cores" => (1, Some(8192)),
        "cpuunits" => (0, Some(500_000)),
        "tty" => (0, Some(6)),
        _ => (0, None),
    };
    match value.parse::<u64>() {
        Err(_) => errors.push((
            name.to_owned(),
            format!("type check ('integer') failed - got '{value}'"),
        )),
        Ok(number) if number < minimum => errors.push((
            name.to_owned(),
            format!("value must have a minimum value of {minimum}"),
        )),
        Ok(number) if maximum.is_some_and(|maximum| number > maximum) => errors.push((
            name.to_owned(),
            format!(
                "value may have a maximum value of {}",
                maximum.unwrap_or_default()
            ),
        )),
        Ok(_) => {}
    }
}

/// Checks a boolean option: `(param, message)` errors.
pub(crate) fn check_bool(name: &str, value: &str, errors: &mut Vec<(String, String)>) {
    if phoenix_pve::parse_bool(value).is_none() {
        errors.push((
            name.to_owned(),
            format!("type check ('boolean') failed - got '{value}'"),
        ));
    }
}

/// A container id as `pct` takes it: 100 to 999999999.
pub(crate) fn vmid(word: &str) -> Option<u32> {
    word.parse::<u32>()
        .ok()
        .filter(|id| (100..=999_999_999).contains(id) && !word.starts_with('0'))
}

/// The usage line `pct` prints after a parameter error.
pub(crate) fn usage(subcommand: &str) -> String {
    let args = match subcommand {
        "create" => "<vmid> <ostemplate> [OPTIONS]",
        "clone" => "<vmid> <newid> [OPTIONS]",
        "resize" => "<vmid> <disk> <size> [OPTIONS]",
        "snapshot" | "delsnapshot" | "rollback" => "<vmid> <snapname> [OPTIONS]",
        "push" => "<vmid> <file> <destination> [OPTIONS]",
        "listsnapshot" | "unlock" => "<vmid>",
        "exec" => "<vmid> [<extra-args>] [OPTIONS]",
        _ => "<vmid> [OPTIONS]",
    };
    format!("pct {subcommand} {args}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn options_booleans_and_double_dash() {
        let kind = |name: &str| match name {
            "full" => Some(Kind::Bool),
            "storage" | "snapname" => Some(Kind::Text),
            _ => None,
        };
        let args = Args::parse(
            &words("900 951 --snapname final-form --full --storage=fast"),
            &kind,
        )
        .expect("valid");
        assert_eq!(args.positional, ["900", "951"]);
        assert_eq!(args.get("full"), Some("1"));
        assert_eq!(args.get("storage"), Some("fast"));
        let args = Args::parse(&words("--full 0 1 -- ls -l"), &kind).expect("valid");
        assert_eq!(args.get("full"), Some("0"));
        assert_eq!(args.positional, ["1"]);
        assert_eq!(args.extra, ["ls", "-l"]);
        assert!(Args::parse(&words("--nope 1"), &kind).is_none());
        assert!(Args::parse(&words("--storage"), &kind).is_none());
    }

    #[test]
    fn the_param_error_sample() {
        let failure = Failure::param(
            &[(
                "storage".to_owned(),
                "storage 'local' does not support container directories".to_owned(),
            )],
            &usage("create"),
        );
        let sample = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/fixtures/proxmox/pct-error.param-verification.1.txt"),
        )
        .expect("sample");
        assert_eq!(failure.stderr, sample);
        assert_eq!(failure.status, 255);
    }

    #[test]
    fn integers_and_ids() {
        let mut errors = Vec::new();
        check_int("memory", "abc", &mut errors);
        check_int("memory", "8", &mut errors);
        check_int("cores", "4", &mut errors);
        assert_eq!(
            errors,
            [
                (
                    "memory".to_owned(),
                    "type check ('integer') failed - got 'abc'".to_owned()
                ),
                (
                    "memory".to_owned(),
                    "value must have a minimum value of 16".to_owned()
                )
            ]
        );
        assert_eq!(vmid("951"), Some(951));
        assert_eq!(vmid("99"), None);
        assert_eq!(vmid("0951"), None);
    }
}
