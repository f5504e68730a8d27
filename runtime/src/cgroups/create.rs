//! Making the container's directories in every hierarchy: v1 cpuset
//! cgroups get cpus and mems from their parent (a new v1 cpuset is empty
//! and refuses tasks), cgroup v2 parents get the needed controllers in
//! their cgroup.subtree_control. Everything made is recorded so that a
//! failed create can remove it again.

use std::path::{Path, PathBuf};

use super::{fs, Cgroup, Hierarchy, Layout, Version};
use crate::error::Result;

/// Copies cpuset.cpus and cpuset.mems from the parent when `dir` has none.
fn init_cpuset(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for name in ["cpuset.cpus", "cpuset.mems"] {
        let own = fs::read(dir, name)?;
        if own.trim().is_empty() {
            let value = fs::read(parent, name)?;
            fs::write(dir, name, value.trim())?;
        }
    }
    Ok(())
}

/// Enables `needed` (an error when impossible) and, when `all` is set,
/// every other available controller (best effort) in the
/// cgroup.subtree_control of `dir`.
fn enable_controllers(dir: &Path, needed: &[String], all: bool) -> Result<()> {
    let enabled = fs::read_opt(dir, "cgroup.subtree_control").unwrap_or_default();
    let enabled: Vec<&str> = enabled.split_whitespace().collect();
    let available = fs::read_opt(dir, "cgroup.controllers").unwrap_or_default();
    let available: Vec<&str> = available.split_whitespace().collect();
    let missing: Vec<&str> = needed
        .iter()
        .map(String::as_str)
        .filter(|c| !enabled.contains(c))
        .collect();
    if let Some(c) = missing.iter().find(|c| !available.contains(c)) {
        return Err(fs::err(
            &dir.join("cgroup.controllers"),
            format!(
                "the {c} controller is not available here (available: {})",
                available.join(" ")
            ),
        ));
    }
    if !missing.is_empty() {
        let line: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
        fs::write(dir, "cgroup.subtree_control", &line.join(" ")).map_err(|e| match e {
            crate::error::Error::Cgroup { path, message } if message.contains("busy") => crate::error::Error::Cgroup {
                path,
                message: format!(
                    "{message} (the cgroup holds processes itself; cgroup v2 enables controllers only for cgroups without processes)"
                ),
            },
            e => e,
        })?;
    }
    if all {
        for c in available
            .iter()
            .filter(|c| !enabled.contains(c) && !missing.contains(c))
        {
            if let Err(e) = fs::write(dir, "cgroup.subtree_control", &format!("+{c}")) {
                tracing::debug!(error = %e, "optional controller not enabled");
            }
        }
    }
    Ok(())
}

/// Makes `h.dir` and its missing parents, pushing each made directory to
/// `created` (parents first).
fn make_hierarchy(
    h: &Hierarchy,
    layout: Layout,
    v2_needed: &[String],
    created: &mut Vec<PathBuf>,
) -> Result<()> {
    let rel = h.dir.strip_prefix(&h.mount_point).map_err(|_| {
        fs::err(
            &h.dir,
            format!("not below its hierarchy {}", h.mount_point.display()),
        )
    })?;
    let cpuset = h.version == Version::V1 && h.controllers.iter().any(|c| c == "cpuset");
    let v2 = h.version == Version::V2;
    let mut cur = h.mount_point.clone();
    for comp in rel.components() {
        if v2 && (!v2_needed.is_empty() || layout == Layout::Unified) {
            enable_controllers(&cur, v2_needed, layout == Layout::Unified)?;
        }
        cur.push(comp);
        if fs::mkdir(&cur)? {
            created.push(cur.clone());
        }
        if cpuset {
            init_cpuset(&cur)?;
        }
    }
    Ok(())
}

/// Makes the container's directory in every hierarchy of `cg`; on an
/// error, whatever was made is removed again.
pub(crate) fn make_dirs(
    cg: &Cgroup,
    v2_needed: &[String],
    created: &mut Vec<PathBuf>,
) -> Result<()> {
    for h in &cg.hierarchies {
        make_hierarchy(h, cg.layout, v2_needed, created)?;
    }
    Ok(())
}

/// Removes the directories of a failed create, children first.
pub(crate) fn rollback(created: &[PathBuf]) {
    for d in created.iter().rev() {
        if let Err(e) = fs::rmdir(d) {
            tracing::warn!(error = %e, "could not remove a cgroup of a failed create");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;

    fn hier(t: &TestDir, version: Version, mp: &str, controllers: &[&str], rel: &str) -> Hierarchy {
        let mount_point = t.path().join(mp);
        std::fs::create_dir_all(&mount_point).unwrap();
        Hierarchy {
            version,
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            dir: mount_point.join(rel),
            mount_point,
        }
    }

    #[test]
    fn dirs_are_made_and_recorded_parents_first() {
        let t = TestDir::new("create");
        let cg = Cgroup {
            layout: Layout::V1,
            hierarchies: vec![hier(&t, Version::V1, "memory", &["memory"], "a/b/c")],
        };
        t.cgroup("memory/a", &[]);
        let mut created = Vec::new();
        make_dirs(&cg, &[], &mut created).unwrap();
        assert_eq!(
            created,
            [t.path().join("memory/a/b"), t.path().join("memory/a/b/c")]
        );
        rollback(&created);
        assert!(!t.path().join("memory/a/b").exists());
        assert!(
            t.path().join("memory/a").exists(),
            "a pre-existing parent stays"
        );
    }

    #[test]
    fn v1_cpuset_is_copied_from_the_parent() {
        let t = TestDir::new("create");
        let cg = Cgroup {
            layout: Layout::V1,
            hierarchies: vec![hier(&t, Version::V1, "cpuset", &["cpuset"], "x")],
        };
        let root = t.cgroup("cpuset", &[]);
        std::fs::write(root.join("cpuset.cpus"), "0-3\n").unwrap();
        std::fs::write(root.join("cpuset.mems"), "0\n").unwrap();
        // The fake kernel: the new cgroup's files exist and are empty.
        t.cgroup("cpuset/x", &["cpuset.cpus", "cpuset.mems"]);
        let mut created = Vec::new();
        make_dirs(&cg, &[], &mut created).unwrap();
        assert_eq!(content(&root.join("x"), "cpuset.cpus"), "0-3");
        assert_eq!(content(&root.join("x"), "cpuset.mems"), "0");
    }

    #[test]
    fn v2_controllers_are_enabled_in_parents() {
        let t = TestDir::new("create");
        let cg = Cgroup {
            layout: Layout::Hybrid,
            hierarchies: vec![hier(&t, Version::V2, "unified", &["hugetlb"], "x")],
        };
        let root = t.cgroup("unified", &["cgroup.subtree_control"]);
        std::fs::write(root.join("cgroup.controllers"), "hugetlb\n").unwrap();
        let mut created = Vec::new();
        make_dirs(&cg, &["hugetlb".into()], &mut created).unwrap();
        assert_eq!(content(&root, "cgroup.subtree_control"), "+hugetlb");
        let e = make_dirs(&cg, &["memory".into()], &mut created)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the memory controller is not available here (available: hugetlb)"),
            "{e}"
        );
    }
}
