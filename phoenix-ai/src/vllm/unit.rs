//! The systemd unit of a container's vLLM server, generated from `phoenix_services::vllm`'s
//! model: `ExecStart` is the venv's `vllm serve` with the model's words, each quoted as systemd
//! reads it; the model cache (`HF_HOME`) is on the bind-mounted models directory; the Hugging
//! Face token comes from a root-only environment file, never from argv. No GPU architecture is
//! pinned (upstream wrote `TORCH_CUDA_ARCH_LIST=12.0`, Blackwell only): the wheels carry kernels
//! for every architecture they support.

use phoenix_services::vllm::{Server, Version};

/// The unit's name.
pub const UNIT: &str = "vllm.service";

/// Where the unit file goes.
pub const UNIT_PATH: &str = "/etc/systemd/system/vllm.service";

/// The directory of the virtual environments, one per pinned version (`/opt/vllm/0.10.2`).
pub const VENV_ROOT: &str = "/opt/vllm";

/// The directory of the token's environment file.
pub const SECRET_DIR: &str = "/etc/vllm";

/// The environment file that holds `HF_TOKEN` (mode 0600), copied from the node's
/// `core_paths.hf_token_file`.
pub const TOKEN_PATH: &str = "/etc/vllm/hf-token.env";

/// Where a container's vLLM runs from and keeps its models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The virtual environment (`/opt/vllm/0.10.2`).
    pub venv: String,
    /// `HF_HOME`, when the container has a models directory (`/vllm_models/huggingface`).
    pub hf_home: Option<String>,
}

impl Layout {
    /// The layout for `version`, with the model cache under `models_dir` when there is one.
    pub fn new(version: Version, models_dir: Option<&str>) -> Layout {
        Layout {
            venv: venv(version),
            hf_home: models_dir.map(|dir| format!("{}/huggingface", dir.trim_end_matches('/'))),
        }
    }
}

/// The virtual environment of `version`.
pub fn venv(version: Version) -> String {
    format!("{VENV_ROOT}/{version}")
}

/// The program `ExecStart` runs: the venv's `vllm`.
pub fn program(layout: &Layout) -> String {
    format!("{}/bin/vllm", layout.venv)
}

/// The unit file's text.
pub fn unit_text(server: &Server, layout: &Layout) -> String {
    let mut argv = vec![program(layout), "serve".to_owned()];
    argv.extend(server.serve_args());
    let exec: Vec<String> = argv.iter().map(|word| quote(word)).collect();
    let mut environment = String::new();
    if let Some(hf_home) = &layout.hf_home {
        environment.push_str(&format!(
            "Environment={}\n",
            quote(&format!("HF_HOME={hf_home}"))
        ));
    }
    format!(
        "# Written by Phoenix: the vLLM {version} server of container {vmid}. Edits are replaced.\n\
         [Unit]\n\
         Description={description}\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         Type=exec\n\
         {environment}\
         EnvironmentFile=-{TOKEN_PATH}\n\
         ExecStart={exec}\n\
         Restart=on-failure\n\
         RestartSec=10\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        version = server.version,
        vmid = server.vmid,
        description = escape_specifiers(&format!("vLLM server ({})", server.model)),
        exec = exec.join(" "),
    )
}

/// One word of a command line as systemd's `ExecStart=` reads it: as it is when it holds only
/// characters systemd gives no meaning, else in double quotes with `\` and `"` escaped; `%`
/// (specifiers) is doubled and `$` (variable expansion) doubled everywhere; a lone `;` (the
/// command separator) is `\;` (systemd.service(5), "Command lines").
pub fn quote(word: &str) -> String {
    if word == ";" {
        return "\\;".to_owned();
    }
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,+@".contains(c));
    if plain {
        return word.to_owned();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The words of an `ExecStart=` line as systemd splits them, the inverse of [`quote`]: white
/// space separates, double or single quotes group, `\\` escapes (inside double quotes too),
/// `%%` and `$$` are one character. The simulated vLLM server reads its unit's command with it.
pub fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.trim().chars().peekable();
    while chars.peek().is_some() {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut word = String::new();
        let mut started = false;
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            started = true;
            match c {
                '"' | '\'' => {
                    while let Some(q) = chars.next() {
                        if q == c {
                            break;
                        }
                        if q == '\\' && c == '"' {
                            word.extend(chars.next());
                            continue;
                        }
                        word.push(q);
                    }
                }
                '\\' => word.extend(chars.next()),
                _ => word.push(c),
            }
        }
        if started {
            words.push(word.replace("%%", "%").replace("$$", "$"));
        }
    }
    words
}

/// Text of a setting where systemd expands specifiers but not quotes (`Description=`).
fn escape_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_as_systemd_reads_them() {
        let cases = [
            ("--max-model-len", "--max-model-len"),
            (
                "ibm-granite/granite-embedding-english-r2",
                "ibm-granite/granite-embedding-english-r2",
            ),
            ("0.9", "0.9"),
            ("", "\"\""),
            ("two words", "\"two words\""),
            ("{\"a\": 1}", "\"{\\\"a\\\": 1}\""),
            ("50%", "\"50%%\""),
            ("$HOME", "\"$$HOME\""),
            ("back\\slash", "\"back\\\\slash\""),
            (";", "\\;"),
            ("it's", "\"it's\""),
        ];
        for (word, expect) in cases {
            assert_eq!(quote(word), expect, "{word}");
        }
    }

    #[test]
    fn words_read_back_what_quote_wrote() {
        let cases: [&[&str]; 4] = [
            &["/opt/vllm/0.10.2/bin/vllm", "serve", "m", "--port", "8000"],
            &["two words", "", "{\"a\": 1}", "50%", "$HOME"],
            &["back\\slash", ";", "it's"],
            &[],
        ];
        for argv in cases {
            let line: Vec<String> = argv.iter().map(|w| quote(w)).collect();
            assert_eq!(words(&line.join(" ")), argv, "{line:?}");
        }
        assert_eq!(words("  a   'b c'  "), ["a", "b c"]);
    }

    #[test]
    fn the_layout_follows_the_version_and_the_models_directory() {
        let version = Version::parse("0.10.2").expect("version");
        let layout = Layout::new(version, Some("/vllm_models/"));
        assert_eq!(layout.venv, "/opt/vllm/0.10.2");
        assert_eq!(layout.hf_home.as_deref(), Some("/vllm_models/huggingface"));
        assert_eq!(program(&layout), "/opt/vllm/0.10.2/bin/vllm");
        assert_eq!(Layout::new(version, None).hf_home, None);
    }
}
