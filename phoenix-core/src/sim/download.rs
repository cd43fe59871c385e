//! Downloads inside a simulated guest: `curl -fsSL [--create-dirs] -o FILE URL`, the form
//! installers use to fetch a runfile, a key or a script, answered from what the node's emulators
//! serve ([`Emulator::download`](super::Emulator::download)), so each provider serves its own artefacts (NVIDIA's runfiles
//! by URL, say) and no state file has to list them. The emulator that answers `curl` in guests
//! calls [`curl_download`] first.
//!
//! curl 8.5 (Ubuntu 24.04): an output file whose directory is missing fails with exit 23 unless
//! `--create-dirs`.

use super::emulator::SimOutput;
use super::guest::GuestSys;
use super::state::SimFile;

/// `curl -fsSL [--create-dirs] -o FILE URL` in `guest` when an emulator serves `URL`
/// ([`Emulator::download`](super::Emulator::download)); `None` for any other command line or URL, so the emulator that
/// answers `curl` in guests (HTTP calls to a guest's services) calls this first and answers the
/// rest itself.
pub fn curl_download(argv: &[String], guest: &mut dyn GuestSys<'_>) -> Option<SimOutput> {
    let request = parse(argv)?;
    let content = guest.node().download(request.url)?;
    let parent = request
        .output
        .rsplit_once('/')
        .map_or("/", |(dir, _)| if dir.is_empty() { "/" } else { dir });
    if !request.create_dirs && !guest.is_dir(parent) {
        return Some(SimOutput::fail(
            23,
            format!(
                "curl: (23) Failure writing output to destination, passed 0 returned 4294967295\nWarning: Failed to open the file {}: No such file or directory\n",
                request.output
            ),
        ));
    }
    guest.write(request.output, SimFile::new(content, 0o644, "root:root"));
    Some(SimOutput::ok_mutated(""))
}

/// A download's command line.
struct Request<'a> {
    output: &'a str,
    url: &'a str,
    create_dirs: bool,
}

/// `curl -fsSL [--create-dirs] -o FILE URL`, the short flags in any grouping; `None` for any
/// other command line.
fn parse(argv: &[String]) -> Option<Request<'_>> {
    let mut output = None;
    let mut url = None;
    let mut create_dirs = false;
    let mut flags = String::new();
    let mut words = argv.iter().skip(1);
    while let Some(word) = words.next() {
        if word == "-o" || word == "--output" {
            output = Some(words.next()?.as_str());
        } else if word == "--create-dirs" {
            create_dirs = true;
        } else if let Some(short) = word.strip_prefix('-').filter(|s| !s.starts_with('-')) {
            flags.push_str(short);
        } else if !word.starts_with('-') && url.is_none() {
            url = Some(word.as_str());
        } else {
            return None;
        }
    }
    let known = flags.chars().all(|flag| "fsSL".contains(flag));
    (known && flags.contains('f')).then_some(())?;
    Some(Request {
        output: output?,
        url: url?,
        create_dirs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn issue_11_only_downloads_to_a_file_are_answered() {
        let ok = argv(&[
            "curl",
            "-fsSL",
            "--create-dirs",
            "-o",
            "/tmp/a",
            "https://x/a",
        ]);
        let request = parse(&ok).expect("a download");
        assert_eq!(
            (request.output, request.url, request.create_dirs),
            ("/tmp/a", "https://x/a", true)
        );
        assert!(parse(&argv(&["curl", "-f", "-s", "-o", "/a", "https://x"])).is_some());
        for refused in [
            &["curl", "-s", "http://localhost:8000/health"][..],
            &["curl", "-fsSL", "https://x"],
            &["curl", "-X", "POST", "-o", "/a", "https://x"],
            &["curl", "-o", "/a", "https://x"],
        ] {
            assert!(parse(&argv(refused)).is_none(), "{refused:?}");
        }
    }
}
