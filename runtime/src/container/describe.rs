//! Turns a (step, index, errno) report from the child into one line that
//! says what failed and where.

use std::io;

use nix::errno::Errno;

use super::plan::PlanLabels;
use crate::child::{ChildError, Step};
use crate::error::Error;

fn item(list: &[String], index: u32) -> &str {
    list.get(index as usize).map_or("?", String::as_str)
}

/// The error for a failed setup step.
pub fn child_error(e: &ChildError, l: &PlanLabels) -> Error {
    let what = match e.step {
        Step::Mountpoint if e.errno == Errno::ELOOP || e.errno == Errno::EXDEV => {
            let (i, m) = mount(l, e.index);
            return Error::spec(
                &l.config_file,
                format!("/mounts/{i}/destination"),
                format!("{m}: destination is a symlink or leaves the rootfs; refused"),
            );
        }
        Step::FindExecutable if e.errno == Errno::ENOENT => {
            return Error::spec(
                &l.config_file,
                "/process/args/0",
                format!("exec: {:?}: executable file not found in $PATH", l.arg0),
            );
        }
        Step::Chdir => {
            return Error::spec(
                &l.config_file,
                "/process/cwd",
                format!("cannot enter cwd {}: {}", l.cwd, io::Error::from(e.errno)),
            );
        }
        Step::Stdio => "set up stdio".into(),
        Step::WaitParent => "wait for the runtime".into(),
        Step::JoinNamespace => format!("join namespace {}", item(&l.namespaces, e.index)),
        Step::Unshare => "create cgroup/time namespace".into(),
        Step::TimeOffsets => "write time namespace offsets".into(),
        Step::BecomeRoot => "become root in the user namespace".into(),
        Step::Hostname => "set hostname".into(),
        Step::Domainname => "set domainname".into(),
        Step::OomScoreAdj => "set oom_score_adj".into(),
        Step::Sysctl => format!("set sysctl {}", item(&l.sysctl, e.index)),
        Step::SelinuxLabel => format!("set SELinux process label {:?}", l.selinux_label),
        Step::Keyring => "create session keyring".into(),
        Step::RootPropagation => "set root mount propagation".into(),
        Step::BindRootfs => "bind mount the rootfs".into(),
        Step::Mountpoint => format!("create mount point for {}", mount(l, e.index).1),
        Step::Mount => format!("mount {}", mount(l, e.index).1),
        Step::MountRemount => format!("remount {}", mount(l, e.index).1),
        Step::MountPropagation => format!("set propagation of {}", mount(l, e.index).1),
        Step::MountAttributes => format!("set recursive attributes of {}", mount(l, e.index).1),
        Step::Device => format!("create device {}", item(&l.devices, e.index)),
        Step::CreateHooks => "wait for create hooks".into(),
        Step::PivotRoot => "pivot_root into the rootfs".into(),
        Step::MaskPath => format!("mask path {}", item(&l.masked, e.index)),
        Step::ReadonlyPath => format!("make path read-only {}", item(&l.readonly, e.index)),
        Step::ReadonlyRoot => "make the rootfs read-only".into(),
        Step::Console => "set up the console".into(),
        Step::Rlimit => format!("set rlimit {}", item(&l.rlimits, e.index)),
        Step::DropBounding => "drop bounding capabilities".into(),
        Step::Seccomp => "install seccomp filter".into(),
        Step::Setgroups => "set additional groups".into(),
        Step::Setgid => "set gid".into(),
        Step::Setuid => "set uid".into(),
        Step::Capabilities => "set capabilities".into(),
        Step::Umask => "set umask".into(),
        Step::NoNewPrivs => "set no_new_privs".into(),
        Step::FindExecutable => format!("exec {:?}", l.arg0),
        Step::Ready => "report readiness".into(),
        Step::WaitStart => "wait for start".into(),
        Step::Exec => format!("exec {:?}", l.arg0),
    };
    Error::Setup {
        step: what,
        cause: io::Error::from(e.errno),
    }
}

fn mount(l: &PlanLabels, index: u32) -> (u32, &str) {
    l.mounts
        .get(index as usize)
        .map_or((index, "?"), |(i, s)| (*i, s.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_executable_reads_like_runc() {
        let l = PlanLabels {
            arg0: "nope".into(),
            config_file: "/b/config.json".into(),
            ..Default::default()
        };
        let e = child_error(
            &ChildError {
                step: Step::FindExecutable,
                index: 0,
                errno: Errno::ENOENT,
            },
            &l,
        );
        assert_eq!(
            e.to_string(),
            "/b/config.json: /process/args/0: exec: \"nope\": executable file not found in $PATH"
        );
    }

    #[test]
    fn mount_failures_name_the_mount() {
        let l = PlanLabels {
            mounts: vec![(4, "tmpfs on /run".into())],
            ..Default::default()
        };
        let e = child_error(
            &ChildError {
                step: Step::Mount,
                index: 0,
                errno: Errno::EINVAL,
            },
            &l,
        );
        assert!(
            e.to_string()
                .starts_with("container setup failed: mount tmpfs on /run: Invalid argument"),
            "{e}"
        );
    }
}
