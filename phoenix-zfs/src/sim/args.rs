//! Command-line helpers shared by the emulators: short-option parsing as getopt does it, the
//! fields and rows of `zfs get` and `zpool get`, the status of a listing, and the refusal to
//! invent output for anything not emulated.

use phoenix_core::sim::SimOutput;

/// The status of a command the emulator does not know (like a usage error).
pub(crate) const NOT_EMULATED: i32 = 2;

/// The refusal for a command line the emulator does not emulate: exit 2 and a message naming it.
pub(crate) fn not_emulated(argv: &[String]) -> SimOutput {
    SimOutput::fail(
        NOT_EMULATED,
        format!("phoenix sim: `{}` is not emulated\n", argv.join(" ")),
    )
}

/// What a read-only listing returns: its rows on stdout and, for what it could not open, errors
/// on stderr and status 1 (`zfs` and `zpool` still list the rest).
pub(crate) fn listing(stdout: impl Into<String>, stderr: String) -> SimOutput {
    let status = if stderr.is_empty() { 0 } else { 1 };
    SimOutput::new(status, stdout, stderr, false)
}

/// The `-o` fields of `zfs get` or `zpool get` (`name,property,value,source` by default), or
/// `None` when one is not among those four.
pub(crate) fn get_fields(opts: &Opts) -> Option<Vec<&str>> {
    let fields: Vec<&str> = opts
        .value('o')
        .unwrap_or("name,property,value,source")
        .split(',')
        .collect();
    fields
        .iter()
        .all(|field| matches!(*field, "name" | "property" | "value" | "source"))
        .then_some(fields)
}

/// Appends one row of `zfs get -H` or `zpool get -H`: the requested fields, tab-separated.
pub(crate) fn push_get_row(
    stdout: &mut String,
    fields: &[&str],
    name: &str,
    property: &str,
    value: &str,
    source: &str,
) {
    let row: Vec<&str> = fields
        .iter()
        .map(|field| match *field {
            "name" => name,
            "property" => property,
            "value" => value,
            _ => source,
        })
        .collect();
    stdout.push_str(&row.join("\t"));
    stdout.push('\n');
}

/// Short options and operands, parsed like glibc `getopt`: options may be bundled (`-Hp`), an
/// option's value may be attached (`-ofoo`) or the next word, options may follow operands, and
/// `--` ends the options.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Opts {
    /// Options in order, with their values.
    pub(crate) options: Vec<(char, Option<String>)>,
    /// The operands in order.
    pub(crate) operands: Vec<String>,
}

impl Opts {
    /// Parses `args`: `flags` lists the options without a value, `valued` those with one. An
    /// unknown option or a missing value is an error (the emulator then refuses the command).
    pub(crate) fn parse(args: &[String], flags: &str, valued: &str) -> Result<Opts, ()> {
        let mut opts = Opts::default();
        let mut words = args.iter();
        while let Some(word) = words.next() {
            if word == "--" {
                opts.operands.extend(words.by_ref().cloned());
                break;
            }
            let Some(letters) = word.strip_prefix('-').filter(|rest| !rest.is_empty()) else {
                opts.operands.push(word.clone());
                continue;
            };
            for (at, letter) in letters.char_indices() {
                if flags.contains(letter) {
                    opts.options.push((letter, None));
                } else if valued.contains(letter) {
                    let attached = &letters[at + letter.len_utf8()..];
                    let value = if attached.is_empty() {
                        words.next().cloned().ok_or(())?
                    } else {
                        attached.to_owned()
                    };
                    opts.options.push((letter, Some(value)));
                    break;
                } else {
                    return Err(());
                }
            }
        }
        Ok(opts)
    }

    /// Whether `-H` and `-p` were given: the scripted form with exact numbers, the only one the
    /// `zfs` and `zpool` emulators print.
    pub(crate) fn scripted(&self) -> bool {
        self.has('H') && self.has('p')
    }

    /// Whether flag `letter` was given.
    pub(crate) fn has(&self, letter: char) -> bool {
        self.options.iter().any(|(found, _)| *found == letter)
    }

    /// The values given to option `letter`, in order.
    pub(crate) fn values(&self, letter: char) -> impl Iterator<Item = &str> {
        self.options
            .iter()
            .filter(move |(found, _)| *found == letter)
            .filter_map(|(_, value)| value.as_deref())
    }

    /// The last value given to option `letter`.
    pub(crate) fn value(&self, letter: char) -> Option<&str> {
        self.values(letter).last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn bundles_values_and_permutation() {
        let opts =
            Opts::parse(&words("-Hp -o name,value all -r tank -- -x"), "Hpr", "ot").expect("valid");
        assert!(opts.has('H') && opts.has('p') && opts.has('r'));
        assert_eq!(opts.value('o'), Some("name,value"));
        assert_eq!(opts.operands, ["all", "tank", "-x"]);
        let opts = Opts::parse(&words("-oname"), "", "o").expect("attached");
        assert_eq!(opts.value('o'), Some("name"));
        assert!(Opts::parse(&words("-Z"), "H", "o").is_err());
        assert!(Opts::parse(&words("-o"), "H", "o").is_err());
    }
}
