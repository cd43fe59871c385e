//! `UpdateCaCertificatesEmulator`: `update-ca-certificates` inside a simulated container (a
//! guest program), the trigger of the local CA's trust file.
//!
//! It does what the real tool (ca-certificates 20240203 on Ubuntu 24.04) does for Phoenix's one
//! file: links `/usr/local/share/ca-certificates/phoenix-lab-ca.crt` into `/etc/ssl/certs` as
//! `phoenix-lab-ca.pem` (a copy here), or removes the link when the file is gone, and prints the
//! tool's summary with the counts.

use phoenix_core::sim::{Emulator, GuestSys, SimFile, SimOutput, SimSys};

use super::tls_resources::{LINK_PATH, TRUST_PATH};

/// The emulator of `update-ca-certificates` in guests.
#[derive(Debug, Default, Clone, Copy)]
pub struct UpdateCaCertificatesEmulator;

impl Emulator for UpdateCaCertificatesEmulator {
    fn programs(&self) -> Vec<String> {
        Vec::new()
    }

    fn run(&self, argv: &[String], _stdin: Option<&str>, _sys: &mut SimSys<'_>) -> SimOutput {
        SimOutput::fail(
            127,
            format!("phoenix sim: `{}` runs only in a guest\n", argv.join(" ")),
        )
    }

    fn guest_programs(&self) -> Vec<String> {
        vec!["update-ca-certificates".to_owned()]
    }

    fn run_in_guest(
        &self,
        argv: &[String],
        _stdin: Option<&str>,
        guest: &mut dyn GuestSys<'_>,
    ) -> Option<SimOutput> {
        if argv.len() != 1 {
            return None;
        }
        let source = guest.read(TRUST_PATH);
        let linked = guest.read(LINK_PATH);
        let (added, removed, changed) = match (&source, &linked) {
            (Some(file), Some(link)) if file.content == link.content => (0, 0, false),
            (Some(file), _) => {
                if !guest.is_dir("/etc/ssl/certs") {
                    guest.mkdir("/etc/ssl/certs");
                }
                guest.write(
                    LINK_PATH,
                    SimFile::new(file.content.clone(), 0o644, "root:root"),
                );
                (usize::from(linked.is_none()), 0, true)
            }
            (None, Some(_)) => {
                guest.remove(LINK_PATH);
                (0, 1, true)
            }
            (None, None) => (0, 0, false),
        };
        let stdout = format!(
            "Updating certificates in /etc/ssl/certs...\n{added} added, {removed} removed; done.\nRunning hooks in /etc/ca-certificates/update.d...\ndone.\n"
        );
        Some(if changed {
            SimOutput::ok_mutated(stdout)
        } else {
            SimOutput::ok(stdout)
        })
    }
}
