//! The Qdrant files Phoenix writes in the container: `config.yaml` (storage and snapshots on the
//! data volume, the ports; keys as Qdrant's own `config/config.yaml` documents them) and the unit.
//! The API key is in neither: it reaches Qdrant as `QDRANT__SERVICE__API_KEY` from a root-only
//! environment file (`api_key`), which systemd reads before it drops to the `qdrant` user.

use phoenix_services::qdrant::Qdrant;

/// The unit's name.
pub const UNIT: &str = "qdrant.service";

/// The user and group the server runs as.
pub const USER: &str = "qdrant";

/// The user's home and the server's working directory (Qdrant looks for `config/` and writes
/// nothing else there once its paths are absolute).
pub const HOME: &str = "/var/lib/qdrant";

/// The configuration directory.
pub const CONFIG_DIR: &str = "/etc/qdrant";

/// The configuration file.
pub const CONFIG_PATH: &str = "/etc/qdrant/config.yaml";

/// The root-only environment file with the API key.
pub const API_KEY_ENV: &str = "/etc/qdrant/api-key.env";

/// Where each release is unpacked.
pub const INSTALL_ROOT: &str = "/opt/qdrant";

/// The binary of `version`.
pub fn binary(version: &str) -> String {
    format!("{INSTALL_ROOT}/{version}/qdrant")
}

/// The release archive of `version`.
pub fn release_url(version: &str) -> String {
    format!(
        "https://github.com/qdrant/qdrant/releases/download/v{version}/qdrant-x86_64-unknown-linux-gnu.tar.gz"
    )
}

/// `config.yaml` for `server`. Values were checked by phoenix-services (plain absolute paths,
/// port numbers), so they need no YAML quoting.
pub fn config_yaml(server: &Qdrant) -> String {
    format!(
        "# Managed by Phoenix: edit the JSON config, not this file.\n\
         # The API key is not here: it comes from {API_KEY_ENV} (QDRANT__SERVICE__API_KEY).\n\
         log_level: INFO\n\
         storage:\n\
         \x20 storage_path: {storage}\n\
         \x20 snapshots_path: {snapshots}\n\
         service:\n\
         \x20 host: 0.0.0.0\n\
         \x20 http_port: {http}\n\
         \x20 grpc_port: {grpc}\n\
         telemetry_disabled: true\n",
        storage = server.storage_path,
        snapshots = server.snapshots_path,
        http = server.endpoint.port,
        grpc = server.grpc_port,
    )
}

/// The storage path a `config.yaml` written by [`config_yaml`] names (`None` for another file).
pub fn storage_path_of(config: &str) -> Option<&str> {
    config
        .lines()
        .find_map(|line| line.strip_prefix("  storage_path: "))
        .map(str::trim)
}

/// The unit's text for `server`.
pub fn unit_text(server: &Qdrant) -> String {
    let env = if server.api_key_file.is_some() {
        format!("EnvironmentFile={API_KEY_ENV}\n")
    } else {
        String::new()
    };
    format!(
        "# Managed by Phoenix: edit the JSON config, not this file.\n\
         [Unit]\n\
         Description=Qdrant vector database\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         RequiresMountsFor={storage}\n\
         \n\
         [Service]\n\
         ExecStart={binary} --config-path {CONFIG_PATH}\n\
         WorkingDirectory={HOME}\n\
         {env}\
         User={USER}\n\
         Group={USER}\n\
         Restart=always\n\
         RestartSec=3\n\
         LimitNOFILE=65536\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        binary = binary(&server.version),
        storage = server.storage_path,
    )
}

/// The version a unit written by [`unit_text`] runs (`None` for another file).
pub fn version_of_unit(unit: &str) -> Option<&str> {
    unit.lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .and_then(|exec| exec.strip_prefix(INSTALL_ROOT)?.strip_prefix('/'))
        .and_then(|rest| rest.strip_suffix(&format!("/qdrant --config-path {CONFIG_PATH}")))
}
