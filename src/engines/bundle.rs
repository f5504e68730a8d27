//! An engine's bundle, generated from the shipped docker bundle (the
//! template): the same root filesystem (by absolute path), with the
//! engine's SELinux level on its process and mount labels, its data root
//! bound at /var/lib/docker, its volumes, its resource limits, and the
//! per-engine settings handed to the start script in CORRAL_ENGINE_*.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::instance::Instance;
use crate::init::labels;

/// Where the template's data root is bound in the engine.
const DATA_ROOT_IN_ENGINE: &str = "/var/lib/docker";
/// The tmpfs the volumes are bound below.
const VOLUMES_IN_ENGINE: &str = "/volumes";
/// Host directory of the shared volumes.
pub const VOLUMES_DIR: &str = "/var/lib/corral/volumes";

/// The shipped docker bundle.
#[derive(Debug, Clone)]
pub struct Template {
    pub dir: PathBuf,
    pub config: Value,
    pub service: toml::Table,
}

impl Template {
    /// Reads config.json and service.toml of `dir`.
    pub fn load(dir: &Path) -> Result<Template, String> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
        };
        let config: Value = serde_json::from_str(&read("config.json")?)
            .map_err(|e| format!("{}/config.json: {e}", dir.display()))?;
        let service: toml::Table = toml::from_str(&read("service.toml")?).map_err(|e| {
            format!(
                "{}/service.toml: {}",
                dir.display(),
                e.message().replace('\n', " ")
            )
        })?;
        Ok(Template {
            dir: dir.to_path_buf(),
            config,
            service,
        })
    }
}

/// The engine's limits in bytes and numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub memory_max: Option<u64>,
    pub cpu_weight: u32,
    pub pids_max: u64,
    /// Pure cgroup v2: written as linux.resources.unified.
    pub unified: bool,
}

/// The engine's config.json.
pub fn config_json(t: &Template, i: &Instance, r: Resources) -> Result<Value, String> {
    let mut c = t.config.clone();
    absolute_root(&mut c, &t.dir)?;
    for ptr in ["/process/selinuxLabel", "/linux/mountLabel"] {
        if let Some(Value::String(label)) = c.pointer_mut(ptr) {
            *label = labels::with_level(label, &i.level());
        }
    }
    add_env(&mut c, &env(i))?;
    mounts(&mut c, i)?;
    resources(&mut c, r)?;
    Ok(c)
}

fn absolute_root(c: &mut Value, dir: &Path) -> Result<(), String> {
    let Some(Value::String(root)) = c.pointer_mut("/root/path") else {
        return Err("the template has no /root/path".into());
    };
    if !Path::new(root.as_str()).is_absolute() {
        *root = dir.join(root.as_str()).to_string_lossy().into_owned();
    }
    Ok(())
}

/// CORRAL_ENGINE_* for the start script (corral-docker).
fn env(i: &Instance) -> Vec<String> {
    let mut e = vec![
        format!("CORRAL_ENGINE={}", i.name),
        format!("CORRAL_ENGINE_SOCKET={}", i.socket),
        format!("CORRAL_ENGINE_BRIDGE={}", i.bridge),
        format!("CORRAL_ENGINE_BIP={}", i.bip),
        format!("CORRAL_ENGINE_SUBNET={}", i.bip.network()),
        format!("CORRAL_ENGINE_IPTABLES={}", i.iptables),
    ];
    if let Some(p) = i.pool {
        e.push(format!("CORRAL_ENGINE_POOL={}", p.network()));
    }
    e
}

fn add_env(c: &mut Value, extra: &[String]) -> Result<(), String> {
    let process = c
        .pointer_mut("/process")
        .and_then(Value::as_object_mut)
        .ok_or("the template has no /process")?;
    let env = process
        .entry("env")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or("/process/env is not an array")?;
    env.extend(extra.iter().cloned().map(Value::String));
    Ok(())
}

/// The data root's bind gets the engine's directory; each volume gets a
/// bind below the template's /volumes tmpfs.
fn mounts(c: &mut Value, i: &Instance) -> Result<(), String> {
    let list = c
        .pointer_mut("/mounts")
        .and_then(Value::as_array_mut)
        .ok_or("the template has no /mounts")?;
    let dest = |m: &Value| {
        m.get("destination")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let data = list
        .iter_mut()
        .find(|m| dest(m).as_deref() == Some(DATA_ROOT_IN_ENGINE))
        .ok_or_else(|| format!("the template binds nothing at {DATA_ROOT_IN_ENGINE}"))?;
    data["source"] = Value::String(i.data_root().to_string_lossy().into_owned());
    if i.volumes.is_empty() {
        return Ok(());
    }
    if !list
        .iter()
        .any(|m| dest(m).as_deref() == Some(VOLUMES_IN_ENGINE))
    {
        return Err(format!(
            "the template has no {VOLUMES_IN_ENGINE} mount to bind volumes below"
        ));
    }
    for v in &i.volumes {
        list.push(json!({
            "destination": format!("{VOLUMES_IN_ENGINE}/{v}"),
            "type": "bind",
            "source": format!("{VOLUMES_DIR}/{v}"),
            "options": ["rbind", "rw", "nosuid", "nodev"],
        }));
    }
    Ok(())
}

/// linux.resources: cgroup v2 files as they are, or their v1 equivalents.
fn resources(c: &mut Value, r: Resources) -> Result<(), String> {
    let linux = c
        .pointer_mut("/linux")
        .and_then(Value::as_object_mut)
        .ok_or("the template has no /linux")?;
    let res = linux
        .entry("resources")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or("/linux/resources is not an object")?;
    if r.unified {
        let mut u = Map::new();
        if let Some(m) = r.memory_max {
            u.insert("memory.max".into(), m.to_string().into());
        }
        u.insert("cpu.weight".into(), r.cpu_weight.to_string().into());
        u.insert("pids.max".into(), r.pids_max.to_string().into());
        res.insert("unified".into(), Value::Object(u));
    } else {
        if let Some(m) = r.memory_max {
            res.insert("memory".into(), json!({ "limit": m }));
        }
        let shares = (u64::from(r.cpu_weight) * 1024 / 100).max(2);
        res.insert("cpu".into(), json!({ "shares": shares }));
        res.insert("pids".into(), json!({ "limit": r.pids_max }));
    }
    Ok(())
}

/// The engine's service.toml: the template's, with its description and
/// readiness mark.
pub fn service_toml(t: &Template, i: &Instance) -> Result<String, String> {
    let mut s = t.service.clone();
    s.insert(
        "description".into(),
        toml::Value::String(format!(
            "docker engine {:?} (dockerd + containerd), socket {}, MCS {}",
            i.name,
            i.socket_path(),
            i.level()
        )),
    );
    if let Some(toml::Value::Table(ready)) = s.get_mut("ready") {
        if ready.contains_key("path") {
            ready.insert("path".into(), toml::Value::String(i.ready_path()));
        }
    }
    toml::to_string(&s).map_err(|e| format!("service.toml: {e}"))
}

/// Writes the engine's bundle (config.json, service.toml) into `dir`.
pub fn write(dir: &Path, t: &Template, i: &Instance, r: Resources) -> Result<(), String> {
    let config = config_json(t, i, r)?;
    let service = service_toml(t, i)?;
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let text = serde_json::to_vec_pretty(&config).map_err(|e| e.to_string())?;
    let c = dir.join("config.json");
    std::fs::write(&c, text).map_err(|e| io(&c, e))?;
    let s = dir.join("service.toml");
    std::fs::write(&s, service).map_err(|e| io(&s, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::engines::EngineConfig;

    fn template() -> Template {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/docker");
        Template::load(&dir).unwrap()
    }

    fn ci() -> Instance {
        let cfg: EngineConfig =
            toml::from_str("memory_max = \"256M\"\npids_max = 300\nvolumes = [\"shared\"]")
                .unwrap();
        Instance::new("ci", &cfg, 1).unwrap()
    }

    fn res(unified: bool) -> Resources {
        Resources {
            memory_max: Some(256 << 20),
            cpu_weight: 100,
            pids_max: 300,
            unified,
        }
    }

    #[test]
    fn an_engine_from_the_shipped_template() {
        let t = template();
        let c = config_json(&t, &ci(), res(true)).unwrap();
        let root = c.pointer("/root/path").unwrap().as_str().unwrap();
        assert!(
            root.ends_with("bundles/docker/rootfs") && root.starts_with('/'),
            "{root}"
        );
        assert_eq!(
            c.pointer("/process/selinuxLabel").unwrap(),
            "system_u:system_r:docker_t:s0:c1"
        );
        assert_eq!(
            c.pointer("/linux/mountLabel").unwrap(),
            "system_u:object_r:docker_file_t:s0:c1"
        );
        let env: Vec<&str> = c
            .pointer("/process/env")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for want in [
            "CORRAL_ENGINE_SOCKET=docker-ci.sock",
            "CORRAL_ENGINE_BRIDGE=docker1",
            "CORRAL_ENGINE_BIP=172.18.0.1/16",
            "CORRAL_ENGINE_SUBNET=172.18.0.0/16",
            "CORRAL_ENGINE_POOL=10.101.0.0/16",
            "CORRAL_ENGINE_IPTABLES=false",
        ] {
            assert!(env.contains(&want), "{want} not in {env:?}");
        }
        assert!(
            env.iter().any(|e| e.starts_with("PATH=")),
            "the template's env stays"
        );
        let mounts = c.pointer("/mounts").unwrap().as_array().unwrap();
        let source_of = |d: &str| {
            mounts
                .iter()
                .find(|m| m["destination"] == d)
                .map(|m| m["source"].as_str().unwrap().to_owned())
        };
        assert_eq!(
            source_of("/var/lib/docker").as_deref(),
            Some("/var/lib/corral/docker-ci")
        );
        assert_eq!(
            source_of("/volumes/shared").as_deref(),
            Some("/var/lib/corral/volumes/shared")
        );
        let u = c.pointer("/linux/resources/unified").unwrap();
        assert_eq!(u["memory.max"], (256u64 << 20).to_string());
        assert_eq!(u["pids.max"], "300");
        assert_eq!(u["cpu.weight"], "100");
        assert!(
            c.pointer("/linux/resources/devices").is_some(),
            "the template's device rules stay"
        );
        // What the runtime will load.
        let bytes = serde_json::to_vec(&c).unwrap();
        let spec =
            corral_runtime::spec::load_spec_from_slice(&bytes, Path::new("config.json")).unwrap();
        corral_runtime::spec::validate(&spec, Path::new("config.json")).unwrap();
    }

    #[test]
    fn cgroup_v1_gets_the_classic_limits() {
        let c = config_json(&template(), &ci(), res(false)).unwrap();
        assert_eq!(
            c.pointer("/linux/resources/memory/limit").unwrap(),
            256u64 << 20
        );
        assert_eq!(c.pointer("/linux/resources/pids/limit").unwrap(), 300);
        assert_eq!(c.pointer("/linux/resources/cpu/shares").unwrap(), 1024);
        assert!(c.pointer("/linux/resources/unified").is_none());
    }

    #[test]
    fn the_service_file_waits_for_the_engines_own_mark() {
        let text = service_toml(&template(), &ci()).unwrap();
        let f: crate::config::ServiceFile = toml::from_str(&text).unwrap();
        f.check().unwrap();
        assert_eq!(
            f.ready.path.as_deref(),
            Some(Path::new("/run/docker/docker-ci.ready"))
        );
        assert_eq!(f.group, crate::config::service::Group::Engines);
        assert!(
            f.description.contains("/var/run/docker-ci.sock"),
            "{}",
            f.description
        );
    }

    #[test]
    fn a_template_without_what_engines_need_is_an_error() {
        let mut t = template();
        t.config["mounts"] = json!([]);
        let e = config_json(&t, &ci(), res(true)).unwrap_err();
        assert!(e.contains("/var/lib/docker"), "{e}");
        let dir = std::env::temp_dir().join(format!("corral-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{").unwrap();
        std::fs::write(dir.join("service.toml"), "").unwrap();
        assert!(Template::load(&dir).unwrap_err().contains("config.json"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
