//! linux.resources.unified: raw cgroup v2 files, written last so they win
//! over the translated settings (as runc does).

use std::collections::HashMap;
use std::path::Path;

use super::fs;
use crate::error::{Error, Result};

/// The JSON pointer of key `k`.
pub(crate) fn pointer(k: &str) -> String {
    format!(
        "/linux/resources/unified/{}",
        k.replace('~', "~0").replace('/', "~1")
    )
}

/// Refuses keys that are not a plain file name in the container's cgroup.
pub(crate) fn validate(u: &HashMap<String, String>, file: &Path) -> Result<()> {
    for k in u.keys() {
        if k.is_empty() || k.contains('/') || k == "." || k == ".." || k.contains('\0') {
            return Err(Error::spec(
                file,
                pointer(k),
                format!("{k:?} is not a cgroup file name"),
            ));
        }
        if [
            "cgroup.procs",
            "cgroup.threads",
            "cgroup.subtree_control",
            "cgroup.kill",
            "cgroup.freeze",
        ]
        .contains(&k.as_str())
        {
            return Err(Error::spec(
                file,
                pointer(k),
                format!("{k} is managed by the runtime"),
            ));
        }
    }
    Ok(())
}

/// The controllers the keys belong to ("memory" for "memory.high"), for
/// enabling them in the parents; core `cgroup.*` files need none.
pub(crate) fn controllers(u: &HashMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = u
        .keys()
        .filter_map(|k| k.split_once('.').map(|(c, _)| c.to_string()))
        .filter(|c| c != "cgroup")
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Writes every key, in name order, to the cgroup v2 directory `dir`.
pub(crate) fn apply(dir: &Path, u: &HashMap<String, String>, file: &Path) -> Result<()> {
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    for k in keys {
        let Some(v) = u.get(k) else { continue };
        if !fs::has(dir, k) {
            let hint = k
                .split_once('.')
                .map(|(c, _)| format!(" (is the {c} controller available?)"))
                .unwrap_or_default();
            return Err(Error::spec(
                file,
                pointer(k),
                format!("no such file in {}{hint}", dir.display()),
            ));
        }
        fs::write(dir, k, v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;

    fn map(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keys_are_plain_file_names() {
        for k in ["../memory.max", "a/b", "..", "", "cgroup.procs"] {
            let e = validate(&map(&[(k, "1")]), Path::new("/c.json"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("/linux/resources/unified/"), "{k}: {e}");
        }
        validate(
            &map(&[("memory.high", "1"), ("cgroup.max.depth", "3")]),
            Path::new("/c.json"),
        )
        .unwrap();
    }

    #[test]
    fn writes_and_controllers() {
        let u = map(&[
            ("memory.high", "4096"),
            ("pids.max", "9"),
            ("cgroup.max.depth", "2"),
        ]);
        assert_eq!(controllers(&u), ["memory", "pids"]);
        let t = TestDir::new("unified");
        let d = t.cgroup("c", &["memory.high", "pids.max", "cgroup.max.depth"]);
        apply(&d, &u, Path::new("/c.json")).unwrap();
        assert_eq!(content(&d, "memory.high"), "4096");
        assert_eq!(content(&d, "cgroup.max.depth"), "2");
        let e = apply(&d, &map(&[("io.max", "x")]), Path::new("/c.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/linux/resources/unified/io.max") && e.contains("io controller"),
            "{e}"
        );
    }
}
