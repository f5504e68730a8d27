//! The image as a tree of paths before it is written: directories, files
//! (copied from the build host or given as bytes), symlinks and device
//! nodes. Host files that are the same inode (busybox shared by every
//! bundle, one libc for all) become one hard-link group in the archive.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use super::cpio::{self, Header, Kind};
use super::Error;

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Host(PathBuf),
    Bytes(Vec<u8>),
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir { perm: u32 },
    File { source: Source, perm: u32 },
    Symlink { target: String },
    CharDev { major: u32, minor: u32, perm: u32 },
}

/// Paths (relative, `/`-separated, no `.` or `..`) to nodes, in an order
/// where every directory comes before what it holds.
#[derive(Debug, Default)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
}

/// What [`Tree::write`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    pub entries: usize,
}

impl Tree {
    pub fn new() -> Self {
        Tree::default()
    }

    /// Adds `node` at `path` (absolute or relative to the image root),
    /// creating missing parent directories (0755). Adding the same node
    /// twice is fine; a different node at a taken path is an error, except
    /// that a directory may be added where a directory already is.
    pub fn add(&mut self, path: &Path, node: Node) -> Result<(), Error> {
        let key = normalize(path)?;
        self.parents(&key)?;
        match self.nodes.get(&key) {
            None => {
                self.nodes.insert(key, node);
                Ok(())
            }
            Some(old) if *old == node => Ok(()),
            Some(Node::Dir { .. }) if matches!(node, Node::Dir { .. }) => Ok(()),
            Some(_) => Err(Error::Conflict(PathBuf::from("/").join(key))),
        }
    }

    pub fn dir(&mut self, path: &Path) -> Result<(), Error> {
        self.add(path, Node::Dir { perm: 0o755 })
    }

    pub fn host_file(&mut self, path: &Path, src: &Path, perm: u32) -> Result<(), Error> {
        self.add(
            path,
            Node::File {
                source: Source::Host(src.to_path_buf()),
                perm,
            },
        )
    }

    pub fn bytes(&mut self, path: &Path, data: Vec<u8>, perm: u32) -> Result<(), Error> {
        self.add(
            path,
            Node::File {
                source: Source::Bytes(data),
                perm,
            },
        )
    }

    pub fn symlink(&mut self, path: &Path, target: &str) -> Result<(), Error> {
        self.add(
            path,
            Node::Symlink {
                target: target.to_owned(),
            },
        )
    }

    pub fn contains(&self, path: &Path) -> bool {
        normalize(path).is_ok_and(|k| self.nodes.contains_key(&k))
    }

    pub fn get(&self, path: &Path) -> Option<&Node> {
        normalize(path).ok().and_then(|k| self.nodes.get(&k))
    }

    fn parents(&mut self, key: &str) -> Result<(), Error> {
        let mut at = 0;
        while let Some(i) = key[at..].find('/') {
            let parent = &key[..at + i];
            match self.nodes.get(parent) {
                None => {
                    self.nodes
                        .insert(parent.to_owned(), Node::Dir { perm: 0o755 });
                }
                Some(Node::Dir { .. }) => {}
                Some(_) => return Err(Error::Conflict(PathBuf::from("/").join(parent))),
            }
            at += i + 1;
        }
        Ok(())
    }

    /// Writes the tree as a newc archive to `out`.
    pub fn write<W: Write>(&self, out: W) -> Result<Written, Error> {
        let mut links = Links::new(self.link_groups()?);
        let mut w = cpio::Writer::new(out);
        for ((name, node), ino) in self.nodes.iter().zip(1u32..) {
            write_node(&mut w, name, node, ino, &mut links)?;
        }
        let (_, bytes) = w
            .finish()
            .map_err(|e| Error::Io(PathBuf::from("TRAILER!!!"), e))?;
        Ok(Written {
            bytes,
            entries: self.nodes.len(),
        })
    }

    /// How many tree paths name each host inode.
    fn link_groups(&self) -> Result<HashMap<(u64, u64), u32>, Error> {
        let mut groups = HashMap::new();
        for node in self.nodes.values() {
            if let Node::File {
                source: Source::Host(src),
                ..
            } = node
            {
                *groups.entry(host_id(src)?).or_insert(0) += 1;
            }
        }
        Ok(groups)
    }
}

/// Hard-link groups of host files: one inode number per group, the data
/// with the group's last entry.
struct Links {
    count: HashMap<(u64, u64), u32>,
    ino: HashMap<(u64, u64), u32>,
    left: HashMap<(u64, u64), u32>,
}

impl Links {
    fn new(count: HashMap<(u64, u64), u32>) -> Self {
        Links {
            left: count.clone(),
            count,
            ino: HashMap::new(),
        }
    }

    /// (inode number, link count, whether this entry carries the data).
    fn take(&mut self, id: (u64, u64), fresh_ino: u32) -> (u32, u32, bool) {
        let ino = *self.ino.entry(id).or_insert(fresh_ino);
        let left = self.left.entry(id).or_insert(1);
        *left = left.saturating_sub(1);
        (ino, self.count.get(&id).copied().unwrap_or(1), *left == 0)
    }
}

fn write_node<W: Write>(
    w: &mut cpio::Writer<W>,
    name: &str,
    node: &Node,
    ino: u32,
    links: &mut Links,
) -> Result<(), Error> {
    let (kind, perm) = kind_of(node);
    let mut h = Header {
        name,
        kind,
        perm,
        ino,
        nlink: if kind == Kind::Dir { 2 } else { 1 },
        size: 0,
        mtime: 0,
    };
    let io_err = |e: io::Error| Error::Io(PathBuf::from("/").join(name), e);
    match node {
        Node::File {
            source: Source::Host(src),
            ..
        } => {
            let (group_ino, count, carries_data) = links.take(host_id(src)?, ino);
            h.ino = group_ino;
            h.nlink = count;
            if !carries_data {
                return w.entry(&h, &mut io::empty()).map_err(io_err);
            }
            let mut f = File::open(src).map_err(|e| Error::Io(src.clone(), e))?;
            h.size = f.metadata().map_err(|e| Error::Io(src.clone(), e))?.len();
            w.entry(&h, &mut f).map_err(io_err)
        }
        Node::File {
            source: Source::Bytes(b),
            ..
        } => {
            h.size = b.len() as u64;
            w.entry(&h, &mut b.as_slice()).map_err(io_err)
        }
        Node::Symlink { target } => {
            h.size = target.len() as u64;
            w.entry(&h, &mut target.as_bytes()).map_err(io_err)
        }
        Node::Dir { .. } | Node::CharDev { .. } => w.entry(&h, &mut io::empty()).map_err(io_err),
    }
}

fn kind_of(node: &Node) -> (Kind, u32) {
    match node {
        Node::Dir { perm } => (Kind::Dir, *perm),
        Node::File { perm, .. } => (Kind::File, *perm),
        Node::Symlink { .. } => (Kind::Symlink, 0o777),
        Node::CharDev { major, minor, perm } => (
            Kind::CharDev {
                major: *major,
                minor: *minor,
            },
            *perm,
        ),
    }
}

/// The (device, inode) of a host file, following symlinks.
fn host_id(src: &Path) -> Result<(u64, u64), Error> {
    let m = std::fs::metadata(src).map_err(|e| Error::Io(src.to_path_buf(), e))?;
    Ok((m.dev(), m.ino()))
}

/// `/a/./b/` → `a/b`; `..` and the empty path are errors.
fn normalize(path: &Path) -> Result<String, Error> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(
                p.to_str()
                    .ok_or_else(|| Error::BadPath(path.to_path_buf()))?,
            ),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::BadPath(path.to_path_buf()))
            }
        }
    }
    if parts.is_empty() {
        return Err(Error::BadPath(path.to_path_buf()));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_created_and_come_first() {
        let mut t = Tree::new();
        t.bytes(Path::new("/etc/corral/corral.toml"), b"x".to_vec(), 0o644)
            .unwrap();
        t.symlink(Path::new("/init"), "/usr/bin/corral").unwrap();
        let keys: Vec<_> = t.nodes.keys().cloned().collect();
        assert_eq!(
            keys,
            ["etc", "etc/corral", "etc/corral/corral.toml", "init"]
        );
    }

    #[test]
    fn conflicts_and_bad_paths_are_errors() {
        let mut t = Tree::new();
        t.symlink(Path::new("/bin/sh"), "busybox").unwrap();
        t.symlink(Path::new("/bin/sh"), "busybox").unwrap();
        t.dir(Path::new("/bin")).unwrap();
        assert!(matches!(
            t.symlink(Path::new("/bin/sh"), "dash"),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            t.dir(Path::new("/bin/sh/x")),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            t.dir(Path::new("/a/../b")),
            Err(Error::BadPath(_))
        ));
        assert!(matches!(t.dir(Path::new("/")), Err(Error::BadPath(_))));
    }

    #[test]
    fn one_host_inode_is_written_once_as_a_link_group() {
        let exe = std::env::current_exe().unwrap();
        let size = std::fs::metadata(&exe).unwrap().len();
        let mut t = Tree::new();
        t.host_file(Path::new("/a/bin/x"), &exe, 0o755).unwrap();
        t.host_file(Path::new("/b/bin/x"), &exe, 0o755).unwrap();
        let mut out = Vec::new();
        let w = t.write(&mut out).unwrap();
        assert_eq!(w.bytes, out.len() as u64);
        assert_eq!(w.entries, 6);
        assert!(
            (out.len() as u64) < size + 4096,
            "the data was written once: {} vs {size}",
            out.len()
        );
        let files: Vec<_> = cpio::read_entries(&out)
            .into_iter()
            .filter(|e| e.0.ends_with("bin/x"))
            .collect();
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|e| e.2 == 2), "nlink 2 on both");
        assert!(files[0].3.is_empty() && files[1].3.len() as u64 == size);
    }
}
