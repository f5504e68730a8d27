//! User engines side by side (docs/engines.md). The shipped docker bundle
//! is a template: at boot PID 1 resolves corral.toml's `[engines.NAME]`
//! (the default engine `docker` is always one of them), and for each
//! engine writes a bundle under /run/corral/services/SERVICE and makes its
//! data root and volumes, labeled with the engine's MCS level. The
//! supervisor then discovers those bundles like any other service (they
//! override the shipped template of the same name; an admin bundle in
//! /etc/corral/services overrides them). Engines that cannot run are
//! returned, one line each, for `ctl status` and the console.

pub mod bundle;
pub mod dirs;
pub mod instance;
pub mod net;
pub mod resolve;

use std::path::Path;

use bundle::{Resources, Template};
use instance::Instance;

use crate::config::size;
use crate::config::SystemConfig;
use crate::supervisor::Refused;

/// The template: the shipped docker bundle.
pub const TEMPLATE: &str = "/usr/lib/corral/services/docker";
/// Where the engines' bundles are written at boot (a tmpfs: made afresh).
pub const RUN_DIR: &str = "/run/corral/services";

/// What instantiating needs to know of the system.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// Pure cgroup v2 (limits as linux.resources.unified).
    pub unified: bool,
    /// An SELinux policy is loaded (label data roots and volumes).
    pub selinux: bool,
    /// RAM in bytes, for limits given in percent.
    pub ram: u64,
}

impl Host {
    pub fn detect(unified: bool) -> Host {
        Host {
            unified,
            selinux: crate::init::labels::active(),
            ram: size::ram_bytes(),
        }
    }
}

/// Instantiates the engines of `cfg` from the template in `template_dir`
/// into `run_dir`; returns the engines that cannot run.
pub fn prepare(
    cfg: &SystemConfig,
    host: Host,
    template_dir: &Path,
    run_dir: &Path,
) -> Vec<Refused> {
    let _ = std::fs::remove_dir_all(run_dir);
    if !template_dir.join("config.json").exists() {
        return without_template(cfg, "this image has no docker bundle to make engines from");
    }
    let template = match Template::load(template_dir) {
        Ok(t) => t,
        Err(e) => return without_template(cfg, &format!("the docker template: {e}")),
    };
    let resolved = resolve::resolve(&cfg.engines);
    let mut refused = resolved.refused;
    for i in &resolved.instances {
        if let Err(e) = instantiate(&template, i, host, run_dir) {
            refused.push(Refused {
                name: i.service.clone(),
                reason: format!("[engines.{}] {e}; not started", i.name),
            });
        }
    }
    refused
}

/// Every declared engine is refused (the default one is not declared: the
/// shipped bundle, if any, runs as it is).
fn without_template(cfg: &SystemConfig, why: &str) -> Vec<Refused> {
    cfg.engines
        .keys()
        .filter(|n| n.as_str() != instance::DEFAULT)
        .map(|n| Refused {
            name: instance::display_name(n),
            reason: format!("[engines.{n}] {why}; not started"),
        })
        .collect()
}

fn instantiate(t: &Template, i: &Instance, host: Host, run_dir: &Path) -> Result<(), String> {
    let r = Resources {
        memory_max: i.limits.memory_max.and_then(|m| m.bytes(host.ram)),
        cpu_weight: i.limits.cpu_weight,
        pids_max: i.limits.pids_max,
        unified: host.unified,
    };
    dirs::prepare(i, host.selinux)?;
    bundle::write(&run_dir.join(&i.service), t, i, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("corral-engines-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn no_template_refuses_declared_engines_only() {
        let (cfg, e) = crate::config::system::from_text(
            Path::new("c.toml"),
            "[engines.docker]\n[engines.ci]\n",
        );
        assert!(e.is_none());
        let run = scratch("none");
        let host = Host {
            unified: true,
            selinux: false,
            ram: 1 << 30,
        };
        let refused = prepare(&cfg, host, &run.join("no-template"), &run.join("run"));
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].name, "docker-ci");
        assert!(
            refused[0].reason.contains("no docker bundle"),
            "{refused:?}"
        );
    }
}
