//! The actions a profile may ask for, and how the kernel ranks them.

use std::fmt;
use std::path::Path;

use oci_spec::runtime::LinuxSeccompAction;
use seccompiler::SeccompAction;

use crate::error::{Error, Result};

/// The largest errno the kernel returns as is (`MAX_ERRNO`); it clamps larger data.
const MAX_ERRNO: u32 = 4095;

/// What a filter returns for a syscall, as the kernel understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Action {
    KillProcess,
    /// `SCMP_ACT_KILL` and `SCMP_ACT_KILL_THREAD` (libseccomp's KILL is KILL_THREAD).
    KillThread,
    Trap,
    Errno(u16),
    Trace(u16),
    Log,
    Allow,
}

impl Action {
    /// Translates an OCI action. `errno_ret` is the data of ERRNO and TRACE,
    /// EPERM when absent (as in runc); other actions ignore it. The pointers
    /// name the action and errnoRet members for error messages.
    pub(super) fn from_oci(
        action: LinuxSeccompAction,
        errno_ret: Option<u32>,
        file: &Path,
        action_pointer: &str,
        errno_pointer: &str,
    ) -> Result<Action> {
        let data = |max: u32, what: &str| -> Result<u16> {
            let value = errno_ret.unwrap_or(libc::EPERM.unsigned_abs());
            match u16::try_from(value) {
                Ok(v) if value <= max => Ok(v),
                _ => Err(Error::spec(
                    file,
                    errno_pointer,
                    format!("{value} is not {what} (0..={max})"),
                )),
            }
        };
        Ok(match action {
            LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
                Action::KillThread
            }
            LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
            LinuxSeccompAction::ScmpActTrap => Action::Trap,
            LinuxSeccompAction::ScmpActErrno => Action::Errno(data(MAX_ERRNO, "an errno")?),
            LinuxSeccompAction::ScmpActTrace => {
                Action::Trace(data(libc::SECCOMP_RET_DATA, "a 16-bit trace value")?)
            }
            LinuxSeccompAction::ScmpActLog => Action::Log,
            LinuxSeccompAction::ScmpActAllow => Action::Allow,
            LinuxSeccompAction::ScmpActNotify => {
                return Err(Error::spec(
                    file,
                    action_pointer,
                    "SCMP_ACT_NOTIFY is not supported by corral (no seccomp agent support)",
                ))
            }
        })
    }

    /// The kernel's precedence, 0 first: with several filters the action of
    /// highest precedence wins, whatever its data (seccomp(2): KILL_PROCESS,
    /// KILL_THREAD, TRAP, ERRNO, USER_NOTIF, TRACE, LOG, ALLOW).
    pub(super) fn precedence(self) -> u8 {
        match self {
            Action::KillProcess => 0,
            Action::KillThread => 1,
            Action::Trap => 2,
            Action::Errno(_) => 3,
            // 4 is SECCOMP_RET_USER_NOTIF, which corral never emits.
            Action::Trace(_) => 5,
            Action::Log => 6,
            Action::Allow => 7,
        }
    }

    /// The same action with other data would tie with this one in the kernel.
    #[cfg(test)]
    pub(super) fn ties_with(self, other: Action) -> bool {
        self != other && self.precedence() == other.precedence()
    }

    /// seccompiler's form of this action.
    pub(super) fn to_seccompiler(self) -> SeccompAction {
        match self {
            Action::KillProcess => SeccompAction::KillProcess,
            Action::KillThread => SeccompAction::KillThread,
            Action::Trap => SeccompAction::Trap,
            Action::Errno(e) => SeccompAction::Errno(u32::from(e)),
            Action::Trace(t) => SeccompAction::Trace(u32::from(t)),
            Action::Log => SeccompAction::Log,
            Action::Allow => SeccompAction::Allow,
        }
    }

    /// The `SECCOMP_RET_*` value a filter returns for this action.
    pub(super) fn ret(self) -> u32 {
        u32::from(self.to_seccompiler())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::KillProcess => f.write_str("SCMP_ACT_KILL_PROCESS"),
            Action::KillThread => f.write_str("SCMP_ACT_KILL_THREAD"),
            Action::Trap => f.write_str("SCMP_ACT_TRAP"),
            Action::Errno(e) => write!(f, "SCMP_ACT_ERRNO({e})"),
            Action::Trace(t) => write!(f, "SCMP_ACT_TRACE({t})"),
            Action::Log => f.write_str("SCMP_ACT_LOG"),
            Action::Allow => f.write_str("SCMP_ACT_ALLOW"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LinuxSeccompAction as A;

    fn map(a: A, errno: Option<u32>) -> Result<Action> {
        Action::from_oci(a, errno, Path::new("/b/config.json"), "/act", "/errno")
    }

    #[test]
    fn every_oci_action_maps_to_its_kernel_value() {
        let cases = [
            (A::ScmpActAllow, None, libc::SECCOMP_RET_ALLOW),
            (A::ScmpActKill, None, libc::SECCOMP_RET_KILL_THREAD),
            (A::ScmpActKillThread, None, libc::SECCOMP_RET_KILL_THREAD),
            (A::ScmpActKillProcess, None, libc::SECCOMP_RET_KILL_PROCESS),
            (A::ScmpActTrap, None, libc::SECCOMP_RET_TRAP),
            (A::ScmpActLog, None, libc::SECCOMP_RET_LOG),
            (A::ScmpActErrno, None, libc::SECCOMP_RET_ERRNO | 1),
            (A::ScmpActErrno, Some(38), libc::SECCOMP_RET_ERRNO | 38),
            (A::ScmpActErrno, Some(0), libc::SECCOMP_RET_ERRNO),
            (A::ScmpActTrace, None, libc::SECCOMP_RET_TRACE | 1),
            (
                A::ScmpActTrace,
                Some(0xffff),
                libc::SECCOMP_RET_TRACE | 0xffff,
            ),
            // errnoRet only means something for ERRNO and TRACE.
            (A::ScmpActAllow, Some(5), libc::SECCOMP_RET_ALLOW),
        ];
        for (oci, errno, ret) in cases {
            assert_eq!(map(oci, errno).unwrap().ret(), ret, "{oci:?} {errno:?}");
        }
    }

    #[test]
    fn notify_is_refused_at_the_action() {
        let e = map(A::ScmpActNotify, None).unwrap_err().to_string();
        assert!(
            e.starts_with("/b/config.json: /act: SCMP_ACT_NOTIFY is not supported"),
            "{e}"
        );
    }

    #[test]
    fn out_of_range_data_is_refused_at_errno_ret() {
        let e = map(A::ScmpActErrno, Some(4096)).unwrap_err().to_string();
        assert_eq!(e, "/b/config.json: /errno: 4096 is not an errno (0..=4095)");
        assert!(map(A::ScmpActTrace, Some(0x1_0000)).is_err());
        assert!(map(A::ScmpActErrno, Some(4095)).is_ok());
    }

    #[test]
    fn precedence_follows_the_kernel() {
        let order = [
            Action::KillProcess,
            Action::KillThread,
            Action::Trap,
            Action::Errno(1),
            Action::Trace(1),
            Action::Log,
            Action::Allow,
        ];
        for w in order.windows(2) {
            assert!(w[0].precedence() < w[1].precedence());
            // The kernel compares the action bits as signed: lower wins.
            let signed = |a: Action| (a.ret() & libc::SECCOMP_RET_ACTION_FULL) as i32;
            assert!(signed(w[0]) < signed(w[1]), "{} vs {}", w[0], w[1]);
        }
        assert!(Action::Errno(1).ties_with(Action::Errno(38)));
        assert!(!Action::Errno(1).ties_with(Action::Errno(1)));
        assert!(!Action::Errno(1).ties_with(Action::Trace(1)));
    }
}
