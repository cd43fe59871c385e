//! `testparm -s [FILE]` as Samba 4.17 prints it: the load messages and warnings on standard
//! error, then every parameter that differs from its default, by section, in Samba's order
//! (`fixtures/testparm-s*.txt`, and the testbed's `host/testparm-s*.txt`).
//!
//! It reads the file with the provider's smb.conf reader and checks names and values with the
//! provider's parameter table, so it agrees with validation by construction; it exits 0 on an
//! unknown parameter or a global one in a share (with the real warnings) and 1 on a value Samba
//! refuses or a broken section header.

use std::collections::BTreeMap;

use phoenix_core::sim::{SimOutput, SimSys};

use crate::samba::conf::{ConfParam, parse_smb_conf};
use crate::samba::params::{Class, params};

/// The file testparm reads without an argument.
pub(crate) const DEFAULT_CONF: &str = "/etc/samba/smb.conf";

/// What testparm prints after a file loaded.
const LOADED: &str = "Loaded services file OK.\nWeak crypto is allowed by GnuTLS (e.g. NTLM as a compatibility fallback)\n\nServer role: ROLE_STANDALONE\n\n";

/// The parametric default every dump ends `[global]` with.
const IDMAP_DEFAULT: &str = "idmap config * : backend = tdb";

/// One section being loaded: canonical name → value as printed, and parametric options.
#[derive(Debug, Default)]
struct Loaded {
    values: BTreeMap<String, String>,
    parametric: Vec<(String, String)>,
}

/// `testparm ARGS`.
pub(crate) fn testparm(args: &[String], sys: &SimSys<'_>) -> SimOutput {
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !args.iter().any(|a| a == "-s" || a == "--suppress-prompt") || files.len() > 1 {
        return SimOutput::fail(
            1,
            format!(
                "phoenix sim: `testparm {}` is not emulated\n",
                args.join(" ")
            ),
        );
    }
    let path = files.first().map_or(DEFAULT_CONF, |f| f.as_str());
    let mut stderr = format!("Load smb config files from {path}\n");
    match load(path, sys, &mut stderr) {
        Ok((global, includes, shares)) => {
            stderr.push_str(LOADED);
            SimOutput::ok(dump(&global, &includes, &shares)).with_stderr(stderr)
        }
        Err(line) => {
            stderr.push_str(&line);
            stderr.push_str("Error loading services.\n");
            SimOutput::fail(1, stderr)
        }
    }
}

type Shares = Vec<(String, Loaded)>;

/// What a load builds.
struct Loader<'s, 'a> {
    sys: &'s SimSys<'a>,
    global: Loaded,
    includes: Vec<String>,
    shares: Shares,
    depth: usize,
}

/// Loads `path` and the files it includes; `Err` holds the refusal testparm prints.
fn load(
    path: &str,
    sys: &SimSys<'_>,
    stderr: &mut String,
) -> Result<(Loaded, Vec<String>, Shares), String> {
    let text = sys
        .read(path)
        .map(|f| f.content.clone())
        .ok_or_else(String::new)?;
    let mut loader = Loader {
        sys,
        global: Loaded::default(),
        includes: Vec::new(),
        shares: Vec::new(),
        depth: 0,
    };
    loader.load_text(&text, "global".to_owned(), stderr)?;
    Ok((loader.global, loader.includes, loader.shares))
}

/// Whether the first line that is not blank or a comment is a section header.
fn starts_with_header(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .is_some_and(|l| l.starts_with('['))
}

impl Loader<'_, '_> {
    /// Loads `text` in place, as Samba does: an include is read where it stands, parameters
    /// before a file's first header go to the section in force, and the section in force at
    /// the end is returned to the including file.
    fn load_text(
        &mut self,
        text: &str,
        mut current: String,
        stderr: &mut String,
    ) -> Result<String, String> {
        let conf = parse_smb_conf(text).map_err(|_| String::new())?;
        let implicit_first = !starts_with_header(text);
        for (i, section) in conf.sections.iter().enumerate() {
            if !(i == 0 && implicit_first) {
                current = section.name.clone();
                self.section(&current);
            }
            for param in &section.params {
                if param.name.eq_ignore_ascii_case("include") {
                    // In [global] testparm prints it last; in a share, as that share's parameter.
                    if current.eq_ignore_ascii_case("global") {
                        self.includes.push(param.value.clone());
                    } else {
                        set(self.section(&current), param, false, stderr)?;
                    }
                    let included = self.sys.read(&param.value).map(|f| f.content.clone());
                    if let Some(included) = included.filter(|_| self.depth < 16) {
                        self.depth += 1;
                        current = self.load_text(&included, current, stderr)?;
                        self.depth -= 1;
                    }
                    continue;
                }
                let in_global = current.eq_ignore_ascii_case("global");
                set(self.section(&current), param, in_global, stderr)?;
            }
        }
        Ok(current)
    }

    /// The section called `name` (sections of one name merge, without case).
    fn section(&mut self, name: &str) -> &mut Loaded {
        if name.eq_ignore_ascii_case("global") {
            return &mut self.global;
        }
        let at = match self
            .shares
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(at) => at,
            None => {
                self.shares.push((name.to_owned(), Loaded::default()));
                self.shares.len() - 1
            }
        };
        &mut self.shares[at].1
    }
}

/// Sets one parameter as `lp_do_parameter` does: warnings go to `stderr`, a refused value is
/// the error.
fn set(
    target: &mut Loaded,
    param: &ConfParam,
    in_global: bool,
    stderr: &mut String,
) -> Result<(), String> {
    if param.name.contains(':') {
        target
            .parametric
            .push((param.name.clone(), param.value.clone()));
        return Ok(());
    }
    let Some(resolved) = params().resolve(&param.name) else {
        stderr.push_str(&format!(
            "Unknown parameter encountered: \"{0}\"\nIgnoring unknown parameter \"{0}\"\n",
            param.name
        ));
        return Ok(());
    };
    if !in_global && resolved.param.class == Class::Global {
        stderr.push_str(&format!(
            "Global parameter {} found in service section!\n",
            param.name
        ));
        return Ok(());
    }
    let value = resolved
        .canonical_value(&param.value)
        .map_err(|bad| format!("{}\n", bad.testparm))?;
    target.values.insert(resolved.param.name.clone(), value);
    Ok(())
}

/// The dump on standard output: `[global]` against the defaults, each share against the
/// defaults as `[global]` changed them.
fn dump(global: &Loaded, includes: &[String], shares: &Shares) -> String {
    let mut out = String::from("# Global parameters\n[global]\n");
    let defaults = |name: &str| {
        params()
            .resolve(name)
            .map(|r| r.param.default.clone())
            .unwrap_or_default()
    };
    out.push_str(&lines(&global.values, |name| defaults(name)));
    out.push_str(&format!("\t{IDMAP_DEFAULT}\n"));
    for (name, value) in &global.parametric {
        out.push_str(&format!("\t{name} = {value}\n"));
    }
    for include in includes {
        out.push_str(&format!("\tinclude = {include}\n"));
    }
    for (name, share) in shares {
        out.push_str(&format!("\n\n[{name}]\n"));
        out.push_str(&lines(&share.values, |param| {
            global
                .values
                .get(param)
                .cloned()
                .unwrap_or_else(|| defaults(param))
        }));
        for (name, value) in &share.parametric {
            out.push_str(&format!("\t{name} = {value}\n"));
        }
    }
    out
}

/// `\tname = value` for each value that differs from `default_of`, in Samba's order.
fn lines(values: &BTreeMap<String, String>, default_of: impl Fn(&str) -> String) -> String {
    let mut set: Vec<(usize, &String, &String)> = values
        .iter()
        .filter(|(name, value)| **value != default_of(name))
        .map(|(name, value)| {
            let order = params().resolve(name).map_or(usize::MAX, |r| r.param.order);
            (order, name, value)
        })
        .collect();
    set.sort();
    set.into_iter()
        .map(|(_, name, value)| format!("\t{name} = {value}\n"))
        .collect()
}
