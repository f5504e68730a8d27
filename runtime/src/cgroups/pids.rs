//! linux.resources.pids → pids.max (the same file on v1 and v2).

use std::path::Path;

use cgroups_rs::pid::PidController;
use cgroups_rs::MaxValue;
use oci_spec::runtime::LinuxPids;

use super::fs;
use crate::error::{Error, Result};

/// Checks the limit: a positive number, or -1 for unlimited.
pub(crate) fn validate(p: &LinuxPids, file: &Path) -> Result<()> {
    let v = p.limit();
    if v == 0 || v < -1 {
        return Err(Error::spec(
            file,
            "/linux/resources/pids/limit",
            format!("must be a positive number of processes or -1 (unlimited), got {v}"),
        ));
    }
    Ok(())
}

/// Writes pids.max in `dir`.
pub(crate) fn apply(dir: &Path, v2: bool, p: &LinuxPids) -> Result<()> {
    fs::require(dir, "pids.max", "pids controller not enabled")?;
    let v = p.limit();
    let max = if v == -1 {
        MaxValue::Max
    } else {
        MaxValue::Value(v)
    };
    PidController::new(dir.to_path_buf(), v2)
        .set_pid_max(max)
        .map_err(fs::rs_err(dir, "pids.max", max))
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;
    use oci_spec::runtime::LinuxPidsBuilder;

    const F: &str = "/b/config.json";

    #[test]
    fn limits() {
        for bad in [0, -2, i64::MIN] {
            let p = LinuxPidsBuilder::default().limit(bad).build().unwrap();
            let e = validate(&p, Path::new(F)).unwrap_err().to_string();
            assert!(
                e.starts_with("/b/config.json: /linux/resources/pids/limit: "),
                "{e}"
            );
        }
        let t = TestDir::new("pids");
        let d = t.cgroup("c", &["pids.max"]);
        apply(
            &d,
            false,
            &LinuxPidsBuilder::default().limit(-1).build().unwrap(),
        )
        .unwrap();
        assert_eq!(content(&d, "pids.max"), "max");
        apply(
            &d,
            true,
            &LinuxPidsBuilder::default().limit(64).build().unwrap(),
        )
        .unwrap();
        assert_eq!(content(&d, "pids.max"), "64");
    }
}
