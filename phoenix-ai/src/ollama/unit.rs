//! The Ollama systemd unit, as Ollama's own install script writes it (its own user, `Restart=
//! always`, `RestartSec=3`, after the network; root only when the models are under `/root`) with the versioned binary and the two settings
//! Phoenix owns in the unit itself rather than a drop-in: `OLLAMA_HOST` and `OLLAMA_MODELS`.

use phoenix_services::ollama::Ollama;

/// The unit's name.
pub const UNIT: &str = "ollama.service";

/// The user and group the server runs as.
pub const USER: &str = "ollama";

/// The user's home, as Ollama's install script makes it.
pub const HOME: &str = "/usr/share/ollama";

/// Where each release is unpacked.
pub const INSTALL_ROOT: &str = "/opt/ollama";

/// The binary of `version`.
pub fn binary(version: &str) -> String {
    format!("{INSTALL_ROOT}/{version}/bin/ollama")
}

/// The release archive of `version`.
pub fn release_url(version: &str) -> String {
    format!(
        "https://github.com/ollama/ollama/releases/download/v{version}/ollama-linux-amd64.tar.zst"
    )
}

/// The unit's text for `server`. Every value in it was checked by phoenix-services (a version of
/// digits and dots, a plain absolute path, a port number), so none needs quoting beyond the
/// `Environment=` assignment's own.
pub fn unit_text(server: &Ollama) -> String {
    format!(
        "# Managed by Phoenix: edit the JSON config, not this file.\n\
         [Unit]\n\
         Description=Ollama Service\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         ExecStart={binary} serve\n\
         User={user}\n\
         Group={user}\n\
         Restart=always\n\
         RestartSec=3\n\
         Environment=\"OLLAMA_HOST=0.0.0.0:{port}\"\n\
         Environment=\"OLLAMA_MODELS={models}\"\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        binary = binary(&server.version),
        port = server.endpoint.port,
        models = server.models_dir,
        user = if server.run_as_root { "root" } else { USER },
    )
}
