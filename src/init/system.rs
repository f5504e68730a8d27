//! The small pieces of early boot: console, hostname, loopback,
//! ctrl-alt-del, the files handed to the network and ntp services.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::config::SystemConfig;

/// Makes /dev/console our stdin, stdout and stderr.
pub fn open_console() -> Result<(), String> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/console")
        .map_err(|e| format!("open /dev/console: {e}"))?;
    for target in 0..3 {
        // SAFETY: dup2 onto the standard fds; f stays open during the call.
        if unsafe { libc::dup2(f.as_raw_fd(), target) } < 0 {
            return Err(format!("dup2 console: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

pub fn set_hostname(name: &str) -> Result<(), String> {
    nix::unistd::sethostname(name).map_err(|e| format!("set hostname {name:?}: {e}"))
}

/// Brings up `lo`.
pub fn loopback_up() -> Result<(), String> {
    let err = |what: &str| format!("loopback: {what}: {}", std::io::Error::last_os_error());
    // SAFETY: plain socket(2); the fd is closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(err("socket"));
    }
    // SAFETY: an all-zero ifreq is valid; the name fits in IFNAMSIZ.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write `req`, which is a
    // valid ifreq for the whole call.
    let result = unsafe {
        if libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) < 0 {
            Err(err("get flags"))
        } else {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            if libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) < 0 {
                Err(err("set flags"))
            } else {
                Ok(())
            }
        }
    };
    // SAFETY: sock is our fd.
    unsafe { libc::close(sock) };
    result
}

/// With ctrl-alt-del off the kernel sends SIGINT to PID 1 instead of
/// rebooting at once.
pub fn disable_ctrl_alt_del() -> Result<(), String> {
    nix::sys::reboot::set_cad_enabled(false).map_err(|e| format!("disable ctrl-alt-del: {e}"))
}

/// Writes [network] and [ntp] for their services under `run_dir`.
pub fn hand_over(cfg: &SystemConfig, run_dir: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    let mut write = |name: &str, text: Result<String, toml::ser::Error>| {
        let path = run_dir.join(name);
        let r = text
            .map_err(|e| e.to_string())
            .and_then(|t| std::fs::write(&path, t).map_err(|e| e.to_string()));
        if let Err(e) = r {
            errors.push(format!("write {}: {e}", path.display()));
        }
    };
    // Written even when not configured (empty): the network and ntp
    // bundles bind-mount these files, and a bind needs its source.
    write(
        "network.toml",
        toml::to_string(&cfg.network.clone().unwrap_or_default()),
    );
    write(
        "ntp.toml",
        toml::to_string(&cfg.ntp.clone().unwrap_or_default()),
    );
    errors
}

/// capability(7) number of CAP_SYS_RESOURCE.
const CAP_SYS_RESOURCE: u32 = 24;

/// Whether PID 1 may lower an oom_score_adj (CAP_SYS_RESOURCE in its
/// effective set; a sandbox on a host that withholds it may not).
pub fn may_lower_oom_score() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| cap_eff(&s))
        .is_some_and(|caps| caps & (1 << CAP_SYS_RESOURCE) != 0)
}

/// CapEff of /proc/PID/status.
fn cap_eff(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("CapEff:"))?;
    u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
}

/// The running kernel's release (for /lib/modules).
pub fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_capabilities() {
        assert_eq!(
            cap_eff("Name: x\nCapEff:\t000001ffffffffff\n"),
            Some(0x1ff_ffff_ffff)
        );
        assert_eq!(cap_eff("Name: x\n"), None);
    }

    #[test]
    fn network_and_ntp_are_handed_over_as_toml() {
        let dir = std::env::temp_dir().join(format!("corral-handover-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cfg, e) = crate::config::system::from_text(
            Path::new("c.toml"),
            "[network]\ninterfaces = [{ name = \"eth0\", dhcp = true }]\ndns = [\"10.0.2.3\"]\n[ntp]\nservers = [\"a\"]\n",
        );
        assert!(e.is_none());
        assert!(hand_over(&cfg, &dir).is_empty());
        let net = std::fs::read_to_string(dir.join("network.toml")).unwrap();
        let back: crate::config::system::Network = toml::from_str(&net).unwrap();
        assert_eq!(back.interfaces[0].name, "eth0");
        assert!(back.interfaces[0].dhcp);
        assert_eq!(back.dns, ["10.0.2.3"]);
        assert!(dir.join("ntp.toml").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
