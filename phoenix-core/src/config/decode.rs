//! Typed decoding of config values, with errors that name the JSON path, the line, and the key
//! that was probably meant.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::document::Document;
use super::path::{JsonPath, Segment, quote};
use crate::diag::Diagnostic;

/// Decodes `value`, which sits at `path` in `document`, into `T`.
///
/// On failure the diagnostic is located at the full JSON path of the failing field (`path`
/// followed by the path inside `value`), with the line and column of that field, or of its
/// nearest ancestor that exists, for a missing key. The message is serde's, made readable for
/// config authors: `unknown key "memroy_mb"; did you mean "memory_mb"?`,
/// `expected u32, found string "x"`, `missing key "name"`.
#[expect(
    clippy::result_large_err,
    reason = "a diagnostic is built once, on the failure path; boxing it would burden every caller"
)]
pub fn decode<T: DeserializeOwned>(
    document: &Document,
    path: &JsonPath,
    value: &Value,
) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let full = path.join_serde(err.path());
        let message = readable_message(&err.inner().to_string(), full.segments().last());
        Diagnostic::error(message).at(document.location(&full))
    })
}

/// Words longer than this get no suggestion.
const MAX_SUGGEST_BYTES: usize = 256;

/// The candidate that `word` is most likely a misspelling of, if any is close enough.
///
/// Case is ignored. A candidate is close when it is within an edit distance of a third of the
/// word's length (at least 1, and less than either length, so `"a"` does not suggest `"b"`), or
/// when it has a Jaro-Winkler similarity of 0.9 or more, which catches missing suffixes such as
/// `memory` for `memory_mb`. The closest by edit distance wins; ties go to the higher
/// similarity, then to the earlier candidate. A candidate equal to `word` is never suggested.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // No key is this long; comparing a huge word (a hostile config's) would cost seconds.
    if word.len() > MAX_SUGGEST_BYTES {
        return None;
    }
    let word_lower = word.to_lowercase();
    let word_len = word_lower.chars().count();
    let limit = word_len.max(3) / 3;
    let mut best: Option<(usize, f64, &'a str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        let candidate_lower = candidate.to_lowercase();
        let candidate_len = candidate_lower.chars().count();
        let distance = strsim::damerau_levenshtein(&word_lower, &candidate_lower);
        let similarity = strsim::jaro_winkler(&word_lower, &candidate_lower);
        let close = distance == 0
            || (distance <= limit && distance < word_len.min(candidate_len))
            || similarity >= 0.9;
        if !close {
            continue;
        }
        let better = match best {
            None => true,
            Some((best_distance, best_similarity, _)) => {
                distance < best_distance
                    || (distance == best_distance && similarity > best_similarity)
            }
        };
        if better {
            best = Some((distance, similarity, candidate));
        }
    }
    best.map(|(_, _, candidate)| candidate)
}

/// Rewrites serde's messages for people who write JSON rather than Rust. `last` is the last
/// segment of the failing path, which for an unknown key is that key.
fn readable_message(message: &str, last: Option<&Segment>) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        // The failing path ends with the unknown key itself, which is exact even when the key
        // contains backquotes.
        return match last {
            Some(Segment::Key(key)) if rest.starts_with(key.as_str()) => {
                unknown("key", key, &rest[key.len()..])
            }
            _ => {
                let (name, tail) = split_backquoted(rest);
                unknown("key", name, tail)
            }
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (name, tail) = split_backquoted(rest);
        return unknown("value", name, tail);
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The expected part comes from code and the found part from the file, so the last
            // separator is the real one.
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                return format!(
                    "expected {}, found {}",
                    json_expected(expected),
                    cut(json_found(found))
                );
            }
        }
    }
    // serde lets a struct be written as an array of its fields; a wrong-length array is almost
    // always an object written as an array by mistake.
    if message.starts_with("invalid length ") && message.contains(", expected struct ") {
        return "expected an object, found an array".to_owned();
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        return format!("missing key {}", quote(backquoted_prefix(rest)));
    }
    if let Some(rest) = message.strip_prefix("duplicate field `") {
        return format!("duplicate key {}", quote(backquoted_prefix(rest)));
    }
    message.to_owned()
}

/// `unknown key "x"; did you mean "y"?`, or without a close candidate
/// `unknown key "x"; expected one of "y", "z"`, from the unknown word and what
/// serde wrote after it: "`, expected one of `a`, `b`", "`, expected `a`" or "`, there are no
/// fields".
fn unknown(noun: &str, word: &str, tail: &str) -> String {
    let tail = tail.strip_prefix("`, ").unwrap_or(tail);
    let expected: Vec<&str> = if tail.starts_with("expected") {
        tail.split('`').skip(1).step_by(2).collect()
    } else {
        Vec::new()
    };
    let mut message = format!("unknown {noun} {}", cut(&quote(word)));
    // A suggestion is the answer; the whole list (47 keys for a container) would bury it.
    if let Some(meant) = suggest(word, expected.iter().copied()) {
        message.push_str(&format!("; did you mean {}?", quote(meant)));
        return message;
    }
    message.push(';');
    let quoted: Vec<String> = expected.iter().map(|name| quote(name)).collect();
    match quoted.as_slice() {
        [] => message.push_str(&format!(" no {noun}s are allowed here")),
        [only] => message.push_str(&format!(" expected {only}")),
        all => message.push_str(&format!(" expected one of {}", all.join(", "))),
    }
    message
}

/// Text from the config as a message shows it: at most 64 characters and the size, so a huge
/// value (a hostile config's) is not echoed in full.
fn cut(text: &str) -> String {
    match text.char_indices().nth(64) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

/// The text up to the first backquote: the name in "unknown field `name`, ...".
fn backquoted_prefix(rest: &str) -> &str {
    split_backquoted(rest).0
}

/// The text up to the first backquote, and the rest from that backquote on.
fn split_backquoted(rest: &str) -> (&str, &str) {
    match rest.find('`') {
        Some(end) => (&rest[..end], &rest[end..]),
        None => (rest, ""),
    }
}

/// serde's names for what it found, in JSON terms.
fn json_found(found: &str) -> &str {
    match found {
        "map" => "an object",
        "sequence" => "an array",
        "unit value" => "null",
        other => other,
    }
}

/// serde's names for what it expected, in JSON terms.
fn json_expected(expected: &str) -> &str {
    match expected {
        "a map" => "an object",
        "a sequence" => "an array",
        "unit" => "null",
        other if other.starts_with("struct ") => "an object",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only decoding errors matter here")]
    struct Container {
        name: String,
        memory_mb: u32,
        cores: u32,
        #[serde(default)]
        network_config: Option<Network>,
        #[serde(default)]
        role: Option<Role>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only decoding errors matter here")]
    struct Network {
        name: String,
        ip: String,
        gw: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Role {
        Server,
        Agent,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only decoding errors matter here")]
    struct Lxc {
        lxc_configs: BTreeMap<String, Container>,
    }

    const TEXT: &str = r#"{
    "lxc_configs": {
        "950": {
            "name": "a",
            "memory_mb": 2048,
            "cores": 2
        },
        "951": {
            "name": "b",
            "memory_mb": 4096,
            "cores": 4,
            "network_config": {
                "name": "eth0",
                "ip": "10.0.0.51/24",
                "gw": "10.0.0.1"
            }
        }
    }
}"#;

    /// Decodes `TEXT` with one value replaced, and renders the error.
    fn error_after(edit: impl FnOnce(&mut Value)) -> String {
        let mut document =
            Document::parse(PathBuf::from("lxc.json"), TEXT.to_owned()).expect("valid JSON");
        let mut value = document.value().clone();
        edit(&mut value);
        let text = serde_json::to_string_pretty(&value).expect("serializable");
        document = Document::parse(PathBuf::from("lxc.json"), text).expect("valid JSON");
        decode::<Lxc>(&document, &JsonPath::root(), document.value())
            .expect_err("the edit makes it invalid")
            .to_string()
    }

    #[test]
    fn a_valid_section_decodes() {
        let document = Document::parse(PathBuf::from("lxc.json"), TEXT.to_owned()).expect("valid");
        let path = JsonPath::root().key("lxc_configs");
        let value = document.get(&path).expect("present");
        let decoded: BTreeMap<String, Container> =
            decode(&document, &path, value).expect("valid config");
        assert_eq!(decoded.len(), 2);
    }

    #[test]
    fn a_wrong_type_deep_in_the_tree_names_the_path_and_line() {
        let document = Document::parse(
            PathBuf::from("lxc.json"),
            TEXT.replace(r#""gw": "10.0.0.1""#, r#""gw": 10"#),
        )
        .expect("valid JSON");
        let path = JsonPath::root().key("lxc_configs");
        let value = document.get(&path).expect("present");
        let err = decode::<BTreeMap<String, Container>>(&document, &path, value)
            .expect_err("gw is a number");
        insta::assert_snapshot!(err, @r#"error: lxc.json:15:23 at lxc_configs."951".network_config.gw: expected a string, found integer `10`"#);
    }

    #[test]
    fn messages_are_readable() {
        insta::assert_snapshot!(
            error_after(|v| v["lxc_configs"]["951"]["memory_mb"] = "lots".into()),
            @r#"error: lxc.json:10:20 at lxc_configs."951".memory_mb: expected u32, found string "lots""#
        );
        insta::assert_snapshot!(
            error_after(|v| v["lxc_configs"]["950"]["cores"] = (-1).into()),
            @r#"error: lxc.json:6:16 at lxc_configs."950".cores: expected u32, found integer `-1`"#
        );
        insta::assert_snapshot!(
            error_after(|v| v["lxc_configs"]["950"]["network_config"] = Value::Array(Vec::new())),
            @r#"error: lxc.json:7:25 at lxc_configs."950".network_config: expected an object, found an array"#
        );
        insta::assert_snapshot!(
            error_after(|v| {
                if let Some(container) = v["lxc_configs"]["950"].as_object_mut() {
                    container.remove("name");
                }
            }),
            @r#"error: lxc.json:3:12 at lxc_configs."950": missing key "name""#
        );
        insta::assert_snapshot!(
            error_after(|v| v["lxc_configs"]["951"]["role"] = "sever".into()),
            @r#"error: lxc.json:17:15 at lxc_configs."951".role: unknown value "sever"; did you mean "server"?"#
        );
    }

    #[test]
    fn an_unknown_nested_key_suggests_the_closest_one() {
        let document = Document::parse(
            PathBuf::from("lxc.json"),
            TEXT.replace(r#""memory_mb": 4096"#, r#""memroy_mb": 4096"#),
        )
        .expect("valid JSON");
        let err = decode::<Lxc>(&document, &JsonPath::root(), document.value())
            .expect_err("memroy_mb is misspelt");
        insta::assert_snapshot!(err, @r#"error: lxc.json:10:26 at lxc_configs."951".memroy_mb: unknown key "memroy_mb"; did you mean "memory_mb"?"#);
        insta::assert_snapshot!(
            error_after(|v| v["lxc_configs"]["950"]["network_config"] = serde_json::json!({"name": "eth0", "ip": "x", "gw": "y", "bridge": "vmbr0"})),
            @r#"error: lxc.json:11:19 at lxc_configs."950".network_config.bridge: unknown key "bridge"; expected one of "name", "ip", "gw""#
        );
    }

    #[test]
    fn issue_8_a_suggestion_replaces_the_list_of_expected_keys() {
        insta::assert_snapshot!(
            error_after(|v| v["lxc_configs"]["950"]["coers"] = 2.into()),
            @r#"error: lxc.json:7:16 at lxc_configs."950".coers: unknown key "coers"; did you mean "cores"?"#
        );
        // Without a close candidate the list is the only help.
        insta::assert_snapshot!(
            error_after(|v| v["lxc_configs"]["950"]["zzz"] = 2.into()),
            @r#"error: lxc.json:7:14 at lxc_configs."950".zzz: unknown key "zzz"; expected one of "name", "memory_mb", "cores", "network_config", "role""#
        );
    }

    #[test]
    fn issue_8_huge_values_and_keys_are_cut_in_messages() {
        let huge = "z".repeat(1 << 20);
        let message = error_after(|v| v["lxc_configs"]["951"]["memory_mb"] = huge.clone().into());
        assert!(message.len() < 300, "{}", &message[..300]);
        assert!(
            message.ends_with(" bytes)") && message.contains("zzz… ("),
            "{message}"
        );
        let message = error_after(|v| v["lxc_configs"]["951"][huge.as_str()] = 1.into());
        assert!(message.len() < 600, "{}", &message[..600]);
    }

    #[test]
    fn errors_in_the_upstream_file_point_at_the_right_line() {
        #[derive(Debug, Deserialize)]
        struct Gpu {
            #[expect(dead_code, reason = "only decoding errors matter here")]
            gpu_assignment: u8,
        }
        #[derive(Debug, Deserialize)]
        struct Memory {
            #[expect(dead_code, reason = "only decoding errors matter here")]
            memory_mb: u32,
        }
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/upstream/0017fa8__etc__phoenix_lxc_configs.json");
        let text = std::fs::read_to_string(file).expect("fixture");
        let path = JsonPath::root().key("lxc_configs");

        let document = Document::parse(PathBuf::from("lxc.json"), text.clone()).expect("valid");
        let value = document.get(&path).expect("present");
        let err = decode::<BTreeMap<String, Gpu>>(&document, &path, value)
            .expect_err("the first container has \"none\"");
        insta::assert_snapshot!(err, @r#"error: lxc.json:24:31 at lxc_configs."900".gpu_assignment: expected u8, found string "none""#);

        // Line 503 is the memory_mb of container 951 (grep -n); quote its value.
        let edited: Vec<String> = text
            .split('\n')
            .enumerate()
            .map(|(n, line)| {
                if n + 1 == 503 {
                    line.replace("72000", "\"72000\"")
                } else {
                    line.to_owned()
                }
            })
            .collect();
        let document =
            Document::parse(PathBuf::from("lxc.json"), edited.join("\n")).expect("valid");
        let value = document.get(&path).expect("present");
        let err = decode::<BTreeMap<String, Memory>>(&document, &path, value)
            .expect_err("951 has a string");
        insta::assert_snapshot!(err, @r#"error: lxc.json:503:26 at lxc_configs."951".memory_mb: expected u32, found string "72000""#);
    }

    #[test]
    fn odd_serde_messages_are_rewritten_too() {
        let key = Segment::Key("a`, b".to_owned());
        assert_eq!(
            readable_message("unknown field `a`, b`, expected `name`", Some(&key)),
            r#"unknown key "a`, b"; expected "name""#
        );
        assert_eq!(
            readable_message("unknown field `x`, there are no fields", None),
            r#"unknown key "x"; no keys are allowed here"#
        );
        assert_eq!(
            readable_message("invalid type: string \"a, expected b\", expected u32", None),
            r#"expected u32, found string "a, expected b""#
        );
        assert_eq!(
            readable_message("invalid type: unit value, expected a sequence", None),
            "expected an array, found null"
        );
        assert_eq!(readable_message("custom words", None), "custom words");
    }

    #[test]
    fn suggest_finds_typos_and_ignores_strangers() {
        let keys = [
            "users",
            "zfs",
            "nfs",
            "samba",
            "network",
            "timezone",
            "nvidia_driver",
            "shared_volumes",
            "lxc_configs",
            "memory_mb",
            "storage_pool",
            "gpu_assignment",
            "mac_address",
            "template",
            "behavior",
        ];
        let cases = [
            ("memroy_mb", Some("memory_mb")),
            ("zsf", Some("zfs")),
            ("ZFS", Some("zfs")),
            ("Memory_MB", Some("memory_mb")),
            ("memory", Some("memory_mb")),
            ("memory-mb", Some("memory_mb")),
            ("lxc_config", Some("lxc_configs")),
            ("nvidia_drivr", Some("nvidia_driver")),
            ("storage-pool", Some("storage_pool")),
            ("gpu_assigment", Some("gpu_assignment")),
            ("mac_adress", Some("mac_address")),
            ("templete", Some("template")),
            ("shared_volume", Some("shared_volumes")),
            ("behaviour", Some("behavior")),
            ("user", Some("users")),
            ("netwrok", Some("network")),
            ("foo", None),
            ("x", None),
            ("docker", None),
            ("vms", None),
            ("core_paths", None),
            ("proxmox_defaults", None),
            ("tests", None),
            ("mount_point_base", None),
            ("swap_mb", None),
            ("cores", None),
            ("lxc", None),
            ("", None),
        ];
        let got: Vec<(&str, Option<&str>)> = cases
            .iter()
            .map(|(word, _)| (*word, suggest(word, keys)))
            .collect();
        assert_eq!(got, cases);
        assert_eq!(suggest("a", ["b"]), None);
        assert_eq!(suggest(&"memory_mb".repeat(1 << 17), ["memory_mb"]), None);
        assert_eq!(suggest("zfs", ["zfs"]), None);
    }
}
