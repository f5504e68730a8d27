//! The cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program
//! generated from the folded rule set, hand-assembled like runc's
//! devicefilter.
//!
//! The program gets `struct bpf_cgroup_dev_ctx { u32 access_type; u32
//! major; u32 minor; }` in r1, where access_type is the device type
//! (BPF_DEVCG_DEV_*) in its low 16 bits and the access (BPF_DEVCG_ACC_*)
//! in its high 16 bits, and returns 1 to allow, 0 to deny. Each exception
//! of the [`Emulator`] becomes a block that jumps to the next block on a
//! mismatch; falling off the last block returns the default. Decisions
//! are the v1 kernel's: an allow exception must cover every requested
//! access bit, a deny exception matches on any overlapping bit.

use super::devices::{Kind, Rule, ACC_ALL};
use super::devices_emulator::Emulator;

/// BPF_DEVCG_DEV_BLOCK / BPF_DEVCG_DEV_CHAR.
pub(crate) const DEV_BLOCK: u32 = 1;
pub(crate) const DEV_CHAR: u32 = 2;

// Opcodes (class | op | source).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP32_JEQ_K: u8 = 0x16; // BPF_JMP32 | BPF_JEQ | BPF_K
const JMP32_JNE_K: u8 = 0x56; // BPF_JMP32 | BPF_JNE | BPF_K
const JMP32_JNE_X: u8 = 0x5e; // BPF_JMP32 | BPF_JNE | BPF_X
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// One `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// The kernel's in-memory encoding (native endian; the register
    /// nibbles are bitfields whose order follows the byte order).
    pub(crate) fn to_bytes(self) -> [u8; 8] {
        let regs = if cfg!(target_endian = "little") {
            (self.dst & 0x0f) | (self.src << 4)
        } else {
            (self.dst << 4) | (self.src & 0x0f)
        };
        let off = self.off.to_ne_bytes();
        let imm = self.imm.to_ne_bytes();
        [
            self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }
}

/// A u32 as the bit pattern of the 32-bit immediate.
fn imm(v: u32) -> i32 {
    i32::from_ne_bytes(v.to_ne_bytes())
}

/// The block for one exception; its jumps carry `i16::MIN` until resolved
/// to "the next block".
fn block(ex: &Rule) -> Vec<Insn> {
    let mut b = Vec::new();
    match ex.kind {
        Kind::Char => b.push(Insn::new(JMP32_JNE_K, 2, 0, i16::MIN, imm(DEV_CHAR))),
        Kind::Block => b.push(Insn::new(JMP32_JNE_K, 2, 0, i16::MIN, imm(DEV_BLOCK))),
        Kind::All => {}
    }
    let access = i32::from(ex.access);
    if ex.allow {
        // Every requested bit must be in the rule: (w3 & acc) == w3.
        if ex.access != ACC_ALL {
            b.push(Insn::new(ALU32_MOV_X, 1, 3, 0, 0));
            b.push(Insn::new(ALU32_AND_K, 1, 0, 0, access));
            b.push(Insn::new(JMP32_JNE_X, 1, 3, i16::MIN, 0));
        }
    } else {
        // Any requested bit in the rule: (w3 & acc) != 0.
        b.push(Insn::new(ALU32_MOV_X, 1, 3, 0, 0));
        b.push(Insn::new(ALU32_AND_K, 1, 0, 0, access));
        b.push(Insn::new(JMP32_JEQ_K, 1, 0, i16::MIN, 0));
    }
    if let Some(m) = ex.major {
        b.push(Insn::new(JMP32_JNE_K, 4, 0, i16::MIN, imm(m)));
    }
    if let Some(m) = ex.minor {
        b.push(Insn::new(JMP32_JNE_K, 5, 0, i16::MIN, imm(m)));
    }
    b.push(Insn::new(ALU32_MOV_K, 0, 0, 0, i32::from(ex.allow)));
    b.push(Insn::new(EXIT, 0, 0, 0, 0));
    // Resolve: a jump at index i to the end of the block (len) has offset len - i - 1.
    let len = b.len();
    for (i, insn) in b.iter_mut().enumerate() {
        if insn.off == i16::MIN {
            insn.off = i16::try_from(len - i - 1).unwrap_or(i16::MAX);
        }
    }
    b
}

/// The device filter program for the folded rule set `e`.
pub(crate) fn program(e: &Emulator) -> Vec<Insn> {
    let mut p = vec![
        // w2 = type, w3 = access, w4 = major, w5 = minor.
        Insn::new(LDX_MEM_W, 2, 1, 0, 0),
        Insn::new(ALU32_AND_K, 2, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, 3, 1, 0, 0),
        Insn::new(ALU32_RSH_K, 3, 0, 0, 16),
        Insn::new(LDX_MEM_W, 4, 1, 4, 0),
        Insn::new(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for ex in &e.exceptions {
        p.extend(block(ex));
    }
    p.push(Insn::new(ALU32_MOV_K, 0, 0, 0, i32::from(e.default_allow)));
    p.push(Insn::new(EXIT, 0, 0, 0, 0));
    p
}

/// The program as the bytes BPF_PROG_LOAD takes.
pub(crate) fn bytes(p: &[Insn]) -> Vec<u8> {
    p.iter().flat_map(|i| i.to_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::super::devices::{merged_device_rules, rules, ACC_MKNOD, ACC_READ, ACC_WRITE};
    use super::*;
    use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
    use std::path::Path;

    /// A tiny eBPF interpreter for exactly the instructions the generator
    /// emits, run on a `bpf_cgroup_dev_ctx`.
    fn run(p: &[Insn], dev_type: u32, access: u32, major: u32, minor: u32) -> u64 {
        let mut ctx = Vec::new();
        ctx.extend_from_slice(&(dev_type | (access << 16)).to_ne_bytes());
        ctx.extend_from_slice(&major.to_ne_bytes());
        ctx.extend_from_slice(&minor.to_ne_bytes());
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = p[pc];
            let (d, s) = (usize::from(i.dst), usize::from(i.src));
            let k32 = i.imm as u32;
            let w = |v: u64| v as u32;
            let mut next = pc + 1;
            let jump = |cond: bool| {
                if cond {
                    (pc as i64 + 1 + i64::from(i.off)) as usize
                } else {
                    pc + 1
                }
            };
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(s, 1, "loads only from the ctx");
                    let o = i.off as usize;
                    r[d] = u64::from(u32::from_ne_bytes(ctx[o..o + 4].try_into().unwrap()));
                }
                ALU32_AND_K => r[d] = u64::from(w(r[d]) & k32),
                ALU32_RSH_K => r[d] = u64::from(w(r[d]) >> k32),
                ALU32_MOV_K => r[d] = u64::from(k32),
                ALU32_MOV_X => r[d] = u64::from(w(r[s])),
                JMP32_JEQ_K => next = jump(w(r[d]) == k32),
                JMP32_JNE_K => next = jump(w(r[d]) != k32),
                JMP32_JNE_X => next = jump(w(r[d]) != w(r[s])),
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
            assert!(next < p.len(), "jump out of the program at {pc}");
            pc = next;
        }
        panic!("no exit");
    }

    fn rule(
        allow: bool,
        typ: LinuxDeviceType,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut d = LinuxDeviceCgroup::default();
        d.set_allow(allow);
        d.set_typ(Some(typ));
        d.set_major(major);
        d.set_minor(minor);
        d.set_access(Some(access.into()));
        d
    }

    fn emulate(cfg: &[LinuxDeviceCgroup]) -> Emulator {
        Emulator::from_rules(&rules(&merged_device_rules(cfg), Path::new("/c.json")).unwrap())
    }

    const R: u32 = ACC_READ as u32;
    const W: u32 = ACC_WRITE as u32;
    const M: u32 = ACC_MKNOD as u32;

    /// The program and the emulator agree on a grid of requests.
    fn agrees(e: &Emulator) {
        let p = program(e);
        for (ty, kind) in [(DEV_CHAR, Kind::Char), (DEV_BLOCK, Kind::Block)] {
            for (maj, min) in [
                (1, 3),
                (1, 5),
                (1, 7),
                (1, 11),
                (5, 0),
                (5, 1),
                (5, 2),
                (136, 0),
                (136, 9),
                (8, 0),
                (10, 200),
                (4095, 1 << 19),
            ] {
                for acc in 1..=7u32 {
                    let want = e.allows(kind, maj, min, acc as u8);
                    let got = run(&p, ty, acc, maj, min);
                    assert_eq!(
                        got,
                        u64::from(want),
                        "type {ty} {maj}:{min} access {acc}: emulator {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn default_rules() {
        let e = emulate(&[]);
        let p = program(&e);
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 1, "/dev/null rw");
        assert_eq!(run(&p, DEV_CHAR, R, 1, 9), 1, "/dev/urandom r");
        assert_eq!(run(&p, DEV_CHAR, R | W, 136, 7), 1, "/dev/pts/7");
        assert_eq!(run(&p, DEV_CHAR, M, 10, 200), 1, "mknod of anything");
        assert_eq!(run(&p, DEV_BLOCK, M, 8, 0), 1, "mknod of a disk");
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 0), 0, "reading a disk");
        assert_eq!(run(&p, DEV_CHAR, R, 1, 11), 0, "/dev/kmsg");
        assert_eq!(run(&p, DEV_CHAR, R | W, 10, 200), 0, "/dev/net/tun");
        agrees(&e);
    }

    #[test]
    fn config_rules_in_order() {
        let e = emulate(&[
            rule(true, LinuxDeviceType::B, Some(8), None, "r"),
            rule(true, LinuxDeviceType::C, Some(10), Some(200), "rw"),
            rule(false, LinuxDeviceType::C, Some(10), Some(200), "w"),
        ]);
        let p = program(&e);
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 16), 1);
        assert_eq!(run(&p, DEV_BLOCK, R | W, 8, 16), 0);
        assert_eq!(run(&p, DEV_CHAR, R, 10, 200), 1);
        assert_eq!(run(&p, DEV_CHAR, W, 10, 200), 0);
        agrees(&e);
    }

    #[test]
    fn privileged_allow_all_with_a_deny() {
        let e = emulate(&[
            rule(true, LinuxDeviceType::A, None, None, "rwm"),
            rule(false, LinuxDeviceType::C, Some(1), Some(11), "w"),
        ]);
        assert!(e.default_allow);
        let p = program(&e);
        assert_eq!(run(&p, DEV_BLOCK, R | W, 8, 0), 1);
        assert_eq!(run(&p, DEV_CHAR, R, 1, 11), 1);
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 11), 0);
        agrees(&e);
    }

    #[test]
    fn config_deny_all_keeps_the_defaults_after_it() {
        let e = emulate(&[rule(false, LinuxDeviceType::A, None, None, "rwm")]);
        // The defaults come after the config's deny-all, so they stay.
        assert_eq!(run(&program(&e), DEV_CHAR, R, 1, 3), 1);
        let only_deny = Emulator::from_rules(
            &rules(
                &[rule(false, LinuxDeviceType::A, None, None, "rwm")],
                Path::new("/c"),
            )
            .unwrap(),
        );
        let p = program(&only_deny);
        assert_eq!(p.len(), 8);
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 0);
        agrees(&only_deny);
    }

    #[test]
    fn large_device_numbers_compare_as_u32() {
        let e = emulate(&[rule(
            true,
            LinuxDeviceType::C,
            Some(0xffff_fffe),
            Some(0x8000_0000),
            "r",
        )]);
        let p = program(&e);
        assert_eq!(run(&p, DEV_CHAR, R, 0xffff_fffe, 0x8000_0000), 1);
        assert_eq!(run(&p, DEV_CHAR, R, 0xffff_fffe, 0), 0);
    }

    #[test]
    fn encoding() {
        let p = program(&Emulator::default());
        let b = bytes(&p);
        assert_eq!(b.len(), p.len() * 8);
        if cfg!(target_endian = "little") {
            // r2 = *(u32 *)(r1 + 0)
            assert_eq!(&b[0..8], &[0x61, 0x12, 0, 0, 0, 0, 0, 0]);
            // w2 &= 0xffff
            assert_eq!(&b[8..16], &[0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]);
            // r4 = *(u32 *)(r1 + 4)
            assert_eq!(&b[32..40], &[0x61, 0x14, 4, 0, 0, 0, 0, 0]);
        }
        // The default is allow-all: mov w0, 1; exit.
        assert_eq!(p[p.len() - 2], Insn::new(ALU32_MOV_K, 0, 0, 0, 1));
        assert_eq!(p[p.len() - 1].code, EXIT);
    }
}
