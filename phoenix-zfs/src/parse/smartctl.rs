//! `smartctl -j -a DEV` (smartmontools 7 and later): identity and wear of a disk.
//!
//! Based on the JSON layout smartctl documents and prints (`json_format_version` 1): `model_name`,
//! `serial_number`, `smart_status.passed`, `power_on_time.hours`, NVMe drives'
//! `nvme_smart_health_information_log` (`percentage_used`, `available_spare`,
//! `data_units_written`, `media_errors`, `power_on_hours`) and ATA drives'
//! `ata_smart_attributes.table` (`id`, `name`, normalised `value`, `raw.value`). A device smartctl
//! cannot read (virtio disks, for one) still prints JSON, with `smartctl.messages` and a non-zero
//! `smartctl.exit_status`; every field is then `None`.

use serde_json::Value;

use super::ParseError;

/// A disk's identity and wear, as far as smartctl reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DiskWear {
    /// The model name.
    pub model: Option<String>,
    /// The serial number.
    pub serial: Option<String>,
    /// NVMe "Percentage Used": the vendor's estimate of life used, may exceed 100.
    pub percentage_used: Option<u8>,
    /// NVMe available spare, percent.
    pub available_spare: Option<u8>,
    /// NVMe data units written (one unit is 1000 × 512 bytes).
    pub data_units_written: Option<u64>,
    /// NVMe media and data integrity errors.
    pub media_errors: Option<u64>,
    /// Power-on hours.
    pub power_on_hours: Option<u64>,
    /// ATA attribute 177 `Wear_Leveling_Count` or 233 `Media_Wearout_Indicator`: the normalised
    /// value (100 new, falling towards 0).
    pub wear_leveling: Option<u64>,
    /// The overall SMART self-assessment.
    pub smart_passed: Option<bool>,
}

impl DiskWear {
    /// A one-line summary of the figures present, such as
    /// `3% used, 100% spare, 0 media errors, 2401 h powered on, SMART passed`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(used) = self.percentage_used {
            parts.push(format!("{used}% used"));
        }
        if let Some(wear) = self.wear_leveling {
            parts.push(format!("wear leveling {wear}"));
        }
        if let Some(spare) = self.available_spare {
            parts.push(format!("{spare}% spare"));
        }
        if let Some(errors) = self.media_errors {
            parts.push(format!("{errors} media errors"));
        }
        if let Some(hours) = self.power_on_hours {
            parts.push(format!("{hours} h powered on"));
        }
        match self.smart_passed {
            Some(true) => parts.push("SMART passed".to_owned()),
            Some(false) => parts.push("SMART FAILED".to_owned()),
            None => {}
        }
        if parts.is_empty() {
            "no figures reported".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// Parses `smartctl -j -a DEV`.
pub fn parse_smartctl_json(text: &str) -> Result<DiskWear, ParseError> {
    let root: Value = serde_json::from_str(text).map_err(|err| ParseError::json(&err))?;
    if !root.is_object() {
        return Err(ParseError::new(1, "expected a JSON object"));
    }
    let string = |pointer: &str| {
        root.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let number = |pointer: &str| root.pointer(pointer).and_then(Value::as_u64);
    let percent =
        |pointer: &str| number(pointer).map(|value| u8::try_from(value).unwrap_or(u8::MAX));
    let nvme = "/nvme_smart_health_information_log";
    let wear_leveling = root
        .pointer("/ata_smart_attributes/table")
        .and_then(Value::as_array)
        .and_then(|table| {
            [177, 233].iter().find_map(|id| {
                table
                    .iter()
                    .find(|row| row.get("id").and_then(Value::as_u64) == Some(*id))
                    .and_then(|row| row.get("value").and_then(Value::as_u64))
            })
        });
    Ok(DiskWear {
        model: string("/model_name"),
        serial: string("/serial_number"),
        percentage_used: percent(&format!("{nvme}/percentage_used")),
        available_spare: percent(&format!("{nvme}/available_spare")),
        data_units_written: number(&format!("{nvme}/data_units_written")),
        media_errors: number(&format!("{nvme}/media_errors")),
        power_on_hours: number("/power_on_time/hours")
            .or_else(|| number(&format!("{nvme}/power_on_hours"))),
        wear_leveling,
        smart_passed: root
            .pointer("/smart_status/passed")
            .and_then(Value::as_bool),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of an NVMe report (abridged; values made up).
    const NVME: &str = r#"{
  "json_format_version": [1, 0],
  "smartctl": {"version": [7, 4], "exit_status": 0},
  "device": {"name": "/dev/nvme0", "info_name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
  "model_name": "Example NVMe 1TB",
  "serial_number": "S0000000000001",
  "smart_status": {"passed": true, "nvme": {"value": 0}},
  "nvme_smart_health_information_log": {
    "critical_warning": 0, "temperature": 36, "available_spare": 100, "available_spare_threshold": 10,
    "percentage_used": 3, "data_units_read": 9511859, "data_units_written": 7773431,
    "power_cycles": 266, "power_on_hours": 2401, "unsafe_shutdowns": 43, "media_errors": 0
  },
  "power_on_time": {"hours": 2401}
}"#;

    /// The shape of an ATA SSD report (abridged; values made up).
    const ATA: &str = r#"{
  "json_format_version": [1, 0],
  "smartctl": {"version": [7, 3], "exit_status": 0},
  "device": {"name": "/dev/sda", "info_name": "/dev/sda [SAT]", "type": "sat", "protocol": "ATA"},
  "model_name": "Example SATA SSD",
  "serial_number": "S0000000000002",
  "smart_status": {"passed": false},
  "ata_smart_attributes": {"revision": 1, "table": [
    {"id": 9, "name": "Power_On_Hours", "value": 95, "worst": 95, "thresh": 0, "raw": {"value": 20000, "string": "20000"}},
    {"id": 177, "name": "Wear_Leveling_Count", "value": 87, "worst": 87, "thresh": 0, "raw": {"value": 131, "string": "131"}}
  ]},
  "power_on_time": {"hours": 20000}
}"#;

    /// What smartctl prints for a device it cannot identify (virtio), exit status 1.
    const UNKNOWN: &str = r#"{
  "json_format_version": [1, 0],
  "smartctl": {"version": [7, 4], "messages": [{"string": "/dev/vdb: Unable to detect device type", "severity": "error"}], "exit_status": 1}
}"#;

    #[test]
    fn reports() {
        insta::assert_debug_snapshot!("nvme", parse_smartctl_json(NVME));
        insta::assert_debug_snapshot!("ata", parse_smartctl_json(ATA));
        assert_eq!(parse_smartctl_json(UNKNOWN), Ok(DiskWear::default()));
    }

    #[test]
    fn not_json() {
        let err = parse_smartctl_json("bash: line 1: smartctl: command not found\n")
            .expect_err("not JSON");
        assert_eq!(err.line, 1);
        assert!(parse_smartctl_json("[]").is_err());
    }
}
