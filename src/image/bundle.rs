//! The service bundles an image ships: every folder of the bundles
//! directory, checked before anything is assembled. A folder needs a
//! config.json that the runtime accepts (with `root.path` = "rootfs"), a
//! service.toml that is TOML, and something to build its root filesystem
//! from: a `rootfs.toml` recipe or a ready `rootfs/` directory.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::recipe::Recipe;
use super::Error;

/// Where a bundle's root filesystem comes from.
#[derive(Debug, Clone)]
pub enum RootfsSource {
    /// Assembled from host packages by the recipe.
    Recipe(Recipe),
    /// Copied as it is.
    Prebuilt(PathBuf),
}

/// One service bundle, checked.
#[derive(Debug, Clone)]
pub struct BundleSrc {
    pub name: String,
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: RootfsSource,
}

/// Whether `name` can name a service (docs/config.md):
/// `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.first()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

/// The bundles under `dir`, sorted by name, without those in `exclude`.
/// Naming an excluded bundle that does not exist is an error (a typo would
/// otherwise ship the service).
pub fn discover(dir: &Path, exclude: &[String]) -> Result<Vec<BundleSrc>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io(dir.to_path_buf(), e))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    if let Some(x) = exclude.iter().find(|x| !names.contains(x)) {
        return Err(Error::Invalid(
            dir.to_path_buf(),
            format!("--exclude {x}: no such bundle"),
        ));
    }
    names
        .iter()
        .filter(|n| !exclude.contains(n))
        .map(|n| load(&dir.join(n), n))
        .collect()
}

/// Checks one bundle folder.
pub fn load(dir: &Path, name: &str) -> Result<BundleSrc, Error> {
    if !valid_name(name) {
        return Err(Error::Invalid(
            dir.to_path_buf(),
            format!("{name:?} is not a service name ([a-z0-9][a-z0-9_-]{{0,62}})"),
        ));
    }
    let spec = load_spec(dir)?;
    check_service_toml(dir)?;
    let rootfs = rootfs_source(dir)?;
    Ok(BundleSrc {
        name: name.to_owned(),
        dir: dir.to_path_buf(),
        spec,
        rootfs,
    })
}

fn load_spec(dir: &Path) -> Result<Spec, Error> {
    let path = dir.join("config.json");
    let bytes = std::fs::read(&path).map_err(|e| Error::Io(path.clone(), e))?;
    let spec = corral_runtime::spec::load_spec_from_slice(&bytes, &path)
        .and_then(|s| corral_runtime::spec::validate(&s, &path).map(|()| s))
        .map_err(|e| Error::Invalid(dir.to_path_buf(), e.to_string()))?;
    let root = spec.root().as_ref().map(|r| r.path().clone());
    if root.as_deref() != Some(Path::new("rootfs")) {
        return Err(Error::Invalid(
            path,
            "/root/path: must be \"rootfs\" (the image places the root filesystem there)".into(),
        ));
    }
    Ok(spec)
}

fn check_service_toml(dir: &Path) -> Result<(), Error> {
    let path = dir.join("service.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::Io(path.clone(), e))?;
    toml::from_str::<toml::Table>(&text)
        .map(|_| ())
        .map_err(|e| Error::Invalid(path, e.message().replace('\n', " ")))
}

fn rootfs_source(dir: &Path) -> Result<RootfsSource, Error> {
    let recipe = dir.join("rootfs.toml");
    let prebuilt = dir.join("rootfs");
    if recipe.is_file() {
        let text = std::fs::read_to_string(&recipe).map_err(|e| Error::Io(recipe.clone(), e))?;
        return Recipe::parse(&recipe, &text).map(RootfsSource::Recipe);
    }
    if prebuilt.is_dir() {
        return Ok(RootfsSource::Prebuilt(prebuilt));
    }
    Err(Error::Invalid(
        dir.to_path_buf(),
        "no rootfs.toml and no rootfs/ directory: nothing to build the root filesystem from".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"ociVersion":"1.2.0","root":{"path":"rootfs","readonly":true},
        "process":{"args":["/bin/sh"],"cwd":"/","user":{"uid":0,"gid":0}},
        "linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}}"#;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("corral-bundle-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn write_bundle(root: &Path, name: &str, config: &str, rootfs: Option<&str>) -> PathBuf {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.json"), config).unwrap();
        std::fs::write(d.join("service.toml"), "description = \"t\"\n").unwrap();
        if let Some(r) = rootfs {
            std::fs::write(d.join("rootfs.toml"), r).unwrap();
        }
        d
    }

    #[test]
    fn a_good_bundle_loads() {
        let root = scratch("good");
        write_bundle(&root, "svc", CONFIG, Some("packages = []\n"));
        let b = discover(&root, &[]).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].name, "svc");
        assert!(matches!(b[0].rootfs, RootfsSource::Recipe(_)));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_bundle_without_rootfs_is_one_clear_line() {
        let root = scratch("norootfs");
        write_bundle(&root, "svc", CONFIG, None);
        let e = discover(&root, &[]).unwrap_err().to_string();
        assert!(
            e.contains("svc") && e.contains("no rootfs.toml and no rootfs/"),
            "{e}"
        );
        assert!(!e.contains('\n'));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_configs_name_the_file_and_pointer() {
        let root = scratch("badcfg");
        let d = write_bundle(&root, "svc", r#"{"ociVersion":"1.2.0"}"#, Some(""));
        let e = load(&d, "svc").unwrap_err().to_string();
        assert!(e.contains("config.json") && e.contains("/root"), "{e}");
        let other_root = CONFIG.replace("\"path\":\"rootfs\"", "\"path\":\"root\"");
        std::fs::write(d.join("config.json"), other_root).unwrap();
        let e = load(&d, "svc").unwrap_err().to_string();
        assert!(e.contains("/root/path: must be \"rootfs\""), "{e}");
        std::fs::write(d.join("config.json"), CONFIG).unwrap();
        std::fs::remove_file(d.join("service.toml")).unwrap();
        let e = load(&d, "svc").unwrap_err().to_string();
        assert!(e.contains("service.toml"), "{e}");
        assert!(load(&d, "Bad.Name").is_err());
        assert!(discover(&root, &["nope".into()])
            .unwrap_err()
            .to_string()
            .contains("--exclude nope"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
