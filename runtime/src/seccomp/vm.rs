//! A tiny classic-BPF interpreter for seccomp programs, for the tests:
//! it runs the generated programs and stacks the results like the kernel.

use super::bpf::{AND_K as ALU_AND_K, JA, JEQ_K, JGE_K, JGT_K, LD_W_ABS, RET_K};

/// `BPF_JMP | BPF_JSET | BPF_K`, which seccompiler may emit.
const JSET_K: u16 = 0x45;

/// `struct seccomp_data`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// A native call of `nr` with `args` (missing ones are 0).
    pub(super) fn native(nr: i64, args: &[u64]) -> Self {
        let mut d = SeccompData {
            nr: i32::try_from(nr).unwrap(),
            arch: super::arch::AUDIT_ARCH,
            instruction_pointer: 0x7fff_0000_1234,
            args: [0; 6],
        };
        d.args[..args.len()].copy_from_slice(args);
        d
    }

    /// The struct as the kernel lays it out (native endianness).
    pub(super) fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        b[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        b[8..16].copy_from_slice(&self.instruction_pointer.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        b
    }
}

/// Checks what the kernel's `seccomp_check_filter`/`bpf_check_classic`
/// would: known opcodes, aligned in-bounds loads, forward jumps in bounds,
/// a final return, the length limit.
pub(super) fn validate(prog: &[libc::sock_filter]) {
    assert!(!prog.is_empty() && prog.len() <= libc::BPF_MAXINSNS as usize);
    for (pc, ins) in prog.iter().enumerate() {
        let target = |off: usize| assert!(pc + 1 + off < prog.len(), "jump out of program at {pc}");
        match ins.code {
            LD_W_ABS => assert!(ins.k % 4 == 0 && ins.k < 64, "load at {pc}"),
            ALU_AND_K | RET_K => {}
            JA => target(ins.k as usize),
            JEQ_K | JGT_K | JGE_K | JSET_K => {
                target(ins.jt.into());
                target(ins.jf.into());
            }
            c => panic!("opcode {c:#x} at {pc}"),
        }
    }
    assert_eq!(
        prog[prog.len() - 1].code,
        RET_K,
        "program must end with a return"
    );
}

/// Runs one program.
pub(super) fn run(prog: &[libc::sock_filter], data: &SeccompData) -> u32 {
    let bytes = data.bytes();
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let ins = prog[pc];
        pc += 1;
        let k = ins.k;
        let cond = |taken: bool| {
            if taken {
                usize::from(ins.jt)
            } else {
                usize::from(ins.jf)
            }
        };
        match ins.code {
            LD_W_ABS => {
                let at = k as usize;
                a = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
            }
            ALU_AND_K => a &= k,
            JA => pc += k as usize,
            JEQ_K => pc += cond(a == k),
            JGT_K => pc += cond(a > k),
            JGE_K => pc += cond(a >= k),
            JSET_K => pc += cond(a & k != 0),
            RET_K => return k,
            c => panic!("opcode {c:#x}"),
        }
    }
}

/// Runs installed programs like `seccomp_run_filters`: newest first, the
/// lowest action (as a signed value) wins, the first seen wins ties.
pub(super) fn run_stack(programs: &[Vec<libc::sock_filter>], data: &SeccompData) -> u32 {
    let action = |r: u32| (r & libc::SECCOMP_RET_ACTION_FULL) as i32;
    let mut ret = libc::SECCOMP_RET_ALLOW;
    for p in programs.iter().rev() {
        let cur = run(p, data);
        if action(cur) < action(ret) {
            ret = cur;
        }
    }
    ret
}
