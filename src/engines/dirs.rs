//! The host directories of an engine, made and labeled by PID 1 before
//! the engine starts: its data root (`docker_data_t` at the engine's MCS
//! level, so that no other engine may touch it) and its volumes
//! (`engine_volume_t` at s0: every engine may add files, each file then
//! carries the level of the engine that wrote it).
//!
//! A data root that carries another level (the engine's category was
//! changed in corral.toml) is relabeled file by file to the new level.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use super::bundle::VOLUMES_DIR;
use super::instance::Instance;
use crate::init::labels;

/// The label of a data root, at `level`.
pub fn data_label(level: &str) -> String {
    format!("system_u:object_r:docker_data_t:{level}")
}

/// The label of the volumes directory and of each volume.
pub const VOLUME_LABEL: &str = "system_u:object_r:engine_volume_t:s0";

fn mkdir(path: &Path, mode: u32) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(|e| format!("mkdir {}: {e}", path.display()))
}

/// Makes (and with `label`, labels) the engine's data root and volumes.
pub fn prepare(i: &Instance, label: bool) -> Result<(), String> {
    let root = i.data_root();
    mkdir(&root, 0o711)?;
    if label {
        label_data_root(&root, &i.level())?;
    }
    for v in &i.volumes {
        let dir = Path::new(VOLUMES_DIR).join(v);
        mkdir(&dir, 0o755)?;
        if label {
            labels::set(Path::new(VOLUMES_DIR), VOLUME_LABEL)?;
            labels::set(&dir, VOLUME_LABEL)?;
        }
    }
    Ok(())
}

/// Labels `root` at `level`; when it had another level, everything below
/// it moves to `level` too.
fn label_data_root(root: &Path, level: &str) -> Result<(), String> {
    let before = labels::get(root);
    let had = before.as_deref().and_then(labels::level_of);
    let is_data = before
        .as_deref()
        .is_some_and(|l| l.contains(":docker_data_t:"));
    if is_data && had.is_some_and(|l| l != level) {
        relevel_below(root, level);
    }
    labels::set(root, &data_label(level))
}

/// Sets the level of every file below `dir` (one filesystem, symlinks not
/// followed) to `level`, keeping their types. Best effort.
fn relevel_below(dir: &Path, level: &str) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if let Some(old) = labels::get(&path) {
                let _ = labels::set(&path, &labels::with_level(&old, level));
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_the_engine_dirs() {
        assert_eq!(data_label("s0:c3"), "system_u:object_r:docker_data_t:s0:c3");
        assert_eq!(labels::level_of(VOLUME_LABEL), Some("s0"));
    }

    #[test]
    fn relevel_walks_without_failing_where_labels_are_missing() {
        // No SELinux on the test host: nothing has a label, nothing changes,
        // and the walk still visits everything without an error.
        let d = std::env::temp_dir().join(format!("corral-relevel-{}", std::process::id()));
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/f"), "x").unwrap();
        relevel_below(&d, "s0:c1");
        assert!(d.join("a/b/f").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
