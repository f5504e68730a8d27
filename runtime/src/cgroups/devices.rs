//! linux.resources.devices: the device access rules, and writing them to
//! a v1 devices cgroup.
//!
//! The rule list a container gets is: deny everything, then the config's
//! rules in order, then runc's default allow list (unless the config starts
//! by allowing everything). v1 writes the list to devices.deny /
//! devices.allow in order, or, when the cgroup already holds a
//! deny-by-default set (an update), only the difference (see
//! [`devices_emulator`](super::devices_emulator)), so that no running
//! process sees a moment of deny-all; then devices.list is checked against
//! what the rules must fold to.

use std::path::Path;

use cgroups_rs::devices::{DevicePermissions, DeviceType, DevicesController};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::devices_emulator::{parse_list, plan_v1, Emulator};
use super::fs;
use crate::error::{Error, Result};

/// Access bits, with the values of BPF_DEVCG_ACC_*.
pub(crate) const ACC_MKNOD: u8 = 1;
pub(crate) const ACC_READ: u8 = 2;
pub(crate) const ACC_WRITE: u8 = 4;
pub(crate) const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// Which devices a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    All,
    Char,
    Block,
}

/// One device rule; `None` major/minor is the wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl Rule {
    pub(crate) fn key(&self) -> (Kind, Option<u32>, Option<u32>) {
        (self.kind, self.major, self.minor)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_else(|| "*".into());
        let kind = match self.kind {
            Kind::All => 'a',
            Kind::Char => 'c',
            Kind::Block => 'b',
        };
        write!(
            f,
            "{kind} {}:{} {}",
            num(self.major),
            num(self.minor),
            access_str(self.access)
        )
    }
}

fn access_str(a: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
        if a & bit != 0 {
            s.push(c);
        }
    }
    s
}

pub(crate) fn parse_access(s: &str) -> Option<u8> {
    let mut a = 0;
    for c in s.chars() {
        a |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => return None,
        };
    }
    Some(a)
}

pub(crate) fn oci_rule(
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
    d.set_access(Some(access.to_string()));
    d
}

/// runc's default allow list (without /dev/net/tun).
fn default_allows() -> Vec<LinuxDeviceCgroup> {
    use LinuxDeviceType::{B, C};
    vec![
        oci_rule(true, C, None, None, "m"),
        oci_rule(true, B, None, None, "m"),
        oci_rule(true, C, Some(1), Some(3), "rwm"), // /dev/null
        oci_rule(true, C, Some(1), Some(5), "rwm"), // /dev/zero
        oci_rule(true, C, Some(1), Some(7), "rwm"), // /dev/full
        oci_rule(true, C, Some(5), Some(0), "rwm"), // /dev/tty
        oci_rule(true, C, Some(1), Some(8), "rwm"), // /dev/random
        oci_rule(true, C, Some(1), Some(9), "rwm"), // /dev/urandom
        oci_rule(true, C, Some(5), Some(1), "rwm"), // /dev/console
        oci_rule(true, C, Some(136), None, "rwm"),  // /dev/pts/*
        oci_rule(true, C, Some(5), Some(2), "rwm"), // /dev/ptmx
    ]
}

fn deny_all() -> LinuxDeviceCgroup {
    oci_rule(false, LinuxDeviceType::A, None, None, "rwm")
}

/// The default device rules: deny everything, then runc's default allow
/// list (null, zero, full, tty, random, urandom, console, ptmx, pts, and
/// mknod of any device).
pub fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    let mut v = vec![deny_all()];
    v.extend(default_allows());
    v
}

fn is_all(d: &LinuxDeviceCgroup) -> bool {
    matches!(d.typ(), None | Some(LinuxDeviceType::A)) && d.major().is_none() && d.minor().is_none()
}

/// The rules a container with linux.resources.devices `config` gets: deny
/// everything, the default allow list, then `config` in order — so a
/// config rule can deny a default device. A leading deny-all in `config`
/// (runc's and Docker's usual first rule) means "start from the defaults"
/// and is not repeated; a leading allow-all (privileged) allows everything.
pub fn merged_device_rules(config: &[LinuxDeviceCgroup]) -> Vec<LinuxDeviceCgroup> {
    let mut v = vec![deny_all()];
    match config.first() {
        Some(d) if is_all(d) && d.allow() => v.extend(config.iter().cloned()),
        Some(d) if is_all(d) => {
            v.extend(default_allows());
            v.extend(config[1..].iter().cloned());
        }
        _ => {
            v.extend(default_allows());
            v.extend(config.iter().cloned());
        }
    }
    v
}

/// Checks `config` (errors point into linux.resources.devices) and returns
/// the effective rules of [`merged_device_rules`].
pub(crate) fn effective_rules(config: &[LinuxDeviceCgroup], file: &Path) -> Result<Vec<Rule>> {
    rules(config, file)?;
    rules(&merged_device_rules(config), file)
}

fn number(v: Option<i64>, ptr: &str, file: &Path) -> Result<Option<u32>> {
    match v {
        None | Some(-1) => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| Error::spec(file, ptr, format!("not a device number or -1: {n}"))),
    }
}

/// Converts rules; rule `i` is reported as linux.resources.devices/`i`
/// (call it on the config list for meaningful pointers, as
/// [`effective_rules`] does). A missing access means "rwm".
pub(crate) fn rules(list: &[LinuxDeviceCgroup], file: &Path) -> Result<Vec<Rule>> {
    list.iter()
        .enumerate()
        .map(|(i, d)| {
            let ptr = format!("/linux/resources/devices/{i}");
            let kind = match d.typ() {
                None | Some(LinuxDeviceType::A) => Kind::All,
                Some(LinuxDeviceType::C) => Kind::Char,
                Some(LinuxDeviceType::B) => Kind::Block,
                Some(t) => {
                    return Err(Error::spec(
                        file,
                        format!("{ptr}/type"),
                        format!("{:?} is not a, b or c", t.as_str()),
                    ))
                }
            };
            let access = match d.access().as_deref() {
                None | Some("") => ACC_ALL,
                Some(s) => parse_access(s).ok_or_else(|| {
                    Error::spec(
                        file,
                        format!("{ptr}/access"),
                        format!("{s:?} is not made of r, w and m"),
                    )
                })?,
            };
            Ok(Rule {
                allow: d.allow(),
                kind,
                major: number(d.major(), &format!("{ptr}/major"), file)?,
                minor: number(d.minor(), &format!("{ptr}/minor"), file)?,
                access,
            })
        })
        .collect()
}

fn write_rule(ctl: &DevicesController, dir: &Path, r: &Rule) -> Result<()> {
    let kind = match r.kind {
        Kind::All => DeviceType::All,
        Kind::Char => DeviceType::Char,
        Kind::Block => DeviceType::Block,
    };
    let mut perms = Vec::new();
    for (bit, p) in [
        (ACC_READ, DevicePermissions::Read),
        (ACC_WRITE, DevicePermissions::Write),
        (ACC_MKNOD, DevicePermissions::MkNod),
    ] {
        if r.access & bit != 0 {
            perms.push(p);
        }
    }
    let num = |n: Option<u32>| n.map_or(-1, i64::from);
    let (file, res) = if r.allow {
        (
            "devices.allow",
            ctl.allow_device(kind, num(r.major), num(r.minor), &perms),
        )
    } else {
        (
            "devices.deny",
            ctl.deny_device(kind, num(r.major), num(r.minor), &perms),
        )
    };
    res.map_err(fs::rs_err(dir, file, r))
}

/// Applies `rules` to the v1 devices cgroup `dir` and checks that the
/// kernel ended up with exactly that rule set.
pub(crate) fn apply_v1(dir: &Path, rules: &[Rule]) -> Result<()> {
    fs::require(dir, "devices.allow", "devices controller")?;
    let ctl = DevicesController::new(dir.to_path_buf());
    let current = fs::read_opt(dir, "devices.list");
    for r in plan_v1(rules, current.as_deref()) {
        write_rule(&ctl, dir, &r)?;
    }
    let target = Emulator::from_rules(rules);
    let now = fs::read(dir, "devices.list")?;
    let ok = match parse_list(&now) {
        Some(got) => got.same_as(&target),
        None => target.default_allow && now.trim() == "a *:* rwm",
    };
    if !ok {
        let want: Vec<String> = target.exceptions.iter().map(Rule::to_string).collect();
        return Err(fs::err(
            &dir.join("devices.list"),
            format!(
                "device rules did not take effect: want default {} with [{}], kernel has [{}]",
                if target.default_allow {
                    "allow"
                } else {
                    "deny"
                },
                want.join(", "),
                now.trim().replace('\n', ", ")
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "/b/config.json";

    #[test]
    fn defaults_start_with_deny_all() {
        let d = default_device_rules();
        assert_eq!(d.len(), 12);
        assert!(!d[0].allow() && d[0].typ() == Some(LinuxDeviceType::A));
        let r = rules(&d, Path::new(F)).unwrap();
        assert_eq!(r[1].to_string(), "c *:* m");
        assert_eq!(r[2].to_string(), "b *:* m");
        assert_eq!(r[3].to_string(), "c 1:3 rwm");
        assert_eq!(r[10].to_string(), "c 136:* rwm");
        assert!(
            !r.iter()
                .any(|r| r.major == Some(10) && r.minor == Some(200)),
            "no tun by default"
        );
    }

    #[test]
    fn merged_order_is_deny_defaults_config() {
        let cfg = vec![
            oci_rule(false, LinuxDeviceType::A, None, None, "rwm"),
            oci_rule(true, LinuxDeviceType::C, Some(10), Some(200), "rwm"),
            oci_rule(false, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
        ];
        let m = merged_device_rules(&cfg);
        // The config's leading deny-all is folded into the base.
        assert_eq!(m.len(), 1 + 11 + 2);
        assert_eq!(&m[1..12], &default_allows()[..]);
        assert_eq!(&m[12..], &cfg[1..]);
        // A later deny of a default device wins: /dev/null is refused.
        let r = effective_rules(&cfg, Path::new(F)).unwrap();
        let e = Emulator::from_rules(&r);
        assert!(!e.allows(Kind::Char, 1, 3, ACC_ALL));
        assert!(e.allows(Kind::Char, 1, 5, ACC_ALL));
        // A config that starts by allowing everything gets no defaults.
        let privileged = vec![oci_rule(true, LinuxDeviceType::A, None, None, "rwm")];
        assert_eq!(merged_device_rules(&privileged).len(), 2);
    }

    #[test]
    fn bad_rules_are_spec_errors_at_their_index() {
        let cfg = vec![
            oci_rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
            oci_rule(true, LinuxDeviceType::U, Some(1), Some(3), "rwm"),
        ];
        let e = effective_rules(&cfg, Path::new(F)).unwrap_err().to_string();
        assert_eq!(
            e,
            "/b/config.json: /linux/resources/devices/1/type: \"u\" is not a, b or c"
        );
        let cfg = vec![oci_rule(true, LinuxDeviceType::C, Some(-7), Some(3), "rwm")];
        let e = effective_rules(&cfg, Path::new(F)).unwrap_err().to_string();
        assert!(e.contains("/linux/resources/devices/0/major"), "{e}");
        let cfg = vec![oci_rule(true, LinuxDeviceType::C, Some(1), Some(3), "rx")];
        let e = effective_rules(&cfg, Path::new(F)).unwrap_err().to_string();
        assert!(e.contains("/linux/resources/devices/0/access"), "{e}");
    }

    #[test]
    fn v1_writes_to_a_fake_cgroup() {
        use super::super::fs::testdir::TestDir;
        let t = TestDir::new("dev");
        let d = t.cgroup("c", &["devices.allow", "devices.deny"]);
        // What a new cgroup under the root shows.
        std::fs::write(d.join("devices.list"), "a *:* rwm\n").unwrap();
        // The fake kernel never updates devices.list, so the final check fails
        // and names what it wanted.
        let r = rules(&merged_device_rules(&[]), Path::new(F)).unwrap();
        let e = apply_v1(&d, &r).unwrap_err().to_string();
        assert!(e.contains("device rules did not take effect: want default deny with [c *:* m, b *:* m, c 1:3 rwm"), "{e}");
        // The last write went to devices.allow (each write truncates).
        assert_eq!(
            std::fs::read_to_string(d.join("devices.allow")).unwrap(),
            "c 5:2 rwm"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("devices.deny")).unwrap(),
            "a *:* rwm"
        );
    }
}
