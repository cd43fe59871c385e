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
    /// Whether to colour what goes to stdout (plans).
    pub color_stdout: bool,
    /// Whether to colour what goes to stderr (diagnostics, errors, log lines).
    pub color_stderr: bool,
}

impl std::fmt::Debug for Io {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("interactive", &self.interactive)
            .field("color_stdout", &self.color_stdout)
            .field("color_stderr", &self.color_stderr)
            .finish_non_exhaustive()
    }
}

impl Io {
    /// The process's own streams. Each is coloured only when it is itself a terminal and
    /// `NO_COLOR` is unset.
    pub fn real() -> Io {
        let stdout_tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR");
        Io {
            stdout: Arc::new(Mutex::new(Box::new(std::io::stdout()))),
            stderr: Arc::new(Mutex::new(Box::new(std::io::stderr()))),
            stdin: Box::new(std::io::BufReader::new(std::io::stdin())),
            interactive: stdout_tty && std::io::stdin().is_terminal(),
            color_stdout: use_color(stdout_tty, no_color.as_deref()),
            color_stderr: use_color(std::io::stderr().is_terminal(), no_color.as_deref()),
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
            color_stdout: false,
            color_stderr: false,
        };
        (io, Captured { out, err })
    }
}

/// Whether to colour a stream: only a terminal, and only while `NO_COLOR` is unset or empty
/// (<https://no-color.org>).
pub fn use_color(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

impl Captured {
    /// A writer for log lines that appends to the captured stderr, for
    /// [`crate::logging::subscriber`] in in-process tests.
    pub fn log_writer(
        &self,
    ) -> impl for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static {
        let err = self.err.clone();
        move || err.clone()
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
