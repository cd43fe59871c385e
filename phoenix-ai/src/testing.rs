//! Test helpers: scopes with a transport that shows where a command runs, and a delta as text.

use std::sync::Arc;

use phoenix_core::Cmd;
use phoenix_core::change::Delta;
use phoenix_core::scope::{GuestTransport, Scopes};

/// A transport for tests: `guest-exec <id> -- argv`.
#[derive(Debug)]
struct TestTransport;

impl GuestTransport for TestTransport {
    fn class(&self) -> &str {
        "ct"
    }

    fn exec(&self, guest: &str, cmd: &Cmd) -> Cmd {
        let mut wrapped = cmd.clone();
        wrapped.program = "guest-exec".to_owned();
        wrapped.args = [guest.to_owned(), "--".to_owned()]
            .into_iter()
            .chain(cmd.argv())
            .collect();
        wrapped
    }
}

/// Scopes whose `ct` guests run commands through `guest-exec`.
pub(crate) fn scopes() -> Scopes {
    Scopes::new([Arc::new(TestTransport) as Arc<dyn GuestTransport>])
}

/// Each field as `field: before -> after (note)`, then each step, then each diagnostic.
pub(crate) fn render_delta(delta: &Delta) -> String {
    let mut out: Vec<String> = delta
        .fields
        .iter()
        .map(|f| {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref().map_or("(none)".to_owned(), ToString::to_string)
            };
            let note = f
                .note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            format!(
                "{}: {} -> {}{note}",
                f.field,
                show(&f.before),
                show(&f.after)
            )
        })
        .collect();
    if !matches!(delta.disruption, phoenix_core::Disruption::Hot) {
        out.push(format!("disruption: {}", delta.disruption));
    }
    out.extend(delta.steps.iter().map(|s| format!("$ {s}")));
    out.extend(delta.diagnostics.iter().map(ToString::to_string));
    out.join("\n")
}
