//! The subcommands: load the config, build the engine, run it against the target, render.

use std::io::BufRead as _;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use phoenix_core::apply::outcome_diagnostics;
use phoenix_core::config::ConfigSet;
use phoenix_core::{
    ApplyOptions, Change, Diagnostic, Engine, GraphFormat, Observer, Outcome, Plan, PlanOptions,
    Registry, Status,
};

use crate::args::{
    ApplyArgs, Common, GraphArgs, GraphFormatArg, PlanArgs, ReconfigureArgs, SimAuditArgs,
    StatusArgs,
};
use crate::error::CliError;
use crate::exit;
use crate::io::{Io, SharedWriter, emit};
use crate::render::{self, Style};
use crate::target::{Access, Opened, Run, Target};

/// Every built-in provider, registered explicitly.
pub fn registry() -> Registry {
    Registry::builder()
        .provider(phoenix_core::file::provider())
        .provider(phoenix_core::timezone::provider())
        .provider(phoenix_zfs::provider())
        .provider(phoenix_lxc::provider())
        .provider(phoenix_net::provider())
        .provider(phoenix_gpu::provider())
        .provider(phoenix_security::provider())
        .provider(phoenix_ai::provider())
        .build()
        .expect("invariant: built-in providers declare distinct kinds")
}

/// Loads and decodes the config and builds the graph. Nothing touches a host.
pub(crate) fn load(common: &Common) -> Result<Engine, CliError> {
    let config = ConfigSet::load(&common.config).map_err(CliError::Config)?;
    let desired = registry().decode(&config);
    if desired.has_errors() {
        return Err(CliError::Config(desired.diagnostics));
    }
    let engine = Engine::new(desired)?;
    if engine.config_diagnostics().iter().any(Diagnostic::is_error) {
        return Err(CliError::Config(engine.config_diagnostics().to_vec()));
    }
    Ok(engine)
}

/// What the run lock says the run is doing: `phoenix SUBCOMMAND --config C --target T`.
fn command_line(subcommand: &str, common: &Common, target: &str) -> String {
    format!(
        "phoenix {subcommand} --config {} --target {target}",
        common.config.display()
    )
}

/// The style of what goes to stdout.
fn style(io: &Io) -> Style {
    Style {
        color: io.color_stdout,
    }
}

/// The style of what goes to stderr: coloured by whether stderr, not stdout, is a terminal.
fn err_style(io: &Io) -> Style {
    Style {
        color: io.color_stderr,
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text =
        serde_json::to_string_pretty(value).expect("invariant: reports serialise to JSON");
    text.push('\n');
    text
}

/// `phoenix validate`.
pub(crate) fn validate(common: &Common, io: &Io) -> Result<i32, CliError> {
    let engine = load(common)?;
    let diagnostics = engine.config_diagnostics().to_vec();
    if common.json {
        let report = serde_json::json!({
            "format_version": phoenix_core::FORMAT_VERSION,
            "valid": true,
            "resources": engine.resources().len(),
            "diagnostics": diagnostics,
        });
        emit(&io.stdout, &to_json(&report));
    } else {
        emit(
            &io.stderr,
            &render::diagnostics(&diagnostics, err_style(io)),
        );
        emit(
            &io.stdout,
            &format!(
                "The config is valid: {} resource(s).\n",
                engine.resources().len()
            ),
        );
    }
    Ok(exit::OK)
}

/// `phoenix plan`.
pub(crate) fn plan(args: &PlanArgs, io: &Io) -> Result<i32, CliError> {
    let engine = load(&args.common)?;
    let target = Target::parse(&args.target.target)?;
    let rt = runtime();
    let command = command_line("plan", &args.common, &args.target.target);
    let run = Run {
        access: Access::ReadOnly,
        command: &command,
    };
    let opened = Opened::open(&target, &args.target.target, &args.target.ssh, &rt, io, run)?;
    let options = plan_options(&target, args.target.allow_destroy);
    let plan = rt.block_on(engine.plan(Arc::clone(&opened.host), &options));
    opened.finish(&rt)?;
    if let Some(path) = &args.out {
        write_private(path, &to_json(&plan)).map_err(|e| CliError::Output {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
    }
    if args.common.json {
        emit(&io.stdout, &to_json(&plan));
    } else {
        emit(&io.stdout, &render::plan(&plan, style(io)));
        emit(
            &io.stderr,
            &render::diagnostics(&plan.diagnostics, err_style(io)),
        );
    }
    Ok(if plan.has_errors() {
        exit::ERROR
    } else if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES_PENDING
    } else {
        exit::OK
    })
}

/// Plan options for `target`: `--allow-destroy` and the target's plan key.
fn plan_options(target: &Target, allow_destroy: bool) -> PlanOptions {
    let options = PlanOptions::default().allow_destroy(allow_destroy);
    match crate::plan_key::for_target(target) {
        Some(key) => options.plan_key(key),
        None => options,
    }
}

/// Writes a saved plan readable by its owner only (`0600`), even over an existing file: it may
/// describe secrets by size and fingerprint.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// `phoenix apply`.
pub(crate) fn apply(args: &ApplyArgs, io: &mut Io) -> Result<i32, CliError> {
    let engine = load(&args.common)?;
    let target = Target::parse(&args.target.target)?;
    let rt = runtime();
    let command = command_line("apply", &args.common, &args.target.target);
    let run = Run {
        access: Access::ReadWrite,
        command: &command,
    };
    let opened = Opened::open(&target, &args.target.target, &args.target.ssh, &rt, io, run)?;
    let plan_options = plan_options(&target, args.target.allow_destroy);
    let mut options = ApplyOptions::default()
        .plan(plan_options.clone())
        .parallelism(usize::from(args.parallelism));
    let show_plan = !args.common.json;
    if let Some(path) = &args.plan {
        let saved = read_saved(path);
        if saved.is_err() {
            opened.finish(&rt)?;
        }
        options = options.saved(saved?);
    } else if !args.yes {
        // Show the plan, ask, then apply exactly that plan (apply re-plans and refuses if the
        // host changed in between).
        let plan = rt.block_on(engine.plan(Arc::clone(&opened.host), &plan_options));
        emit(&io.stdout, &render::plan(&plan, style(io)));
        emit(
            &io.stderr,
            &render::diagnostics(&plan.diagnostics, err_style(io)),
        );
        if plan.has_errors() {
            opened.finish(&rt)?;
            return Ok(exit::ERROR);
        }
        if !plan.has_changes() {
            opened.finish(&rt)?;
            return Ok(exit::OK);
        }
        if !io.interactive {
            opened.finish(&rt)?;
            return Err(CliError::NotInteractive);
        }
        emit(&io.stdout, "Apply these changes? Only 'yes' is accepted: ");
        let mut answer = String::new();
        let _ = io.stdin.read_line(&mut answer);
        if answer.trim() != "yes" {
            opened.finish(&rt)?;
            return Err(CliError::Declined);
        }
        options = options.saved(plan);
    }
    let observer: Arc<dyn Observer> = Arc::new(Progress::new(
        io,
        show_plan && args.yes && args.plan.is_none(),
    ));
    let result =
        rt.block_on(engine.apply(Arc::clone(&opened.host), &options, Arc::clone(&observer)));
    opened.finish(&rt)?;
    let report = result?;
    if args.common.json {
        emit(&io.stdout, &to_json(&report));
    } else {
        emit(&io.stdout, &render::apply_summary(&report, style(io)));
        let mut diagnostics = report.plan.diagnostics.clone();
        diagnostics.extend(outcome_diagnostics(&report));
        emit(
            &io.stderr,
            &render::diagnostics(&diagnostics, err_style(io)),
        );
    }
    Ok(if report.succeeded() {
        exit::OK
    } else {
        exit::ERROR
    })
}

fn read_saved(path: &std::path::Path) -> Result<Plan, CliError> {
    let fail = |message: String| CliError::SavedPlan {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    if plan.format_version != phoenix_core::FORMAT_VERSION {
        return Err(fail(format!(
            "format_version {} is not {}",
            plan.format_version,
            phoenix_core::FORMAT_VERSION
        )));
    }
    Ok(plan)
}

/// Reports apply progress: a bar on a terminal, one line per resource otherwise.
struct Progress {
    out: SharedWriter,
    style: Style,
    show_plan: bool,
    quiet: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(io: &Io, show_plan: bool) -> Progress {
        Progress {
            out: Arc::clone(&io.stdout),
            style: style(io),
            show_plan,
            quiet: !show_plan && !io.interactive,
            bar: io.interactive.then(ProgressBar::hidden),
        }
    }
}

impl Observer for Progress {
    fn planned(&self, plan: &Plan) {
        if self.show_plan {
            emit(&self.out, &render::plan(plan, self.style));
        }
        if let Some(bar) = &self.bar {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(plan.changes.len() as u64);
            if let Ok(template) = ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}") {
                bar.set_style(template);
            }
        }
    }

    fn started(&self, change: &Change) {
        match &self.bar {
            Some(bar) => bar.set_message(format!("{} {}", change.action, change.id)),
            None if !self.quiet => emit(
                &self.out,
                &format!(
                    "{} {}: {}...\n",
                    change.action.symbol(),
                    change.id,
                    change.action
                ),
            ),
            None => {}
        }
    }

    fn finished(&self, outcome: &Outcome) {
        let verdict = match &outcome.status {
            Status::Applied => "done".to_owned(),
            Status::Failed { error } => format!("FAILED: {}", render::error_chain(error)),
            Status::Unverified { error } => {
                format!(
                    "applied, but could not verify: {}",
                    render::error_chain(error)
                )
            }
            Status::Skipped { because } => format!("skipped (because {because} failed)"),
            Status::NotConverged { .. } => "did not converge".to_owned(),
            _ => "unknown".to_owned(),
        };
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.println(format!("{}: {verdict}", outcome.id));
            }
            None if !self.quiet => emit(&self.out, &format!("  {}: {verdict}\n", outcome.id)),
            None => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `phoenix reconfigure <ctid>`: roll the container back to its provisioning snapshot, converge
/// the whole config again, and show that the plan is then empty.
pub(crate) fn reconfigure(args: &ReconfigureArgs, io: &mut Io) -> Result<i32, CliError> {
    let engine = load(&args.common)?;
    let config = ConfigSet::load(&args.common.config).map_err(CliError::Config)?;
    let snapshot = phoenix_lxc::reconfigure::snapshot_name(&config, args.ctid)
        .ok_or(phoenix_lxc::Error::NotInConfig { id: args.ctid })?;
    let target = Target::parse(&args.target.target)?;
    let rt = runtime();
    let command = command_line(
        &format!("reconfigure {}", args.ctid),
        &args.common,
        &args.target.target,
    );
    let run = Run {
        access: Access::ReadWrite,
        command: &command,
    };
    let opened = Opened::open(&target, &args.target.target, &args.target.ssh, &rt, io, run)?;
    if !args.yes {
        if !io.interactive {
            opened.finish(&rt)?;
            return Err(CliError::NotInteractive);
        }
        emit(
            &io.stdout,
            &format!(
                "Roll container {} back to snapshot {snapshot:?} (its changes since are lost) and converge? Only 'yes' is accepted: ",
                args.ctid
            ),
        );
        let mut answer = String::new();
        let _ = io.stdin.read_line(&mut answer);
        if answer.trim() != "yes" {
            opened.finish(&rt)?;
            return Err(CliError::Declined);
        }
    }
    if let Err(err) = rt.block_on(phoenix_lxc::reconfigure::rollback(
        &*opened.host,
        args.ctid,
        &snapshot,
    )) {
        opened.finish(&rt)?;
        return Err(err.into());
    }
    emit(
        &io.stdout,
        &format!("Rolled container {} back to {snapshot}.\n", args.ctid),
    );
    let options = ApplyOptions::default()
        .plan(PlanOptions::default().allow_destroy(args.target.allow_destroy))
        .parallelism(usize::from(args.parallelism));
    let observer: Arc<dyn Observer> = Arc::new(Progress::new(io, !args.common.json));
    let result = rt.block_on(engine.apply(Arc::clone(&opened.host), &options, observer));
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            opened.finish(&rt)?;
            return Err(err.into());
        }
    };
    emit(&io.stdout, &render::apply_summary(&report, style(io)));
    let after = rt.block_on(engine.plan(Arc::clone(&opened.host), &PlanOptions::default()));
    opened.finish(&rt)?;
    emit(&io.stdout, &render::plan(&after, style(io)));
    let mut diagnostics = outcome_diagnostics(&report);
    diagnostics.extend(after.diagnostics.iter().cloned());
    emit(
        &io.stderr,
        &render::diagnostics(&diagnostics, err_style(io)),
    );
    Ok(
        if report.succeeded() && !after.has_changes() && !after.has_errors() {
            exit::OK
        } else {
            exit::ERROR
        },
    )
}

/// `phoenix status`: inspect read-only and report what the resources observed (pool health,
/// disk wear, warnings) and how many changes are pending, without listing them.
pub(crate) fn status(args: &StatusArgs, io: &Io) -> Result<i32, CliError> {
    let engine = load(&args.common)?;
    let target = Target::parse(&args.target)?;
    let rt = runtime();
    let command = command_line("status", &args.common, &args.target);
    let run = Run {
        access: Access::ReadOnly,
        command: &command,
    };
    let opened = Opened::open(&target, &args.target, &args.ssh, &rt, io, run)?;
    let plan = rt.block_on(engine.plan(Arc::clone(&opened.host), &PlanOptions::default()));
    let services = match ConfigSet::load(&args.common.config) {
        Ok(config) => crate::services::rows(&config, &opened.host, &rt),
        Err(_) => Vec::new(),
    };
    opened.finish(&rt)?;
    let config_notes = engine.config_diagnostics().len();
    let findings: Vec<Diagnostic> =
        plan.diagnostics[config_notes.min(plan.diagnostics.len())..].to_vec();
    if args.common.json {
        let report = serde_json::json!({
            "format_version": phoenix_core::FORMAT_VERSION,
            "host": plan.host,
            "findings": findings,
            "pending_changes": plan.changes.len(),
            "services": services,
            "stats": plan.stats,
        });
        emit(&io.stdout, &to_json(&report));
    } else {
        let mut text = format!("Status of {}:\n", plan.host);
        if findings.is_empty() {
            text.push_str("  nothing to report\n");
        }
        for line in render::diagnostics(&findings, style(io)).lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&crate::services::table(&services));
        text.push_str(&format!(
            "{} change(s) pending ({} resource(s) converged); run `phoenix plan` to see them.\n",
            plan.changes.len(),
            plan.summary.unchanged
        ));
        emit(&io.stdout, &text);
    }
    Ok(if plan.has_errors() {
        exit::ERROR
    } else {
        exit::OK
    })
}

/// `phoenix graph`.
pub(crate) fn graph(args: &GraphArgs, io: &Io) -> Result<i32, CliError> {
    let engine = load(&args.common)?;
    let format = match args.format {
        GraphFormatArg::Text => GraphFormat::Text,
        GraphFormatArg::Dot => GraphFormat::Dot,
        GraphFormatArg::Mermaid => GraphFormat::Mermaid,
    };
    emit(&io.stdout, &engine.graph().render(format));
    Ok(exit::OK)
}

/// `phoenix sim-audit`.
/// An audited argv on one line: an argument that spans lines (a script) is shown by its first
/// line and its number of lines; `--json` keeps every argument whole.
fn audit_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| match arg.lines().count() {
            0 | 1 => arg.clone(),
            n => format!(
                "'{}' (script, {n} lines)",
                arg.lines().next().unwrap_or_default()
            ),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn sim_audit(args: &SimAuditArgs, io: &Io) -> Result<i32, CliError> {
    let fail = |message: String| CliError::Target {
        target: args.target.clone(),
        message,
    };
    let Target::Sim(Some(path)) = Target::parse(&args.target)? else {
        return Err(fail(
            "sim-audit needs a persisted simulated node: --target sim:FILE".to_owned(),
        ));
    };
    if !path.exists() {
        return Err(fail(format!("{} does not exist", path.display())));
    }
    let node = phoenix_core::sim::SimNode::open(&path, crate::target::emulators())
        .map_err(|e| fail(phoenix_core::plan::error_chain(&e)))?;
    let state = node.state();
    let run = match args.run.as_str() {
        "all" => None,
        "last" => Some(state.run),
        n => Some(
            n.parse::<u64>()
                .map_err(|_| fail(format!("--run expects last, all or a number, found {n:?}")))?,
        ),
    };
    let entries: Vec<_> = node
        .audit()
        .into_iter()
        .filter(|e| run.is_none_or(|r| e.run == r))
        .collect();
    let n_mutating = entries.iter().filter(|e| e.is_mutation()).count();
    if args.json {
        let report = serde_json::json!({
            "format_version": phoenix_core::FORMAT_VERSION,
            "run": run,
            "entries": entries,
            "total": entries.len(),
            "mutating": n_mutating,
        });
        emit(&io.stdout, &to_json(&report));
    } else {
        let mut text = String::new();
        for entry in &entries {
            text.push_str(&format!(
                "{:>5} run {:<3} {:<11} {:>4} {} {}\n",
                entry.seq,
                entry.run,
                entry.op.to_string(),
                entry
                    .status
                    .map_or_else(|| "-".to_owned(), |s| s.to_string()),
                if entry.is_mutation() {
                    "MUTATED"
                } else {
                    "read   "
                },
                audit_argv(&entry.argv)
            ));
        }
        text.push_str(&format!(
            "{} operation(s), {} mutating.\n",
            entries.len(),
            n_mutating
        ));
        emit(&io.stdout, &text);
    }
    Ok(exit::OK)
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("invariant: a tokio runtime can be built")
}

#[cfg(test)]
mod audit_tests {
    use super::audit_argv;

    #[test]
    fn a_script_argument_is_shown_by_its_first_line() {
        let argv = ["sh", "-c", "set -f\necho a\necho b\n", "probe", "p:nginx"].map(str::to_owned);
        assert_eq!(
            audit_argv(&argv),
            "sh -c 'set -f' (script, 3 lines) probe p:nginx"
        );
    }
}
