//! `nvidia-smi --query-gpu=index,uuid,name,pci.bus_id,driver_version --format=csv,noheader`:
//! whatever the reader reads, the emulator's writer writes it back so that it reads the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pve::gpu::{format_query_gpu, parse_query_gpu};

fuzz_target!(|text: &str| {
    let Ok(rows) = parse_query_gpu(text) else {
        return;
    };
    let written = format_query_gpu(&rows);
    let again = parse_query_gpu(&written).unwrap_or_else(|err| panic!("{written:?}: {err}"));
    assert_eq!(again, rows, "{written:?}");
});
