//! Places one bundle in the image under /usr/lib/corral/services/NAME/:
//! its config.json and service.toml, and its root filesystem assembled from
//! the recipe (host files, their library closure, busybox applets, empty
//! directories, symlinks, mount points, then the bundle's `files/` folder)
//! or copied from a ready `rootfs/`.

use std::path::{Path, PathBuf};

use super::bundle::{BundleSrc, RootfsSource};
use super::recipe::{self, Recipe};
use super::tree::{Node, Tree};
use super::{ldd, Error};

/// Where shipped services live in the image.
pub const SERVICES_DIR: &str = "/usr/lib/corral/services";

/// Adds `b` to `tree`; returns the kernel modules its recipe asks for.
pub fn bundle(tree: &mut Tree, b: &BundleSrc) -> Result<Vec<String>, Error> {
    let base = Path::new(SERVICES_DIR).join(&b.name);
    for f in ["config.json", "service.toml"] {
        tree.host_file(&base.join(f), &b.dir.join(f), 0o644)?;
    }
    let root = base.join("rootfs");
    tree.dir(&root)?;
    let modules = match &b.rootfs {
        RootfsSource::Prebuilt(dir) => {
            copy_dir(tree, dir, &root, &mut Vec::new())?;
            Vec::new()
        }
        RootfsSource::Recipe(r) => {
            from_recipe(tree, b, r, &root)?;
            r.modules.clone()
        }
    };
    mount_points(tree, b, &root)?;
    let overlay = b.dir.join("files");
    if overlay.is_dir() {
        copy_dir(tree, &overlay, &root, &mut Vec::new())?;
    }
    Ok(modules)
}

fn from_recipe(tree: &mut Tree, b: &BundleSrc, r: &Recipe, root: &Path) -> Result<(), Error> {
    let recipe_path = b.dir.join("rootfs.toml");
    let missing = recipe::missing_packages(&r.packages);
    if !missing.is_empty() {
        return Err(Error::Invalid(
            recipe_path,
            format!(
                "packages not installed on the build host: {} (tests/setup-host.sh installs them)",
                missing.join(", ")
            ),
        ));
    }
    let mut elves: Vec<PathBuf> = Vec::new();
    for c in &r.files {
        let meta = std::fs::metadata(c.from()).map_err(|e| {
            Error::Invalid(recipe_path.clone(), format!("{}: {e}", c.from().display()))
        })?;
        tree.host_file(&inside(root, c.to()), c.from(), mode(&meta))?;
        elves.push(c.from().to_path_buf());
    }
    for c in &r.dirs {
        if !c.from().is_dir() {
            return Err(Error::Invalid(
                recipe_path.clone(),
                format!("{}: not a directory on the build host", c.from().display()),
            ));
        }
        copy_dir(tree, c.from(), &inside(root, c.to()), &mut elves)?;
    }
    for lib in
        ldd::closure(&elves).map_err(|e| Error::Invalid(recipe_path.clone(), e.to_string()))?
    {
        let meta = std::fs::metadata(&lib).map_err(|e| Error::Io(lib.clone(), e))?;
        tree.host_file(&inside(root, &lib), &lib, mode(&meta))?;
    }
    busybox_links(tree, r, root, &recipe_path)?;
    for d in &r.mkdir {
        tree.dir(&inside(root, d))?;
    }
    for (link, target) in &r.symlinks {
        tree.symlink(&inside(root, link), target)?;
    }
    Ok(())
}

fn busybox_links(tree: &mut Tree, r: &Recipe, root: &Path, recipe: &Path) -> Result<(), Error> {
    let Some(bb) = r.files.iter().find(|c| c.to() == Path::new("/bin/busybox")) else {
        return Ok(());
    };
    let out = std::process::Command::new(bb.from())
        .arg("--list")
        .output()
        .map_err(|e| Error::Tool(bb.from().display().to_string(), e.to_string()))?;
    let list = String::from_utf8_lossy(&out.stdout);
    let have: Vec<&str> = list.lines().collect();
    for applet in &r.busybox {
        if !have.contains(&applet.as_str()) {
            return Err(Error::Invalid(
                recipe.to_path_buf(),
                format!("busybox has no applet {applet:?}"),
            ));
        }
        let link = inside(root, &Path::new("/bin").join(applet));
        if !tree.contains(&link) {
            tree.symlink(&link, "busybox")?;
        }
    }
    Ok(())
}

/// Every mount destination of config.json exists in the image, so the
/// runtime never has to create one inside a shipped root filesystem: an
/// empty file for a bind mount of a file, a directory otherwise.
fn mount_points(tree: &mut Tree, b: &BundleSrc, root: &Path) -> Result<(), Error> {
    for m in b.spec.mounts().iter().flatten() {
        let dest = inside(root, m.destination());
        if tree.contains(&dest) {
            continue;
        }
        if is_file_bind(m, tree) {
            tree.bytes(&dest, Vec::new(), 0o644)?;
        } else {
            tree.dir(&dest)?;
        }
    }
    Ok(())
}

/// A bind mount whose source is a file: a file of the image (e.g.
/// /usr/bin/corral) or, for paths made at boot, a name with an extension
/// (e.g. /run/corral/network.toml).
fn is_file_bind(m: &oci_spec::runtime::Mount, tree: &Tree) -> bool {
    let bind = m.typ().as_deref() == Some("bind")
        || m.options()
            .iter()
            .flatten()
            .any(|o| o == "bind" || o == "rbind");
    let Some(source) = m.source().as_ref() else {
        return false;
    };
    bind && match tree.get(source) {
        Some(Node::File { .. }) => true,
        Some(_) => false,
        None => source.extension().is_some(),
    }
}

/// Copies the host directory `src` to `dst` in the image: directories,
/// regular files (ELF files are added to `elves`) and symlinks as they are.
fn copy_dir(
    tree: &mut Tree,
    src: &Path,
    dst: &Path,
    elves: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    tree.dir(dst)?;
    let entries = std::fs::read_dir(src).map_err(|e| Error::Io(src.to_path_buf(), e))?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let from = e.path();
        let to = dst.join(e.file_name());
        let meta = std::fs::symlink_metadata(&from).map_err(|err| Error::Io(from.clone(), err))?;
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(&from).map_err(|err| Error::Io(from.clone(), err))?;
            tree.symlink(&to, &target.to_string_lossy())?;
        } else if ft.is_dir() {
            copy_dir(tree, &from, &to, elves)?;
        } else if ft.is_file() {
            tree.add(
                &to,
                Node::File {
                    source: super::tree::Source::Host(from.clone()),
                    perm: mode(&meta),
                },
            )?;
            if ldd::is_elf(&from) {
                elves.push(from);
            }
        }
    }
    Ok(())
}

fn mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

/// `root` + absolute `p`.
fn inside(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::bundle;

    #[test]
    fn a_recipe_bundle_gets_files_libraries_applets_and_mount_points() {
        let root = std::env::temp_dir().join(format!("corral-asm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let d = root.join("svc");
        std::fs::create_dir_all(d.join("files/etc")).unwrap();
        std::fs::write(d.join("files/etc/motd"), "hi\n").unwrap();
        std::fs::write(
            d.join("config.json"),
            r#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},
            "process":{"args":["/bin/sh"],"cwd":"/","user":{"uid":0,"gid":0}},
            "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                      {"destination":"/etc/corral/ntp.toml","type":"bind","source":"/run/corral/ntp.toml","options":["rbind","ro"]}],
            "linux":{"namespaces":[{"type":"mount"}]}}"#,
        )
        .unwrap();
        std::fs::write(d.join("service.toml"), "").unwrap();
        let ls = std::fs::canonicalize("/bin/ls").unwrap();
        std::fs::write(
            d.join("rootfs.toml"),
            format!(
                "files = [{{ from = \"{}\", to = \"/bin/ls\" }}]\n[symlinks]\n\"/etc/x\" = \"motd\"\n",
                ls.display()
            ),
        )
        .unwrap();
        let b = bundle::load(&d, "svc").unwrap();
        let mut tree = Tree::new();
        bundle(&mut tree, &b).unwrap();
        let r = Path::new("/usr/lib/corral/services/svc/rootfs");
        for p in [
            "bin/ls",
            "proc",
            "etc/motd",
            "etc/x",
            "lib64/ld-linux-x86-64.so.2",
        ] {
            assert!(tree.contains(&r.join(p)), "{p} missing");
        }
        assert!(matches!(
            tree.get(&r.join("etc/corral/ntp.toml")),
            Some(Node::File { .. })
        ));
        assert!(tree.contains(Path::new("/usr/lib/corral/services/svc/config.json")));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
