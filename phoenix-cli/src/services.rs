//! The AI services' part of the CLI: the table `phoenix status` appends, and `phoenix
//! round-trip`. Both are thin over `phoenix_ai::{status, round_trip_of}`.

use std::sync::Arc;

use phoenix_core::Host;
use phoenix_core::config::ConfigSet;

use crate::args::RoundTripArgs;
use crate::commands::{load, runtime};
use crate::error::CliError;
use crate::exit;
use crate::io::{Io, emit};
use crate::target::{Access, Opened, Run, Target};

/// The services of `config` as `phoenix status` shows them (nothing when there are none).
pub(crate) fn rows(
    config: &ConfigSet,
    host: &Arc<dyn Host>,
    rt: &tokio::runtime::Runtime,
) -> Vec<phoenix_ai::status::Row> {
    rt.block_on(phoenix_ai::status::collect(config, host.as_ref()))
}

/// The text of the services table, indented under the status heading.
pub(crate) fn table(rows: &[phoenix_ai::status::Row]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut text = String::from("Services:\n");
    for line in phoenix_ai::status::render(rows).lines() {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// `phoenix round-trip`.
pub(crate) fn round_trip(args: &RoundTripArgs, io: &Io) -> Result<i32, CliError> {
    load(&args.common)?;
    let config = ConfigSet::load(&args.common.config).map_err(CliError::Config)?;
    let round_trip = phoenix_ai::round_trip_of(&config).map_err(CliError::RoundTripConfig)?;
    let target = Target::parse(&args.target)?;
    let rt = runtime();
    let command = format!(
        "phoenix round-trip --config {} --target {}",
        args.common.config.display(),
        args.target
    );
    let run = Run {
        access: Access::ReadWrite,
        command: &command,
    };
    let opened = Opened::open(&target, &args.target, &args.ssh, &rt, io, run)?;
    let result = rt.block_on(round_trip.run(opened.host.as_ref()));
    opened.finish(&rt)?;
    let report = result?;
    if args.common.json {
        let json = serde_json::json!({
            "format_version": phoenix_core::FORMAT_VERSION,
            "round_trip": report,
        });
        emit(
            &io.stdout,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            ),
        );
    } else {
        emit(
            &io.stdout,
            &format!(
                "Embedding round trip: {} in container {} embedded the sentence into {} dimensions; Qdrant in container {} found it back (score {:.4}); collection {} deleted.\n",
                report.model,
                round_trip.embedding.vmid,
                report.dimension,
                round_trip.qdrant.vmid,
                report.score,
                round_trip.collection
            ),
        );
    }
    Ok(exit::OK)
}
