//! Reads config.json from a bundle into an [`oci_spec::runtime::Spec`].

use std::fs;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_path_to_error::Segment;

use crate::error::{Error, Result};

/// A bundle: its directory, its config.json and the parsed, validated spec.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute bundle directory.
    pub dir: PathBuf,
    /// Path of the config file the spec came from.
    pub config_path: PathBuf,
    /// The parsed and validated configuration.
    pub spec: Spec,
    /// Absolute path of the root filesystem (root.path joined to `dir`).
    pub rootfs: PathBuf,
}

/// Loads `dir/config.json`, parses and validates it. `dir` is made absolute
/// against the current directory.
pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let dir =
        std::path::absolute(dir).map_err(|e| Error::io(format!("bundle {}", dir.display()), e))?;
    let config_path = dir.join("config.json");
    let bytes = fs::read(&config_path)
        .map_err(|e| Error::io(format!("read {}", config_path.display()), e))?;
    let spec = load_spec_from_slice(&bytes, &config_path)?;
    super::validate(&spec, &config_path)?;
    let rootfs = rootfs_path(&spec, &dir);
    check_rootfs(&rootfs, &config_path)?;
    Ok(Bundle {
        dir,
        config_path,
        spec,
        rootfs,
    })
}

/// Parses config.json bytes, naming `file` and the JSON pointer on error.
pub fn load_spec_from_slice(bytes: &[u8], file: &Path) -> Result<Spec> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let spec: Spec = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = json_pointer(e.path());
        let inner = e.into_inner();
        Error::spec(file, pointer, describe_serde_error(&inner))
    })?;
    // Trailing garbage after the object is an error too.
    de.end()
        .map_err(|e| Error::spec(file, "", describe_serde_error(&e)))?;
    Ok(spec)
}

fn rootfs_path(spec: &Spec, dir: &Path) -> PathBuf {
    let root = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    if root.is_absolute() {
        root
    } else {
        dir.join(root)
    }
}

fn check_rootfs(rootfs: &Path, file: &Path) -> Result<()> {
    match fs::metadata(rootfs) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::spec(
            file,
            "/root/path",
            format!("rootfs {} is not a directory", rootfs.display()),
        )),
        Err(e) => Err(Error::spec(
            file,
            "/root/path",
            format!("rootfs {}: {e}", rootfs.display()),
        )),
    }
}

/// Turns serde_path_to_error's path into an RFC 6901 JSON pointer.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn describe_serde_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    // oci-spec words an unknown capability as "no variant for X (converted to Y)".
    let msg = match msg.strip_prefix("no variant for ") {
        Some(rest) => {
            let name = rest.split(" (converted").next().unwrap_or(rest);
            format!("unknown capability {name}{}", location_suffix(&msg))
        }
        None => msg,
    };
    if e.is_syntax() || e.is_eof() {
        format!("malformed JSON: {msg}")
    } else {
        msg
    }
}

fn location_suffix(msg: &str) -> &str {
    msg.find(" at line ").map_or("", |i| &msg[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Spec> {
        load_spec_from_slice(json.as_bytes(), Path::new("/b/config.json"))
    }

    #[test]
    fn wrong_type_names_pointer() {
        let e = parse(r#"{"ociVersion":"1.0.0","process":{"args":"sh"}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/b/config.json: /process/args: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn unknown_capability_is_an_error() {
        let e = parse(r#"{"ociVersion":"1.0.0","process":{"cwd":"/","capabilities":{"bounding":["CAP_KILL","CAP_TEST"]}}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/process/capabilities/bounding/1: unknown capability CAP_TEST"),
            "{e}"
        );
    }

    #[test]
    fn bad_json_is_malformed() {
        let e = parse("{\"ociVersion\": ").unwrap_err().to_string();
        assert!(e.contains("malformed JSON"), "{e}");
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        assert!(parse(r#"{"ociVersion":"1.0.0"} x"#).is_err());
    }
}
