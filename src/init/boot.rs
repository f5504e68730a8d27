//! `corral boot --root DIR`: runs the init as PID 1 of new pid, mount, UTS
//! and IPC namespaces over a prepared root on an ordinary host. Ctrl-C
//! (or SIGTERM) asks the sandbox to power off; a second one kills it. The
//! sandbox lives in a cgroup of its own, removed afterwards with anything
//! left in it. The host's reboot(2) is never called.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use corral_runtime::cgroups::Cgroup;
use corral_runtime::clone::{clone3, Forked};
use corral_runtime::{pidfd, ExitStatus};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxResourcesBuilder};

use super::SANDBOX_REBOOT_EXIT;

const NAMESPACES: u64 =
    (libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC) as u64;
const STOP_SIGNALS: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// Boots the sandbox over `root` until it powers off; its exit status.
pub fn run(root: &Path, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let root =
        std::fs::canonicalize(root).with_context(|| format!("sandbox root {}", root.display()))?;
    if !root.is_dir() || root == Path::new("/") {
        bail!(
            "sandbox root {}: must be a directory other than /",
            root.display()
        );
    }
    let config = config
        .map(|c| std::fs::canonicalize(c).with_context(|| format!("config {}", c.display())))
        .transpose()?;
    let mut signals = signal_fd()?;
    let cgroup = sandbox_cgroup()?;
    eprintln!("corral boot: control socket {}", socket_of(&root).display());
    let result = boot_until_poweroff(&root, config.as_deref(), &cgroup, &mut signals);
    let cleanup = cgroup.destroy();
    let code = result?;
    cleanup.context("remove the sandbox's cgroup")?;
    Ok(code)
}

fn boot_until_poweroff(
    root: &Path,
    config: Option<&Path>,
    cgroup: &Cgroup,
    signals: &mut SignalFd,
) -> anyhow::Result<ExitCode> {
    loop {
        let init = spawn(root, config, cgroup)?;
        let status = wait(&init, signals)?;
        match status {
            ExitStatus::Exited(c) if c == i32::from(SANDBOX_REBOOT_EXIT) => {
                eprintln!("corral boot: the sandbox rebooted; booting it again");
            }
            ExitStatus::Exited(c) => return Ok(ExitCode::from(u8::try_from(c).unwrap_or(1))),
            ExitStatus::Signaled(s) => {
                eprintln!("corral boot: the sandbox's init was killed by signal {s}");
                return Ok(ExitCode::from(u8::try_from(128 + s).unwrap_or(255)));
            }
        }
    }
}

/// A cgroup of its own below ours, allowing every device (the services'
/// cgroups below restrict them).
fn sandbox_cgroup() -> anyhow::Result<Cgroup> {
    let name = format!("corral-sandbox-{}", std::process::id());
    let here = Path::new("corral boot");
    let cg = Cgroup::resolve(Some(Path::new(&name)), &name, here)?;
    let all = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .access("rwm")
        .build()?;
    let res = LinuxResourcesBuilder::default()
        .devices(vec![all])
        .build()?;
    cg.create(Some(&res), here)?;
    Ok(cg)
}

fn signal_fd() -> anyhow::Result<SignalFd> {
    let mut set = SigSet::empty();
    for s in STOP_SIGNALS {
        set.add(s);
    }
    set.thread_block().context("block signals")?;
    SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).context("signalfd")
}

/// The sandbox's init.
#[derive(Debug)]
struct Init {
    pidfd: OwnedFd,
}

/// What the child needs, built before the clone.
struct ExecPlan {
    exe: File,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

impl ExecPlan {
    fn new(root: &Path, config: Option<&Path>) -> anyhow::Result<Self> {
        let exe = File::open("/proc/self/exe").context("open /proc/self/exe")?;
        let mut args: Vec<&[u8]> = vec![b"corral", b"init", b"--sandbox-root"];
        args.push(root.as_os_str().as_bytes());
        if let Some(c) = config {
            args.push(b"--config");
            args.push(c.as_os_str().as_bytes());
        }
        let argv = args
            .into_iter()
            .map(CString::new)
            .collect::<Result<Vec<_>, _>>()
            .context("a NUL byte in a path")?;
        let mut envp = vec![CString::new(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )?];
        for key in ["TERM", "RUST_LOG", "RUST_BACKTRACE"] {
            if let Some(v) = std::env::var_os(key) {
                let mut kv = key.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                if let Ok(c) = CString::new(kv) {
                    envp.push(c);
                }
            }
        }
        Ok(ExecPlan { exe, argv, envp })
    }
}

fn pointers(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|c| c.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Clones the init into the new namespaces (and the sandbox's cgroup) and
/// lets it exec once it is in the cgroup.
fn spawn(root: &Path, config: Option<&Path>, cgroup: &Cgroup) -> anyhow::Result<Init> {
    let plan = ExecPlan::new(root, config)?;
    let argv = pointers(&plan.argv);
    let envp = pointers(&plan.envp);
    let (go_read, go_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe")?;
    let into = cgroup
        .unified_dir()
        .and_then(|d| File::open(d).ok())
        .map(OwnedFd::from);
    // SAFETY: the child only runs `child`, which makes async-signal-safe
    // system calls over memory prepared here and ends in execveat or _exit.
    let forked = unsafe { clone3(NAMESPACES, into.as_ref().map(AsRawFd::as_raw_fd), false) }
        .context("clone the sandbox's init (needs root)")?;
    match forked {
        Forked::Child => child(go_read.as_raw_fd(), plan.exe.as_raw_fd(), &argv, &envp),
        Forked::Parent { pid, pidfd } => {
            drop(go_read);
            let init = Init { pidfd };
            if into.is_none() {
                if let Err(e) = cgroup.join(pid) {
                    let _ = pidfd::send_signal(&init.pidfd, libc::SIGKILL);
                    let _ = pidfd::wait(&init.pidfd, false);
                    return Err(e).context("move the sandbox's init into its cgroup");
                }
            }
            nix::unistd::write(go_write.as_fd(), &[1]).context("release the sandbox's init")?;
            Ok(init)
        }
    }
}

/// The child side: wait until the parent placed us, then become the init.
fn child(go: RawFd, exe: RawFd, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> ! {
    // SAFETY: raw system calls on fds and buffers that stay valid; no
    // allocation, no locks; the process ends in execveat or _exit.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        let mut byte = 0u8;
        if libc::read(go, (&mut byte as *mut u8).cast(), 1) != 1 {
            libc::_exit(1);
        }
        libc::setsid();
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::syscall(
            libc::SYS_execveat,
            exe,
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
        libc::_exit(127)
    }
}

/// Waits for the init to exit; the first stop signal asks it to power off,
/// the next one kills it.
fn wait(init: &Init, signals: &mut SignalFd) -> anyhow::Result<ExitStatus> {
    let mut asked = 0;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: init.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: signals.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: fds is a valid array of two pollfd.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("poll");
        }
        if fds[1].revents != 0 {
            while let Ok(Some(_)) = signals.read_signal() {
                asked += 1;
                let (sig, what) = if asked == 1 {
                    (libc::SIGTERM, "powering off the sandbox (again to kill it)")
                } else {
                    (libc::SIGKILL, "killing the sandbox")
                };
                eprintln!("corral boot: {what}");
                let _ = pidfd::send_signal(&init.pidfd, sig);
            }
        }
        if fds[0].revents != 0 {
            if let Some(status) = pidfd::wait(&init.pidfd, true).context("wait for the init")? {
                return Ok(status);
            }
        }
    }
}

/// The sandbox root a `corral boot` serves its control socket under.
pub fn socket_of(root: &Path) -> PathBuf {
    root.join(crate::ctl::SOCKET.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_is_under_the_root() {
        assert_eq!(
            socket_of(Path::new("/tmp/sb")),
            Path::new("/tmp/sb/run/corral/corral.sock")
        );
    }

    #[test]
    fn exec_plan_names_the_sandbox_and_config() {
        let p = ExecPlan::new(Path::new("/tmp/sb"), Some(Path::new("/c.toml"))).unwrap();
        let args: Vec<&str> = p.argv.iter().map(|c| c.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "corral",
                "init",
                "--sandbox-root",
                "/tmp/sb",
                "--config",
                "/c.toml"
            ]
        );
        assert!(p.envp[0].to_str().unwrap().starts_with("PATH="));
        assert_eq!(pointers(&p.argv).last(), Some(&std::ptr::null()));
    }
}
