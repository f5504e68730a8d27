//! runc's logging flags: `--log FILE`, `--log-format text|json`, `--debug`.
//! containerd's shim reads the last error from the log file in runc's JSON
//! shape ({"level","msg","time"}), so the JSON format matches it.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use clap::ValueEnum;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Whether log records go to a file (then errors are also printed to stderr).
static LOG_TO_FILE: AtomicBool = AtomicBool::new(false);

/// Sets up logging to `log` (or stderr) at warn, or debug with `--debug`.
pub fn init(log: Option<&Path>, format: LogFormat, debug: bool) -> anyhow::Result<()> {
    let level = if debug { Level::DEBUG } else { Level::WARN };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .event_format(RuncFormat { format });
    match log {
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("open log file {}: {e}", path.display()))?;
            LOG_TO_FILE.store(true, Ordering::Relaxed);
            builder.with_writer(Mutex::new(file)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    }
    .map_err(|e| anyhow::anyhow!("set up logging: {e}"))
}

/// One line per event: `time="..." level=... msg="..."` or runc's JSON.
#[derive(Debug)]
struct RuncFormat {
    format: LogFormat,
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.rest
                .push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.rest.push((field.name().to_owned(), value.to_owned()));
        }
    }
}

impl<S, N> FormatEvent<S, N> for RuncFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let time = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
        let mut msg = fields.message;
        for (k, v) in &fields.rest {
            msg.push_str(&format!(" {k}={v}"));
        }
        match self.format {
            LogFormat::Json => {
                let line = serde_json::json!({ "level": level, "msg": msg, "time": time });
                writeln!(w, "{line}")
            }
            LogFormat::Text => writeln!(w, "time={time:?} level={level} msg={msg:?}"),
        }
    }
}

/// Writes an error as one line to stderr, and to the log file if there is one.
pub fn report_error(err: &anyhow::Error) {
    let msg = format!("{err:#}");
    if LOG_TO_FILE.load(Ordering::Relaxed) {
        tracing::error!("{msg}");
    }
    let _ = writeln!(std::io::stderr(), "corral: {msg}");
}
