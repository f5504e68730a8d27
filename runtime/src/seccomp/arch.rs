//! The native architecture: its syscall table and its audit value.
//!
//! Filters are compiled for the architecture corral itself is built for;
//! see the module documentation for what happens to compat ABIs.

use seccompiler::TargetArch;

#[cfg(target_arch = "x86_64")]
mod native {
    pub use syscalls::x86_64::Sysno;

    pub const TARGET: Option<seccompiler::TargetArch> = Some(seccompiler::TargetArch::x86_64);
    pub const NAME: &str = "x86_64";
    /// `AUDIT_ARCH_X86_64` (EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE).
    pub const AUDIT_ARCH: u32 = 0xC000_003E;
    pub const SCMP_ARCHES: &[&str] = &["SCMP_ARCH_X86_64"];
    /// libseccomp names that the `syscalls` table spells differently here.
    pub const ALIASES: &[(&str, &str)] = &[];
}

#[cfg(target_arch = "aarch64")]
mod native {
    pub use syscalls::aarch64::Sysno;

    pub const TARGET: Option<seccompiler::TargetArch> = Some(seccompiler::TargetArch::aarch64);
    pub const NAME: &str = "aarch64";
    /// `AUDIT_ARCH_AARCH64` (EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE).
    pub const AUDIT_ARCH: u32 = 0xC000_00B7;
    pub const SCMP_ARCHES: &[&str] = &["SCMP_ARCH_AARCH64"];
    /// libseccomp (and so every OCI profile) calls syscall 79 `newfstatat`,
    /// the `syscalls` crate calls it `fstatat`.
    pub const ALIASES: &[(&str, &str)] = &[("newfstatat", "fstatat")];
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod native {
    /// No table: every name is unknown and `prepare` refuses to build a filter.
    #[derive(Debug, Clone, Copy)]
    pub struct Sysno;

    impl Sysno {
        pub fn id(self) -> i32 {
            0
        }
    }

    impl std::str::FromStr for Sysno {
        type Err = ();
        fn from_str(_: &str) -> Result<Self, ()> {
            Err(())
        }
    }

    pub const TARGET: Option<seccompiler::TargetArch> = None;
    pub const NAME: &str = std::env::consts::ARCH;
    pub const AUDIT_ARCH: u32 = 0;
    pub const SCMP_ARCHES: &[&str] = &[];
    pub const ALIASES: &[(&str, &str)] = &[];
}

/// The architecture name, for messages.
pub(super) const NAME: &str = native::NAME;

/// The `seccomp_data.arch` value of native syscalls.
pub(super) const AUDIT_ARCH: u32 = native::AUDIT_ARCH;

/// The architectures a profile is enforced for, as runtime-spec names.
pub(super) const SCMP_ARCHES: &[&str] = native::SCMP_ARCHES;

/// seccompiler's name for the native architecture, if it has one.
pub(super) fn target() -> Option<TargetArch> {
    native::TARGET
}

/// The native number of the syscall called `name` (libseccomp spelling).
pub(super) fn syscall_number(name: &str) -> Option<i64> {
    let name = native::ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, real)| *real);
    name.parse::<native::Sysno>()
        .ok()
        .map(|s| i64::from(s.id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names_resolve() {
        for name in ["read", "write", "clone", "clone3", "seccomp", "newfstatat"] {
            assert!(syscall_number(name).is_some(), "{name}");
        }
        assert_eq!(syscall_number("no_such_syscall"), None);
        assert_eq!(syscall_number(""), None);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_numbers() {
        assert_eq!(syscall_number("read"), Some(0));
        assert_eq!(syscall_number("seccomp"), Some(317));
        assert_eq!(syscall_number("newfstatat"), Some(262));
        assert_eq!(syscall_number("_llseek"), None); // 32-bit only
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn aarch64_numbers() {
        assert_eq!(syscall_number("read"), Some(63));
        assert_eq!(syscall_number("newfstatat"), Some(79));
        assert_eq!(syscall_number("open"), None);
    }
}
