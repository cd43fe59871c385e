//! `grep -H '' -- FILE...` over container confs, split back per file and read.

#![no_main]

use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 3] = [
    "/etc/pve/lxc/101.conf",
    "/etc/pve/lxc/1010.conf",
    "/etc/pve/lxc/9000.conf",
];

fuzz_target!(|text: &str| {
    let _ = phoenix_lxc::parse::parse_grep_confs(text, &PATHS);
});
