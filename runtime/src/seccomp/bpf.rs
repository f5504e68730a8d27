//! Classic BPF opcodes and `seccomp_data` offsets, and the prologue every
//! program starts with.

use super::arch;

// Opcodes, see linux/bpf_common.h.
/// `BPF_LD | BPF_W | BPF_ABS`: A = 32-bit word of seccomp_data at offset k.
pub(super) const LD_W_ABS: u16 = 0x20;
/// `BPF_ALU | BPF_AND | BPF_K`: A &= k.
pub(super) const AND_K: u16 = 0x54;
/// `BPF_JMP | BPF_JA`: pc += k.
pub(super) const JA: u16 = 0x05;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
pub(super) const JEQ_K: u16 = 0x15;
/// `BPF_JMP | BPF_JGT | BPF_K`.
pub(super) const JGT_K: u16 = 0x25;
/// `BPF_JMP | BPF_JGE | BPF_K`.
pub(super) const JGE_K: u16 = 0x35;
/// `BPF_RET | BPF_K`.
pub(super) const RET_K: u16 = 0x06;

/// `offsetof(struct seccomp_data, nr)`.
pub(super) const OFFSET_NR: u32 = 0;
/// `offsetof(struct seccomp_data, arch)`.
pub(super) const OFFSET_ARCH: u32 = 4;
/// `offsetof(struct seccomp_data, args)`: six 64-bit values.
const OFFSET_ARGS: u32 = 16;

/// `__X32_SYSCALL_BIT`: x32 syscalls arrive with `AUDIT_ARCH_X86_64` and
/// this bit set in their number.
pub(super) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The kernel's limit for one program (`BPF_MAXINSNS`).
pub(super) const MAX_PROGRAM_LEN: usize = 4096;

/// The offset of the high (`high`) or low 32-bit word of argument `index`.
pub(super) fn arg_word(index: u8, high: bool) -> u32 {
    // Little-endian: the low word comes first.
    let second = high == cfg!(target_endian = "little");
    OFFSET_ARGS + 8 * u32::from(index) + if second { 4 } else { 0 }
}

pub(super) fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

pub(super) fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The start of every program: kill the process for a foreign
/// architecture (seccompiler's check) and, on x86_64, for x32 syscalls;
/// then load the syscall number.
///
/// x32 syscalls carry the x86_64 arch value, and an x32 number never
/// equals a native one, so without the second check they would get the
/// default action; libseccomp adds the same check to its x86_64 filters.
pub(super) fn prologue() -> Vec<libc::sock_filter> {
    let mut p = vec![
        stmt(LD_W_ABS, OFFSET_ARCH),
        jump(JEQ_K, arch::AUDIT_ARCH, 1, 0),
        stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, OFFSET_NR),
    ];
    if cfg!(target_arch = "x86_64") {
        p.push(jump(JGE_K, X32_SYSCALL_BIT, 0, 1));
        p.push(stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_the_kernels() {
        assert_eq!(MAX_PROGRAM_LEN, libc::BPF_MAXINSNS as usize);
    }

    #[test]
    fn argument_words_follow_the_struct_layout() {
        let data = super::super::vm::SeccompData::native(0, &[0, 0, 0x1111_2222_3333_4444]);
        let bytes = data.bytes();
        let word = |off: u32| {
            let at = off as usize;
            u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
        };
        assert_eq!(word(arg_word(2, true)), 0x1111_2222);
        assert_eq!(word(arg_word(2, false)), 0x3333_4444);
    }
}
