//! The `smartctl` emulator: `smartctl -j -a DEV` as smartmontools 7.4 prints it, or the shell's
//! "command not found" when smartctl is not installed (as on the capture VM,
//! `fixtures/zfs/smartctl-virtio.txt`).
//!
//! The JSON layout follows smartctl's documented `json_format_version` 1 output (two-space
//! indentation, `smartctl`, `device`, `model_name`, `serial_number`, `smart_status`,
//! `nvme_smart_health_information_log` or `ata_smart_attributes`, `power_on_time`); it is not
//! from a capture. Devices smartctl cannot identify (virtio disks, or a disk with no transport)
//! give its "Unable to detect device type" report with exit status 1.

use phoenix_core::sim::{Emulator, SimOutput, SimSys};
use serde_json::{Value, json};

use super::args::not_emulated;
use super::blockdev::{self, Device};
use super::state::{DISKS, Disk, Disks, SMARTCTL, SmartctlState};

/// Emulates `smartctl` over the node's `smartctl` and `disks` namespaces.
#[derive(Debug, Default, Clone, Copy)]
pub struct SmartctlEmulator;

impl Emulator for SmartctlEmulator {
    fn programs(&self) -> Vec<String> {
        vec!["smartctl".to_owned()]
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, sys: &mut SimSys<'_>) -> SimOutput {
        let installed: SmartctlState = sys.load(SMARTCTL);
        if !installed.installed {
            return SimOutput::fail(127, "bash: line 1: smartctl: command not found\n");
        }
        let disks: Disks = sys.load(DISKS);
        let mut json = false;
        let mut all = false;
        let mut devices = Vec::new();
        for arg in &argv[1..] {
            match arg.as_str() {
                "-j" | "--json" => json = true,
                "-a" | "--all" => all = true,
                "-ja" | "-aj" => (json, all) = (true, true),
                other if other.starts_with('-') => return not_emulated(argv),
                other => devices.push(other),
            }
        }
        let [device] = devices[..] else {
            return not_emulated(argv);
        };
        if !json || !all {
            return not_emulated(argv);
        }
        report(argv, device, &disks)
    }

    /// smartctl queries the drive's logs: about 50 ms.
    fn typical_latency(&self, _program: &str) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(50))
    }
}

fn header(argv: &[String], status: i32, messages: Option<Value>) -> Value {
    let mut smartctl = json!({
        "version": [7, 4],
        "pre_release": false,
        "svn_revision": "5530",
        "platform_info": "x86_64-linux-6.14.8-2-pve",
        "build_info": "(local build)",
        "argv": argv,
    });
    if let (Some(messages), Some(object)) = (messages, smartctl.as_object_mut()) {
        object.insert("messages".to_owned(), messages);
    }
    if let Some(object) = smartctl.as_object_mut() {
        object.insert("exit_status".to_owned(), json!(status));
    }
    json!({"json_format_version": [1, 0], "smartctl": smartctl})
}

fn error(argv: &[String], status: i32, message: String) -> SimOutput {
    let value = header(
        argv,
        status,
        Some(json!([{"string": message, "severity": "error"}])),
    );
    SimOutput::new(status, pretty(&value), "", false)
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn report(argv: &[String], path: &str, disks: &Disks) -> SimOutput {
    let disk: &Disk = match blockdev::find(disks, path) {
        Some(Device::Disk(key) | Device::Partition(key, _)) => &disks[key],
        None => {
            return error(
                argv,
                2,
                format!("Smartctl open device: {path} failed: No such device"),
            );
        }
    };
    let (kind, protocol) = match disk.transport.as_deref() {
        Some("nvme") => ("nvme", "NVMe"),
        Some("sata") => ("sat", "ATA"),
        _ => return error(argv, 1, format!("{path}: Unable to detect device type")),
    };
    let wear = disk.wear.clone().unwrap_or_default();
    let passed =
        wear.percentage_used.is_none_or(|used| used < 100) && wear.media_errors.unwrap_or(0) == 0;
    let hours = wear.power_on_hours.unwrap_or(0);
    let mut value = header(argv, 0, None);
    let Some(object) = value.as_object_mut() else {
        return not_emulated(argv);
    };
    let info_name = if kind == "sat" {
        format!("{path} [SAT]")
    } else {
        path.to_owned()
    };
    object.insert(
        "device".to_owned(),
        json!({"name": path, "info_name": info_name, "type": kind, "protocol": protocol}),
    );
    object.insert(
        "model_name".to_owned(),
        json!(disk.model.clone().unwrap_or_default()),
    );
    object.insert(
        "serial_number".to_owned(),
        json!(disk.serial.clone().unwrap_or_default()),
    );
    object.insert(
        "user_capacity".to_owned(),
        json!({"blocks": disk.size / 512, "bytes": disk.size}),
    );
    object.insert("logical_block_size".to_owned(), json!(512));
    if kind == "nvme" {
        object.insert(
            "smart_status".to_owned(),
            json!({"passed": passed, "nvme": {"value": 0}}),
        );
        object.insert(
            "nvme_smart_health_information_log".to_owned(),
            json!({
                "critical_warning": 0,
                "temperature": 36,
                "available_spare": wear.available_spare.unwrap_or(100),
                "available_spare_threshold": 10,
                "percentage_used": wear.percentage_used.unwrap_or(0),
                "data_units_read": 0,
                "data_units_written": wear.data_units_written.unwrap_or(0),
                "host_reads": 0,
                "host_writes": 0,
                "controller_busy_time": 0,
                "power_cycles": 1,
                "power_on_hours": hours,
                "unsafe_shutdowns": 0,
                "media_errors": wear.media_errors.unwrap_or(0),
                "num_err_log_entries": 0,
                "warning_temp_time": 0,
                "critical_comp_time": 0
            }),
        );
    } else {
        let wear_value = 100_u8.saturating_sub(wear.percentage_used.unwrap_or(0));
        object.insert("smart_status".to_owned(), json!({"passed": passed}));
        object.insert(
            "ata_smart_attributes".to_owned(),
            json!({"revision": 1, "table": [
                attribute(9, "Power_On_Hours", 100, hours),
                attribute(177, "Wear_Leveling_Count", u64::from(wear_value), u64::from(wear.percentage_used.unwrap_or(0))),
            ]}),
        );
    }
    object.insert("temperature".to_owned(), json!({"current": 36}));
    object.insert("power_cycle_count".to_owned(), json!(1));
    object.insert("power_on_time".to_owned(), json!({"hours": hours}));
    SimOutput::ok(pretty(&value))
}

fn attribute(id: u64, name: &str, value: u64, raw: u64) -> Value {
    json!({
        "id": id,
        "name": name,
        "value": value,
        "worst": value,
        "thresh": 0,
        "when_failed": "",
        "raw": {"value": raw, "string": raw.to_string()}
    })
}
