//! The former compilation: a profile split into stacked single-action
//! filters compiled by seccompiler. Test-only: it is the reference the
//! single program of `program` is checked against (`tests/equivalence.rs`).
//!
//! seccompiler's `SeccompFilter` has one match action and one mismatch
//! action, while a profile mixes actions. The kernel runs every installed
//! filter and keeps the result of highest precedence (see
//! [`Action::precedence`]). So, with `M` the set of actions of the entries
//! that match a call and `d` the default action, a profile means:
//! "`d` if `M` is empty, else the action of highest precedence in `M`", and
//! it was built from:
//!
//! - one filter per distinct non-ALLOW action `a`: match its entries → `a`,
//!   otherwise ALLOW. It yields `a` exactly when `a ∈ M`;
//! - unless `d` is ALLOW, a default filter: match any entry (of any action)
//!   → ALLOW, otherwise `d`. It yields `d` exactly when `M` is empty.
//!
//! The kernel's maximum over these is `d` when `M` is empty (the others
//! allow) and `max(M)` otherwise (ALLOW has the lowest precedence). One
//! saving: a syscall with an unconditional entry whose action is `d` is left
//! out of the default filter (which then yields `d` for it, correct since
//! `d ∈ M`), and the filter of action `d` is not needed for it.
//!
//! Ties: the kernel keeps the first result of highest precedence, running
//! the most recently installed filter first; only ERRNO and TRACE with
//! different data can tie. The filters of actions are installed in reverse
//! order of their first entry, so the action whose first entry comes first
//! wins. The default filter never ties: it yields `d` only when no entry
//! matches, or for a syscall left out above, which is only done when no
//! entry of that syscall has a tying action.
//!
//! Installation: each filter was installed by a seccomp(2) call that the
//! filters already installed check. The one filter that may refuse that
//! call was installed last ([`order_for_install`]), which could override
//! the tie order for its action; a profile where two filters may refuse it
//! was an error. One program has none of these constraints.

use std::collections::{BTreeMap, BTreeSet};

use seccompiler::{BackendError, BpfProgram, SeccompFilter, SeccompRule, TargetArch};

use super::action::Action;
use super::bpf::{JEQ_K, JGE_K, LD_W_ABS, OFFSET_ARCH, OFFSET_NR, RET_K, X32_SYSCALL_BIT};
use super::rules::{Cond, Rule};

/// Which calls of one syscall a filter matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Match {
    /// Every call.
    Always,
    /// Calls satisfying all conditions of at least one of these lists.
    AnyOf(Vec<Vec<Cond>>),
}

/// The calls a filter matches, per syscall number.
pub(super) type RuleSet = BTreeMap<i64, Match>;

/// A single-action filter: `on_match` for the calls in `rules`, else `on_mismatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Filter {
    pub rules: RuleSet,
    pub on_match: Action,
    pub on_mismatch: Action,
}

/// Adds the calls of `nr` satisfying `conds` to `set`.
fn add(set: &mut RuleSet, nr: i64, conds: &[Cond]) {
    if conds.is_empty() {
        set.insert(nr, Match::Always);
        return;
    }
    match set.entry(nr).or_insert_with(|| Match::AnyOf(Vec::new())) {
        Match::Always => {}
        Match::AnyOf(lists) => {
            if !lists.iter().any(|l| l == conds) {
                lists.push(conds.to_vec());
            }
        }
    }
}

/// The filters for a profile, in installation order.
pub(super) fn plan(default: Action, rules: &[Rule]) -> Vec<Filter> {
    // Syscalls the default filter can leave to its mismatch action.
    let folded: BTreeSet<i64> = if default == Action::Allow {
        BTreeSet::new()
    } else {
        rules
            .iter()
            .filter(|r| r.action == default && r.conds.is_empty())
            .flat_map(|r| r.nrs.iter().copied())
            .filter(|nr| {
                !rules
                    .iter()
                    .any(|r| r.action.ties_with(default) && r.nrs.contains(nr))
            })
            .collect()
    };

    let mut actions: Vec<Action> = Vec::new();
    for r in rules {
        if r.action != Action::Allow && !actions.contains(&r.action) {
            actions.push(r.action);
        }
    }

    let mut filters = Vec::with_capacity(actions.len() + 1);
    for &action in actions.iter().rev() {
        let mut set = RuleSet::new();
        for r in rules.iter().filter(|r| r.action == action) {
            for &nr in &r.nrs {
                if !(action == default && folded.contains(&nr)) {
                    add(&mut set, nr, &r.conds);
                }
            }
        }
        if !set.is_empty() {
            filters.push(Filter {
                rules: set,
                on_match: action,
                on_mismatch: Action::Allow,
            });
        }
    }
    if default != Action::Allow {
        let mut set = RuleSet::new();
        for r in rules {
            for &nr in r.nrs.iter().filter(|nr| !folded.contains(nr)) {
                add(&mut set, nr, &r.conds);
            }
        }
        filters.push(Filter {
            rules: set,
            on_match: Action::Allow,
            on_mismatch: default,
        });
    }
    filters
}

/// What is known about whether `conds` hold for the call installing the
/// next filter, `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`: only
/// arguments 0 and 1 are known.
fn install_call_satisfies(conds: &[Cond], flags: u64) -> Option<bool> {
    let mut known = Some(true);
    for c in conds {
        let arg = match c.index {
            0 => u64::from(libc::SECCOMP_SET_MODE_FILTER),
            1 => flags,
            _ => {
                known = None;
                continue;
            }
        };
        if !c.holds(arg) {
            return Some(false);
        }
    }
    known
}

impl Filter {
    /// Whether this filter may refuse the seccomp(2) call that installs the
    /// next one (`seccomp` is that syscall's native number).
    fn may_refuse_install(&self, seccomp: i64, flags: u64) -> bool {
        let matched = match self.rules.get(&seccomp) {
            None => Some(false),
            Some(Match::Always) => Some(true),
            Some(Match::AnyOf(lists)) => {
                let each: Vec<_> = lists
                    .iter()
                    .map(|l| install_call_satisfies(l, flags))
                    .collect();
                if each.contains(&Some(true)) {
                    Some(true)
                } else if each.iter().all(|v| *v == Some(false)) {
                    Some(false)
                } else {
                    None
                }
            }
        };
        (matched != Some(false) && self.on_match != Action::Allow)
            || (matched != Some(true) && self.on_mismatch != Action::Allow)
    }

    /// Compiles the filter with seccompiler for `arch`.
    pub(super) fn compile(&self, arch: TargetArch) -> Result<BpfProgram, BackendError> {
        let mut rules = BTreeMap::new();
        for (&nr, m) in &self.rules {
            let chain = match m {
                Match::Always => Vec::new(),
                Match::AnyOf(lists) => lists
                    .iter()
                    .map(|l| {
                        let conds = l
                            .iter()
                            .map(|c| c.to_seccompiler())
                            .collect::<Result<_, _>>()?;
                        SeccompRule::new(conds)
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            rules.insert(nr, chain);
        }
        let filter = SeccompFilter::new(
            rules,
            self.on_mismatch.to_seccompiler(),
            self.on_match.to_seccompiler(),
            arch,
        )?;
        BpfProgram::try_from(filter)
    }
}

/// Filters are installed one seccomp(2) call at a time, each call being
/// checked by the filters already installed: the filter that may refuse
/// that call goes last. `Err` when more than one may.
pub(super) fn order_for_install(
    filters: &mut Vec<Filter>,
    seccomp: Option<i64>,
    flags: u64,
) -> Result<(), usize> {
    let Some(nr) = seccomp else {
        return Ok(());
    };
    let blockers: Vec<usize> = (0..filters.len())
        .filter(|&i| filters[i].may_refuse_install(nr, flags))
        .collect();
    match blockers[..] {
        [] => Ok(()),
        [one] => {
            let f = filters.remove(one);
            filters.push(f);
            Ok(())
        }
        _ => Err(blockers.len()),
    }
}

/// The programs the former code installed, in installation order: the
/// filters of [`plan`] (reordered by [`order_for_install`] when
/// `reorder`), the first one guarded against x32 syscalls; one guard
/// program when there is no filter.
pub(super) fn programs(
    default: Action,
    rules: &[Rule],
    reorder: bool,
) -> Result<Vec<Vec<libc::sock_filter>>, String> {
    let mut filters = plan(default, rules);
    if reorder {
        let seccomp = super::arch::syscall_number("seccomp");
        order_for_install(&mut filters, seccomp, 0).map_err(|n| format!("{n} blockers"))?;
    }
    let target = super::arch::target().ok_or("no target")?;
    let mut programs = Vec::with_capacity(filters.len().max(1));
    for f in &filters {
        programs.push(to_libc(&f.compile(target).map_err(|e| e.to_string())?));
    }
    match programs.first_mut() {
        Some(first) => {
            let mut guarded = x32_guard();
            guarded.append(first);
            *first = guarded;
        }
        None => programs.push(allow_native()),
    }
    Ok(programs)
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// Kills the process for x32 syscalls, falls through otherwise.
fn x32_guard() -> Vec<libc::sock_filter> {
    if cfg!(target_arch = "x86_64") {
        vec![
            stmt(LD_W_ABS, OFFSET_NR),
            libc::sock_filter {
                code: JGE_K,
                jt: 0,
                jf: 1,
                k: X32_SYSCALL_BIT,
            },
            stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        ]
    } else {
        Vec::new()
    }
}

/// Kills foreign-architecture and x32 syscalls, allows everything else.
fn allow_native() -> Vec<libc::sock_filter> {
    let mut p = vec![
        stmt(LD_W_ABS, OFFSET_ARCH),
        libc::sock_filter {
            code: JEQ_K,
            jt: 1,
            jf: 0,
            k: super::arch::AUDIT_ARCH,
        },
        stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
    ];
    p.extend(x32_guard());
    p.push(stmt(RET_K, libc::SECCOMP_RET_ALLOW));
    p
}

/// seccompiler's instructions as `libc::sock_filter`, field by field.
fn to_libc(program: &[seccompiler::sock_filter]) -> Vec<libc::sock_filter> {
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
    use super::super::rules::fixtures::{eq, rule};
    use super::*;

    const SECCOMP: i64 = 9999;

    #[test]
    fn docker_shape_is_two_filters() {
        let rules = [
            rule(Action::Allow, &[0, 1, 2], &[]),
            rule(Action::Allow, &[56], &[eq(0, 17)]),
            rule(Action::Errno(38), &[435], &[]),
        ];
        let f = plan(Action::Errno(1), &rules);
        assert_eq!(f.len(), 2);
        assert_eq!(
            (f[0].on_match, f[0].on_mismatch),
            (Action::Errno(38), Action::Allow)
        );
        assert_eq!(f[0].rules.keys().copied().collect::<Vec<_>>(), vec![435]);
        assert_eq!(
            (f[1].on_match, f[1].on_mismatch),
            (Action::Allow, Action::Errno(1))
        );
        assert_eq!(
            f[1].rules.keys().copied().collect::<Vec<_>>(),
            vec![0, 1, 2, 56, 435]
        );
    }

    #[test]
    fn unconditional_entries_of_the_default_action_fold_into_the_default_filter() {
        let rules = [
            rule(Action::Allow, &[0, 1], &[]),
            rule(Action::Errno(1), &[1], &[]),
        ];
        let f = plan(Action::Errno(1), &rules);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rules.keys().copied().collect::<Vec<_>>(), vec![0]);
        // Not when another errno could tie on the same syscall.
        let rules = [
            rule(Action::Errno(1), &[1], &[]),
            rule(Action::Errno(13), &[1], &[eq(0, 0)]),
        ];
        assert_eq!(plan(Action::Errno(1), &rules).len(), 3);
    }

    #[test]
    fn allow_default_needs_no_default_filter() {
        assert!(plan(Action::Allow, &[rule(Action::Allow, &[0], &[])]).is_empty());
        let f = plan(Action::Allow, &[rule(Action::Log, &[0], &[])]);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].on_match, f[0].on_mismatch),
            (Action::Log, Action::Allow)
        );
    }

    #[test]
    fn unconditional_rule_absorbs_conditional_ones() {
        let mut set = RuleSet::new();
        add(&mut set, 5, &[eq(0, 1)]);
        add(&mut set, 5, &[eq(0, 1)]);
        assert_eq!(set[&5], Match::AnyOf(vec![vec![eq(0, 1)]]));
        add(&mut set, 5, &[]);
        add(&mut set, 5, &[eq(0, 2)]);
        assert_eq!(set[&5], Match::Always);
    }

    #[test]
    fn the_filter_refusing_seccomp_goes_last() {
        let rules = [
            rule(Action::Errno(1), &[SECCOMP, 7], &[]),
            rule(Action::KillProcess, &[8], &[]),
        ];
        let mut f = plan(Action::Allow, &rules);
        assert_eq!(f[1].on_match, Action::Errno(1));
        order_for_install(&mut f, Some(SECCOMP), 0).unwrap();
        assert_eq!(f[1].on_match, Action::Errno(1));
        let rules = [
            rule(Action::KillProcess, &[8], &[]),
            rule(Action::Errno(1), &[SECCOMP, 7], &[]),
        ];
        let mut f = plan(Action::Allow, &rules);
        assert_eq!(f[0].on_match, Action::Errno(1));
        order_for_install(&mut f, Some(SECCOMP), 0).unwrap();
        assert_eq!(f[1].on_match, Action::Errno(1));
    }

    #[test]
    fn install_call_arguments_are_taken_into_account() {
        // SECCOMP_SET_MODE_STRICT (0) refused: the install call (1) is not.
        let rules = [
            rule(Action::KillProcess, &[SECCOMP], &[eq(0, 0)]),
            rule(Action::Allow, &[SECCOMP], &[]),
        ];
        let mut f = plan(Action::Errno(1), &rules);
        assert!(f.iter().all(|f| !f.may_refuse_install(SECCOMP, 0)));
        order_for_install(&mut f, Some(SECCOMP), 0).unwrap();
        // A condition on the filter pointer (arg 2) cannot be decided.
        let rules = [rule(Action::Allow, &[SECCOMP], &[eq(0, 1), eq(2, 0)])];
        assert!(plan(Action::Errno(1), &rules)[0].may_refuse_install(SECCOMP, 0));
        let rules = [rule(Action::Allow, &[SECCOMP], &[eq(0, 1), eq(1, 2)])];
        assert!(plan(Action::Errno(1), &rules)[0].may_refuse_install(SECCOMP, 0));
        assert!(!plan(Action::Errno(1), &rules)[0].may_refuse_install(SECCOMP, 2));
    }

    #[test]
    fn two_filters_refusing_seccomp_cannot_be_installed() {
        let rules = [
            rule(Action::KillProcess, &[SECCOMP], &[eq(3, 0)]),
            rule(Action::Allow, &[SECCOMP], &[eq(3, 1)]),
        ];
        let mut f = plan(Action::Errno(1), &rules);
        assert_eq!(order_for_install(&mut f, Some(SECCOMP), 0), Err(2));
    }
}
