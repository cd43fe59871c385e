//! smb.conf: the reader takes anything without panicking, and Phoenix's one edit of the
//! operator's file (the include line), whenever it makes one, reads back with the line in
//! `[global]` and every section and parameter of the operator's file kept, in order.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_net::samba::conf::{Conf, append_include, parse_smb_conf};

const INCLUDE: &str = "/etc/samba/phoenix-shares.conf";

/// Every (section, name, value) in file order, without Phoenix's include line.
fn operators(conf: &Conf) -> Vec<(String, String, String)> {
    conf.sections
        .iter()
        .flat_map(|s| {
            s.params
                .iter()
                .filter(|p| !(p.name == "include" && p.value == INCLUDE))
                .map(|p| (s.name.clone(), p.name.clone(), p.value.clone()))
        })
        .collect()
}

fuzz_target!(|text: &str| {
    let Ok(conf) = parse_smb_conf(text) else {
        return;
    };
    if conf.includes(INCLUDE) {
        return;
    }
    // Phoenix refuses to edit a file whose global part ends with a continued line.
    let Some(edited) = append_include(text, INCLUDE) else {
        return;
    };
    let again = parse_smb_conf(&edited).expect("the edited file reads back");
    assert!(again.includes(INCLUDE));
    assert_eq!(operators(&again), operators(&conf));
    let global = again
        .sections
        .iter()
        .filter(|s| s.name.eq_ignore_ascii_case("global"))
        .flat_map(|s| &s.params)
        .any(|p| p.name == "include" && p.value == INCLUDE);
    assert!(global, "the include line is in [global]");
});
