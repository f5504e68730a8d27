//! What PID 1 tells the console: one line per event, with the time since
//! the init started. Errors a user can fix are shown here (and in the
//! service's log), not only in tracing output.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

static START: OnceLock<Instant> = OnceLock::new();

/// Starts the clock the console's timestamps count from.
pub fn start_clock() {
    let _ = START.get_or_init(Instant::now);
}

fn line(kind: &str, text: Arguments<'_>) {
    let t = START.get_or_init(Instant::now).elapsed();
    let stamp = format!("[{:>5}.{:03}]", t.as_secs(), t.subsec_millis());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{stamp} {kind}{text}");
    let _ = out.flush();
}

/// A service reached a good state.
pub fn ok(service: &str, text: Arguments<'_>) {
    line("", format_args!("{service}: {text}"));
}

/// A service failed or was not started.
pub fn failed(service: &str, text: Arguments<'_>) {
    line("FAILED ", format_args!("{service}: {text}"));
}

pub fn info(text: Arguments<'_>) {
    line("", text);
}

pub fn warn(text: Arguments<'_>) {
    line("warning: ", text);
}

pub fn error(text: Arguments<'_>) {
    line("error: ", text);
}
