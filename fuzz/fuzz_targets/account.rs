//! The account formats: `/etc/passwd` and `/etc/group` lines (what `getent` prints) and
//! `passwd -S` lines; what is written reads back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_core::account::{
    format_group_line, format_passwd_line, parse_group_line, parse_lines, parse_passwd_line,
    parse_passwd_status,
};

fuzz_target!(|text: &str| {
    let _ = parse_passwd_status(text);
    if let Ok(users) = parse_lines(text, parse_passwd_line) {
        for user in users {
            let line = format_passwd_line(&user);
            if !line.contains('\n') && line.split(':').count() == 7 {
                assert_eq!(parse_passwd_line(&line).ok(), Some(user));
            }
        }
    }
    if let Ok(groups) = parse_lines(text, parse_group_line) {
        for group in groups {
            let line = format_group_line(&group);
            if !line.contains('\n') && line.split(':').count() == 4 && !group.members.iter().any(|m| m.is_empty() || m.contains(',')) {
                assert_eq!(parse_group_line(&line).ok(), Some(group));
            }
        }
    }
});
