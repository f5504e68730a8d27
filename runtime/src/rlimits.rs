//! process.rlimits, applied with prlimit in the child before the uid change.

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use crate::syscall::{SysResult, Syscalls};

/// One resource limit ready for prlimit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: libc::c_int,
    pub soft: u64,
    pub hard: u64,
}

/// The RLIMIT_* number of an OCI rlimit type.
pub fn resource(t: PosixRlimitType) -> libc::c_int {
    use PosixRlimitType::*;
    let r = match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    };
    r as libc::c_int
}

pub fn prepare(limits: &[PosixRlimit]) -> Vec<Rlimit> {
    limits
        .iter()
        .map(|l| Rlimit {
            resource: resource(l.typ()),
            soft: l.soft(),
            hard: l.hard(),
        })
        .collect()
}

/// Child side. Returns the index of the limit that failed.
pub fn apply<S: Syscalls>(sys: &S, limits: &[Rlimit]) -> Result<(), (u32, nix::errno::Errno)> {
    for (i, l) in limits.iter().enumerate() {
        let r: SysResult<()> = sys.setrlimit(l.resource, l.soft, l.hard);
        r.map_err(|e| (i as u32, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_types() {
        assert_eq!(
            resource(PosixRlimitType::RlimitNofile),
            libc::RLIMIT_NOFILE as libc::c_int
        );
        assert_eq!(
            resource(PosixRlimitType::RlimitRttime),
            libc::RLIMIT_RTTIME as libc::c_int
        );
    }
}
