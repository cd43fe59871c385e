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
//! first and last lines: no dependency is emulated). The server the unit starts is
//! `guest_stand_in`'s, which reads the unit's `ExecStart=` while the unit is active.

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
        vec!["python3".to_owned(), "pip".to_owned()]
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
            _ => None,
        }
    }
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
