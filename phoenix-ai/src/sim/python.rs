//! Emulators of what the `vllm` feature runs inside a simulated container, through core's
//! guest hook (`Emulator::run_in_guest`): `python3 -m venv DIR` and a venv's
//! `pip --python DIR/bin/python3 install vllm==X` (the hook gives an emulator the program's name
//! without its directory; `--python` names the environment, for the real pip as for this one).
//!
//! What they leave is what the real tools leave, as far as Phoenix looks: `venv` writes
//! `DIR/pyvenv.cfg` and `DIR/bin/python3`, and `DIR/bin/pip` only when `ensurepip` works (the
//! package `python3-venv`; without it the real `venv` fails after creating the interpreter link,
//! which is why the installer's guard is `bin/pip`); `pip install vllm==X` writes `bin/vllm` and
//! the distribution's `METADATA`. Their output is the real tools' (pip's is shortened to its
//! first and last lines: no dependency is emulated). `vllm serve`, which phoenix-lxc's
//! `systemctl start` hands over from the unit's `ExecStart=`, registers the server as the node's
//! stand-in (`crate::stand_in`) at the container's address, so the health checks find it.

use phoenix_core::sim::{Emulator, GuestSys, SimFile, SimOutput, SimSys};

/// The vLLM releases the emulated package index has (real ones).
pub(crate) const RELEASES: &[&str] = &[
    "0.9.0", "0.9.1", "0.9.2", "0.10.0", "0.10.1", "0.10.1.1", "0.10.2", "0.11.0",
];

/// The Python of the simulated containers (Ubuntu 24.04's).
const PYTHON: &str = "3.12";

/// `python3 -m venv` and `pip install` inside containers.
#[derive(Debug, Default, Clone, Copy)]
pub struct PythonEmulator;

impl Emulator for PythonEmulator {
    fn programs(&self) -> Vec<String> {
        Vec::new()
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, _sys: &mut SimSys<'_>) -> SimOutput {
        SimOutput::fail(
            127,
            format!(
                "phoenix sim: {} is emulated inside containers only\n",
                argv.first().map_or("", String::as_str)
            ),
        )
    }

    fn guest_programs(&self) -> Vec<String> {
        vec!["python3".to_owned(), "pip".to_owned(), "vllm".to_owned()]
    }

    fn run_in_guest(
        &self,
        argv: &[String],
        _stdin: Option<&str>,
        guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        match argv {
            [python, m, venv, dir] if python == "python3" && m == "-m" && venv == "venv" => {
                Some(make_venv(dir, guest))
            }
            [pip, python_flag, python, install, rest @ ..]
                if pip == "pip" && python_flag == "--python" && install == "install" =>
            {
                let specs: Vec<&String> = rest.iter().filter(|a| !a.starts_with('-')).collect();
                let venv = python.strip_suffix("/bin/python3")?;
                match specs.as_slice() {
                    [spec] => spec
                        .strip_prefix("vllm==")
                        .map(|version| pip_install_vllm(venv, version, guest)),
                    _ => None,
                }
            }
            [vllm, serve, model, flags @ ..] if vllm == "vllm" && serve == "serve" => {
                Some(serve_stand_in(model, flags, guest))
            }
            _ => None,
        }
    }
}

/// `vllm serve MODEL FLAGS...` as a unit starts it: the server becomes a ready stand-in at the
/// container's address (its conf's `net0` `ip=`) and `--port` (8000 by default), serving the
/// `--served-model-name`s (the model by default), an embedding model (`--runner pooling` or
/// `--task embed`) with 768 dimensions (granite-embedding-english-r2's); the version is the
/// one installed under Phoenix's `/opt/vllm/<version>` (the hook gives no program path).
fn serve_stand_in(model: &str, flags: &[String], guest: &mut dyn GuestSys<'_>) -> SimOutput {
    let value = |name: &str| -> Vec<String> {
        let Some(at) = flags.iter().position(|f| f == name) else {
            return Vec::new();
        };
        flags[at + 1..]
            .iter()
            .take_while(|f| !f.starts_with("--"))
            .cloned()
            .collect()
    };
    let port = value("--port")
        .first()
        .cloned()
        .unwrap_or_else(|| "8000".to_owned());
    let mut models = value("--served-model-name");
    if models.is_empty() {
        models.push(model.to_owned());
    }
    let pooling = value("--runner").first().is_some_and(|r| r == "pooling")
        || value("--task").first().is_some_and(|t| t == "embed");
    let version = RELEASES
        .iter()
        .rev()
        .find(|v| guest.read(&format!("/opt/vllm/{v}/bin/vllm")).is_some())
        .map_or_else(String::new, |v| (*v).to_owned());
    let id = guest.scope().trim_start_matches("ct:").to_owned();
    let Some(ip) = guest
        .node()
        .read(&format!("/etc/pve/lxc/{id}.conf"))
        .and_then(|conf| container_ip(&conf.content))
    else {
        return SimOutput::fail(1, "phoenix sim: the container has no static address\n");
    };
    let mut endpoints: super::Endpoints = guest.node().load(super::NAMESPACE);
    endpoints.endpoints.insert(
        format!("{ip}:{port}"),
        crate::stand_in::StandIn {
            service: "vllm".to_owned(),
            state: "ready".to_owned(),
            models,
            version,
            dimension: if pooling { 768 } else { 0 },
            collections: Default::default(),
            requests: Default::default(),
        },
    );
    guest.node().store(super::NAMESPACE, &endpoints);
    SimOutput::ok_mutated("")
}

/// The address of a container conf's `net0` (`ip=10.0.0.151/24`), without its prefix.
fn container_ip(conf: &str) -> Option<String> {
    let net0 = conf
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.strip_prefix("net0:"))?;
    net0.split(',')
        .find_map(|part| part.trim().strip_prefix("ip="))
        .map(|ip| ip.split('/').next().unwrap_or(ip).to_owned())
}

/// `python3 -m venv DIR`.
fn make_venv(dir: &str, guest: &mut dyn GuestSys<'_>) -> SimOutput {
    let dir = dir.trim_end_matches('/');
    guest.mkdir(&format!("{dir}/bin"));
    guest.write(
        &format!("{dir}/pyvenv.cfg"),
        SimFile::new(
            format!(
                "home = /usr/bin\ninclude-system-site-packages = false\nversion = {PYTHON}.3\nexecutable = /usr/bin/python{PYTHON}\ncommand = /usr/bin/python3 -m venv {dir}\n"
            ),
            0o644,
            "root:root",
        ),
    );
    guest.write(
        &format!("{dir}/bin/python3"),
        SimFile::new("", 0o755, "root:root"),
    );
    if guest.package_version("python3-venv").is_none() {
        return SimOutput::new(
            1,
            format!(
                "The virtual environment was not created successfully because ensurepip is not\n\
                 available.  On Debian/Ubuntu systems, you need to install the python3-venv\n\
                 package using the following command.\n\
                 \n    apt install python{PYTHON}-venv\n\n\
                 You may need to use sudo with that command.  After installing the python3-venv\n\
                 package, recreate your virtual environment.\n\
                 \n\
                 Failing command: {dir}/bin/python3\n\n"
            ),
            "",
            true,
        );
    }
    guest.write(
        &format!("{dir}/bin/pip"),
        SimFile::new(
            format!("#!{dir}/bin/python3\n# pip's console script\n"),
            0o755,
            "root:root",
        ),
    );
    SimOutput::ok_mutated("")
}

/// `pip --python VENV/bin/python3 install vllm==VERSION`.
fn pip_install_vllm(venv: &str, version: &str, guest: &mut dyn GuestSys<'_>) -> SimOutput {
    if guest.read(&format!("{venv}/bin/python3")).is_none() {
        return SimOutput::fail(
            1,
            format!("ERROR: Could not find an interpreter at {venv}/bin/python3\n"),
        );
    }
    if !RELEASES.contains(&version) {
        return SimOutput::new(
            1,
            "",
            format!(
                "ERROR: Could not find a version that satisfies the requirement vllm=={version} (from versions: {})\n\
                 ERROR: No matching distribution found for vllm=={version}\n",
                RELEASES.join(", ")
            ),
            false,
        );
    }
    guest.write(
        &format!("{venv}/lib/python{PYTHON}/site-packages/vllm-{version}.dist-info/METADATA"),
        SimFile::new(
            format!("Metadata-Version: 2.4\nName: vllm\nVersion: {version}\n"),
            0o644,
            "root:root",
        ),
    );
    guest.write(
        &format!("{venv}/bin/vllm"),
        SimFile::new(
            format!("#!{venv}/bin/python3\n# vllm's console script\n"),
            0o755,
            "root:root",
        ),
    );
    SimOutput::ok_mutated(format!(
        "Collecting vllm=={version}\n\
         \x20 Downloading vllm-{version}-cp38-abi3-manylinux1_x86_64.whl.metadata (17 kB)\n\
         Installing collected packages: vllm\n\
         Successfully installed vllm-{version}\n"
    ))
}
