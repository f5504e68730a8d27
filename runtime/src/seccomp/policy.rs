//! What a profile decides for each syscall number, ready for code
//! generation.
//!
//! With `M` the actions of the entries matching a call and `d` the default
//! action, a profile means: `d` if `M` is empty, else the action of highest
//! kernel precedence in `M` (see [`Action::precedence`]); between actions
//! of equal precedence (ERRNO or TRACE with different data) the one whose
//! first entry comes first in the profile (libseccomp leaves overlapping
//! entries undefined; this is the order corral's stacked filters gave).
//! Per syscall this becomes a list
//! of groups, one per action, in that order: the first group with a
//! matching entry gives the result.

use std::collections::BTreeMap;

use super::action::Action;
use super::rules::{Cond, Rule};

/// The entries of one action for one syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Group {
    pub action: Action,
    /// Calls satisfying every condition of at least one list; an empty
    /// list matches every call (and is then the only one).
    pub entries: Vec<Vec<Cond>>,
}

impl Group {
    fn always(&self) -> bool {
        self.entries.iter().any(Vec::is_empty)
    }

    /// Adds an entry, keeping the list free of duplicates and subsumed ones.
    fn add(&mut self, conds: &[Cond]) {
        if self.always() {
            return;
        }
        if conds.is_empty() {
            self.entries = vec![Vec::new()];
        } else if !self.entries.iter().any(|l| l == conds) {
            self.entries.push(conds.to_vec());
        }
    }
}

/// What calls of one syscall number get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    /// This action, whatever the arguments.
    Always(Action),
    /// The action of the first group with a matching entry, else `otherwise`.
    Check {
        groups: Vec<Group>,
        otherwise: Action,
    },
}

/// The decision for every syscall number the profile names; the others
/// get `Decision::Always(default)`.
pub(super) fn decisions(default: Action, rules: &[Rule]) -> BTreeMap<u32, Decision> {
    let rank = ranking(rules);
    let mut groups: BTreeMap<u32, Vec<Group>> = BTreeMap::new();
    for r in rules {
        // Syscall numbers come from the native table: small and positive.
        for nr in r.nrs.iter().filter_map(|&nr| u32::try_from(nr).ok()) {
            let list = groups.entry(nr).or_default();
            match list.iter_mut().find(|g| g.action == r.action) {
                Some(g) => g.add(&r.conds),
                None => {
                    let mut g = Group {
                        action: r.action,
                        entries: Vec::new(),
                    };
                    g.add(&r.conds);
                    list.push(g);
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(nr, mut list)| {
            list.sort_by_key(|g| rank(g.action));
            (nr, simplify(default, list))
        })
        .collect()
}

/// The order in which the actions of matching entries win: precedence,
/// then (for ties) the position of the action's first entry.
fn ranking(rules: &[Rule]) -> impl Fn(Action) -> (u8, usize) {
    let mut first: Vec<Action> = Vec::new();
    for r in rules {
        if !first.contains(&r.action) {
            first.push(r.action);
        }
    }
    move |a: Action| {
        let at = first.iter().position(|&f| f == a).unwrap_or(usize::MAX);
        (a.precedence(), at)
    }
}

/// Drops the groups that cannot change the result of the sorted `list`.
fn simplify(default: Action, mut list: Vec<Group>) -> Decision {
    // Groups after one that always matches are never reached.
    if let Some(at) = list.iter().position(Group::always) {
        list.truncate(at + 1);
    }
    let otherwise = match list.last() {
        Some(g) if g.always() => g.action,
        _ => default,
    };
    if list.last().is_some_and(Group::always) {
        list.pop();
    }
    // "If it matches, `otherwise`; else `otherwise`."
    while list.last().is_some_and(|g| g.action == otherwise) {
        list.pop();
    }
    if list.is_empty() {
        Decision::Always(otherwise)
    } else {
        Decision::Check {
            groups: list,
            otherwise,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rules::fixtures::{eq, rule};
    use super::*;

    #[test]
    fn unconditional_entries_decide_alone() {
        let rules = [
            rule(Action::Allow, &[0, 1, 2], &[]),
            rule(Action::Errno(38), &[2], &[]),
        ];
        let d = decisions(Action::Errno(1), &rules);
        assert_eq!(d[&0], Decision::Always(Action::Allow));
        assert_eq!(d[&2], Decision::Always(Action::Errno(38)));
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn groups_follow_precedence_then_first_entry() {
        let rules = [
            rule(Action::Errno(13), &[7], &[]),
            rule(Action::Allow, &[5], &[eq(0, 1)]),
            rule(Action::Errno(38), &[5], &[eq(0, 2)]),
            rule(Action::Errno(13), &[5], &[eq(0, 3)]),
            rule(Action::KillThread, &[5], &[eq(0, 4)]),
        ];
        let Decision::Check { groups, otherwise } = &decisions(Action::Log, &rules)[&5] else {
            panic!("conditional");
        };
        let order: Vec<Action> = groups.iter().map(|g| g.action).collect();
        assert_eq!(
            order,
            [
                Action::KillThread,
                Action::Errno(13),
                Action::Errno(38),
                Action::Allow
            ]
        );
        assert_eq!(*otherwise, Action::Log);
    }

    #[test]
    fn groups_that_cannot_change_the_result_are_dropped() {
        // A conditional allow under an allow-all default.
        let d = decisions(Action::Allow, &[rule(Action::Allow, &[3], &[eq(0, 1)])]);
        assert_eq!(d[&3], Decision::Always(Action::Allow));
        // An unconditional lower action becomes the fallback.
        let rules = [
            rule(Action::Allow, &[3], &[]),
            rule(Action::Errno(1), &[3], &[eq(1, 1)]),
            rule(Action::Allow, &[3], &[eq(0, 1)]),
        ];
        let d = decisions(Action::Errno(1), &rules);
        assert_eq!(
            d[&3],
            Decision::Check {
                groups: vec![Group {
                    action: Action::Errno(1),
                    entries: vec![vec![eq(1, 1)]]
                }],
                otherwise: Action::Allow
            }
        );
    }
}
