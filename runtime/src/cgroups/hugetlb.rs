//! linux.resources.hugepageLimits → hugetlb.<size>.limit_in_bytes (v1) or
//! hugetlb.<size>.max (v2), plus the matching `rsvd` file when the kernel
//! has one, so reservations are limited too (as runc does).
//!
//! Written directly: cgroups-rs's HugeTlbController reads
//! /sys/kernel/mm/hugepages with an unwrap when it is constructed.

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use super::fs;
use crate::error::{Error, Result};

const P: &str = "/linux/resources/hugepageLimits";

/// Whether `size` looks like a kernel page size name: digits then KB, MB, GB...
fn valid_size(size: &str) -> bool {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["KB", "MB", "GB", "TB", "PB"].contains(&unit)
}

/// Checks page size names and limits.
pub(crate) fn validate(limits: &[LinuxHugepageLimit], file: &Path) -> Result<()> {
    for (i, l) in limits.iter().enumerate() {
        if !valid_size(l.page_size()) {
            return Err(Error::spec(
                file,
                format!("{P}/{i}/pageSize"),
                format!(
                    "{:?} is not a page size like \"2MB\" or \"1GB\"",
                    l.page_size()
                ),
            ));
        }
        if l.limit() < 0 {
            return Err(Error::spec(
                file,
                format!("{P}/{i}/limit"),
                format!("must not be negative, got {}", l.limit()),
            ));
        }
    }
    Ok(())
}

/// The page sizes `dir` offers, for messages.
fn sizes(dir: &Path, suffix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let size = name.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
                    (!size.contains('.')).then(|| size.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Writes the limits to the hugetlb cgroup `dir`.
pub(crate) fn apply(
    dir: &Path,
    v2: bool,
    limits: &[LinuxHugepageLimit],
    file: &Path,
) -> Result<()> {
    let suffix = if v2 { ".max" } else { ".limit_in_bytes" };
    for (i, l) in limits.iter().enumerate() {
        let size = l.page_size();
        let name = format!("hugetlb.{size}{suffix}");
        if !fs::has(dir, &name) {
            return Err(Error::spec(
                file,
                format!("{P}/{i}/pageSize"),
                format!(
                    "hugepage size {size} is not supported here (supported: {})",
                    sizes(dir, suffix).join(", ")
                ),
            ));
        }
        let value = l.limit().to_string();
        fs::write(dir, &name, &value)?;
        let rsvd = format!("hugetlb.{size}.rsvd{suffix}");
        if fs::has(dir, &rsvd) {
            fs::write(dir, &rsvd, &value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;
    use oci_spec::runtime::LinuxHugepageLimitBuilder;

    const F: &str = "/b/config.json";

    fn lim(size: &str, limit: i64) -> LinuxHugepageLimit {
        LinuxHugepageLimitBuilder::default()
            .page_size(size)
            .limit(limit)
            .build()
            .unwrap()
    }

    #[test]
    fn page_size_names() {
        assert!(valid_size("2MB") && valid_size("1GB") && valid_size("64KB"));
        assert!(
            !valid_size("2M") && !valid_size("MB") && !valid_size("2 MB") && !valid_size("2MiB")
        );
        let e = validate(&[lim("2MB", 0), lim("huge", 1)], Path::new(F))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/linux/resources/hugepageLimits/1/pageSize"),
            "{e}"
        );
        let e = validate(&[lim("2MB", -1)], Path::new(F))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/linux/resources/hugepageLimits/0/limit"), "{e}");
    }

    #[test]
    fn v1_and_v2_files() {
        let t = TestDir::new("hugetlb");
        let d = t.cgroup(
            "v1",
            &[
                "hugetlb.2MB.limit_in_bytes",
                "hugetlb.1GB.limit_in_bytes",
                "hugetlb.2MB.rsvd.limit_in_bytes",
            ],
        );
        apply(&d, false, &[lim("2MB", 4 << 20)], Path::new(F)).unwrap();
        assert_eq!(content(&d, "hugetlb.2MB.limit_in_bytes"), "4194304");
        assert_eq!(content(&d, "hugetlb.2MB.rsvd.limit_in_bytes"), "4194304");
        let e = apply(&d, false, &[lim("16GB", 0)], Path::new(F))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("16GB is not supported here (supported: 1GB, 2MB)"),
            "{e}"
        );
        let d = t.cgroup("v2", &["hugetlb.2MB.max"]);
        apply(&d, true, &[lim("2MB", 0)], Path::new(F)).unwrap();
        assert_eq!(content(&d, "hugetlb.2MB.max"), "0");
    }
}
