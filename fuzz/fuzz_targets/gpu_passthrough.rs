//! The passthrough lines of a container conf: for any conf the reader reads and either form,
//! the planned edit, once made, leaves nothing to edit (the lines Phoenix writes are recognised
//! as its own, and no other line is touched twice).

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pve::gpu::{
    Edit, NvidiaMajors, PassthroughForm, VIDEO_GID, found_lines, passthrough_lines, plan_edit,
};
use phoenix_pve::{Section, parse_conf};

/// `main` after `edit`, as `pct set` and phoenix-lxc's conf rewrite make it.
fn edited(main: &Section, edit: &Edit) -> Section {
    let mut out = main.clone();
    out.keys.retain(|(key, _)| !edit.delete.contains(key));
    out.keys.extend(edit.set.iter().cloned());
    let mut lxc = Vec::new();
    let mut placed = edit.remove_raw.is_empty();
    for line in &main.lxc {
        if edit.remove_raw.contains(line) {
            if !placed {
                lxc.extend(edit.add_raw.iter().cloned());
                placed = true;
            }
        } else {
            lxc.push(line.clone());
        }
    }
    if edit.remove_raw.is_empty() {
        lxc.extend(edit.add_raw.iter().cloned());
    }
    out.lxc = lxc;
    out
}

fuzz_target!(|input: (u8, &str)| {
    let (pick, text) = input;
    let Ok(conf) = parse_conf(text) else {
        return;
    };
    let main = conf.main;
    if main.keys.len() > 200 {
        return;
    }
    let gpus: Vec<u32> = (0..u32::from(pick % 4)).collect();
    let majors = NvidiaMajors {
        nvidia: 195,
        uvm: 200 + u32::from(pick >> 4),
        caps: None,
    };
    for form in [PassthroughForm::Dev { gid: VIDEO_GID }, PassthroughForm::Cgroup(majors)] {
        let want = passthrough_lines(&gpus, &[], form, 0);
        let edit = plan_edit(&want, &found_lines(&main, &[]), &main);
        let after = edited(&main, &edit);
        let again = plan_edit(&want, &found_lines(&after, &[]), &after);
        assert!(again.is_empty(), "{text:?} {form:?}: {edit:?} then {again:?}");
    }
});
