//! The one classic-BPF program a profile compiles to.

use super::action::Action;
use super::asm::Asm;
use super::bpf;
use super::policy::{self, Decision};
use super::rules::Rule;
use super::tree;

/// The program for `rules` under `default`: the prologue (architecture
/// and x32 checks), the decision tree on the syscall number, and per
/// syscall its argument tests or a `RET`. `None` if a jump did not fit
/// (not expected: far targets get trampolines).
pub(super) fn build(default: Action, rules: &[Rule]) -> Option<Vec<libc::sock_filter>> {
    let decisions = policy::decisions(default, rules);
    let fallback = Decision::Always(default);
    let ranges = tree::ranges(&decisions, &fallback);
    let mut asm = Asm::default();
    let root = tree::emit(&mut asm, &ranges);
    asm.start_at(root);
    let mut program = bpf::prologue();
    program.extend(asm.finish()?);
    Some(program)
}
