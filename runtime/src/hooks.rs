//! Lifecycle hooks: each gets the container state as JSON on stdin, its own
//! args and env, and is killed when its timeout passes. Hooks of the
//! "container namespace" kinds are run inside the container's namespaces.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks, LinuxNamespaceType};

use crate::error::{Error, Result};
use crate::namespaces;

/// The hook points of the runtime-spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl HookKind {
    pub fn name(self) -> &'static str {
        match self {
            HookKind::Prestart => "prestart",
            HookKind::CreateRuntime => "createRuntime",
            HookKind::CreateContainer => "createContainer",
            HookKind::StartContainer => "startContainer",
            HookKind::Poststart => "poststart",
            HookKind::Poststop => "poststop",
        }
    }

    /// createContainer and startContainer run in the container's namespaces.
    pub fn in_container(self) -> bool {
        matches!(self, HookKind::CreateContainer | HookKind::StartContainer)
    }

    pub fn list(self, hooks: &Hooks) -> &[Hook] {
        let list = match self {
            HookKind::Prestart => hooks.prestart(),
            HookKind::CreateRuntime => hooks.create_runtime(),
            HookKind::CreateContainer => hooks.create_container(),
            HookKind::StartContainer => hooks.start_container(),
            HookKind::Poststart => hooks.poststart(),
            HookKind::Poststop => hooks.poststop(),
        };
        list.as_deref().unwrap_or_default()
    }
}

/// Where a hook runs.
#[derive(Debug)]
pub enum Place<'a> {
    /// In the runtime's namespaces.
    Runtime,
    /// Inside the namespaces of process `pid` (types as recorded in state).
    Container {
        pid: i32,
        types: &'a [LinuxNamespaceType],
    },
}

/// Runs every hook of `kind` in order with `state_json` on stdin; the first
/// failure stops the list and is returned.
pub fn run_all(
    kind: HookKind,
    hooks: Option<&Hooks>,
    state_json: &[u8],
    place: &Place<'_>,
) -> Result<()> {
    let Some(hooks) = hooks else { return Ok(()) };
    for hook in kind.list(hooks) {
        run_one(kind, hook, state_json, place)?;
    }
    Ok(())
}

/// Runs every hook of `kind` in order, each whatever the previous one did:
/// for poststart and poststop, where the runtime-spec wants a failed hook
/// logged as a warning and the remaining hooks run.
pub fn run_all_warn(
    kind: HookKind,
    hooks: Option<&Hooks>,
    state_json: &[u8],
    place: &Place<'_>,
    id: &str,
) {
    let Some(hooks) = hooks else { return };
    for hook in kind.list(hooks) {
        if let Err(e) = run_one(kind, hook, state_json, place) {
            tracing::warn!(id, error = %e, "{} hook failed", kind.name());
        }
    }
}

fn run_one(kind: HookKind, hook: &Hook, state_json: &[u8], place: &Place<'_>) -> Result<()> {
    let path = hook.path().display().to_string();
    let fail = |message: String| Error::Hook {
        kind: kind.name(),
        path: path.clone(),
        message,
    };
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some((first, rest)) = args.split_first() {
            cmd.arg0(first);
            cmd.args(rest);
        }
    }
    cmd.env_clear();
    for kv in hook.env().iter().flatten() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    if let Place::Container { pid, types } = place {
        let fds = open_namespaces(*pid, types)
            .map_err(|e| fail(format!("cannot open namespaces of {pid}: {e}")))?;
        // SAFETY: the closure only calls setns (async-signal-safe) on fds
        // opened before the fork.
        unsafe {
            cmd.pre_exec(move || enter(&fds));
        }
    }
    let mut child = cmd.spawn().map_err(|e| fail(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(state_json);
    }
    let timeout = hook
        .timeout()
        .and_then(|t| u64::try_from(t).ok())
        .map(Duration::from_secs);
    let status = wait_with_timeout(&mut child, timeout).map_err(|e| fail(e.to_string()))?;
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) => Err(fail(format!("exited with {s}"))),
        None => Err(fail(format!(
            "timed out after {}s",
            timeout.map_or(0, |t| t.as_secs())
        ))),
    }
}

/// Opens the namespaces of `pid`, user first.
fn open_namespaces(
    pid: i32,
    types: &[LinuxNamespaceType],
) -> std::io::Result<Vec<(OwnedFd, libc::c_int)>> {
    let mut fds = Vec::new();
    let mut ordered: Vec<LinuxNamespaceType> = types.to_vec();
    ordered.sort_by_key(|t| *t != LinuxNamespaceType::User);
    for t in ordered {
        let f = File::open(format!("/proc/{pid}/ns/{}", namespaces::proc_name(t)))?;
        fds.push((OwnedFd::from(f), namespaces::clone_flag(t)));
    }
    Ok(fds)
}

fn enter(fds: &[(OwnedFd, libc::c_int)]) -> std::io::Result<()> {
    for (fd, t) in fds {
        // SAFETY: setns on an fd we own.
        if unsafe { libc::setns(fd.as_raw_fd(), *t) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Waits for `child`; kills it when `timeout` passes and returns None.
fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Option<Duration>,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let Some(timeout) = timeout else {
        return child.wait().map(Some);
    };
    let pidfd = crate::pidfd::open(child.id() as i32)?;
    let deadline = Instant::now() + timeout;
    if !crate::pidfd::wait_exit(&pidfd, deadline.saturating_duration_since(Instant::now()))? {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(None);
    }
    child.wait().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{HookBuilder, HooksBuilder};

    fn hook(script: &str, timeout: Option<i64>) -> Hook {
        let b = HookBuilder::default().path("/bin/sh").args(vec![
            "sh".into(),
            "-c".into(),
            script.into(),
        ]);
        match timeout {
            Some(t) => b.timeout(t).build().unwrap(),
            None => b.build().unwrap(),
        }
    }

    #[test]
    fn hook_reads_state_on_stdin() {
        let out = std::env::temp_dir().join(format!("corral-hook-{}", std::process::id()));
        let h = hook(&format!("cat > {}", out.display()), None);
        let hooks = HooksBuilder::default().poststop(vec![h]).build().unwrap();
        run_all(
            HookKind::Poststop,
            Some(&hooks),
            br#"{"id":"x"}"#,
            &Place::Runtime,
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), r#"{"id":"x"}"#);
        std::fs::remove_file(out).unwrap();
    }

    #[test]
    fn failing_hook_stops_the_list() {
        let hooks = HooksBuilder::default()
            .prestart(vec![hook("exit 3", None), hook("touch /never", None)])
            .build()
            .unwrap();
        let e = run_all(HookKind::Prestart, Some(&hooks), b"{}", &Place::Runtime).unwrap_err();
        assert_eq!(
            e.to_string(),
            "prestart hook /bin/sh: exited with exit status: 3"
        );
    }

    #[test]
    fn slow_hook_times_out() {
        let hooks = HooksBuilder::default()
            .poststart(vec![hook("sleep 10", Some(1))])
            .build()
            .unwrap();
        let e = run_all(HookKind::Poststart, Some(&hooks), b"{}", &Place::Runtime).unwrap_err();
        assert!(e.to_string().contains("timed out after 1s"), "{e}");
    }
}
