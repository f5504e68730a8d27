//! The balanced decision tree on the syscall number.
//!
//! Consecutive syscall numbers with the same decision form a range; a
//! binary search over the ranges (one `JGE` per inner node) reaches a
//! range's leaf in about log2(ranges) compares, where a linear program
//! compares with every syscall the profile names before it.

use std::collections::BTreeMap;

use super::asm::{Asm, Target};
use super::bpf::JGE_K;
use super::leaf;
use super::policy::Decision;

/// The numbers from `lo` up to the next range's `lo` (or `u32::MAX`),
/// and their decision.
pub(super) type Range<'a> = (u32, &'a Decision);

/// Splits the syscall numbers into ranges: `decisions` for the numbers
/// named, `fallback` for all others. Neighbours differ.
pub(super) fn ranges<'a>(
    decisions: &'a BTreeMap<u32, Decision>,
    fallback: &'a Decision,
) -> Vec<Range<'a>> {
    let mut starts: BTreeMap<u32, &Decision> = BTreeMap::from([(0, fallback)]);
    starts.extend(decisions.iter().map(|(&nr, d)| (nr, d)));
    for &nr in decisions.keys() {
        if let Some(after) = nr.checked_add(1) {
            starts.entry(after).or_insert(fallback);
        }
    }
    let mut out: Vec<Range<'a>> = Vec::with_capacity(starts.len());
    for (lo, d) in starts {
        if out.last().is_none_or(|&(_, last)| last != d) {
            out.push((lo, d));
        }
    }
    out
}

/// Writes the tree over `ranges` (sorted, together covering the numbers
/// that reach it) and the leaves below; returns where it begins. The
/// syscall number must be in A.
pub(super) fn emit(asm: &mut Asm, ranges: &[Range<'_>]) -> Target {
    match ranges {
        // Not produced by `ranges`; refuse rather than allow.
        [] => Target::Ret(libc::SECCOMP_RET_KILL_PROCESS),
        [(_, decision)] => leaf::emit(asm, decision),
        _ => {
            let (below, above) = ranges.split_at(ranges.len() / 2);
            // Backwards: the upper half lies after the lower one, which
            // follows the compare directly.
            let high = emit(asm, above);
            let low = emit(asm, below);
            Target::At(asm.jump(JGE_K, above[0].0, high, low))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::action::Action;
    use super::*;

    #[test]
    fn ranges_merge_neighbours_with_the_same_decision() {
        let allow = Decision::Always(Action::Allow);
        let deny = Decision::Always(Action::Errno(1));
        let d = BTreeMap::from([
            (0, allow.clone()),
            (1, allow.clone()),
            (3, allow.clone()),
            (4, deny.clone()),
            (9, allow.clone()),
        ]);
        let r: Vec<(u32, Decision)> = ranges(&d, &deny)
            .into_iter()
            .map(|(lo, d)| (lo, d.clone()))
            .collect();
        assert_eq!(
            r,
            [
                (0, allow.clone()),
                (2, deny.clone()),
                (3, allow.clone()),
                (4, deny.clone()),
                (9, allow),
                (10, deny)
            ]
        );
    }

    #[test]
    fn the_last_number_needs_no_range_after_it() {
        let allow = Decision::Always(Action::Allow);
        let deny = Decision::Always(Action::Errno(1));
        let d = BTreeMap::from([(u32::MAX, allow.clone())]);
        let r = ranges(&d, &deny);
        assert_eq!(r, [(0, &deny), (u32::MAX, &allow)]);
    }
}
