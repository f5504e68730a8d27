//! How the v1 kernel folds device rules: a default (allow or deny) plus
//! exceptions, changed by each devices.allow / devices.deny write. This
//! model is the truth for three things: what devices.list must show after
//! the writes, the smallest set of writes taking a live cgroup from its
//! current rules to new ones, and the v2 eBPF program
//! ([`devices_bpf`](super::devices_bpf)).

use super::devices::{parse_access, Kind, Rule};

/// The v1 device cgroup's state: a default and exceptions to it, folded
/// the way the kernel folds devices.allow/devices.deny writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Emulator {
    pub default_allow: bool,
    /// Exceptions: allows when the default denies, denies when it allows.
    /// `allow` of each equals `!default_allow`.
    pub exceptions: Vec<Rule>,
}

impl Default for Emulator {
    /// A new v1 cgroup under the root: everything allowed.
    fn default() -> Self {
        Emulator {
            default_allow: true,
            exceptions: Vec::new(),
        }
    }
}

impl Emulator {
    /// Folds `rules` in order, starting from allow-all.
    pub(crate) fn from_rules(rules: &[Rule]) -> Self {
        let mut e = Emulator::default();
        for r in rules {
            e.apply(r);
        }
        e
    }

    /// One write to devices.allow (`r.allow`) or devices.deny.
    pub(crate) fn apply(&mut self, r: &Rule) {
        if r.kind == Kind::All {
            self.default_allow = r.allow;
            self.exceptions.clear();
            return;
        }
        if r.allow == self.default_allow {
            // Removes the bits from the exception with exactly this key.
            for ex in self.exceptions.iter_mut().filter(|ex| ex.key() == r.key()) {
                ex.access &= !r.access;
            }
            self.exceptions.retain(|ex| ex.access != 0);
        } else if let Some(ex) = self.exceptions.iter_mut().find(|ex| ex.key() == r.key()) {
            ex.access |= r.access;
        } else {
            self.exceptions.push(*r);
        }
    }

    /// Whether an access to device (`kind` Char or Block, `major`,
    /// `minor`) asking for `access` bits is allowed, as the v1 kernel decides
    /// (the reference the eBPF program is tested against).
    #[cfg(test)]
    pub(crate) fn allows(&self, kind: Kind, major: u32, minor: u32, access: u8) -> bool {
        let hits = |ex: &&Rule| {
            (ex.kind == Kind::All || ex.kind == kind)
                && ex.major.is_none_or(|m| m == major)
                && ex.minor.is_none_or(|m| m == minor)
        };
        if self.default_allow {
            // Denied when any exception covers any requested bit.
            !self
                .exceptions
                .iter()
                .filter(hits)
                .any(|ex| ex.access & access != 0)
        } else {
            // Allowed when one exception covers every requested bit.
            self.exceptions
                .iter()
                .filter(hits)
                .any(|ex| access & !ex.access == 0)
        }
    }

    /// Exceptions as a sorted list, for comparisons.
    fn sorted(&self) -> Vec<Rule> {
        let mut v = self.exceptions.clone();
        v.sort_by_key(|r| (r.kind as u8, r.major, r.minor, r.access));
        v
    }

    /// Same default and the same exceptions, in any order.
    pub(crate) fn same_as(&self, other: &Emulator) -> bool {
        self.default_allow == other.default_allow && self.sorted() == other.sorted()
    }
}

/// Parses devices.list. With an allow-all default the kernel only shows
/// "a *:* rwm" and hides the deny exceptions: `None` then, as the state is
/// not fully known.
pub(crate) fn parse_list(text: &str) -> Option<Emulator> {
    let mut e = Emulator {
        default_allow: false,
        exceptions: Vec::new(),
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let kind = match parts.next()? {
            "a" => return None,
            "c" => Kind::Char,
            "b" => Kind::Block,
            _ => return None,
        };
        let (maj, min) = parts.next()?.split_once(':')?;
        let num = |s: &str| {
            if s == "*" {
                Some(None)
            } else {
                s.parse().ok().map(Some)
            }
        };
        let access = parse_access(parts.next()?)?;
        e.exceptions.push(Rule {
            allow: true,
            kind,
            major: num(maj)?,
            minor: num(min)?,
            access,
        });
    }
    Some(e)
}

/// The writes that take a deny-by-default `current` to the deny-by-default
/// `target`: removals first, so access only ever shrinks before it grows.
fn diff(current: &Emulator, target: &Emulator) -> Vec<Rule> {
    let mut out = Vec::new();
    for ex in &current.exceptions {
        let wanted = target
            .exceptions
            .iter()
            .find(|t| t.key() == ex.key())
            .map_or(0, |t| t.access);
        let extra = ex.access & !wanted;
        if extra != 0 {
            out.push(Rule {
                allow: false,
                access: extra,
                ..*ex
            });
        }
    }
    for t in &target.exceptions {
        let have = current
            .exceptions
            .iter()
            .find(|c| c.key() == t.key())
            .map_or(0, |c| c.access);
        let missing = t.access & !have;
        if missing != 0 {
            out.push(Rule {
                allow: true,
                access: missing,
                ..*t
            });
        }
    }
    out
}

/// The writes to make for `rules` given the cgroup's devices.list text:
/// the difference when the cgroup already denies by default (a new cgroup
/// inherits its parent's list), else one deny-all and each exception of
/// the target once, instead of every rule as written (the defaults and a
/// config often repeat the same device).
pub(crate) fn plan_v1(rules: &[Rule], list: Option<&str>) -> Vec<Rule> {
    let target = Emulator::from_rules(rules);
    if target.default_allow {
        return rules.to_vec();
    }
    match list.and_then(parse_list) {
        Some(current) => diff(&current, &target),
        None => {
            let deny_all = Rule {
                allow: false,
                kind: Kind::All,
                major: None,
                minor: None,
                access: super::devices::ACC_ALL,
            };
            std::iter::once(deny_all).chain(target.exceptions).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use oci_spec::runtime::LinuxDeviceType;

    use super::super::devices::{
        merged_device_rules, oci_rule, rules, ACC_MKNOD, ACC_READ, ACC_WRITE,
    };
    use super::*;

    const F: &str = "/b/config.json";

    fn rule(allow: bool, kind: Kind, major: Option<u32>, minor: Option<u32>, access: &str) -> Rule {
        Rule {
            allow,
            kind,
            major,
            minor,
            access: parse_access(access).unwrap(),
        }
    }

    #[test]
    fn emulator_follows_the_kernel() {
        let r = rules(&merged_device_rules(&[]), Path::new(F)).unwrap();
        let e = Emulator::from_rules(&r);
        assert!(!e.default_allow);
        assert!(e.allows(Kind::Char, 1, 3, ACC_READ | ACC_WRITE));
        assert!(e.allows(Kind::Char, 136, 4, ACC_WRITE));
        assert!(e.allows(Kind::Block, 8, 0, ACC_MKNOD));
        assert!(!e.allows(Kind::Block, 8, 0, ACC_READ));
        assert!(!e.allows(Kind::Char, 1, 11, ACC_READ));
        // A deny for a key that is not an exception does not punch a hole
        // in a wildcard: "c *:* m" still lets mknod of 1:3 through.
        let mut e2 = e.clone();
        e2.apply(&rule(false, Kind::Char, Some(1), Some(3), "m"));
        assert!(e2.allows(Kind::Char, 1, 3, ACC_MKNOD));
        // No single exception covers r and m of 1:3 any more.
        assert!(!e2.allows(Kind::Char, 1, 3, ACC_READ | ACC_MKNOD));
        // Exact key: access bits are removed.
        e2.apply(&rule(false, Kind::Char, Some(1), Some(3), "w"));
        assert!(e2.allows(Kind::Char, 1, 3, ACC_READ));
        assert!(!e2.allows(Kind::Char, 1, 3, ACC_WRITE));
        // Allow-all default with a deny exception: any overlapping bit denies.
        let e3 = Emulator::from_rules(&[
            rule(true, Kind::All, None, None, "rwm"),
            rule(false, Kind::Char, Some(1), Some(3), "w"),
        ]);
        assert!(e3.allows(Kind::Char, 1, 3, ACC_READ));
        assert!(!e3.allows(Kind::Char, 1, 3, ACC_READ | ACC_WRITE));
        assert!(e3.allows(Kind::Block, 1, 3, ACC_WRITE));
    }

    #[test]
    fn devices_list_round_trip() {
        let e = parse_list("c 1:3 rwm\nc *:* m\nb 8:* r\n").unwrap();
        assert!(!e.default_allow);
        assert_eq!(e.exceptions.len(), 3);
        assert_eq!(e.exceptions[1], rule(true, Kind::Char, None, None, "m"));
        assert!(parse_list("a *:* rwm\n").is_none());
        assert_eq!(parse_list("").unwrap().exceptions.len(), 0);
    }

    #[test]
    fn first_write_is_the_whole_list_and_updates_are_diffs() {
        let r = rules(&merged_device_rules(&[]), Path::new(F)).unwrap();
        // A fresh cgroup shows allow-all: deny all, then each allowed
        // device once, which folds to the same rules.
        let fresh = plan_v1(&r, Some("a *:* rwm\n"));
        assert_eq!(fresh[0].to_string(), "a *:* rwm");
        assert!(!fresh[0].allow && fresh[1..].iter().all(|w| w.allow));
        assert!(Emulator::from_rules(&fresh).same_as(&Emulator::from_rules(&r)));
        let mut twice = r.clone();
        twice.extend_from_slice(&r[1..]);
        assert_eq!(
            plan_v1(&twice, None),
            fresh,
            "repeated rules are written once"
        );
        // Already the same: nothing to write.
        let list: String = Emulator::from_rules(&r)
            .exceptions
            .iter()
            .map(|x| format!("{x}\n"))
            .collect();
        assert!(plan_v1(&r, Some(&list)).is_empty());
        // An update adding /dev/kmsg and dropping /dev/full: one deny, one allow.
        let cfg = vec![oci_rule(true, LinuxDeviceType::C, Some(1), Some(11), "r")];
        let mut r2 = rules(&merged_device_rules(&cfg), Path::new(F)).unwrap();
        r2.retain(|x| !(x.major == Some(1) && x.minor == Some(7)));
        let plan = plan_v1(&r2, Some(&list));
        assert_eq!(
            plan.iter().map(Rule::to_string).collect::<Vec<_>>(),
            ["c 1:7 rwm", "c 1:11 r"]
        );
        assert!(!plan[0].allow && plan[1].allow);
        // Applying the diff to the old state gives the new state.
        let mut st = parse_list(&list).unwrap();
        for w in &plan {
            st.apply(w);
        }
        assert!(st.same_as(&Emulator::from_rules(&r2)));
        // A switch to allow-all is written in full.
        let all = [rule(true, Kind::All, None, None, "rwm")];
        assert_eq!(plan_v1(&all, Some(&list)), all);
    }
}
