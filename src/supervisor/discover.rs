//! Finding services: one folder per service under the shipped and the admin
//! directory; a same-named admin folder replaces the shipped one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config;

/// Shipped with the image.
pub const SHIPPED_DIR: &str = "/usr/lib/corral/services";
/// Added by the administrator; overrides the shipped ones.
pub const ADMIN_DIR: &str = "/etc/corral/services";

/// A service folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub dir: PathBuf,
}

/// Every service folder under `bases` (later bases override earlier ones),
/// sorted by name, and one line per folder that cannot be a service.
pub fn discover(bases: &[&Path]) -> (Vec<Found>, Vec<String>) {
    let mut found = BTreeMap::new();
    let mut errors = Vec::new();
    for base in bases {
        let Ok(entries) = std::fs::read_dir(base) else {
            continue;
        };
        for e in entries.flatten() {
            let dir = e.path();
            if !dir.is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if !config::valid_name(&name) {
                errors.push(format!(
                    "{}: {name:?} is not a valid service name ([a-z0-9][a-z0-9_-]{{0,62}}); ignored",
                    dir.display()
                ));
                continue;
            }
            found.insert(name, dir);
        }
    }
    let list = found
        .into_iter()
        .map(|(name, dir)| Found { name, dir })
        .collect();
    (list, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn admin_folders_override_shipped_ones() {
        let t = std::env::temp_dir().join(format!("corral-discover-{}", std::process::id()));
        let _ = fs::remove_dir_all(&t);
        let (shipped, admin) = (t.join("usr"), t.join("etc"));
        for d in ["web", "ntp", "Bad.Name"] {
            fs::create_dir_all(shipped.join(d)).unwrap();
        }
        fs::create_dir_all(admin.join("web")).unwrap();
        fs::create_dir_all(admin.join("extra")).unwrap();
        fs::write(admin.join("not-a-dir"), "").unwrap();
        let (found, errors) = discover(&[&shipped, &admin, &t.join("missing")]);
        let names: Vec<_> = found.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["extra", "ntp", "web"]);
        assert_eq!(found[2].dir, admin.join("web"));
        assert_eq!(found[1].dir, shipped.join("ntp"));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("Bad.Name"), "{errors:?}");
        fs::remove_dir_all(&t).unwrap();
    }
}
