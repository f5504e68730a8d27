//! Turns a validated bundle into the child's plan: every path, flag and
//! string the setup sequence needs, built before clone.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use crate::capabilities::CapPlan;
use crate::cgroups::{Cgroup, Layout};
use crate::child::{ChildPlan, ProcWrite};
use crate::devices::DevicePlan;
use crate::error::{Error, Result};
use crate::mounts::{Kind, MountEntry, MountOptions};
use crate::namespaces::NamespacePlan;
use crate::process::ProcessPlan;
use crate::rlimits;
use crate::rootfs::{self, RootfsPlan};
use crate::seccomp::SeccompPlan;
use crate::selinux::{self, LabelPlan};
use crate::spec::Bundle;
use crate::terminal::TerminalPlan;
use crate::user::UserPlan;

/// Descriptions of the plan's items, kept for error messages.
#[derive(Debug, Default)]
pub struct PlanLabels {
    /// (config index, "type on destination") per rootfs mount entry.
    pub mounts: Vec<(u32, String)>,
    pub devices: Vec<String>,
    pub sysctl: Vec<String>,
    pub masked: Vec<String>,
    pub readonly: Vec<String>,
    pub rlimits: Vec<String>,
    pub namespaces: Vec<String>,
    pub arg0: String,
    pub cwd: String,
    pub selinux_label: String,
    pub config_file: PathBuf,
}

/// Inputs that do not come from config.json.
#[derive(Debug)]
pub struct PlanInputs<'a> {
    pub id: &'a str,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub console_socket: Option<RawFd>,
    pub stdio: [Option<RawFd>; 3],
    pub preserve_fds: u32,
    pub cgroup: Option<&'a Cgroup>,
}

/// Builds the full plan for a new container. The fds of the sync channel
/// and the start barrier are filled in by the caller.
pub fn build(bundle: &Bundle, inputs: &PlanInputs<'_>) -> Result<(ChildPlan, PlanLabels)> {
    let spec = &bundle.spec;
    let file = bundle.config_path.as_path();
    let mut labels = PlanLabels {
        config_file: file.to_path_buf(),
        ..Default::default()
    };
    let linux = spec
        .linux()
        .as_ref()
        .ok_or_else(|| Error::spec(file, "/linux", "is required"))?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::spec(file, "/process", "is required"))?;
    let namespaces = NamespacePlan::prepare(linux, file)?;
    if !namespaces.has(LinuxNamespaceType::Mount) {
        return Err(Error::spec(
            file,
            "/linux/namespaces",
            "a mount namespace is required",
        ));
    }
    labels.namespaces = linux
        .namespaces()
        .iter()
        .flatten()
        .map(|n| n.typ().to_string())
        .collect();
    let selinux_on = selinux::enabled();
    let rootfs = rootfs_plan(bundle, inputs, &namespaces, selinux_on, &mut labels)?;
    let process_plan = ProcessPlan::prepare(process, Some(&bundle.rootfs))?;
    labels.arg0.clone_from(&process_plan.arg0);
    labels.cwd = process.cwd().display().to_string();
    let caps = process
        .capabilities()
        .as_ref()
        .map(|c| CapPlan::prepare(c, file))
        .transpose()?;
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(|s| SeccompPlan::prepare(s, file))
        .transpose()?;
    let own_dev = namespaces.has(LinuxNamespaceType::Mount)
        && !dev_bound_from_host(spec.mounts().as_deref().unwrap_or_default());
    let terminal = terminal_plan(spec, inputs, file, own_dev)?;
    let rl = process.rlimits().clone().unwrap_or_default();
    labels.rlimits = rl.iter().map(|r| format!("{:?}", r.typ())).collect();
    let sysctl = sysctl_writes(spec, &mut labels);
    labels.selinux_label = process.selinux_label().clone().unwrap_or_default();
    let rootful = nix::unistd::geteuid().is_root();
    let plan = ChildPlan {
        sync_fd: -1,
        parent_sync_fd: -1,
        exec_root: None,
        stdio: inputs.stdio,
        hostname: cstr_opt(spec.hostname().as_deref()),
        domainname: cstr_opt(spec.domainname().as_deref()),
        oom_score_adj: process_plan.oom_score_adj.clone().map(|value| ProcWrite {
            path: c"/proc/self/oom_score_adj".to_owned(),
            value,
        }),
        sysctl,
        labels: LabelPlan::prepare(process.selinux_label().as_deref(), selinux_on),
        keyring: if inputs.no_new_keyring {
            None
        } else {
            CString::new(inputs.id).ok()
        },
        rootfs: Some(rootfs),
        create_hooks: has_create_hooks(spec),
        terminal,
        rlimits: rlimits::prepare(&rl),
        caps,
        user: UserPlan::prepare(process.user()),
        // Not root: the gid map is written after "deny" to setgroups.
        can_setgroups: rootful,
        dumpable_until_go: !rootful && namespaces.new_user,
        seccomp,
        process: process_plan,
        start_barrier: None,
        preserve_fds: inputs.preserve_fds,
        namespaces,
    };
    Ok((plan, labels))
}

fn cstr_opt(s: Option<&str>) -> Option<CString> {
    s.filter(|s| !s.is_empty())
        .and_then(|s| CString::new(s).ok())
}

fn has_create_hooks(spec: &Spec) -> bool {
    spec.hooks().as_ref().is_some_and(|h| {
        [h.prestart(), h.create_runtime(), h.create_container()]
            .iter()
            .any(|l| l.as_ref().is_some_and(|l| !l.is_empty()))
    })
}

fn terminal_plan(
    spec: &Spec,
    inputs: &PlanInputs<'_>,
    file: &Path,
    own_dev: bool,
) -> Result<Option<TerminalPlan>> {
    let Some(process) = spec.process() else {
        return Ok(None);
    };
    if !process.terminal().unwrap_or(false) {
        return Ok(None);
    }
    let socket = inputs.console_socket.ok_or_else(|| {
        Error::spec(
            file,
            "/process/terminal",
            "a terminal needs --console-socket (or run it in the foreground)",
        )
    })?;
    let size = process.console_size().map(|b| {
        (
            u16::try_from(b.height()).unwrap_or(u16::MAX),
            u16::try_from(b.width()).unwrap_or(u16::MAX),
        )
    });
    Ok(Some(TerminalPlan {
        socket,
        size,
        uid: process.user().uid(),
        gid: process.user().gid(),
        bind_console: own_dev,
    }))
}

fn sysctl_writes(spec: &Spec, labels: &mut PlanLabels) -> Vec<ProcWrite> {
    let mut keys: Vec<(&String, &String)> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.sysctl().as_ref())
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    keys.sort();
    keys.into_iter()
        .filter_map(|(k, v)| {
            labels.sysctl.push(k.clone());
            Some(ProcWrite {
                path: CString::new(format!("/proc/sys/{}", k.replace('.', "/"))).ok()?,
                value: CString::new(v.as_str()).ok()?,
            })
        })
        .collect()
}

fn rootfs_plan(
    bundle: &Bundle,
    inputs: &PlanInputs<'_>,
    ns: &NamespacePlan,
    selinux_on: bool,
    labels: &mut PlanLabels,
) -> Result<RootfsPlan> {
    let spec = &bundle.spec;
    let file = bundle.config_path.as_path();
    let linux = spec.linux().as_ref();
    let rootfs = std::fs::canonicalize(&bundle.rootfs).map_err(|e| {
        Error::spec(
            file,
            "/root/path",
            format!("rootfs {}: {e}", bundle.rootfs.display()),
        )
    })?;
    let mount_label = linux.and_then(|l| l.mount_label().as_deref());
    let mut entries = Vec::new();
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    for (i, m) in mounts.iter().enumerate() {
        let pointer = format!("/mounts/{i}");
        let mut built = mount_entries(m, bundle, inputs.cgroup, ns, mount_label, selinux_on)
            .map_err(|msg| Error::spec(file, &pointer, msg))?;
        for e in &mut built {
            e.config_index = i as u32;
            let typ = e
                .fstype
                .as_ref()
                .map_or("bind".into(), |t| t.to_string_lossy().into_owned());
            labels
                .mounts
                .push((i as u32, format!("{typ} on {}", e.display)));
        }
        entries.extend(built);
    }
    let dev_is_host_bind = dev_bound_from_host(mounts);
    let devices = DevicePlan::prepare(
        linux
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default(),
        dev_is_host_bind,
        ns.in_user_namespace(),
    )
    .map_err(|m| Error::spec(file, "/linux/devices", m))?;
    labels.devices = devices.nodes.iter().map(|n| n.display.clone()).collect();
    let masked = path_list(
        linux.and_then(|l| l.masked_paths().as_deref()),
        &mut labels.masked,
    );
    let readonly_paths = path_list(
        linux.and_then(|l| l.readonly_paths().as_deref()),
        &mut labels.readonly,
    );
    let parent_mount =
        rootfs::containing_mount(&rootfs).and_then(|p| crate::process::path_cstring(&p));
    Ok(RootfsPlan {
        rootfs: crate::process::path_cstring(&rootfs)
            .ok_or_else(|| Error::spec(file, "/root/path", "contains a NUL byte"))?,
        display: rootfs,
        root_propagation: rootfs::propagation_flags(
            linux.and_then(|l| l.rootfs_propagation().as_deref()),
        ),
        parent_mount,
        mounts: entries,
        devices,
        no_pivot: inputs.no_pivot,
        readonly: spec
            .root()
            .as_ref()
            .and_then(|r| r.readonly())
            .unwrap_or(false),
        masked,
        readonly_paths,
    })
}

/// Whether a mount binds a host directory on /dev (the container then has
/// no /dev of its own to make nodes in).
fn dev_bound_from_host(mounts: &[Mount]) -> bool {
    mounts.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && MountOptions::parse(m.options().as_deref().unwrap_or_default()).is_bind()
    })
}

fn path_list(paths: Option<&[String]>, labels: &mut Vec<String>) -> Vec<CString> {
    paths
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            labels.push(p.clone());
            CString::new(p.as_str()).ok()
        })
        .collect()
}

/// One config mount as one or more entries (a v1 cgroup mount expands to a
/// tmpfs plus one mount per hierarchy).
fn mount_entries(
    m: &Mount,
    bundle: &Bundle,
    cgroup: Option<&Cgroup>,
    ns: &NamespacePlan,
    mount_label: Option<&str>,
    selinux_on: bool,
) -> std::result::Result<Vec<MountEntry>, String> {
    let options = m.options().as_deref().unwrap_or_default();
    let mut opts = MountOptions::parse(options);
    if let Some(u) = opts.unsupported.first() {
        return Err(format!("mount option {u} is not supported"));
    }
    let typ = m.typ().as_deref().unwrap_or_default();
    let dest = m.destination();
    if opts.is_bind() || typ == "bind" {
        opts.flags |= libc::MS_BIND;
        let source = m.source().as_ref().ok_or("a bind mount needs a source")?;
        let source = if source.is_absolute() {
            source.clone()
        } else {
            bundle.dir.join(source)
        };
        let meta =
            std::fs::metadata(&source).map_err(|e| format!("source {}: {e}", source.display()))?;
        return MountEntry::bind(dest, &source, meta.is_dir(), &opts)
            .map(|e| vec![e])
            .map_err(|e| e.0);
    }
    if typ == "cgroup" || typ == "cgroup2" {
        return cgroup_entries(dest, &opts, cgroup, ns);
    }
    if let Some(label) = selinux::mount_label_for(typ, mount_label, selinux_on) {
        selinux::with_mount_label(&mut opts.data, label);
    }
    let source = m
        .source()
        .as_ref()
        .map_or_else(|| typ.to_owned(), |s| s.display().to_string());
    MountEntry::filesystem(dest, typ, &source, &opts)
        .map(|e| vec![e])
        .map_err(|e| e.0)
}

fn cgroup_entries(
    dest: &Path,
    opts: &MountOptions,
    cgroup: Option<&Cgroup>,
    ns: &NamespacePlan,
) -> std::result::Result<Vec<MountEntry>, String> {
    let Some(cg) = cgroup else {
        return Err("a cgroup mount needs cgroups on the host".into());
    };
    let own_ns = ns.has(LinuxNamespaceType::Cgroup);
    let ro = opts.flags & libc::MS_RDONLY != 0;
    let fs_flags = opts.flags
        & (libc::MS_RDONLY
            | libc::MS_NOSUID
            | libc::MS_NODEV
            | libc::MS_NOEXEC
            | libc::MS_RELATIME);
    let one = |sub_dest: &Path,
               m: &crate::cgroups::CgroupMount|
     -> std::result::Result<MountEntry, String> {
        if own_ns {
            let mut o = MountOptions {
                flags: fs_flags,
                ..Default::default()
            };
            if !m.data.is_empty() {
                o.data.push(m.data.clone());
            }
            MountEntry::filesystem(sub_dest, m.fstype, m.fstype, &o).map_err(|e| e.0)
        } else {
            let mut o = MountOptions {
                flags: libc::MS_BIND | fs_flags,
                ..Default::default()
            };
            o.flags |= libc::MS_REC;
            MountEntry::bind(sub_dest, &m.host_dir, true, &o).map_err(|e| e.0)
        }
    };
    let mounts = cg.container_mounts();
    if cg.layout() == Layout::Unified {
        return mounts
            .first()
            .map(|m| one(dest, m))
            .transpose()
            .map(|e| e.into_iter().collect());
    }
    let tmpfs_opts = MountOptions {
        flags: libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        data: vec!["mode=755".into()],
        ..Default::default()
    };
    let mut entries =
        vec![MountEntry::filesystem(dest, "tmpfs", "cgroup_root", &tmpfs_opts).map_err(|e| e.0)?];
    for m in &mounts {
        entries.push(one(&dest.join(&m.subdir), m)?);
    }
    if ro {
        let mut e = MountEntry::new(dest, Kind::Remount).map_err(|e| e.0)?;
        e.remount_flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        entries.push(e);
    }
    Ok(entries)
}
