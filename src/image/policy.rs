//! Compiles corral's SELinux policy (selinux-policy/*.cil) into the binary
//! policy the init loads, with secilc: policy version 33 (the newest the
//! 6.1 kernel loads) and MLS/MCS on.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Error;

/// The policy version secilc writes.
const POLICY_VERSION: &str = "33";

/// The .cil files of `dir`, sorted (secilc reads them as one policy).
pub fn sources(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::Policy(dir.to_path_buf(), e.to_string()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cil"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Policy(dir.to_path_buf(), "no .cil files".into()));
    }
    Ok(files)
}

/// A compiled policy: the binary policy and its file_contexts.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub policy: Vec<u8>,
    pub file_contexts: String,
}

/// Compiles the policy in `dir` (in `work`); the file_contexts its
/// `filecon` rules make must be in the subset stage 0 applies.
pub fn compile(dir: &Path, work: &Path) -> Result<Compiled, Error> {
    let files = sources(dir)?;
    std::fs::create_dir_all(work).map_err(|e| Error::Io(work.to_path_buf(), e))?;
    let out = work.join("policy");
    let result = Command::new("secilc")
        .args(["-c", POLICY_VERSION, "-M", "true", "-o"])
        .arg(&out)
        .arg("-f")
        .arg(work.join("file_contexts"))
        .args(&files)
        .output()
        .map_err(|e| {
            Error::Policy(
                dir.to_path_buf(),
                format!("cannot run secilc ({e}); apt-get install secilc"),
            )
        })?;
    if !result.status.success() {
        let text = String::from_utf8_lossy(&result.stderr);
        return Err(Error::Policy(
            dir.to_path_buf(),
            format!("does not compile: {}", summarize(&text)),
        ));
    }
    let policy = std::fs::read(&out).map_err(|e| Error::Io(out, e))?;
    let fc_path = work.join("file_contexts");
    let file_contexts = std::fs::read_to_string(&fc_path).map_err(|e| Error::Io(fc_path, e))?;
    super::relabel::Rules::parse(&file_contexts).map_err(|e| {
        Error::Policy(
            dir.to_path_buf(),
            format!("file_contexts from filecon: {e}"),
        )
    })?;
    Ok(Compiled {
        policy,
        file_contexts,
    })
}

/// secilc's diagnostics on one line: the distinct non-empty lines, joined.
fn summarize(stderr: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for l in stderr.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !lines.contains(&l) {
            lines.push(l);
        }
    }
    if lines.is_empty() {
        return "secilc failed without a message".into();
    }
    lines.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("corral-policy-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn have_secilc() -> bool {
        Command::new("secilc").arg("-V").output().is_ok()
    }

    #[test]
    fn the_shipped_policy_compiles() {
        if !have_secilc() {
            return;
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("selinux-policy");
        let work = scratch("ok");
        let c = compile(&dir, &work).unwrap();
        // A binary policy starts with the SELinux magic 0xf97cff8c.
        assert_eq!(&c.policy[..4], &0xf97c_ff8c_u32.to_le_bytes());
        let rules = crate::image::relabel::Rules::parse(&c.file_contexts).unwrap();
        let docker = rules
            .lookup(
                "/var/lib/corral/docker/x",
                crate::image::relabel::Kind::File,
            )
            .unwrap();
        assert!(docker.contains("docker_data_t"), "{docker}");
        std::fs::remove_dir_all(&work).unwrap();
    }

    #[test]
    fn a_broken_policy_is_one_line_naming_the_problem() {
        if !have_secilc() {
            return;
        }
        let src = scratch("broken-src");
        std::fs::write(
            src.join("a.cil"),
            "(type foo_t)\n(allow foo_t bar_t (file (read)))\n",
        )
        .unwrap();
        let work = scratch("broken-work");
        let e = compile(&src, &work).unwrap_err().to_string();
        assert!(e.starts_with("selinux policy "), "{e}");
        assert!(
            e.contains("does not compile") && e.contains("a.cil:2"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        let empty = scratch("empty");
        assert!(compile(&empty, &work)
            .unwrap_err()
            .to_string()
            .contains("no .cil files"));
        for d in [src, work, empty] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn summaries_drop_repeats() {
        assert_eq!(summarize("a\n\nb\na\n"), "a; b");
        assert_eq!(summarize(""), "secilc failed without a message");
    }
}
