//! The few classic BPF instructions corral writes itself, and the
//! conversion of seccompiler's instructions to `libc::sock_filter`.

use super::arch;

// Opcodes, see linux/bpf_common.h.
/// `BPF_LD | BPF_W | BPF_ABS`: A = 32-bit word of seccomp_data at offset k.
pub(super) const LD_W_ABS: u16 = 0x20;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
pub(super) const JEQ_K: u16 = 0x15;
/// `BPF_JMP | BPF_JGE | BPF_K`.
pub(super) const JGE_K: u16 = 0x35;
/// `BPF_RET | BPF_K`.
pub(super) const RET_K: u16 = 0x06;

/// `offsetof(struct seccomp_data, nr)`.
pub(super) const OFFSET_NR: u32 = 0;
/// `offsetof(struct seccomp_data, arch)`.
pub(super) const OFFSET_ARCH: u32 = 4;

/// `__X32_SYSCALL_BIT`: x32 syscalls arrive with `AUDIT_ARCH_X86_64` and
/// this bit set in their number.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The kernel's limit for one program (`BPF_MAXINSNS`).
pub(super) const MAX_PROGRAM_LEN: usize = 4096;

/// The kernel's limit over all the filters of a task (`MAX_INSNS_PER_PATH`,
/// 256 KiB of instructions), each filter counting 4 more.
pub(super) const MAX_TOTAL_LEN: usize = (1 << 18) / std::mem::size_of::<libc::sock_filter>();

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Instructions that kill the process for x32 syscalls, and fall through
/// otherwise. Empty where there is no such ABI.
///
/// seccompiler only checks `seccomp_data.arch`, which x32 shares with
/// x86_64; an x32 number never equals a native one, so without this an x32
/// call would get each filter's mismatch action, which is ALLOW in all but
/// the default filter (and in every filter when defaultAction is ALLOW).
/// libseccomp adds the same check to its x86_64 filters.
pub(super) fn x32_guard() -> Vec<libc::sock_filter> {
    if cfg!(target_arch = "x86_64") {
        vec![
            stmt(LD_W_ABS, OFFSET_NR),
            jump(JGE_K, X32_SYSCALL_BIT, 0, 1),
            stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        ]
    } else {
        Vec::new()
    }
}

/// A program that kills foreign-architecture and x32 syscalls and allows
/// everything else: what a profile with nothing to refuse compiles to, so
/// that compat ABIs are handled alike in every profile.
pub(super) fn allow_native() -> Vec<libc::sock_filter> {
    let mut p = vec![
        stmt(LD_W_ABS, OFFSET_ARCH),
        jump(JEQ_K, arch::AUDIT_ARCH, 1, 0),
        stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    p.extend(x32_guard());
    p.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
    p
}

/// seccompiler's instructions as `libc::sock_filter`, field by field.
pub(super) fn to_libc(program: &[seccompiler::sock_filter]) -> Vec<libc::sock_filter> {
    program
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_keeps_every_field() {
        let src = [seccompiler::sock_filter {
            code: 0x15,
            jt: 3,
            jf: 7,
            k: 0xdead_beef,
        }];
        let out = to_libc(&src);
        assert_eq!(
            (out[0].code, out[0].jt, out[0].jf, out[0].k),
            (0x15, 3, 7, 0xdead_beef)
        );
    }

    #[test]
    fn limits_are_the_kernels() {
        assert_eq!(MAX_PROGRAM_LEN, libc::BPF_MAXINSNS as usize);
        assert_eq!(MAX_TOTAL_LEN, 32768);
    }
}
