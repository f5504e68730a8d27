//! Labels the image's files from the file_contexts secilc writes for the
//! policy's `filecon` statements. An initramfs carries no xattrs and the
//! kernel labels rootfs and tmpfs files by filesystem, not by path, so
//! once the policy is loaded every file gets its type here (lsetxattr of
//! security.selinux), as setfiles would.
//!
//! Only a subset of file_contexts is understood, and the builder refuses
//! anything else: an exact path, or `PATH(/.*)?` for a path and all under
//! it, optionally with a file-type column (`--`, `-d`, `-l`...). The most
//! specific rule wins: the longest path, an exact path before a subtree.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::Error;

/// What kind of file a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Any,
    File,
    Dir,
    Symlink,
    Char,
    Block,
    Socket,
    Pipe,
}

impl Kind {
    fn parse(col: &str) -> Option<Kind> {
        Some(match col {
            "--" => Kind::File,
            "-d" => Kind::Dir,
            "-l" => Kind::Symlink,
            "-c" => Kind::Char,
            "-b" => Kind::Block,
            "-s" => Kind::Socket,
            "-p" => Kind::Pipe,
            _ => return None,
        })
    }

    fn of(ft: std::fs::FileType) -> Kind {
        if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_dir() {
            Kind::Dir
        } else if ft.is_char_device() {
            Kind::Char
        } else if ft.is_block_device() {
            Kind::Block
        } else if ft.is_socket() {
            Kind::Socket
        } else if ft.is_fifo() {
            Kind::Pipe
        } else {
            Kind::File
        }
    }
}

/// One rule: a path (or subtree), a file kind and the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub path: String,
    pub subtree: bool,
    pub kind: Kind,
    pub context: String,
}

impl Rule {
    fn matches(&self, path: &str, kind: Kind) -> bool {
        let kind_ok = self.kind == Kind::Any || self.kind == kind;
        let path_ok = if self.subtree {
            path == self.path
                || self.path.is_empty()
                || path
                    .strip_prefix(self.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        } else {
            path == self.path
        };
        kind_ok && path_ok
    }

    /// Higher wins: longer paths, then exact over subtree.
    fn rank(&self) -> (usize, bool) {
        (self.path.len(), !self.subtree)
    }
}

/// The rules of one file_contexts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules(pub Vec<Rule>);

const SUBTREE: &str = "(/.*)?";

impl Rules {
    /// Parses file_contexts text; an unsupported line is an error naming
    /// it.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut rules = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (pattern, kind, context) = match cols.as_slice() {
                [p, c] => (*p, Kind::Any, *c),
                [p, k, c] => (
                    *p,
                    Kind::parse(k).ok_or_else(|| format!("line {}: file type {k:?}", n + 1))?,
                    *c,
                ),
                _ => {
                    return Err(format!(
                        "line {}: {line:?} is not PATH [TYPE] CONTEXT",
                        n + 1
                    ))
                }
            };
            let (path, subtree) = match pattern.strip_suffix(SUBTREE) {
                Some(p) => (p, true),
                None => (pattern, false),
            };
            if path.chars().any(|c| "()[]{}*+?|^$\\".contains(c))
                || !(path.is_empty() || path.starts_with('/'))
            {
                return Err(format!(
                    "line {}: {pattern:?}: only PATH and PATH(/.*)? are supported",
                    n + 1
                ));
            }
            rules.push(Rule {
                path: path.trim_end_matches('/').to_owned(),
                subtree,
                kind,
                context: context.to_owned(),
            });
        }
        Ok(Rules(rules))
    }

    /// The context for `path` (absolute, inside the image) of `kind`.
    pub fn lookup(&self, path: &str, kind: Kind) -> Option<&str> {
        self.0
            .iter()
            .filter(|r| r.matches(path, kind))
            .max_by_key(|r| r.rank())
            .map(|r| r.context.as_str())
    }
}

/// What [`apply`] did.
#[derive(Debug, Default)]
pub struct Applied {
    pub labeled: usize,
    /// Hard links whose names want different labels (one inode has one
    /// label: the first name's wins).
    pub conflicts: Vec<String>,
}

/// Labels every file under `root` (not crossing into other filesystems).
pub fn apply(root: &Path, rules: &Rules) -> Result<Applied, Error> {
    let dev = std::fs::symlink_metadata(root)
        .map_err(|e| Error::Io(root.to_path_buf(), e))?
        .dev();
    let mut done = Applied::default();
    let mut seen: std::collections::HashMap<u64, (String, String)> = Default::default();
    let mut stack: Vec<PathBuf> = vec![PathBuf::from("/")];
    while let Some(rel) = stack.pop() {
        let host = root.join(rel.strip_prefix("/").unwrap_or(&rel));
        let meta = std::fs::symlink_metadata(&host).map_err(|e| Error::Io(host.clone(), e))?;
        if meta.dev() != dev {
            continue;
        }
        let kind = Kind::of(meta.file_type());
        let name = rel.to_string_lossy().into_owned();
        if let Some(ctx) = rules.lookup(&name, kind) {
            if meta.nlink() > 1 && kind != Kind::Dir {
                if let Some((first, had)) = seen.get(&meta.ino()) {
                    if had != ctx {
                        done.conflicts
                            .push(format!("{name} ({ctx}) is {first} ({had})"));
                    }
                    continue;
                }
                seen.insert(meta.ino(), (name.clone(), ctx.to_owned()));
            }
            set_label(&host, ctx)?;
            done.labeled += 1;
        }
        if kind == Kind::Dir {
            let entries = std::fs::read_dir(&host).map_err(|e| Error::Io(host.clone(), e))?;
            for e in entries.filter_map(Result::ok) {
                stack.push(rel.join(e.file_name()));
            }
        }
    }
    Ok(done)
}

/// lsetxattr(path, "security.selinux", context).
fn set_label(path: &Path, context: &str) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::Io(path.to_path_buf(), e);
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::BadPath(path.to_path_buf()))?;
    let value = context.as_bytes();
    // SAFETY: both strings are NUL-terminated and live across the call;
    // `value` is valid for `value.len()` bytes.
    let r = unsafe {
        libc::lsetxattr(
            c_path.as_ptr(),
            c"security.selinux".as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if r != 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FC: &str = "(/.*)?\tsystem_u:object_r:root_t:s0\n\
        /usr/lib/corral/services(/.*)?\tsystem_u:object_r:service_exec_t:s0\n\
        /usr/bin/corral\t--\tsystem_u:object_r:init_exec_t:s0\n\
        /var/lib/corral/docker(/.*)?\tsystem_u:object_r:docker_data_t:s0:c0\n\
        /var/lib/corral/docker\t-d\tsystem_u:object_r:var_lib_t:s0\n";

    #[test]
    fn the_most_specific_rule_wins() {
        let r = Rules::parse(FC).unwrap();
        let t = |p, k| {
            r.lookup(p, k)
                .unwrap()
                .split(':')
                .nth(2)
                .unwrap()
                .to_owned()
        };
        assert_eq!(t("/", Kind::Dir), "root_t");
        assert_eq!(t("/etc/corral/corral.toml", Kind::File), "root_t");
        assert_eq!(t("/usr/lib/corral/services", Kind::Dir), "service_exec_t");
        assert_eq!(
            t("/usr/lib/corral/services/a/rootfs/bin/sh", Kind::Symlink),
            "service_exec_t"
        );
        assert_eq!(t("/usr/lib/corral/servicesX", Kind::File), "root_t");
        assert_eq!(t("/usr/bin/corral", Kind::File), "init_exec_t");
        assert_eq!(t("/usr/bin/corral", Kind::Dir), "root_t");
        assert_eq!(t("/var/lib/corral/docker", Kind::Dir), "var_lib_t");
        assert_eq!(t("/var/lib/corral/docker/x", Kind::File), "docker_data_t");
    }

    #[test]
    fn unsupported_patterns_are_named() {
        for bad in [
            "/a/.*\tctx",
            "/a/b[0-9]\tctx",
            "/a\t-x\tctx",
            "/a b c d",
            "a/b\tctx",
        ] {
            let e = Rules::parse(bad).unwrap_err();
            assert!(e.starts_with("line 1: "), "{bad}: {e}");
        }
        assert!(Rules::parse("# comment\n\n").unwrap().0.is_empty());
    }

    #[test]
    fn apply_walks_one_filesystem() {
        let dir = std::env::temp_dir().join(format!("corral-relabel-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/f"), "x").unwrap();
        // Without SELinux on the host the kernel refuses security.* xattrs
        // on most filesystems, so only the walk is checked: a rule that
        // matches nothing labels nothing.
        let none = Rules::parse("/nowhere\tctx\n").unwrap();
        assert_eq!(apply(&dir, &none).unwrap().labeled, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
