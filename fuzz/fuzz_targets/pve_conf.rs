//! `/etc/pve/lxc/<vmid>.conf` and `pct config`: whatever the reader reads, the writer writes a
//! file that reads back, and writing that again gives the same bytes (the emulator writes what
//! the provider reads).

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pve::{format_conf, format_pct_config, parse_conf, pending_deletions};

fuzz_target!(|text: &str| {
    let Ok(conf) = parse_conf(text) else {
        return;
    };
    let written = format_conf(&conf);
    let again = parse_conf(&written).unwrap_or_else(|err| panic!("{written:?}: {err}"));
    assert_eq!(format_conf(&again), written);
    let shown = format_pct_config(&conf.with_pending());
    if let Err(err) = parse_conf(&shown) {
        panic!("{shown:?}: {err}");
    }
    if let Some(pending) = &conf.pending {
        let _ = pending_deletions(pending);
    }
    let nodes = phoenix_lxc::parse::snapshot_nodes(&conf);
    let _ = phoenix_lxc::parse::format_snapshot_tree(&nodes, &|epoch| epoch.to_string());
});
