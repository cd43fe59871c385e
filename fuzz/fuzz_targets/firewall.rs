//! The firewall files (`cluster.fw`, `host.fw`, `<vmid>.fw`): the lenient and strict readers
//! take anything without panicking, every rule is checked, and what the writer writes reads back
//! the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pve::firewall::verify::{Names, RuleEnv, verify_rule};
use phoenix_pve::firewall::{format_fw, parse_fw, read_fw};

fuzz_target!(|text: &str| {
    let read = read_fw(text);
    for rule in &read.config.rules {
        let _ = verify_rule(
            rule,
            RuleEnv::Cluster,
            Names {
                cluster: Some(&read.config),
                local: None,
            },
        );
    }
    if let Ok(config) = parse_fw(text) {
        let written = format_fw(&config);
        let again = parse_fw(&written).expect("what the writer writes reads back");
        assert_eq!(format_fw(&again), written, "the writer is stable");
        assert_eq!(again.rules, config.rules);
    }
});
