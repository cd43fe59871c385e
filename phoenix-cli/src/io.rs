//! Where the CLI reads and writes: the real terminal, or buffers for in-process tests.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// A shared, thread-safe writer (apply progress is reported from engine tasks).
pub type SharedWriter = Arc<Mutex<Box<dyn Write + Send>>>;

/// The CLI's standard streams and terminal facts.
pub struct Io {
    /// Rendered reports (plans, JSON).
    pub stdout: SharedWriter,
    /// Diagnostics and errors.
    pub stderr: SharedWriter,
    /// Answers to confirmation prompts.
    pub stdin: Box<dyn BufRead + Send>,
    /// Whether stdin and stdout are terminals (prompts and progress bars).
    pub interactive: bool,
    /// Whether to colour the output.
    pub color: bool,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("interactive", &self.interactive)
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}

impl Io {
    /// The process's own streams. Colour only on a terminal and when `NO_COLOR` is unset.
    pub fn real() -> Io {
        let stdout_tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Io {
            stdout: Arc::new(Mutex::new(Box::new(std::io::stdout()))),
            stderr: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            stdin: Box::new(std::io::BufReader::new(std::io::stdin())),
            interactive: stdout_tty && std::io::stdin().is_terminal(),
            color: stdout_tty && !no_color,
        }
    }

    /// Buffers, for tests: returns the Io and handles to read what was written.
    pub fn captured(stdin: &str) -> (Io, Captured) {
        let out = Buffer::default();
        let err = Buffer::default();
        let io = Io {
            stdout: Arc::new(Mutex::new(Box::new(out.clone()))),
            stderr: Arc::new(Mutex::new(Box::new(err.clone()))),
            stdin: Box::new(std::io::Cursor::new(stdin.to_owned().into_bytes())),
            interactive: false,
            color: false,
        };
        (io, Captured { out, err })
    }
}

/// What a captured run wrote.
#[derive(Debug, Clone)]
pub struct Captured {
    out: Buffer,
    err: Buffer,
}

impl Captured {
    /// Everything written to stdout.
    pub fn stdout(&self) -> String {
        self.out.text()
    }

    /// Everything written to stderr.
    pub fn stderr(&self) -> String {
        self.err.text()
    }
}

#[derive(Debug, Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes text to a shared writer, ignoring a closed pipe.
pub(crate) fn emit(writer: &SharedWriter, text: &str) {
    let mut writer = writer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = writer.write_all(text.as_bytes());
    let _ = writer.flush();
}
