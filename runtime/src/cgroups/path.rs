//! linux.cgroupsPath, with the semantics of runc's cgroupfs driver: an
//! absolute path is taken from each hierarchy's root (its mount point), a
//! relative one from the calling process's own cgroup in that hierarchy,
//! and no path at all means the relative path `<id>`.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

const POINTER: &str = "/linux/cgroupsPath";

/// A normalized cgroupsPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requested {
    /// Taken from the hierarchy root rather than from the own cgroup.
    pub absolute: bool,
    /// The normalized path below its base: never empty, only normal components.
    pub rel: PathBuf,
}

impl Requested {
    /// The container's directory in a hierarchy mounted at `mount_point`
    /// where the calling process sits at `own` (relative to the mount point).
    pub(crate) fn dir(
        &self,
        mount_point: &Path,
        own: std::result::Result<&Path, &str>,
        file: &Path,
    ) -> Result<PathBuf> {
        if self.absolute {
            return Ok(mount_point.join(&self.rel));
        }
        let own = own.map_err(|why| {
            Error::spec(
                file,
                POINTER,
                format!(
                    "a relative cgroups path needs the caller's own cgroup under {}: {why}",
                    mount_point.display()
                ),
            )
        })?;
        Ok(mount_point.join(own).join(&self.rel))
    }
}

/// Normalizes `cgroups_path` (`None` or empty: the relative path `id`).
/// A path whose `..` would leave its base, or that names the base itself,
/// is an error at /linux/cgroupsPath of `file`.
pub(crate) fn requested(cgroups_path: Option<&Path>, id: &str, file: &Path) -> Result<Requested> {
    let raw = match cgroups_path {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(id),
    };
    let absolute = raw.is_absolute();
    let mut rel = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !rel.pop() {
                    let base = if absolute {
                        "the hierarchy root"
                    } else {
                        "the caller's own cgroup"
                    };
                    return Err(Error::spec(
                        file,
                        POINTER,
                        format!("{} escapes {base}", raw.display()),
                    ));
                }
            }
            Component::Normal(n) => rel.push(n),
        }
    }
    if rel.as_os_str().is_empty() {
        let base = if absolute {
            "the hierarchy root"
        } else {
            "the caller's own cgroup"
        };
        return Err(Error::spec(
            file,
            POINTER,
            format!(
                "{:?} names {base} itself, not a cgroup of its own",
                raw.display().to_string()
            ),
        ));
    }
    Ok(Requested { absolute, rel })
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "/b/config.json";

    fn req(p: &str) -> Result<Requested> {
        requested(Some(Path::new(p)), "ctr", Path::new(F))
    }

    #[test]
    fn absolute_and_relative_paths() {
        assert_eq!(
            req("/corral/svc").unwrap(),
            Requested {
                absolute: true,
                rel: PathBuf::from("corral/svc")
            }
        );
        assert_eq!(
            req("a/./b/../c").unwrap(),
            Requested {
                absolute: false,
                rel: PathBuf::from("a/c")
            }
        );
        assert_eq!(
            req("//x//y/").unwrap(),
            Requested {
                absolute: true,
                rel: PathBuf::from("x/y")
            }
        );
    }

    #[test]
    fn missing_or_empty_path_is_the_id() {
        for p in [None, Some(Path::new(""))] {
            let r = requested(p, "web", Path::new(F)).unwrap();
            assert_eq!(
                r,
                Requested {
                    absolute: false,
                    rel: PathBuf::from("web")
                }
            );
        }
    }

    #[test]
    fn escaping_paths_are_spec_errors() {
        for p in ["../..", "..", "a/../../b", "/../etc", "/a/../../x"] {
            let e = req(p).unwrap_err().to_string();
            assert!(
                e.starts_with("/b/config.json: /linux/cgroupsPath: "),
                "{p}: {e}"
            );
            assert!(e.contains("escapes"), "{p}: {e}");
        }
    }

    #[test]
    fn the_base_itself_is_refused() {
        for p in ["/", "a/..", "/x/..", "."] {
            let e = req(p).unwrap_err().to_string();
            assert!(e.contains("itself"), "{p}: {e}");
        }
    }

    #[test]
    fn directory_per_hierarchy() {
        let mp = Path::new("/sys/fs/cgroup/memory");
        let abs = req("/corral/a").unwrap();
        assert_eq!(
            abs.dir(mp, Ok(Path::new("user.slice")), Path::new(F))
                .unwrap(),
            mp.join("corral/a")
        );
        let rel = req("a").unwrap();
        assert_eq!(
            rel.dir(mp, Ok(Path::new("user.slice")), Path::new(F))
                .unwrap(),
            mp.join("user.slice/a")
        );
        assert_eq!(
            rel.dir(mp, Ok(Path::new("")), Path::new(F)).unwrap(),
            mp.join("a")
        );
        let e = rel
            .dir(mp, Err("outside"), Path::new(F))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/linux/cgroupsPath") && e.contains("outside"),
            "{e}"
        );
        // An absolute path does not need the own cgroup.
        assert_eq!(
            abs.dir(mp, Err("unknown"), Path::new(F)).unwrap(),
            mp.join("corral/a")
        );
    }
}
