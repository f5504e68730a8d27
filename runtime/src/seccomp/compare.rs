//! One 64-bit argument condition as 32-bit BPF compares.
//!
//! Classic BPF loads 32-bit words, so an argument is compared as its high
//! and its low half, like seccompiler and libseccomp do: the high halves
//! decide unless they are equal, then the low halves do.

use super::asm::{Asm, Target};
use super::bpf::{arg_word, AND_K, JEQ_K, JGE_K, JGT_K, LD_W_ABS};
use super::rules::{Cond, Op};

/// Writes the test of `c`, going to `t` if it holds and to `f` if not;
/// returns where the test begins. Clobbers A.
pub(super) fn emit(asm: &mut Asm, c: &Cond, t: Target, f: Target) -> Target {
    let value = halves(c.value);
    let all = (u32::MAX, u32::MAX);
    match c.op {
        Op::Eq => masked_eq(asm, c.index, all, value, t, f),
        Op::Ne => masked_eq(asm, c.index, all, value, f, t),
        Op::MaskedEq(mask) => masked_eq(asm, c.index, halves(mask), value, t, f),
        Op::Ge => ordered(asm, c.index, JGE_K, value, t, f),
        Op::Lt => ordered(asm, c.index, JGE_K, value, f, t),
        Op::Gt => ordered(asm, c.index, JGT_K, value, t, f),
        Op::Le => ordered(asm, c.index, JGT_K, value, f, t),
    }
}

/// (high, low) 32-bit halves.
fn halves(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

/// `arg & mask == value & mask`: both halves equal.
fn masked_eq(
    asm: &mut Asm,
    index: u8,
    mask: (u32, u32),
    value: (u32, u32),
    t: Target,
    f: Target,
) -> Target {
    let low = word_eq(asm, arg_word(index, false), mask.1, value.1, t, f);
    word_eq(asm, arg_word(index, true), mask.0, value.0, low, f)
}

/// `word & mask == value & mask`, nothing to test when the mask is 0.
fn word_eq(asm: &mut Asm, offset: u32, mask: u32, value: u32, t: Target, f: Target) -> Target {
    if mask == 0 {
        return t;
    }
    asm.jump(JEQ_K, value & mask, t, f);
    if mask != u32::MAX {
        asm.stmt(AND_K, mask);
    }
    Target::At(asm.stmt(LD_W_ABS, offset))
}

/// `arg >= value` (`code` JGE) or `arg > value` (JGT): a greater high half
/// holds, a smaller one fails, an equal one leaves it to the low halves.
fn ordered(asm: &mut Asm, index: u8, code: u16, value: (u32, u32), t: Target, f: Target) -> Target {
    asm.jump(code, value.1, t, f);
    let low = asm.stmt(LD_W_ABS, arg_word(index, false));
    let equal = asm.jump(JEQ_K, value.0, Target::At(low), f);
    asm.jump(JGT_K, value.0, t, Target::At(equal));
    Target::At(asm.stmt(LD_W_ABS, arg_word(index, true)))
}
