//! The control socket server: root-only (SO_PEERCRED), one JSON request
//! per line, answers from the supervisor through the event loop.

use std::cell::Cell;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::protocol::{self, LogLine, Response, MAX_REQUEST};
use crate::init::console;
use crate::supervisor::{Event, Reply};

/// Clients served at once; more are refused.
const MAX_CLIENTS: usize = 16;
/// A client that sends no request for this long is disconnected.
const IDLE: Duration = Duration::from_secs(300);

/// Binds `path` with mode 0600 (a stale socket file is replaced).
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    // SAFETY: umask only changes this process's file creation mask; the
    // old one is put back right after the bind.
    let old = unsafe { libc::umask(0o177) };
    let bound = std::os::unix::net::UnixListener::bind(path);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener = bound?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

/// Accepts clients forever.
pub async fn serve(listener: UnixListener, tx: mpsc::UnboundedSender<Event>) {
    let active = Rc::new(Cell::new(0usize));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if active.get() >= MAX_CLIENTS {
                    refuse(stream, "too many clients").await;
                    continue;
                }
                active.set(active.get() + 1);
                let (tx, active) = (tx.clone(), active.clone());
                tokio::task::spawn_local(async move {
                    client(stream, tx).await;
                    active.set(active.get().saturating_sub(1));
                });
            }
            Err(e) => {
                console::warn(format_args!("control socket: accept: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn refuse(mut stream: UnixStream, why: &str) {
    let _ = stream
        .write_all(&protocol::to_line(&Response::error(why)))
        .await;
}

/// Only root is served.
fn peer_allowed(stream: &UnixStream) -> Result<(), String> {
    match stream.peer_cred() {
        Ok(c) if c.uid() == 0 => Ok(()),
        Ok(c) => Err(format!(
            "permission denied: the control socket serves only root (peer uid {})",
            c.uid()
        )),
        Err(e) => Err(format!("permission denied: peer credentials: {e}")),
    }
}

/// How long a refused client gets to send its request (read so that
/// closing does not reset the connection before it reads the refusal).
const REFUSE_READ: Duration = Duration::from_secs(1);

async fn client(stream: UnixStream, tx: mpsc::UnboundedSender<Event>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(1024, read);
    if let Err(why) = peer_allowed(write.as_ref()) {
        let mut line = String::new();
        let mut limited = (&mut reader).take(MAX_REQUEST as u64);
        let _ = tokio::time::timeout(REFUSE_READ, limited.read_line(&mut line)).await;
        let _ = send(&mut write, &Response::error(why)).await;
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_REQUEST as u64);
        let Ok(read) = tokio::time::timeout(IDLE, limited.read_line(&mut line)).await else {
            return;
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(_) if !line.ends_with('\n') && line.len() >= MAX_REQUEST => {
                let _ = send(&mut write, &Response::error("request too long")).await;
                return;
            }
            Ok(_) => {}
        }
        if line.trim().is_empty() {
            continue;
        }
        let request = match protocol::parse_request(&line) {
            Ok(r) => r,
            Err(e) => {
                if send(&mut write, &Response::error(e)).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        if tx
            .send(Event::Control {
                request,
                reply: reply_tx,
            })
            .is_err()
        {
            return;
        }
        let Ok(reply) = reply_rx.await else {
            return;
        };
        let done = match reply {
            Reply::Done(r) => send(&mut write, &r).await.is_err(),
            Reply::Logs { lines, follow } => logs(lines, follow, &mut reader, &mut write).await,
        };
        if done {
            return;
        }
    }
}

async fn send<T: serde::Serialize>(w: &mut OwnedWriteHalf, value: &T) -> io::Result<()> {
    w.write_all(&protocol::to_line(value)).await
}

/// Writes the backlog, then either the final answer or, following, every
/// new line until the client goes away. Returns whether the connection
/// is finished.
async fn logs(
    lines: Vec<String>,
    follow: Option<mpsc::Receiver<Rc<str>>>,
    reader: &mut BufReader<OwnedReadHalf>,
    w: &mut OwnedWriteHalf,
) -> bool {
    for log in lines {
        if send(w, &LogLine { log }).await.is_err() {
            return true;
        }
    }
    let Some(mut rx) = follow else {
        return send(w, &Response::ok("end of log")).await.is_err();
    };
    let mut scratch = [0u8; 64];
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(l) => {
                    if send(w, &LogLine { log: l.to_string() }).await.is_err() {
                        return true;
                    }
                }
                None => return true,
            },
            r = reader.read(&mut scratch) => {
                if !matches!(r, Ok(n) if n > 0) {
                    return true;
                }
            }
        }
    }
}
