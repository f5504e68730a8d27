//! Starting a service's container through corral-runtime: load the bundle,
//! put the container in `corral/system/NAME` or `corral/engines/NAME` below
//! PID 1's own cgroup, wire its stdout/stderr to a pipe, create and start it.

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use corral_runtime::{pidfd, Container, CreateOptions};
use nix::fcntl::OFlag;
use oci_spec::runtime::{Process, Spec};

/// Why a service could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The bundle cannot be used; starting again will not help.
    #[error("{0}")]
    Bundle(String),
    /// Creating or starting the container failed.
    #[error("{0}")]
    Start(String),
}

/// A started service container.
#[derive(Debug)]
pub struct Launched {
    pub container: Container,
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The read end of the service's stdout/stderr.
    pub output: OwnedFd,
    /// The bundle's process, for readiness checks exec'd in the container.
    pub process: Option<Process>,
}

/// What a service is started with besides its bundle.
#[derive(Debug)]
pub struct Launch<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
    /// Appended to the process environment.
    pub env: &'a [String],
    pub state_root: &'a Path,
    pub cgroup: PathBuf,
    /// Set for system services: the OOM killer then prefers user workloads.
    pub oom_score_adj: Option<i32>,
}

/// Creates and starts the service's container.
pub fn launch(l: &Launch<'_>) -> Result<Launched, LaunchError> {
    let (name, state_root) = (l.name, l.state_root);
    let mut bundle =
        corral_runtime::load_bundle(l.dir).map_err(|e| LaunchError::Bundle(e.to_string()))?;
    adjust(&mut bundle.spec, &l.cgroup, l.env, l.oom_score_adj);
    remove_stale(state_root, name);
    let start = |e: &dyn std::fmt::Display| LaunchError::Start(e.to_string());
    let (output, input) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| start(&e))?;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| start(&format!("open /dev/null: {e}")))?;
    let opts = CreateOptions {
        state_root: state_root.to_path_buf(),
        id: name.to_owned(),
        stdio: [
            Some(null.as_raw_fd()),
            Some(input.as_raw_fd()),
            Some(input.as_raw_fd()),
        ],
        ..Default::default()
    };
    let created = corral_runtime::create(&bundle, opts).map_err(|e| start(&e))?;
    drop(input);
    let mut container = created.container;
    if let Err(e) = container.start() {
        if let Err(d) = container.delete(true) {
            tracing::warn!(service = name, error = %d, "cleanup after a failed start");
        }
        let _ = pidfd::wait(&created.pidfd, false);
        return Err(start(&e));
    }
    Ok(Launched {
        pid: container.pid(),
        container,
        pidfd: created.pidfd,
        output,
        process: bundle.spec.process().clone(),
    })
}

/// What the supervisor decides for every service, whatever its bundle says:
/// its cgroup, no terminal, corral.toml's extra environment and, for a
/// system service, its oom_score_adj.
fn adjust(spec: &mut Spec, cgroup: &Path, env: &[String], oom_score_adj: Option<i32>) {
    if let Some(linux) = spec.linux_mut() {
        linux.set_cgroups_path(Some(cgroup.to_path_buf()));
    }
    if let Some(p) = spec.process_mut() {
        p.set_terminal(Some(false));
        if oom_score_adj.is_some() {
            p.set_oom_score_adj(oom_score_adj);
        }
        if !env.is_empty() {
            let mut all = p.env().clone().unwrap_or_default();
            all.extend(env.iter().cloned());
            p.set_env(Some(all));
        }
    }
}

/// A container of this name left by an earlier run (a killed sandbox):
/// its process is gone, so only its state and cgroup are left to remove.
fn remove_stale(state_root: &Path, name: &str) {
    if !state_root.join(name).exists() {
        return;
    }
    match Container::load(state_root, name) {
        Ok(c) => {
            if let Err(e) = c.delete(true) {
                tracing::warn!(service = name, error = %e, "removing a stale container");
            }
        }
        Err(_) => {
            let _ = std::fs::remove_dir_all(state_root.join(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supervisor_owns_cgroup_terminal_and_extra_env() {
        let mut spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
                "process":{"terminal":true,"cwd":"/","args":["sh"],"env":["A=1"],
                           "user":{"uid":0,"gid":0}},
                "linux":{"cgroupsPath":"/elsewhere"}}"#,
        )
        .unwrap();
        adjust(
            &mut spec,
            Path::new("corral/system/web"),
            &["B=2".into()],
            Some(-900),
        );
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(
            linux.cgroups_path().as_deref(),
            Some(Path::new("corral/system/web"))
        );
        let p = spec.process().as_ref().unwrap();
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.env().as_deref().unwrap(), ["A=1", "B=2"]);
        assert_eq!(p.oom_score_adj(), Some(-900));
    }
}
