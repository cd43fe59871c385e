//! Proxmox property strings (`netN`, `rootfs`/`mpN`, `startup`, `features`), sizes and the
//! description encoding: what is read and written back reads again the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use phoenix_pve::{
    decode_text, encode_text, format_mount_point, format_net, format_size, parse_features,
    parse_mount_point, parse_net, parse_property_string, parse_size, parse_startup,
};

fuzz_target!(|text: &str| {
    let _ = parse_property_string(text, None);
    let _ = parse_startup(text);
    let _ = parse_features(text);
    if let Ok(mount) = parse_mount_point(text) {
        let _ = mount.source();
        let written = format_mount_point(&mount, true);
        let again = parse_mount_point(&written).unwrap_or_else(|err| panic!("{written:?}: {err}"));
        assert_eq!(again.volume, mount.volume, "{written:?}");
        assert_eq!(again.size, mount.size, "{written:?}");
    }
    if let Ok(net) = parse_net(text) {
        let written = format_net(&net);
        if let Err(err) = parse_net(&written) {
            panic!("{written:?}: {err}");
        }
    }
    if let Some(bytes) = parse_size(text) {
        assert_eq!(parse_size(&format_size(bytes)), Some(bytes), "{text:?}");
    }
    assert_eq!(decode_text(&encode_text(text)), text);
});
