//! linux.resources → controller writes: validation of every value first
//! (nothing is written when the config is wrong), then a check that each
//! requested resource has its controller on this host, then the writes.

use std::path::Path;

use oci_spec::runtime::LinuxResources;

use super::{
    blkio, bpf, cpu, devices, devices_bpf, devices_emulator, hugetlb, memory, network, pids, rdma,
    unified,
};
use super::{Cgroup, Layout};
use crate::error::{Error, Result};

/// The controllers `res` needs, each with the pointer that asks for it.
/// Device rules are not listed: every container has them.
pub(crate) fn requirements(res: &LinuxResources) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let r = "/linux/resources";
    if res.memory().as_ref().is_some_and(memory::is_set) {
        out.push(("memory", format!("{r}/memory")));
    }
    if let Some(c) = res.cpu() {
        if cpu::uses_cpu(c) {
            out.push(("cpu", format!("{r}/cpu")));
        }
        if cpu::uses_cpuset(c) {
            out.push(("cpuset", format!("{r}/cpu")));
        }
    }
    if res.pids().is_some() {
        out.push(("pids", format!("{r}/pids")));
    }
    if res.block_io().as_ref().is_some_and(blkio::is_set) {
        out.push(("blkio", format!("{r}/blockIO")));
    }
    if res
        .hugepage_limits()
        .as_ref()
        .is_some_and(|h| !h.is_empty())
    {
        out.push(("hugetlb", format!("{r}/hugepageLimits")));
    }
    if let Some(n) = res.network() {
        if n.class_id().is_some() {
            out.push(("net_cls", format!("{r}/network/classID")));
        }
        if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            out.push(("net_prio", format!("{r}/network/priorities")));
        }
    }
    if res.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
        out.push(("rdma", format!("{r}/rdma")));
    }
    out
}

/// Validates every value of `res` and checks that this host can apply it
/// to `cg`. Nothing is written.
pub(crate) fn check(cg: &Cgroup, res: &LinuxResources, file: &Path) -> Result<()> {
    if let Some(m) = res.memory() {
        memory::validate(m, file)?;
    }
    if let Some(c) = res.cpu() {
        cpu::validate(c, file)?;
    }
    if let Some(p) = res.pids() {
        pids::validate(p, file)?;
    }
    if let Some(b) = res.block_io() {
        blkio::validate(b, file)?;
    }
    if let Some(h) = res.hugepage_limits() {
        hugetlb::validate(h, file)?;
    }
    if let Some(n) = res.network() {
        network::validate(n, file)?;
    }
    if let Some(r) = res.rdma() {
        rdma::lines(r, file)?;
    }
    if let Some(d) = res.devices() {
        devices::effective_rules(d, file)?;
    }
    for (ctrl, ptr) in requirements(res) {
        if cg.controller(ctrl).is_none() {
            return Err(Error::spec(
                file,
                ptr,
                format!(
                    "needs the {ctrl} cgroup controller, which is not available on this host ({})",
                    cg.describe()
                ),
            ));
        }
    }
    if let Some(c) = res.cpu() {
        let realtime = c.realtime_runtime().is_some() || c.realtime_period().is_some();
        if realtime && cg.controller("cpu").is_some_and(|h| h.v2) {
            return Err(Error::spec(
                file,
                "/linux/resources/cpu/realtimeRuntime",
                "realtime limits need cgroup v1",
            ));
        }
    }
    if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
        if cg.layout() != Layout::Unified {
            return Err(Error::spec(
                file,
                "/linux/resources/unified",
                "unified resources need cgroup v2",
            ));
        }
        unified::validate(u, file)?;
    }
    if res.devices().as_ref().is_some_and(|d| !d.is_empty())
        && cg.layout() != Layout::Unified
        && cg.controller("devices").is_none()
    {
        return Err(Error::spec(
            file,
            "/linux/resources/devices",
            "needs the devices cgroup controller, which is not mounted",
        ));
    }
    Ok(())
}

/// The v2 controllers `res` needs enabled in the parents' subtree_control.
pub(crate) fn v2_controllers(cg: &Cgroup, res: Option<&LinuxResources>) -> Vec<String> {
    let Some(res) = res else { return Vec::new() };
    let mut out: Vec<String> = requirements(res)
        .into_iter()
        .filter_map(|(c, _)| {
            cg.controller(c)
                .filter(|h| h.v2)
                .map(|_| super::v2_name(c).to_string())
        })
        .collect();
    if let Some(u) = res.unified() {
        out.extend(unified::controllers(u));
    }
    out.sort();
    out.dedup();
    out
}

/// Applies device rules: `list` is linux.resources.devices (the defaults
/// are merged in). v1 devices controller when mounted; the eBPF filter on
/// a pure cgroup v2 layout; nothing (with a warning) otherwise.
fn apply_devices(
    cg: &Cgroup,
    list: &[oci_spec::runtime::LinuxDeviceCgroup],
    file: &Path,
) -> Result<()> {
    let rules = devices::effective_rules(list, file)?;
    if let Some(h) = cg.controller("devices") {
        return devices::apply_v1(h.dir, &rules);
    }
    if cg.layout() == Layout::Unified {
        if let Some(dir) = cg.unified_dir() {
            let prog = devices_bpf::program(&devices_emulator::Emulator::from_rules(&rules));
            return bpf::install(&dir, &devices_bpf::bytes(&prog));
        }
    }
    tracing::warn!(
        "the devices cgroup controller is not mounted: device access is not restricted by cgroup"
    );
    Ok(())
}

/// Writes `res` (checked by [`check`]) to `cg`. On create, device rules
/// are applied even without a devices section (the defaults); on update,
/// only what `res` names is touched.
pub(crate) fn apply(
    cg: &Cgroup,
    res: Option<&LinuxResources>,
    file: &Path,
    update: bool,
) -> Result<()> {
    let Some(res) = res else {
        return if update {
            Ok(())
        } else {
            apply_devices(cg, &[], file)
        };
    };
    let ctl = |name: &str| cg.controller(name);
    if let Some(c) = res.cpu() {
        if let Some(h) = ctl("cpuset").filter(|_| cpu::uses_cpuset(c)) {
            cpu::apply_cpuset(h.dir, h.v2, c)?;
        }
    }
    match res.devices() {
        Some(d) => apply_devices(cg, d, file)?,
        None if !update => apply_devices(cg, &[], file)?,
        None => {}
    }
    if let (Some(m), Some(h)) = (
        res.memory().as_ref().filter(|m| memory::is_set(m)),
        ctl("memory"),
    ) {
        memory::apply(h.dir, h.v2, m, file, update)?;
    }
    if let Some(c) = res.cpu() {
        if let Some(h) = ctl("cpu").filter(|_| cpu::uses_cpu(c)) {
            cpu::apply(h.dir, h.v2, c)?;
        }
    }
    if let (Some(p), Some(h)) = (res.pids(), ctl("pids")) {
        pids::apply(h.dir, h.v2, p)?;
    }
    if let Some(b) = res.block_io().as_ref().filter(|b| blkio::is_set(b)) {
        if let Some(h) = ctl("blkio") {
            blkio::apply(h.dir, h.v2, b)?;
        }
    }
    if let (Some(l), Some(h)) = (res.hugepage_limits(), ctl("hugetlb")) {
        hugetlb::apply(h.dir, h.v2, l, file)?;
    }
    if let Some(n) = res.network() {
        if let (Some(id), Some(h)) = (n.class_id(), ctl("net_cls")) {
            network::apply_class(h.dir, id)?;
        }
        if let Some(h) = ctl("net_prio") {
            network::apply_priorities(h.dir, n)?;
        }
    }
    if let (Some(r), Some(h)) = (res.rdma(), ctl("rdma")) {
        rdma::apply(h.dir, r, file)?;
    }
    if let (Some(u), Some(dir)) = (res.unified(), cg.unified_dir()) {
        unified::apply(&dir, u, file)?;
    }
    Ok(())
}
