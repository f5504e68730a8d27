//! The code for one syscall number: its decision as argument tests.

use super::asm::{Asm, Target};
use super::compare;
use super::policy::Decision;

/// Writes the code deciding a call that reached this syscall's leaf of
/// the tree; returns where it begins (a bare `RET` needs no code).
///
/// A `Check` is a chain: each entry of each group, in order, tests its
/// conditions one after the other; the first that fails goes to the next
/// entry, the last that holds returns the group's action. After the last
/// entry comes `otherwise`.
pub(super) fn emit(asm: &mut Asm, decision: &Decision) -> Target {
    let (groups, otherwise) = match decision {
        Decision::Always(action) => return Target::Ret(action.ret()),
        Decision::Check { groups, otherwise } => (groups, otherwise),
    };
    // Written backwards: each entry knows where its failure goes.
    let mut next = Target::Ret(otherwise.ret());
    for group in groups.iter().rev() {
        let hit = Target::Ret(group.action.ret());
        for conds in group.entries.iter().rev() {
            let mut ok = hit;
            for c in conds.iter().rev() {
                ok = compare::emit(asm, c, ok, next);
            }
            next = ok;
        }
    }
    next
}
