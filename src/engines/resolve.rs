//! From corral.toml's `[engines]` to the engines that will run: the
//! default engine first, then the others in name order; each table parsed
//! on its own, MCS categories handed out, and every engine that clashes
//! with one before it (socket, category, bridge, subnets, iptables) refused
//! with one line. A refused engine never stops the others.

use std::collections::{BTreeMap, BTreeSet};

use super::instance::{self, Instance, DEFAULT, MAX_CATEGORY};
use crate::config::engines::EngineConfig;
use crate::supervisor::Refused;

/// The engines to instantiate and those refused.
#[derive(Debug, Default)]
pub struct Resolved {
    pub instances: Vec<Instance>,
    pub refused: Vec<Refused>,
}

/// Resolves `[engines]`; the default engine is there even when not declared.
pub fn resolve(engines: &BTreeMap<String, toml::Value>) -> Resolved {
    let default = toml::Value::Table(toml::Table::new());
    let mut order: Vec<(&str, &toml::Value)> =
        vec![(DEFAULT, engines.get(DEFAULT).unwrap_or(&default))];
    order.extend(
        engines
            .iter()
            .filter(|(n, _)| n.as_str() != DEFAULT)
            .map(|(n, v)| (n.as_str(), v)),
    );
    let parsed: Vec<(&str, Result<EngineConfig, String>)> = order
        .into_iter()
        .map(|(n, v)| (n, EngineConfig::from_value(v)))
        .collect();
    let reserved: BTreeSet<u16> = parsed
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok().and_then(|c| c.category))
        .collect();
    let mut out = Resolved::default();
    for (name, cfg) in parsed {
        let refuse = |reason: String| Refused {
            name: instance::display_name(name),
            reason: format!("[engines.{name}] {reason}; not started"),
        };
        let made = cfg.and_then(|c| {
            let category = category(name, &c, &reserved, &out.instances)?;
            let i = Instance::new(name, &c, category)?;
            check_clashes(&i, &out.instances)?;
            Ok(i)
        });
        match made {
            Ok(i) => out.instances.push(i),
            Err(e) => out.refused.push(refuse(e)),
        }
    }
    out
}

/// The engine's category: its own; else 0 for the default engine and the
/// lowest one nobody declared or took for the others.
fn category(
    name: &str,
    cfg: &EngineConfig,
    reserved: &BTreeSet<u16>,
    taken: &[Instance],
) -> Result<u16, String> {
    if let Some(c) = cfg.category {
        return Ok(c);
    }
    if name == DEFAULT {
        return Ok(0);
    }
    (1..=MAX_CATEGORY)
        .find(|c| !reserved.contains(c) && !taken.iter().any(|i| i.category == *c))
        .ok_or_else(|| "no MCS category left".to_owned())
}

/// The first thing `i` would share with an engine accepted before it.
fn check_clashes(i: &Instance, before: &[Instance]) -> Result<(), String> {
    for o in before {
        let clash = |what: String| Err(format!("{what} is already {}'s", o.service));
        if o.socket == i.socket {
            return clash(format!("socket {}", i.socket_path()));
        }
        if o.category == i.category {
            return clash(format!("MCS category c{}", i.category));
        }
        if o.bridge == i.bridge {
            return clash(format!("bridge {}", i.bridge));
        }
        if o.bip.overlaps(i.bip) || o.pool.is_some_and(|p| p.overlaps(i.bip)) {
            return clash(format!("subnet {}", i.bip.network()));
        }
        if let Some(p) = i
            .pool
            .filter(|p| p.overlaps(o.bip) || o.pool.is_some_and(|q| q.overlaps(*p)))
        {
            return clash(format!("address pool {p}"));
        }
        if i.iptables && o.iptables {
            return Err(format!(
                "iptables = true: {} manages iptables already (dockerd flushes the DOCKER chains \
                 at start, so two engines would erase each other's rules)",
                o.service
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engines(text: &str) -> BTreeMap<String, toml::Value> {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default)]
            engines: BTreeMap<String, toml::Value>,
        }
        toml::from_str::<T>(text).unwrap().engines
    }

    fn names(r: &Resolved) -> Vec<(String, u16)> {
        r.instances
            .iter()
            .map(|i| (i.service.clone(), i.category))
            .collect()
    }

    #[test]
    fn the_default_engine_is_always_there() {
        let r = resolve(&BTreeMap::new());
        assert_eq!(names(&r), [("docker".to_owned(), 0)]);
        assert!(r.refused.is_empty());
    }

    #[test]
    fn categories_are_handed_out_around_declared_ones() {
        let r = resolve(&engines(
            "[engines.a]\n[engines.b]\ncategory = 1\n[engines.c]\n[engines.docker]\nmemory_max = \"1G\"\n",
        ));
        assert!(r.refused.is_empty(), "{:?}", r.refused);
        assert_eq!(
            names(&r),
            [
                ("docker".to_owned(), 0),
                ("docker-a".to_owned(), 2),
                ("docker-b".to_owned(), 1),
                ("docker-c".to_owned(), 3)
            ]
        );
    }

    #[test]
    fn a_bad_name_or_a_clash_refuses_that_engine_only() {
        let r = resolve(&engines(
            r#"
[engines.CI]
[engines.ci]
[engines.qa]
socket = "/var/run/docker-ci.sock"
[engines.x]
memroy_max = "1G"
"#,
        ));
        assert_eq!(
            names(&r),
            [("docker".to_owned(), 0), ("docker-ci".to_owned(), 1)]
        );
        let why: Vec<(String, String)> = r
            .refused
            .iter()
            .map(|f| (f.name.clone(), f.reason.clone()))
            .collect();
        assert_eq!(why.len(), 3, "{why:?}");
        assert_eq!(why[0].0, "docker-CI");
        assert!(
            why[0]
                .1
                .starts_with("[engines.CI] \"CI\" is not an engine name"),
            "{why:?}"
        );
        assert_eq!(why[1].0, "docker-qa");
        assert!(
            why[1]
                .1
                .contains("socket /var/run/docker-ci.sock is already docker-ci's"),
            "{why:?}"
        );
        assert_eq!(why[2].0, "docker-x");
        assert!(why[2].1.contains("memroy_max"), "{why:?}");
        assert!(why
            .iter()
            .all(|(_, w)| !w.contains('\n') && w.ends_with("not started")));
    }

    #[test]
    fn every_kind_of_clash() {
        for (text, want) in [
            (
                "[engines.a]\ncategory = 0\n",
                "MCS category c0 is already docker's",
            ),
            ("[engines.a]\nbridge = \"docker0\"\n", "bridge docker0"),
            (
                "[engines.a]\nbip = \"172.17.5.1/24\"\n",
                "subnet 172.17.5.0/24",
            ),
            (
                "[engines.a]\naddress_pool = \"172.16.0.0/12\"\n",
                "address pool 172.16.0.0/12 is already docker's",
            ),
            ("[engines.a]\niptables = true\n", "manages iptables already"),
            (
                "[engines.a]\nsocket = \"/var/run/docker.sock\"\n",
                "socket /var/run/docker.sock",
            ),
        ] {
            let r = resolve(&engines(text));
            assert_eq!(r.instances.len(), 1, "{text}");
            assert!(
                r.refused[0].reason.contains(want),
                "{text}: {:?}",
                r.refused
            );
        }
    }
}
