//! Usage numbers for `corral events --stats`, serialized like the "data"
//! of runc's stats event (runc's types.Stats): the same field names, zero
//! numbers and empty lists left out where runc leaves them out.
//!
//! Read by hand rather than through cgroups-rs, whose stat readers unwrap
//! on unexpected file contents.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::{fs, Cgroup};

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// runc's `Stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

/// CPU time in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "is_zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

/// CFS bandwidth throttling.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Throttling {
    #[serde(skip_serializing_if = "is_zero")]
    pub periods: u64,
    #[serde(rename = "throttledPeriods", skip_serializing_if = "is_zero")]
    pub throttled_periods: u64,
    /// Nanoseconds.
    #[serde(rename = "throttledTime", skip_serializing_if = "is_zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

/// One memory counter family; `limit` is u64::MAX for unlimited on v2.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "is_zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    /// Memory+swap, as on v1 (v2 numbers are added up to match).
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// 0 when unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// One device counter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "is_zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Blkio {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u64,
    pub failcnt: u64,
}

/// USER_HZ: cpuacct.stat counts in these ticks on every architecture.
const USER_HZ: u64 = 100;

/// "key value" lines.
pub(crate) fn flat_keyed(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let mut p = l.split_whitespace();
            let k = p.next()?;
            let v = fs::parse_u64(p.next()?)?;
            Some((k.to_string(), v))
        })
        .collect()
}

fn keyed(dir: &Path, name: &str) -> HashMap<String, u64> {
    fs::read_opt(dir, name)
        .map(|t| flat_keyed(&t))
        .unwrap_or_default()
}

fn num(dir: &Path, name: &str) -> u64 {
    fs::read_u64(dir, name).unwrap_or(0)
}

fn list(dir: &Path, name: &str) -> Vec<u64> {
    fs::read_opt(dir, name)
        .map(|t| {
            t.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// v1 blkio "MAJ:MIN Op value" lines ("Total" lines skipped).
pub(crate) fn blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            let [dev, op, value] = p[..] else { return None };
            let (major, minor) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                op: op.to_string(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

/// v2 io.stat "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.." lines, as
/// (bytes, ios) entries with runc's Read/Write ops.
pub(crate) fn io_stat_v2(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let mut p = l.split_whitespace();
        let Some((major, minor)) = p.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        for kv in p {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (target, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "dbytes" => (&mut bytes, "Discard"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                "dios" => (&mut ios, "Discard"),
                _ => continue,
            };
            target.push(BlkioEntry {
                major,
                minor,
                op: op.into(),
                value,
            });
        }
    }
    (bytes, ios)
}

fn memory_entry_v1(dir: &Path, prefix: &str) -> MemoryEntry {
    MemoryEntry {
        limit: num(dir, &format!("{prefix}.limit_in_bytes")),
        usage: num(dir, &format!("{prefix}.usage_in_bytes")),
        max: num(dir, &format!("{prefix}.max_usage_in_bytes")),
        failcnt: num(dir, &format!("{prefix}.failcnt")),
    }
}

fn cpu_v1(s: &mut Stats, cpuacct: Option<&Path>, cpu: Option<&Path>) {
    if let Some(d) = cpuacct {
        s.cpu.usage.total = num(d, "cpuacct.usage");
        s.cpu.usage.percpu = list(d, "cpuacct.usage_percpu");
        s.cpu.usage.percpu_kernel = list(d, "cpuacct.usage_percpu_sys");
        s.cpu.usage.percpu_user = list(d, "cpuacct.usage_percpu_user");
        let st = keyed(d, "cpuacct.stat");
        let ns = |ticks: u64| ticks.saturating_mul(1_000_000_000 / USER_HZ);
        s.cpu.usage.user = ns(st.get("user").copied().unwrap_or(0));
        s.cpu.usage.kernel = ns(st.get("system").copied().unwrap_or(0));
    }
    if let Some(d) = cpu {
        let st = keyed(d, "cpu.stat");
        s.cpu.throttling = Throttling {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
}

fn cpu_v2(s: &mut Stats, d: &Path) {
    let st = keyed(d, "cpu.stat");
    let us = |k: &str| st.get(k).copied().unwrap_or(0).saturating_mul(1000);
    s.cpu.usage.total = us("usage_usec");
    s.cpu.usage.user = us("user_usec");
    s.cpu.usage.kernel = us("system_usec");
    s.cpu.throttling = Throttling {
        periods: st.get("nr_periods").copied().unwrap_or(0),
        throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
        throttled_time: us("throttled_usec"),
    };
}

fn memory_v1(s: &mut Stats, d: &Path) {
    s.memory.usage = memory_entry_v1(d, "memory");
    s.memory.swap = memory_entry_v1(d, "memory.memsw");
    s.memory.kernel = memory_entry_v1(d, "memory.kmem");
    s.memory.kernel_tcp = memory_entry_v1(d, "memory.kmem.tcp");
    s.memory.raw = keyed(d, "memory.stat").into_iter().collect();
    s.memory.cache = s
        .memory
        .raw
        .get("total_cache")
        .or(s.memory.raw.get("cache"))
        .copied()
        .unwrap_or(0);
}

fn memory_v2(s: &mut Stats, d: &Path) {
    let events = keyed(d, "memory.events");
    s.memory.usage = MemoryEntry {
        limit: num(d, "memory.max"),
        usage: num(d, "memory.current"),
        max: num(d, "memory.peak"),
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    if fs::has(d, "memory.swap.current") {
        // v1 reports memory+swap: add the memory numbers to the swap ones.
        let swap_events = keyed(d, "memory.swap.events");
        s.memory.swap = MemoryEntry {
            limit: num(d, "memory.swap.max").saturating_add(s.memory.usage.limit),
            usage: num(d, "memory.swap.current").saturating_add(s.memory.usage.usage),
            max: 0,
            failcnt: swap_events.get("fail").copied().unwrap_or(0),
        };
    }
    s.memory.raw = keyed(d, "memory.stat").into_iter().collect();
    s.memory.cache = s.memory.raw.get("file").copied().unwrap_or(0);
}

fn blkio_v1_stats(s: &mut Stats, d: &Path) {
    // CFQ's files when present, else BFQ's, else the throttling layer's.
    for prefix in ["blkio", "blkio.bfq", "blkio.throttle"] {
        let bytes =
            fs::read_opt(d, &format!("{prefix}.io_service_bytes_recursive")).map(|t| blkio_v1(&t));
        if let Some(bytes) = bytes.filter(|b| !b.is_empty()) {
            s.blkio.io_service_bytes_recursive = bytes;
            s.blkio.io_serviced_recursive =
                fs::read_opt(d, &format!("{prefix}.io_serviced_recursive"))
                    .map(|t| blkio_v1(&t))
                    .unwrap_or_default();
            return;
        }
    }
}

fn hugetlb_stats(s: &mut Stats, d: &Path, v2: bool) {
    let suffix = if v2 { ".current" } else { ".usage_in_bytes" };
    let Ok(rd) = std::fs::read_dir(d) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(size) = name
            .strip_prefix("hugetlb.")
            .and_then(|n| n.strip_suffix(suffix))
        else {
            continue;
        };
        if size.contains('.') {
            continue; // the rsvd files
        }
        let entry = if v2 {
            Hugetlb {
                usage: num(d, &name),
                max: 0,
                failcnt: keyed(d, &format!("hugetlb.{size}.events"))
                    .get("max")
                    .copied()
                    .unwrap_or(0),
            }
        } else {
            Hugetlb {
                usage: num(d, &name),
                max: num(d, &format!("hugetlb.{size}.max_usage_in_bytes")),
                failcnt: num(d, &format!("hugetlb.{size}.failcnt")),
            }
        };
        s.hugetlb.insert(size.to_string(), entry);
    }
}

/// Collects what every mounted controller of `cg` reports.
pub(crate) fn collect(cg: &Cgroup) -> Stats {
    let mut s = Stats::default();
    match cg.controller("cpu") {
        Some(h) if h.v2 => cpu_v2(&mut s, h.dir),
        cpu => cpu_v1(
            &mut s,
            cg.controller("cpuacct").map(|h| h.dir),
            cpu.map(|h| h.dir),
        ),
    }
    if let Some(h) = cg.controller("memory") {
        if h.v2 {
            memory_v2(&mut s, h.dir);
        } else {
            memory_v1(&mut s, h.dir);
        }
    }
    if let Some(h) = cg.controller("pids") {
        s.pids.current = num(h.dir, "pids.current");
        s.pids.limit = fs::read_u64(h.dir, "pids.max")
            .filter(|v| *v != u64::MAX)
            .unwrap_or(0);
    }
    if let Some(h) = cg.controller("blkio") {
        if h.v2 {
            let (bytes, ios) = fs::read_opt(h.dir, "io.stat")
                .map(|t| io_stat_v2(&t))
                .unwrap_or_default();
            s.blkio.io_service_bytes_recursive = bytes;
            s.blkio.io_serviced_recursive = ios;
        } else {
            blkio_v1_stats(&mut s, h.dir);
        }
    }
    if let Some(h) = cg.controller("hugetlb") {
        hugetlb_stats(&mut s, h.dir, h.v2);
    }
    s
}

/// OOM kills recorded for `cg`: v2 memory.events oom_kill, v1
/// memory.oom_control oom_kill.
pub(crate) fn oom_kills(cg: &Cgroup) -> u64 {
    let Some(h) = cg.controller("memory") else {
        return 0;
    };
    let file = if h.v2 {
        "memory.events"
    } else {
        "memory.oom_control"
    };
    keyed(h.dir, file).get("oom_kill").copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        let k = flat_keyed("usage_usec 1500\nnr_periods 3\nmax max\nbad\n");
        assert_eq!(k.get("usage_usec"), Some(&1500));
        assert_eq!(k.get("max"), Some(&u64::MAX));
        let b = blkio_v1("8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n");
        assert_eq!(b.len(), 3);
        assert_eq!(
            (b[0].major, b[0].minor, b[0].op.as_str(), b[0].value),
            (8, 0, "Read", 4096)
        );
        let (bytes, ios) = io_stat_v2("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(bytes.len(), 3);
        assert_eq!(ios[1].op, "Write");
        assert_eq!(ios[1].value, 2);
    }

    #[test]
    fn serialized_like_runc() {
        let mut s = Stats::default();
        s.cpu.usage.total = 5;
        s.memory.usage.limit = 9;
        s.pids.current = 2;
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["cpu"]["usage"]["total"], 5);
        assert_eq!(v["cpu"]["usage"]["kernel"], 0);
        assert!(v["cpu"]["usage"].get("percpu").is_none());
        assert!(v["cpu"]["throttling"].get("periods").is_none());
        assert_eq!(v["memory"]["usage"]["limit"], 9);
        assert_eq!(v["memory"]["usage"]["failcnt"], 0);
        assert!(v["memory"].get("kernelTCP").is_some());
        assert_eq!(v["pids"]["current"], 2);
        assert!(v["pids"].get("limit").is_none());
        assert!(v["blkio"].as_object().unwrap().is_empty());
        assert!(v["hugetlb"].as_object().unwrap().is_empty());
    }
}
