//! Seccomp: compiles `linux.seccomp` into classic BPF before clone().
//!
//! [`SeccompPlan::prepare`] does everything in the parent: it checks the
//! section, resolves syscall names for the native architecture and compiles
//! the profile into one classic-BPF program (`program`). The child only
//! passes it to `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`.
//!
//! # Semantics (runtime-spec config-linux.md#seccomp, as runc/libseccomp)
//!
//! - `defaultAction` applies to calls no entry matches; `defaultErrnoRet`
//!   and an entry's `errnoRet` default to EPERM for ERRNO and TRACE.
//! - An entry matches a call of one of its `names` when all its `args`
//!   conditions hold (AND); entries are ORed. runc instead ORs the
//!   conditions of an entry that compares the same argument twice (an old
//!   libseccomp limitation); corral always ANDs, which is what the entry says.
//! - When entries of different actions match one call, the action of highest
//!   kernel precedence wins (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO >
//!   TRACE > LOG > ALLOW); between ERRNO (or TRACE) values, the value whose
//!   first entry comes first wins (`policy`).
//! - Arguments are compared on 64 bits; MASKED_EQ takes the mask in `value`
//!   and the datum in `valueTwo` (0 when absent, like runc).
//! - A name unknown to the native table is skipped with a warning, so a
//!   profile written for a newer kernel still loads.
//! - SCMP_ACT_NOTIFY and SECCOMP_FILTER_FLAG_TSYNC are refused.
//! - The plan has one program: its own seccomp(2) call is checked by no
//!   filter of the profile, so a profile that refuses seccomp(2) installs
//!   like any other.
//!
//! # The program
//!
//! After the architecture and x32 checks, a balanced binary tree of `JGE`
//! on the syscall number (`tree`) leads to one leaf per range of numbers
//! with the same decision: a `RET` when the arguments do not matter, else
//! the argument tests of its entries in the order of `policy` (`leaf`,
//! `compare`). The default profile takes 109 instructions on x86_64 and
//! at most 7 compares on the syscall number, where it took two linear
//! programs of 13 and 1512 instructions. Since Linux 5.11 the kernel also
//! caches, per syscall number, "the filter allows it whatever the
//! arguments" and then runs no filter at all. The former stacked
//! compilation is kept, for the tests only, as the reference the program
//! is checked against (`stack`).
//!
//! # Architectures
//!
//! Only the native architecture is filtered; `architectures` is accepted
//! and otherwise ignored. The program begins with seccompiler's check of
//! `seccomp_data.arch` (written by `bpf::prologue`), which kills the
//! process (SECCOMP_RET_KILL_PROCESS) on any other value: on x86_64 an i386 syscall (`int 0x80`, or a 32-bit
//! binary) and on aarch64 an arm32 one never reaches the rules, so it
//! cannot bypass them, but 32-bit programs cannot run under a profile.
//! x32 syscalls carry the x86_64 arch value, so the program also kills
//! any syscall number with `__X32_SYSCALL_BIT` set, as libseccomp does.
//! A profile with nothing to refuse still gets a program with both checks.

mod action;
mod arch;
mod asm;
mod bpf;
mod compare;
mod leaf;
mod policy;
mod profile;
mod program;
mod rules;
#[cfg(test)]
mod stack;
mod tree;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vm;

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompFilterFlag};

use crate::error::{Error, Result};
use action::Action;

pub use profile::default_profile;

/// The actions corral can enforce, for the runtime-spec features document.
pub const SUPPORTED_ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// The argument comparison operators corral can enforce.
pub const SUPPORTED_OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The architectures whose syscalls a profile is enforced for: the native
/// one. Others listed in `architectures` are accepted, but their syscalls
/// kill the process (see the module documentation).
pub const SUPPORTED_ARCHES: &[&str] = arch::SCMP_ARCHES;

/// The filter flags corral accepts. SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
/// only concerns SCMP_ACT_NOTIFY, which corral refuses, so it is accepted
/// and has no effect (the kernel rejects it without a notify listener).
pub const SUPPORTED_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// Compiled filters, ready to install in the child with seccomp(SECCOMP_SET_MODE_FILTER).
#[derive(Debug, Clone)]
pub struct SeccompPlan {
    /// The classic BPF programs to install, in this order: corral
    /// compiles a profile to exactly one.
    pub programs: Vec<Vec<libc::sock_filter>>,
    /// SECCOMP_FILTER_FLAG_* bits from linux.seccomp.flags.
    pub flags: libc::c_ulong,
}

/// How many compiled profiles a process keeps.
const CACHED_PROFILES: usize = 8;

/// The profiles compiled lately by this process, newest last. A compiled
/// plan depends only on the profile (the architecture is the build's),
/// and a supervisor starts many containers with the same few profiles.
static COMPILED: Mutex<Vec<(LinuxSeccomp, SeccompPlan)>> = Mutex::new(Vec::new());

impl SeccompPlan {
    /// Translates linux.seccomp (from config file `file`, for error
    /// messages) for the native arch. A profile compiled before by this
    /// process is taken from a small cache (warnings about unknown
    /// syscall names are then not repeated); errors are not cached.
    pub fn prepare(seccomp: &LinuxSeccomp, file: &Path) -> Result<SeccompPlan> {
        let mut cache = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pos) = cache.iter().position(|(p, _)| p == seccomp) {
            let hit = cache.remove(pos);
            let plan = hit.1.clone();
            cache.push(hit);
            return Ok(plan);
        }
        drop(cache);
        let plan = Self::compile_profile(seccomp, file)?;
        let mut cache = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have compiled the same profile meanwhile.
        if !cache.iter().any(|(p, _)| p == seccomp) {
            if cache.len() >= CACHED_PROFILES {
                cache.remove(0);
            }
            cache.push((seccomp.clone(), plan.clone()));
        }
        Ok(plan)
    }

    /// [`SeccompPlan::prepare`] without the cache.
    fn compile_profile(seccomp: &LinuxSeccomp, file: &Path) -> Result<SeccompPlan> {
        if arch::target().is_none() {
            return Err(Error::Seccomp(format!(
                "filters are not supported on {}",
                arch::NAME
            )));
        }
        let flags = filter_flags(seccomp, file)?;
        let default = Action::from_oci(
            seccomp.default_action(),
            seccomp.default_errno_ret(),
            file,
            "/linux/seccomp/defaultAction",
            "/linux/seccomp/defaultErrnoRet",
        )?;
        let parsed = rules::parse(seccomp, file)?;
        // Docker's and podman's profiles name the syscalls of every
        // architecture; like runc, say so only at debug level.
        if !parsed.unknown.is_empty() {
            tracing::debug!(
                arch = arch::NAME,
                names = ?parsed.unknown,
                "seccomp: skipping syscalls unknown on this architecture"
            );
        }

        let program = program::build(default, &parsed.rules).ok_or_else(|| {
            Error::spec(
                file,
                "/linux/seccomp/syscalls",
                "cannot compile the filter: a jump is out of reach",
            )
        })?;
        check_size(&program, file)?;
        tracing::debug!(
            arch = arch::NAME,
            default = %default,
            instructions = program.len(),
            "seccomp: profile compiled"
        );
        Ok(SeccompPlan {
            programs: vec![program],
            flags,
        })
    }
}

/// The SECCOMP_FILTER_FLAG_* bits of `linux.seccomp.flags`.
fn filter_flags(seccomp: &LinuxSeccomp, file: &Path) -> Result<libc::c_ulong> {
    let mut bits = 0;
    for (i, flag) in seccomp.flags().iter().flatten().enumerate() {
        bits |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            // Only meaningful with a notify listener, and the kernel refuses
            // it (EINVAL) without SECCOMP_FILTER_FLAG_NEW_LISTENER.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => {
                return Err(Error::spec(
                    file,
                    format!("/linux/seccomp/flags/{i}"),
                    "SECCOMP_FILTER_FLAG_TSYNC is not supported: the container's process \
                     is single-threaded when its filter is installed",
                ))
            }
        };
    }
    Ok(bits)
}

/// Refuses a program the kernel would refuse for its size.
fn check_size(program: &[libc::sock_filter], file: &Path) -> Result<()> {
    if program.len() > bpf::MAX_PROGRAM_LEN {
        return Err(Error::spec(
            file,
            "/linux/seccomp/syscalls",
            format!(
                "the profile compiles to a program of {} instructions, \
                 more than the kernel accepts ({})",
                program.len(),
                bpf::MAX_PROGRAM_LEN
            ),
        ));
    }
    Ok(())
}
