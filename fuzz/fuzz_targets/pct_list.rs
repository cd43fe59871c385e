//! `pct list` output: what the reader reads, the printer prints back to the same rows (sorted
//! by id, as `pct list` prints them).

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_lxc::parse::{format_pct_list, parse_pct_list};

fuzz_target!(|text: &str| {
    if let Ok(mut rows) = parse_pct_list(text) {
        let printed = format_pct_list(&rows);
        rows.sort_by_key(|row| row.vmid);
        assert_eq!(parse_pct_list(&printed), Ok(rows), "{printed:?}");
    }
});
