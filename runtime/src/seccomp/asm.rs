//! A classic-BPF assembler that writes a program backwards.
//!
//! BPF jumps only go forward, and a conditional jump reaches at most 255
//! instructions. Writing the last instruction first means every jump
//! target is already placed when the jump is written, so its offset is
//! known: a target out of reach gets a `JA` trampoline (32-bit offset)
//! right after the jump, and a `RET` target is shared while in reach and
//! repeated otherwise (a copy costs one instruction, like a trampoline,
//! and returns at once).

use std::collections::HashMap;

use super::bpf::{JA, RET_K};

/// An instruction already written, counted from the end of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Label(usize);

/// Where a jump goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// An instruction already written.
    At(Label),
    /// A `RET` of this value, shared or written where needed.
    Ret(u32),
}

/// How far a target may be when [`Asm::jump`] resolves it: each of its
/// two targets may add one instruction before the jump is written.
const REACH: usize = u8::MAX as usize - 2;

/// A program being written backwards.
#[derive(Debug, Default)]
pub(super) struct Asm {
    /// The instructions, last first.
    rev: Vec<libc::sock_filter>,
    /// The `RET` nearest to the current position, per value.
    rets: HashMap<u32, Label>,
    /// An offset did not fit its field (never expected, see `REACH`).
    broken: bool,
}

impl Asm {
    /// Writes a non-jump instruction before those written so far.
    pub(super) fn stmt(&mut self, code: u16, k: u32) -> Label {
        self.push(code, 0, 0, k)
    }

    /// Writes `RET k` and makes it the one later jumps share.
    pub(super) fn ret(&mut self, k: u32) -> Label {
        let at = self.stmt(RET_K, k);
        self.rets.insert(k, at);
        at
    }

    /// Writes a conditional jump: to `jt` if the test holds, else to `jf`.
    pub(super) fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) -> Label {
        let jt = self.near(jt);
        let jf = self.near(jf);
        let jt = self.offset(jt);
        let jf = self.offset(jf);
        self.push(code, jt, jf, k)
    }

    /// Makes `t` the first instruction written so far, so that the
    /// program can begin with it.
    pub(super) fn start_at(&mut self, t: Target) {
        match t {
            Target::At(l) if l.0 + 1 == self.rev.len() => {}
            Target::At(l) => {
                self.ja(l);
            }
            Target::Ret(k) => {
                self.ret(k);
            }
        }
    }

    /// The program in execution order, `None` if a jump did not fit.
    pub(super) fn finish(mut self) -> Option<Vec<libc::sock_filter>> {
        if self.broken {
            return None;
        }
        self.rev.reverse();
        Some(self.rev)
    }

    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> Label {
        self.rev.push(libc::sock_filter { code, jt, jf, k });
        Label(self.rev.len() - 1)
    }

    /// The offset to `l` of an instruction written next.
    fn distance(&self, l: Label) -> usize {
        self.rev.len() - l.0 - 1
    }

    /// `t` as an instruction within [`REACH`], writing one if needed.
    fn near(&mut self, t: Target) -> Label {
        match t {
            Target::At(l) if self.distance(l) <= REACH => l,
            Target::At(l) => self.ja(l),
            Target::Ret(k) => match self.rets.get(&k) {
                Some(&l) if self.distance(l) <= REACH => l,
                _ => self.ret(k),
            },
        }
    }

    /// Writes `JA l`.
    fn ja(&mut self, l: Label) -> Label {
        let off = u32::try_from(self.distance(l)).unwrap_or_else(|_| {
            self.broken = true;
            0
        });
        self.stmt(JA, off)
    }

    /// The 8-bit offset to `l` of a jump written next.
    fn offset(&mut self, l: Label) -> u8 {
        u8::try_from(self.distance(l)).unwrap_or_else(|_| {
            self.broken = true;
            0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::bpf::JEQ_K;
    use super::*;

    #[test]
    fn jumps_are_relative_to_the_next_instruction() {
        let mut a = Asm::default();
        let end = a.ret(7);
        let mid = a.stmt(JA, 0);
        a.jump(JEQ_K, 1, Target::At(end), Target::At(mid));
        let p = a.finish().unwrap();
        assert_eq!((p[0].code, p[0].jt, p[0].jf), (JEQ_K, 1, 0));
        assert_eq!((p[2].code, p[2].k), (RET_K, 7));
    }

    #[test]
    fn far_targets_get_a_trampoline_and_far_rets_a_copy() {
        let mut a = Asm::default();
        let end = a.ret(7);
        let far = a.stmt(JA, 0);
        for _ in 0..300 {
            a.stmt(JA, 0);
        }
        a.jump(JEQ_K, 1, Target::At(far), Target::Ret(7));
        let p = a.finish().unwrap();
        let len = p.len();
        // jump, RET 7 copy, JA trampoline... in execution order.
        assert_eq!((p[0].jt, p[0].jf), (1, 0));
        assert_eq!((p[1].code, p[1].k), (RET_K, 7));
        assert_eq!(p[2].code, JA);
        assert_eq!(3 + p[2].k as usize, len - 1 - far.0);
        assert_eq!(p[len - 1 - end.0].k, 7);
    }
}
