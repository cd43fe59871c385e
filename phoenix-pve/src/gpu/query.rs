//! `nvidia-smi --query-gpu=index,uuid,name,pci.bus_id,driver_version --format=csv,noheader`.

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// The fields Phoenix asks `nvidia-smi --query-gpu` for, in order (the sample's header line).
pub const QUERY_FIELDS: &str = "index,uuid,name,pci.bus_id,driver_version";

/// One GPU, one line of the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuRow {
    /// The index `nvidia-smi` gives it (and the minor of `/dev/nvidia<index>`).
    pub index: u32,
    /// `GPU-…`.
    pub uuid: String,
    /// The product name (`NVIDIA H200`).
    pub name: String,
    /// The PCI bus id (`00000000:00:06.0`).
    pub pci_bus_id: String,
    /// The loaded driver's version (`580.159.04`).
    pub driver_version: String,
}

/// The lines of the query, in `nvidia-smi`'s order. nvidia-smi separates fields with `, ` and
/// never quotes; a GPU name has no comma.
pub fn parse_query_gpu(text: &str) -> Result<Vec<GpuRow>, ParseError> {
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [gpu, uuid, name, bus, driver] = fields[..] else {
            return Err(ParseError::new(
                number,
                format!("expected 5 fields ({QUERY_FIELDS}), found {}", fields.len()),
            ));
        };
        let index = gpu
            .parse::<u32>()
            .map_err(|_| ParseError::new(number, format!("GPU index `{gpu}` is not a number")))?;
        if driver.is_empty() || !driver.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(ParseError::new(
                number,
                format!("driver version `{driver}` is not a version"),
            ));
        }
        rows.push(GpuRow {
            index,
            uuid: uuid.to_owned(),
            name: name.to_owned(),
            pci_bus_id: bus.to_owned(),
            driver_version: driver.to_owned(),
        });
    }
    Ok(rows)
}

/// What `nvidia-smi` prints for `rows` (the emulator's writer).
pub fn format_query_gpu(rows: &[GpuRow]) -> String {
    rows.iter()
        .map(|row| {
            format!(
                "{}, {}, {}, {}, {}\n",
                row.index, row.uuid, row.name, row.pci_bus_id, row.driver_version
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("fixtures/query-gpu.csv");

    #[test]
    fn the_h200_sample() {
        insta::assert_debug_snapshot!(parse_query_gpu(SAMPLE));
    }

    #[test]
    fn the_writer_prints_the_sample_back() {
        let rows = parse_query_gpu(SAMPLE).expect("sample");
        assert_eq!(format_query_gpu(&rows), SAMPLE);
    }

    #[test]
    fn errors() {
        let cases = [
            ("0, a, b, c\n", 1, "expected 5 fields"),
            ("x, a, b, c, 1.2\n", 1, "is not a number"),
            ("\n0, a, b, c, N/A\n", 2, "is not a version"),
        ];
        for (text, line, reason) in cases {
            let err = parse_query_gpu(text).expect_err(text);
            assert_eq!(err.line, line, "{text}");
            assert!(err.reason.contains(reason), "{text}: {}", err.reason);
        }
        assert_eq!(parse_query_gpu(""), Ok(Vec::new()));
    }
}
