//! Building the service list at boot: discovery, service.toml, corral.toml
//! overrides and selection, and the dependency graph. Every problem is
//! reported and marks only the service concerned as failed.

use std::path::Path;

use super::discover::{self, Found};
use super::graph;
use super::logs::{LogSink, Settings};
use super::service::{Service, State};
use super::{Ctx, Supervisor};
use crate::config::{ServiceFile, SystemConfig};
use crate::init::console;

impl Supervisor {
    /// The services found under `ctx.service_dirs`, configured by `cfg`.
    pub fn new(cfg: &SystemConfig, ctx: Ctx) -> Self {
        let bases: Vec<&Path> = ctx.service_dirs.iter().map(|p| p.as_path()).collect();
        let (found, errors) = discover::discover(&bases);
        for e in errors {
            console::error(format_args!("{e}"));
        }
        let mut services: Vec<Service> = found.into_iter().map(|f| service(f, cfg)).collect();
        add_refused(&mut services, &ctx.refused, cfg);
        for name in cfg.services.overrides.keys() {
            if !services.iter().any(|s| &s.name == name) {
                console::warn(format_args!(
                    "[services.overrides.{name}]: no service named {name:?}"
                ));
            }
        }
        let mut sup = Supervisor {
            services,
            graph: graph::Graph::default(),
            ctx,
            shutdown: None,
            forced: false,
        };
        sup.resolve(cfg);
        sup
    }

    /// Dependencies, cycles and the enabled/disabled selection.
    fn resolve(&mut self, cfg: &SystemConfig) {
        let names: Vec<String> = self.services.iter().map(|s| s.name.clone()).collect();
        let files: Vec<Option<&ServiceFile>> =
            self.services.iter().map(|s| s.file.as_ref()).collect();
        self.graph = graph::build(&names, &files);
        for w in &self.graph.warnings {
            console::warn(format_args!("{w}"));
        }
        let (selection, warnings) = graph::select(
            &names,
            &self.graph.deps,
            &cfg.services.enabled,
            &cfg.services.disabled,
        );
        for w in warnings {
            console::warn(format_args!("{w}"));
        }
        for (i, s) in self.services.iter_mut().enumerate() {
            if let Some(e) = &self.graph.errors[i] {
                if s.state != State::Failed {
                    s.defect = Some(e.clone());
                    s.set(State::Failed);
                }
            } else if let Some(why) = selection[i] {
                if s.state != State::Failed {
                    s.error = Some(why.to_owned());
                    s.set(State::Disabled);
                }
            }
        }
    }

    /// Reports the services that cannot run, then starts what can.
    pub fn boot(&mut self) {
        for s in &self.services {
            if let Some(e) = &s.defect {
                console::failed(&s.name, format_args!("{e}"));
                s.event(&format!("not started: {e}"));
            }
        }
        self.schedule();
    }
}

/// Lists each refused service as failed, with the reason as its defect
/// (shown at boot and by `ctl status`); one that clashes with a real
/// service's name is only reported.
fn add_refused(services: &mut Vec<Service>, refused: &[super::Refused], cfg: &SystemConfig) {
    for r in refused {
        if services.iter().any(|s| s.name == r.name) {
            console::error(format_args!("{}: {}", r.name, r.reason));
            continue;
        }
        let settings = log_settings(cfg, &Default::default());
        let mut s = Service::new(
            r.name.clone(),
            Default::default(),
            LogSink::new(&r.name, &settings),
        );
        s.defect = Some(r.reason.clone());
        s.set(State::Failed);
        services.push(s);
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
}

fn log_settings(cfg: &SystemConfig, limits: &crate::config::service::LogLimits) -> Settings {
    Settings {
        dir: cfg.log.dir.clone(),
        limits: super::logs::Limits {
            max_file_size: limits.max_file_size.unwrap_or(cfg.log.max_file_size),
            max_files: limits.max_files.unwrap_or(cfg.log.max_files),
        },
        ring_lines: cfg.log.ring_lines,
        ring_bytes: cfg.log.ring_bytes,
    }
}

/// One service from its folder: service.toml parsed and checked, the
/// override applied, its log sink made.
fn service(found: Found, cfg: &SystemConfig) -> Service {
    let path = found.dir.join("service.toml");
    let over = cfg.services.overrides.get(&found.name);
    let file = if path.exists() {
        ServiceFile::load(&path).and_then(|mut f| {
            if let Some(o) = over {
                f.apply(o);
                f.check()
                    .map_err(|e| format!("{} with corral.toml's override: {e}", path.display()))?;
            }
            Ok(f)
        })
    } else {
        Err(format!("{}: missing", path.display()))
    };
    let limits = file.as_ref().map(|f| f.logs.clone()).unwrap_or_default();
    let settings = log_settings(cfg, &limits);
    let sink = LogSink::new(&found.name, &settings);
    let mut s = Service::new(found.name, found.dir, sink);
    match file {
        Ok(f) => s.file = Some(f),
        Err(e) => {
            s.defect = Some(e);
            s.set(State::Failed);
        }
    }
    s.env = over.map(|o| o.env.clone()).unwrap_or_default();
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::Refused;

    #[test]
    fn refused_services_are_failed_rows_with_their_reason() {
        let mut cfg = SystemConfig::default();
        cfg.log.dir = std::env::temp_dir().join("corral-unit-never-written");
        let mut services = vec![Service::new(
            "docker".into(),
            Default::default(),
            LogSink::new("docker", &log_settings(&cfg, &Default::default())),
        )];
        let refused = [
            Refused {
                name: "docker-qa".into(),
                reason: "[engines.qa] socket clash; not started".into(),
            },
            Refused {
                name: "docker".into(),
                reason: "already a service: only reported".into(),
            },
            Refused {
                name: "docker-CI".into(),
                reason: "[engines.CI] bad name; not started".into(),
            },
        ];
        add_refused(&mut services, &refused, &cfg);
        let rows: Vec<(&str, State)> = services
            .iter()
            .map(|s| (s.name.as_str(), s.state))
            .collect();
        assert_eq!(
            rows,
            [
                ("docker", State::Pending),
                ("docker-CI", State::Failed),
                ("docker-qa", State::Failed)
            ]
        );
        assert_eq!(
            services[2].defect.as_deref(),
            Some("[engines.qa] socket clash; not started")
        );
        assert!(services[0].defect.is_none());
    }
}
