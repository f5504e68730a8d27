//! Reads `linux.seccomp.syscalls` into rules for the native architecture.

use std::path::Path;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompArg, LinuxSeccompOperator};
#[cfg(test)]
use seccompiler::{BackendError, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition};

use super::action::Action;
use super::arch;
use crate::error::{Error, Result};

/// The highest syscall argument index.
const MAX_ARG_INDEX: usize = 5;

/// A comparison operator; MASKED_EQ carries its mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq(u64),
}

/// One argument condition, compared on all 64 bits like libseccomp does on
/// 64-bit architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cond {
    pub index: u8,
    pub op: Op,
    pub value: u64,
}

impl Cond {
    /// Whether argument value `arg` satisfies the condition: the meaning
    /// the compiled compares are tested against.
    #[cfg(test)]
    pub(super) fn holds(&self, arg: u64) -> bool {
        match self.op {
            Op::Ne => arg != self.value,
            Op::Lt => arg < self.value,
            Op::Le => arg <= self.value,
            Op::Eq => arg == self.value,
            Op::Ge => arg >= self.value,
            Op::Gt => arg > self.value,
            // libseccomp: "the masked argument value is equal to the masked
            // datum value", which is also what seccompiler emits.
            Op::MaskedEq(mask) => arg & mask == self.value & mask,
        }
    }

    /// seccompiler's form of the condition (for the reference in `stack`).
    #[cfg(test)]
    pub(super) fn to_seccompiler(self) -> std::result::Result<SeccompCondition, BackendError> {
        let op = match self.op {
            Op::Ne => SeccompCmpOp::Ne,
            Op::Lt => SeccompCmpOp::Lt,
            Op::Le => SeccompCmpOp::Le,
            Op::Eq => SeccompCmpOp::Eq,
            Op::Ge => SeccompCmpOp::Ge,
            Op::Gt => SeccompCmpOp::Gt,
            Op::MaskedEq(mask) => SeccompCmpOp::MaskedEq(mask),
        };
        SeccompCondition::new(self.index, SeccompCmpArgLen::Qword, op, self.value)
    }
}

/// One entry of `syscalls`, resolved: its action applies to the calls of
/// `nrs` whose arguments satisfy every condition in `conds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    pub action: Action,
    pub nrs: Vec<i64>,
    pub conds: Vec<Cond>,
}

/// The entries of a profile, plus the names the native table does not know.
#[derive(Debug, Default)]
pub(super) struct Rules {
    pub rules: Vec<Rule>,
    pub unknown: Vec<String>,
}

/// Validates and resolves every entry of `seccomp.syscalls`.
pub(super) fn parse(seccomp: &LinuxSeccomp, file: &Path) -> Result<Rules> {
    let mut out = Rules::default();
    let entries = seccomp.syscalls().as_deref().unwrap_or_default();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("/linux/seccomp/syscalls/{i}");
        if entry.names().is_empty() {
            return Err(Error::spec(
                file,
                format!("{at}/names"),
                "must name at least one syscall",
            ));
        }
        let action = Action::from_oci(
            entry.action(),
            entry.errno_ret(),
            file,
            &format!("{at}/action"),
            &format!("{at}/errnoRet"),
        )?;
        let args = entry.args().as_deref().unwrap_or_default();
        let conds = args
            .iter()
            .enumerate()
            .map(|(j, arg)| condition(arg, file, &format!("{at}/args/{j}")))
            .collect::<Result<Vec<_>>>()?;
        let mut nrs = Vec::with_capacity(entry.names().len());
        for name in entry.names() {
            match arch::syscall_number(name) {
                Some(nr) if !nrs.contains(&nr) => nrs.push(nr),
                Some(_) => {}
                None if out.unknown.contains(name) => {}
                None => out.unknown.push(name.clone()),
            }
        }
        if !nrs.is_empty() {
            out.rules.push(Rule { action, nrs, conds });
        }
    }
    Ok(out)
}

/// Translates one argument condition found at `at`.
fn condition(arg: &LinuxSeccompArg, file: &Path, at: &str) -> Result<Cond> {
    let index = match u8::try_from(arg.index()) {
        Ok(i) if arg.index() <= MAX_ARG_INDEX => i,
        _ => {
            return Err(Error::spec(
                file,
                format!("{at}/index"),
                format!(
                    "argument index {} is out of range 0..={MAX_ARG_INDEX}",
                    arg.index()
                ),
            ))
        }
    };
    let (op, value) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (Op::Ne, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => (Op::Lt, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => (Op::Le, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => (Op::Eq, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => (Op::Ge, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => (Op::Gt, arg.value()),
        // value is the mask, valueTwo the datum; runc passes a missing
        // valueTwo as 0, so "no bit of the mask set".
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            (Op::MaskedEq(arg.value()), arg.value_two().unwrap_or(0))
        }
    };
    Ok(Cond { index, op, value })
}

/// Rules and conditions written shortly, for the compilers' tests.
#[cfg(test)]
pub(super) mod fixtures {
    use super::*;

    pub fn rule(action: Action, nrs: &[i64], conds: &[Cond]) -> Rule {
        Rule {
            action,
            nrs: nrs.to_vec(),
            conds: conds.to_vec(),
        }
    }

    pub fn eq(index: u8, value: u64) -> Cond {
        Cond {
            index,
            op: Op::Eq,
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSyscallBuilder};
    use LinuxSeccompOperator as O;

    fn arg(index: usize, op: O, value: u64, value_two: Option<u64>) -> LinuxSeccompArg {
        let b = LinuxSeccompArgBuilder::default()
            .index(index)
            .op(op)
            .value(value);
        match value_two {
            Some(v) => b.value_two(v).build().unwrap(),
            None => b.build().unwrap(),
        }
    }

    fn profile(names: &[&str], args: Vec<LinuxSeccompArg>) -> LinuxSeccomp {
        let call = LinuxSyscallBuilder::default()
            .names(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .action(oci_spec::runtime::LinuxSeccompAction::ScmpActAllow)
            .args(args)
            .build()
            .unwrap();
        LinuxSeccompBuilder::default()
            .default_action(oci_spec::runtime::LinuxSeccompAction::ScmpActErrno)
            .syscalls(vec![call.clone(), call])
            .build()
            .unwrap()
    }

    #[test]
    fn operators_map_and_evaluate() {
        let c = |op, v, v2| condition(&arg(2, op, v, v2), Path::new("f"), "/a").unwrap();
        assert_eq!(
            c(O::ScmpCmpNe, 5, None),
            Cond {
                index: 2,
                op: Op::Ne,
                value: 5
            }
        );
        assert_eq!(c(O::ScmpCmpLt, 5, None).op, Op::Lt);
        assert_eq!(c(O::ScmpCmpLe, 5, None).op, Op::Le);
        assert_eq!(
            c(O::ScmpCmpEq, 5, Some(9)),
            Cond {
                index: 2,
                op: Op::Eq,
                value: 5
            }
        );
        assert_eq!(c(O::ScmpCmpGe, 5, None).op, Op::Ge);
        assert_eq!(c(O::ScmpCmpGt, 5, None).op, Op::Gt);
        let masked = c(O::ScmpCmpMaskedEq, 0xf0, Some(0x30));
        assert_eq!(
            masked,
            Cond {
                index: 2,
                op: Op::MaskedEq(0xf0),
                value: 0x30
            }
        );
        assert!(masked.holds(0x3f) && !masked.holds(0x4f));
        // runc: a missing valueTwo is 0.
        let no_two = c(O::ScmpCmpMaskedEq, 0x7E02_0000, None);
        assert_eq!(no_two.value, 0);
        assert!(no_two.holds(0x11) && !no_two.holds(0x2000_0011));
    }

    #[test]
    fn argument_index_above_5_is_an_error_at_its_pointer() {
        let p = profile(
            &["read"],
            vec![arg(0, O::ScmpCmpEq, 1, None), arg(6, O::ScmpCmpEq, 1, None)],
        );
        let e = parse(&p, Path::new("/b/config.json"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "/b/config.json: /linux/seccomp/syscalls/0/args/1/index: argument index 6 is out of range 0..=5"
        );
    }

    #[test]
    fn unknown_names_are_collected_once_and_skipped() {
        let p = profile(&["read", "no_such_syscall", "read"], vec![]);
        let r = parse(&p, Path::new("f")).unwrap();
        assert_eq!(r.unknown, vec!["no_such_syscall".to_string()]);
        assert_eq!(r.rules.len(), 2);
        assert_eq!(r.rules[0].nrs, vec![arch::syscall_number("read").unwrap()]);
        let only_unknown = profile(&["no_such_syscall"], vec![]);
        assert!(parse(&only_unknown, Path::new("f"))
            .unwrap()
            .rules
            .is_empty());
    }

    #[test]
    fn empty_names_is_an_error() {
        let p = profile(&[], vec![]);
        let e = parse(&p, Path::new("f")).unwrap_err().to_string();
        assert_eq!(
            e,
            "f: /linux/seccomp/syscalls/0/names: must name at least one syscall"
        );
    }
}
