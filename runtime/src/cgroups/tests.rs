//! Tests of the public API: resolution on each layout, create on a fake
//! hierarchy in a temp directory, and (as root) the real thing on this
//! machine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxMemoryBuilder, LinuxNetworkBuilder,
    LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};

use super::fs::testdir::{content, TestDir};
use super::mountinfo::fixtures::*;
use super::*;

const F: &str = "/bundle/config.json";

fn file() -> &'static Path {
    Path::new(F)
}

fn dirs(cg: &Cgroup) -> Vec<PathBuf> {
    cg.hierarchies.iter().map(|h| h.dir.clone()).collect()
}

#[test]
fn hybrid_absolute_and_relative_paths() {
    let cg = Cgroup::resolve_from(
        HYBRID_MOUNTINFO,
        HYBRID_CGROUP,
        Some(Path::new("/corral/web")),
        "web",
        file(),
    )
    .unwrap();
    assert_eq!(cg.layout(), Layout::Hybrid);
    assert!(dirs(&cg).contains(&PathBuf::from("/sys/fs/cgroup/memory/corral/web")));
    assert!(dirs(&cg).contains(&PathBuf::from("/sys/fs/cgroup/systemd/corral/web")));
    assert!(dirs(&cg).contains(&PathBuf::from("/sys/fs/cgroup/unified/corral/web")));
    assert_eq!(cg.unified_dir(), None);
    let cg = Cgroup::resolve_from(HYBRID_MOUNTINFO, HYBRID_CGROUP, None, "web", file()).unwrap();
    assert!(dirs(&cg).contains(&PathBuf::from("/sys/fs/cgroup/memory/process_api/17b9/web")));
    assert!(dirs(&cg).contains(&PathBuf::from("/sys/fs/cgroup/pids/web")));
    assert_eq!(
        cg.controller("memory").unwrap().dir,
        Path::new("/sys/fs/cgroup/memory/process_api/17b9/web")
    );
    assert!(cg.controller("net_cls").is_none());
    // (The fixture's cgroup2 controllers are read from the real
    // /sys/fs/cgroup/unified when it exists; nothing here depends on them.)
}

#[test]
fn escaping_cgroups_path_is_a_spec_error() {
    let e = Cgroup::resolve_from(
        HYBRID_MOUNTINFO,
        HYBRID_CGROUP,
        Some(Path::new("../..")),
        "x",
        file(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/bundle/config.json: /linux/cgroupsPath: "),
        "{e}"
    );
}

#[test]
fn v1_co_mounted_controllers_and_mounts() {
    let cg = Cgroup::resolve_from(
        V1_MOUNTINFO,
        V1_CGROUP,
        Some(Path::new("/c1")),
        "c1",
        file(),
    )
    .unwrap();
    assert_eq!(cg.layout(), Layout::V1);
    let cpu = cg.controller("cpu").unwrap();
    assert_eq!(cpu.dir, Path::new("/sys/fs/cgroup/cpu,cpuacct/c1"));
    assert_eq!(cg.controller("cpuacct").unwrap().dir, cpu.dir);
    assert!(cg.controller("devices").is_none());
    let mounts = cg.container_mounts();
    let cpu = mounts.iter().find(|m| m.subdir == "cpu,cpuacct").unwrap();
    assert_eq!((cpu.fstype, cpu.data.as_str()), ("cgroup", "cpu,cpuacct"));
    let sd = mounts.iter().find(|m| m.subdir == "systemd").unwrap();
    assert_eq!(sd.data, "none,name=systemd");
    assert_eq!(sd.host_dir, Path::new("/sys/fs/cgroup/systemd/c1"));
    assert_eq!(mounts.len(), 6);
}

#[test]
fn hybrid_mounts_include_unified() {
    let cg = Cgroup::resolve_from(
        HYBRID_MOUNTINFO,
        HYBRID_CGROUP,
        Some(Path::new("/c")),
        "c",
        file(),
    )
    .unwrap();
    let mounts = cg.container_mounts();
    assert_eq!(mounts.len(), 10);
    let u = mounts.iter().find(|m| m.fstype == "cgroup2").unwrap();
    assert_eq!((u.subdir.as_str(), u.data.as_str()), ("unified", ""));
    assert_eq!(u.host_dir, Path::new("/sys/fs/cgroup/unified/c"));
}

#[test]
fn nested_container_relative_path_uses_the_mount_root() {
    let cg = Cgroup::resolve_from(
        NESTED_V1_MOUNTINFO,
        NESTED_V1_CGROUP,
        Some(Path::new("svc")),
        "svc",
        file(),
    )
    .unwrap();
    assert_eq!(
        cg.controller("pids").unwrap().dir,
        Path::new("/sys/fs/cgroup/pids/init/svc")
    );
    assert_eq!(
        cg.controller("memory").unwrap().dir,
        Path::new("/sys/fs/cgroup/memory/svc")
    );
}

#[test]
fn relative_path_with_unknown_own_cgroup_is_an_error() {
    let e = Cgroup::resolve_from(NS_OUTSIDE_MOUNTINFO, NS_OUTSIDE_CGROUP, None, "x", file())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/linux/cgroupsPath") && e.contains("outside the mounted subtree"),
        "{e}"
    );
    // An absolute path works there.
    let cg = Cgroup::resolve_from(
        NS_OUTSIDE_MOUNTINFO,
        NS_OUTSIDE_CGROUP,
        Some(Path::new("/x")),
        "x",
        file(),
    )
    .unwrap();
    assert_eq!(cg.unified_dir(), Some(PathBuf::from("/sys/fs/cgroup/x")));
}

#[test]
fn a_tampered_state_never_reaches_outside_its_hierarchy() {
    let t = TestDir::new("api");
    let root = t.cgroup("memory", &[]);
    let outside = t.cgroup("outside", &[]);
    let mut cg = Cgroup::resolve_from(
        &format!(
            "30 25 0:27 / {} rw - cgroup cgroup rw,memory\n",
            root.display()
        ),
        "4:memory:/\n",
        Some(Path::new("/ctr")),
        "ctr",
        file(),
    )
    .unwrap();
    assert!(cg.hierarchies[0].is_contained());
    for bad in [root.clone(), root.join("../outside"), outside.clone()] {
        cg.hierarchies[0].dir = bad;
        assert!(!cg.hierarchies[0].is_contained());
        cg.destroy().unwrap();
    }
    assert!(root.exists() && outside.exists());
}

/// A pure v2 mount in a temp directory, with `controllers` available.
fn unified_in(t: &TestDir, controllers: &str) -> (String, PathBuf) {
    let root = t.cgroup("cg2", &["cgroup.subtree_control"]);
    std::fs::write(root.join("cgroup.controllers"), controllers).unwrap();
    (
        format!("24 18 0:22 / {} rw - cgroup2 cgroup2 rw\n", root.display()),
        root,
    )
}

#[test]
fn unified_layout() {
    let t = TestDir::new("api");
    let (mi, root) = unified_in(&t, "cpuset cpu io memory pids\n");
    let cg = Cgroup::resolve_from(&mi, "0::/\n", Some(Path::new("/ctr")), "ctr", file()).unwrap();
    assert_eq!(cg.layout(), Layout::Unified);
    assert_eq!(cg.unified_dir(), Some(root.join("ctr")));
    let blk = cg.controller("blkio").unwrap();
    assert!(blk.v2);
    assert!(cg.controller("hugetlb").is_none());
    assert!(cg.controller("freezer").is_none());
    let m = cg.container_mounts();
    assert_eq!(
        m,
        [CgroupMount {
            subdir: String::new(),
            fstype: "cgroup2",
            data: String::new(),
            host_dir: root.join("ctr"),
        }]
    );
    // Serializes for state.json and back.
    let json = serde_json::to_string(&cg).unwrap();
    assert!(json.contains("\"layout\":\"unified\""), "{json}");
    assert_eq!(serde_json::from_str::<Cgroup>(&json).unwrap(), cg);
}

#[test]
fn unified_resources_need_v2_and_realtime_needs_v1() {
    let mut u = HashMap::new();
    u.insert("memory.high".to_string(), "1".to_string());
    let res = LinuxResourcesBuilder::default().unified(u).build().unwrap();
    let cg = Cgroup::resolve_from(
        HYBRID_MOUNTINFO,
        HYBRID_CGROUP,
        Some(Path::new("/c")),
        "c",
        file(),
    )
    .unwrap();
    let e = cg.create(Some(&res), file()).unwrap_err().to_string();
    assert_eq!(
        e,
        "/bundle/config.json: /linux/resources/unified: unified resources need cgroup v2"
    );

    let t = TestDir::new("api");
    let (mi, _) = unified_in(&t, "cpu memory\n");
    let cg = Cgroup::resolve_from(&mi, "0::/\n", Some(Path::new("/c")), "c", file()).unwrap();
    let cpu = LinuxCpuBuilder::default()
        .realtime_runtime(100)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default().cpu(cpu).build().unwrap();
    let e = cg.create(Some(&res), file()).unwrap_err().to_string();
    assert!(
        e.contains("/linux/resources/cpu/realtimeRuntime: realtime limits need cgroup v1"),
        "{e}"
    );
    assert!(!t.path().join("cg2/c").exists());
}

/// A v1 layout in a temp dir with memory, pids and net-less hierarchies.
fn fake_v1(t: &TestDir) -> (Cgroup, PathBuf, PathBuf) {
    let mem = t.cgroup("memory", &[]);
    let pids = t.cgroup("pids", &[]);
    let mi = format!(
        "30 25 0:27 / {} rw - cgroup cgroup rw,memory\n32 25 0:29 / {} rw - cgroup cgroup rw,pids\n",
        mem.display(),
        pids.display()
    );
    let cg = Cgroup::resolve_from(
        &mi,
        "4:memory:/\n6:pids:/\n",
        Some(Path::new("/a/ctr")),
        "ctr",
        file(),
    )
    .unwrap();
    (cg, mem, pids)
}

fn resources() -> LinuxResources {
    LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64 << 20)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(32).build().unwrap())
        .build()
        .unwrap()
}

#[test]
fn create_writes_resources_to_each_hierarchy() {
    let t = TestDir::new("api");
    let (cg, mem, pids) = fake_v1(&t);
    // The fake kernel: control files of the leaf cgroups exist already.
    t.cgroup("memory/a/ctr", &["memory.limit_in_bytes", "cgroup.procs"]);
    t.cgroup("pids/a/ctr", &["pids.max", "cgroup.procs"]);
    cg.create(Some(&resources()), file()).unwrap();
    assert_eq!(
        content(&mem.join("a/ctr"), "memory.limit_in_bytes"),
        "67108864"
    );
    assert_eq!(content(&pids.join("a/ctr"), "pids.max"), "32");
    cg.join(4242).unwrap();
    assert_eq!(content(&mem.join("a/ctr"), "cgroup.procs"), "4242");
    assert_eq!(content(&pids.join("a/ctr"), "cgroup.procs"), "4242");
    assert_eq!(cg.procs().unwrap(), [4242]);
}

#[test]
fn a_failed_create_removes_what_it_made() {
    let t = TestDir::new("api");
    let (cg, mem, pids) = fake_v1(&t);
    // No control files anywhere: the memory write fails after the mkdirs.
    let e = cg
        .create(Some(&resources()), file())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("memory.limit_in_bytes") && e.contains("no such control file"),
        "{e}"
    );
    assert!(
        !mem.join("a").exists(),
        "memory/a was made by create and must go"
    );
    assert!(!pids.join("a").exists());
    assert!(mem.exists() && pids.exists());
}

#[test]
fn a_missing_controller_is_a_spec_error_and_makes_nothing() {
    let t = TestDir::new("api");
    let (cg, mem, _) = fake_v1(&t);
    let res = LinuxResourcesBuilder::default()
        .network(
            LinuxNetworkBuilder::default()
                .class_id(7u32)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let e = cg.create(Some(&res), file()).unwrap_err().to_string();
    assert!(
        e.starts_with("/bundle/config.json: /linux/resources/network/classID: needs the net_cls cgroup controller"),
        "{e}"
    );
    let hp = LinuxHugepageLimitBuilder::default()
        .page_size("2MB")
        .limit(0)
        .build()
        .unwrap();
    let res = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![hp])
        .build()
        .unwrap();
    let e = cg.create(Some(&res), file()).unwrap_err().to_string();
    assert!(
        e.contains("/linux/resources/hugepageLimits: needs the hugetlb cgroup controller"),
        "{e}"
    );
    // A bad value is refused before any directory is made.
    let res = LinuxResourcesBuilder::default()
        .pids(LinuxPidsBuilder::default().limit(-7).build().unwrap())
        .build()
        .unwrap();
    let e = cg.create(Some(&res), file()).unwrap_err().to_string();
    assert!(e.contains("/linux/resources/pids/limit"), "{e}");
    assert!(!mem.join("a").exists());
}

/// Tests that need root and change this machine's cgroups (and clean up).
mod root {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};

    use oci_spec::runtime::{LinuxBlockIoBuilder, LinuxDeviceCgroup, LinuxDeviceType};

    use super::*;

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    fn is_root() -> bool {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("skipped: needs root");
            return false;
        }
        true
    }

    fn unique(tag: &str) -> String {
        format!(
            "corral-test-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// Destroys the cgroup even when an assertion fails half-way.
    struct Cleanup<'a>(&'a Cgroup);

    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _ = self.0.destroy();
        }
    }

    fn gone(cg: &Cgroup) {
        for h in &cg.hierarchies {
            assert!(!h.dir.exists(), "{} is left behind", h.dir.display());
        }
    }

    fn real_layout() -> Layout {
        Cgroup::resolve(Some(Path::new("/probe")), "probe", file())
            .unwrap()
            .layout()
    }

    #[test]
    fn create_join_freeze_stats_destroy() {
        if !is_root() {
            return;
        }
        let name = unique("life");
        let cg = Cgroup::resolve(Some(Path::new(&format!("/{name}"))), &name, file()).unwrap();
        let res = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .swap(128 << 20)
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(32).build().unwrap())
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(512u64)
                    .quota(50_000)
                    .period(100_000u64)
                    .cpus("0")
                    .build()
                    .unwrap(),
            )
            .block_io(
                LinuxBlockIoBuilder::default()
                    .weight(500u16)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        cg.create(Some(&res), file()).unwrap();
        let _cleanup = Cleanup(&cg);
        let ctl = |c: &str| cg.controller(c).unwrap().dir.to_path_buf();
        if cg.layout() != Layout::Unified {
            assert_eq!(content(&ctl("memory"), "memory.limit_in_bytes"), "67108864");
            assert_eq!(
                content(&ctl("memory"), "memory.memsw.limit_in_bytes"),
                "134217728"
            );
            assert_eq!(content(&ctl("cpu"), "cpu.shares"), "512");
            assert_eq!(content(&ctl("cpu"), "cpu.cfs_quota_us"), "50000");
            assert_eq!(content(&ctl("cpuset"), "cpuset.cpus"), "0");
            let list = content(&ctl("devices"), "devices.list");
            assert!(
                list.contains("c 1:3 rwm")
                    && list.contains("c 136:* rwm")
                    && !list.contains("a *:*"),
                "{list}"
            );
        } else {
            assert_eq!(content(&ctl("memory"), "memory.max"), "67108864");
            assert_eq!(content(&ctl("cpu"), "cpu.weight"), "20");
        }
        assert_eq!(content(&ctl("pids"), "pids.max"), "32");

        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        cg.join(pid).unwrap();
        assert_eq!(cg.procs().unwrap(), [pid]);
        let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        assert_eq!(
            own.lines()
                .filter(|l| l.ends_with(&format!("/{name}")))
                .count(),
            cg.hierarchies.len(),
            "{own}"
        );

        cg.freeze().unwrap();
        assert!(cg.is_frozen());
        cg.thaw().unwrap();
        assert!(!cg.is_frozen());

        let s = cg.stats().unwrap();
        assert_eq!(s.pids.current, 1);
        assert_eq!(s.pids.limit, 32);
        assert_eq!(s.memory.usage.limit, 64 << 20);
        // (v1 leaves the sleep's pages charged where they were faulted in.)
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["memory"]["raw"].is_object());
        assert_eq!(cg.oom_kill_count(), 0);

        // A sub-cgroup made inside the container goes too.
        let sub = ctl("memory").join("inner");
        std::fs::create_dir(&sub).unwrap();
        cg.destroy().unwrap();
        gone(&cg);
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        cg.destroy().unwrap();
    }

    /// Opens `dev` for reading from a shell that is in `cg` before it tries.
    fn can_open(join: impl Fn(i32), dev: &str) -> bool {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "read go; if : < {dev}; then echo ok; else echo denied; fi"
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        join(i32::try_from(child.id()).unwrap());
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        child.wait().unwrap();
        line.trim() == "ok"
    }

    fn kmsg_rule() -> LinuxDeviceCgroup {
        let mut d = LinuxDeviceCgroup::default();
        d.set_allow(true);
        d.set_typ(Some(LinuxDeviceType::C));
        d.set_major(Some(1));
        d.set_minor(Some(11));
        d.set_access(Some("r".into()));
        d
    }

    #[test]
    fn v1_device_rules_are_enforced_and_updated() {
        if !is_root() || real_layout() == Layout::Unified {
            return;
        }
        let name = unique("dev");
        let cg = Cgroup::resolve(Some(Path::new(&format!("/{name}"))), &name, file()).unwrap();
        cg.create(None, file()).unwrap();
        let _cleanup = Cleanup(&cg);
        let join = |pid| cg.join(pid).unwrap();
        assert!(can_open(join, "/dev/null"));
        assert!(!can_open(join, "/dev/kmsg"), "kmsg is not in the defaults");
        let res = LinuxResourcesBuilder::default()
            .devices(vec![kmsg_rule()])
            .build()
            .unwrap();
        cg.update(&res, file()).unwrap();
        assert!(can_open(join, "/dev/kmsg"));
        assert!(can_open(join, "/dev/null"));
        cg.destroy().unwrap();
        gone(&cg);
    }

    #[test]
    fn bpf_device_filter_on_cgroup2() {
        if !is_root() {
            return;
        }
        // The hybrid host's cgroup2 directory governs devices through
        // eBPF as well: prove the generated program on the real kernel.
        let cg = Cgroup::resolve(Some(Path::new("/probe")), "probe", file()).unwrap();
        let Some(h) = cg.v2_hierarchy() else {
            eprintln!("skipped: no cgroup2 mount");
            return;
        };
        let dir = h.mount_point.join(unique("bpf"));
        std::fs::create_dir(&dir).unwrap();
        let rules = devices::rules(&devices::merged_device_rules(&[]), file()).unwrap();
        let prog = devices_bpf::program(&devices_emulator::Emulator::from_rules(&rules));
        bpf::install(&dir, &devices_bpf::bytes(&prog)).unwrap();
        assert_eq!(bpf::attached_count(&dir).unwrap(), 1);
        let join = |pid: i32| fs::write(&dir, "cgroup.procs", &pid.to_string()).unwrap();
        assert!(can_open(join, "/dev/null"));
        assert!(!can_open(join, "/dev/kmsg"));
        // An update replaces the program.
        let rules = devices::rules(&devices::merged_device_rules(&[kmsg_rule()]), file()).unwrap();
        let prog = devices_bpf::program(&devices_emulator::Emulator::from_rules(&rules));
        bpf::install(&dir, &devices_bpf::bytes(&prog)).unwrap();
        assert_eq!(bpf::attached_count(&dir).unwrap(), 1);
        assert!(can_open(join, "/dev/kmsg"));
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn failures_leave_nothing_behind() {
        if !is_root() {
            return;
        }
        let name = unique("fail");
        let cg =
            Cgroup::resolve(Some(Path::new(&format!("/{name}/inner"))), &name, file()).unwrap();
        // net_cls is not mounted here: refused before anything is made.
        let res = LinuxResourcesBuilder::default()
            .network(
                LinuxNetworkBuilder::default()
                    .class_id(1u32)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        if cg.controller("net_cls").is_none() {
            let e = cg.create(Some(&res), file()).unwrap_err().to_string();
            assert!(
                e.contains("/linux/resources/network/classID") && e.contains("net_cls"),
                "{e}"
            );
        }
        // An unsupported hugepage size is only found after the mkdirs.
        let hp = LinuxHugepageLimitBuilder::default()
            .page_size("64GB")
            .limit(0)
            .build()
            .unwrap();
        let res = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![hp])
            .build()
            .unwrap();
        if cg.controller("hugetlb").is_some() {
            let e = cg.create(Some(&res), file()).unwrap_err().to_string();
            assert!(e.contains("64GB is not supported"), "{e}");
        }
        // A memory limit the kernel refuses (below what is in use is fine on
        // v1; a tiny cpu period is not).
        let cpu = LinuxCpuBuilder::default()
            .period(10u64)
            .quota(5)
            .build()
            .unwrap();
        let res = LinuxResourcesBuilder::default().cpu(cpu).build().unwrap();
        let e = cg.create(Some(&res), file()).unwrap_err().to_string();
        assert!(e.contains("cpu"), "{e}");
        for h in &cg.hierarchies {
            assert!(
                !h.dir.parent().unwrap().exists(),
                "{} is left behind",
                h.dir.display()
            );
        }
    }

    #[test]
    fn relative_path_below_own_cgroup() {
        if !is_root() {
            return;
        }
        let name = unique("rel");
        let cg = Cgroup::resolve(None, &name, file()).unwrap();
        cg.create(Some(&resources()), file()).unwrap();
        let _cleanup = Cleanup(&cg);
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        if let Some(mem_own) = own
            .lines()
            .find_map(|l| l.split_once(":memory:").map(|(_, p)| p))
        {
            let want = Path::new("/sys/fs/cgroup/memory")
                .join(mem_own.trim_start_matches('/'))
                .join(&name);
            assert_eq!(cg.controller("memory").unwrap().dir, want);
        }
        for h in &cg.hierarchies {
            assert!(h.dir.is_dir(), "{}", h.dir.display());
            assert!(h.dir.ends_with(&name));
        }
        cg.destroy().unwrap();
        gone(&cg);
    }

    #[test]
    fn hugetlb_limit_through_cgroup2_on_hybrid() {
        if !is_root() {
            return;
        }
        let name = unique("huge");
        let cg = Cgroup::resolve(Some(Path::new(&format!("/{name}"))), &name, file()).unwrap();
        let Some(h) = cg.controller("hugetlb") else {
            eprintln!("skipped: no hugetlb controller");
            return;
        };
        let (dir, v2) = (h.dir.to_path_buf(), h.v2);
        let hp = LinuxHugepageLimitBuilder::default()
            .page_size("2MB")
            .limit(4 << 20)
            .build()
            .unwrap();
        let res = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![hp])
            .build()
            .unwrap();
        cg.create(Some(&res), file()).unwrap();
        let _cleanup = Cleanup(&cg);
        let f = if v2 {
            "hugetlb.2MB.max"
        } else {
            "hugetlb.2MB.limit_in_bytes"
        };
        assert_eq!(content(&dir, f), "4194304");
        assert!(cg.stats().unwrap().hugetlb.contains_key("2MB"));
        cg.destroy().unwrap();
        gone(&cg);
    }
}
