//! `corral ctl`: one request to PID 1's control socket, the answer printed.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{anyhow, bail, Context};

use super::protocol::{self, Request, Response, ServiceStatus};

/// Sends `request` over `socket` and prints the answer.
pub fn run(socket: &Path, request: &Request) -> anyhow::Result<()> {
    let mut stream =
        UnixStream::connect(socket).with_context(|| format!("connect to {}", socket.display()))?;
    // A refused client may find the connection closed after the answer:
    // read that answer rather than report the failed write.
    let sent = stream.write_all(&protocol::to_line(request));
    let follow = matches!(request, Request::Logs { follow: true, .. });
    let reader = BufReader::new(stream);
    let mut out = std::io::stdout().lock();
    for line in reader.lines() {
        let line = line.context("read the answer")?;
        let value: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("bad answer {line:?}"))?;
        if let Some(log) = value.get("log").and_then(|l| l.as_str()) {
            writeln!(out, "{log}")?;
            out.flush()?;
            continue;
        }
        let response: Response =
            serde_json::from_value(value).with_context(|| format!("bad answer {line:?}"))?;
        return print(&mut out, request, response);
    }
    sent.context("send the request")?;
    if follow {
        return Ok(());
    }
    bail!("the init closed the connection without an answer")
}

/// The status rows, for callers that wait on a service.
pub fn services(socket: &Path) -> anyhow::Result<Vec<ServiceStatus>> {
    let mut stream =
        UnixStream::connect(socket).with_context(|| format!("connect to {}", socket.display()))?;
    stream
        .write_all(&protocol::to_line(&Request::Status))
        .context("send the request")?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .context("read the answer")?;
    let r: Response =
        serde_json::from_str(&line).with_context(|| format!("bad answer {line:?}"))?;
    if !r.ok {
        bail!(r.error.unwrap_or_else(|| "failed".into()));
    }
    Ok(r.services.unwrap_or_default())
}

fn print(out: &mut impl Write, request: &Request, r: Response) -> anyhow::Result<()> {
    if !r.ok {
        return Err(anyhow!(r.error.unwrap_or_else(|| "failed".into())));
    }
    match (request, r.services) {
        (Request::Status, Some(services)) => out.write_all(table(&services).as_bytes())?,
        (Request::Logs { .. }, _) => {}
        (_, _) => {
            if let Some(m) = r.message {
                writeln!(out, "{m}")?;
            }
        }
    }
    Ok(())
}

/// The status table, then one line per service with an error.
pub fn table(services: &[ServiceStatus]) -> String {
    let header = ["SERVICE", "STATE", "PID", "UPTIME", "RESTARTS", "MEMORY"];
    let rows: Vec<[String; 6]> = services
        .iter()
        .map(|s| {
            [
                s.name.clone(),
                s.state.clone(),
                s.pid.map_or("-".into(), |p| p.to_string()),
                s.uptime_secs.map_or("-".into(), duration),
                s.restarts.to_string(),
                s.memory_bytes.map_or("-".into(), bytes),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut text = String::new();
    let mut push_row = |cells: &[String]| {
        let mut line = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == cells.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    };
    push_row(&header.map(String::from));
    for r in &rows {
        push_row(r);
    }
    for s in services.iter().filter(|s| s.error.is_some()) {
        text.push_str(&format!(
            "{}: {}\n",
            s.name,
            s.error.as_deref().unwrap_or_default()
        ));
    }
    text
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

fn bytes(b: u64) -> String {
    const KIB: u64 = 1024;
    match b {
        b if b < KIB => format!("{b}B"),
        b if b < KIB * KIB => format!("{:.1}KiB", b as f64 / KIB as f64),
        b => format!("{:.1}MiB", b as f64 / (KIB * KIB) as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_lines_up_and_lists_errors() {
        let t = table(&[
            ServiceStatus {
                name: "web".into(),
                state: "running".into(),
                pid: Some(12),
                uptime_secs: Some(75),
                restarts: 2,
                memory_bytes: Some(3 * 1024 * 1024 / 2),
                error: None,
            },
            ServiceStatus {
                name: "crash".into(),
                state: "failed".into(),
                error: Some("crash loop".into()),
                ..Default::default()
            },
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        let cols: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(cols, ["web", "running", "12", "1m15s", "2", "1.5MiB"]);
        let cols: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(cols, ["crash", "failed", "-", "-", "0", "-"]);
        assert_eq!(lines[3], "crash: crash loop");
        let state_col = lines[0].find("STATE").unwrap();
        assert_eq!(lines[1].find("running"), Some(state_col));
    }

    #[test]
    fn human_sizes_and_durations() {
        assert_eq!(duration(5), "5s");
        assert_eq!(duration(3700), "1h1m");
        assert_eq!(duration(90000), "1d1h");
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(2048), "2.0KiB");
    }
}
