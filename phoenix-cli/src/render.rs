//! Renders plans, apply reports and diagnostics as text in the style of `terraform plan`.

use std::fmt::Write as _;

use owo_colors::OwoColorize;
use phoenix_core::{
    Action, ApplyReport, Change, Diagnostic, Disruption, Plan, Severity, Stats, Status,
};

/// Colours on or off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Whether to emit ANSI colours.
    pub color: bool,
}

impl Style {
    fn paint(self, text: &str, action: Action) -> String {
        if !self.color {
            return text.to_owned();
        }
        match action {
            Action::Create => text.green().to_string(),
            Action::Update => text.yellow().to_string(),
            Action::Replace | Action::Delete => text.red().to_string(),
            Action::NoOp => text.to_owned(),
        }
    }

    fn severity(self, severity: Severity) -> String {
        let text = severity.to_string();
        if !self.color {
            return text;
        }
        match severity {
            Severity::Error => text.red().bold().to_string(),
            Severity::Warning => text.yellow().bold().to_string(),
            Severity::Note => text.cyan().to_string(),
        }
    }

    fn dim(self, text: &str) -> String {
        if self.color {
            text.dimmed().to_string()
        } else {
            text.to_owned()
        }
    }

    fn bold(self, text: &str) -> String {
        if self.color {
            text.bold().to_string()
        } else {
            text.to_owned()
        }
    }
}

/// One diagnostic per line: `error: file:line:col at path: resource: message`.
pub fn diagnostics(diagnostics: &[Diagnostic], style: Style) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.severity);
    for d in sorted {
        let _ = write!(out, "{}: ", style.severity(d.severity));
        if let Some(location) = &d.location {
            let _ = write!(out, "{location}: ");
        }
        if let Some(id) = &d.resource {
            let _ = write!(out, "{id}: ");
        }
        match &d.cause {
            // The CLI renders the chain the engine kept.
            Some(cause) => {
                let _ = writeln!(out, "{}: {}", d.message, error_chain(cause));
            }
            None => {
                let _ = writeln!(out, "{}", d.message);
            }
        }
    }
    out
}

/// The plan as text: every change with its fields, disruption, steps and file diff, then a
/// summary line and what inspection cost.
pub fn plan(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    if plan.changes.is_empty() && plan.has_errors() {
        // Nothing to show but the errors, which the caller prints.
    } else if plan.changes.is_empty() && plan.summary.unsupported > 0 {
        let _ = writeln!(
            out,
            "{} {} matches the configuration for the {} resource(s) it supports; {} resource(s) are unsupported on this target (see the warnings).",
            style.bold("No changes."),
            plan.host,
            plan.summary.unchanged,
            plan.summary.unsupported
        );
    } else if plan.changes.is_empty() {
        let _ = writeln!(
            out,
            "{} {} matches the configuration ({} resource(s) inspected).",
            style.bold("No changes."),
            plan.host,
            plan.summary.unchanged
        );
    } else {
        let _ = writeln!(
            out,
            "Phoenix will perform the following actions on {}:\n",
            plan.host
        );
        for change in &plan.changes {
            render_change(&mut out, change, style);
        }
        let s = &plan.summary;
        let _ = write!(
            out,
            "{} {} to create, {} to update, {} to replace, {} to delete, {} unchanged",
            style.bold("Plan:"),
            s.create,
            s.update,
            s.replace,
            s.delete,
            s.unchanged
        );
        if s.unsupported > 0 {
            let _ = write!(out, ", {} unsupported on this target", s.unsupported);
        }
        out.push_str(".\n");
    }
    let _ = writeln!(
        out,
        "{}",
        style.dim(&format!("Inspection: {}", stats(&plan.stats)))
    );
    out
}

fn render_change(out: &mut String, change: &Change, style: Style) {
    let head = format!("{:>3} {}", change.action.symbol(), change.id);
    let _ = writeln!(
        out,
        "{}  ({})",
        style.paint(&head, change.action),
        change.action
    );
    let width = change
        .fields
        .iter()
        .map(|f| f.field.len())
        .max()
        .unwrap_or(0);
    for field in &change.fields {
        let before = field
            .before
            .as_ref()
            .map_or_else(|| "(absent)".to_owned(), value);
        let after = field
            .after
            .as_ref()
            .map_or_else(|| "(absent)".to_owned(), value);
        let _ = write!(out, "      {:<width$}  {before} -> {after}", field.field);
        if let Some(note) = &field.note {
            let _ = write!(out, "  {}", style.dim(&format!("({note})")));
        }
        out.push('\n');
    }
    if change.disruption != Disruption::Hot {
        let text = format!("      ! {}", change.disruption);
        let _ = writeln!(out, "{}", style.paint(&text, Action::Delete));
    }
    if !change.steps.is_empty() {
        let _ = writeln!(out, "      steps:");
        for step in &change.steps {
            let _ = writeln!(out, "        $ {step}");
        }
    }
    if let Some(diff) = &change.file_diff {
        for line in diff.lines() {
            let colored = match line.chars().next() {
                Some('+') if !line.starts_with("+++") => style.paint(line, Action::Create),
                Some('-') if !line.starts_with("---") => style.paint(line, Action::Delete),
                _ => line.to_owned(),
            };
            let _ = writeln!(out, "      {colored}");
        }
    }
    out.push('\n');
}

fn value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The run's command counts: `3 command(s) (zfs 1, zpool 1, cat 1), 2 file read(s), 12 ms`.
pub fn stats(stats: &Stats) -> String {
    let by_program: Vec<String> = stats
        .commands_by_program
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    let mut text = format!("{} command(s)", stats.commands_total);
    if !by_program.is_empty() {
        let _ = write!(text, " ({})", by_program.join(", "));
    }
    let _ = write!(text, ", {} file read(s)", stats.file_reads);
    if stats.file_writes > 0 {
        let _ = write!(text, ", {} file write(s)", stats.file_writes);
    }
    let _ = write!(text, ", {} ms", stats.wall_ms);
    text
}

/// The closing summary of an apply.
pub fn apply_summary(report: &ApplyReport, style: Style) -> String {
    let mut counts = [0usize; 4];
    for outcome in &report.outcomes {
        let slot = match outcome.status {
            Status::Applied => 0,
            Status::Failed { .. } => 1,
            Status::Skipped { .. } => 2,
            Status::NotConverged { .. } | Status::Unverified { .. } => 3,
            _ => 1,
        };
        counts[slot] += 1;
    }
    let headline = if report.outcomes.is_empty() {
        "Apply complete: nothing to do."
    } else if report.succeeded() {
        "Apply complete."
    } else {
        "Apply finished with errors."
    };
    let headline = if report.succeeded() {
        style.bold(headline)
    } else {
        style.paint(headline, Action::Delete)
    };
    format!(
        "{headline} {} applied, {} failed, {} skipped, {} did not converge.\n{}\n",
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        style.dim(&format!("Apply: {}", stats(&report.stats)))
    )
}

/// An error and its causes on one line, `a: b: c` (a cause the message already ends with is not
/// repeated).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    phoenix_core::plan::error_chain(error)
}
