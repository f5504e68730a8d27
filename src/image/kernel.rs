//! The kernel an image is built for: a bzImage (default: the newest
//! /boot/vmlinuz-* of the build host that has a /lib/modules directory) and
//! its release string, read from the bzImage's setup header.

use std::path::{Path, PathBuf};

use super::Error;

/// A kernel image and the modules directory that goes with it.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub image: PathBuf,
    pub release: String,
    pub modules: PathBuf,
}

/// Offset of the "HdrS" magic in a bzImage, and of the pointer (relative to
/// 0x200) to the NUL-terminated version string.
const HDRS_AT: usize = 0x202;
const VERSION_PTR_AT: usize = 0x20e;

/// The release ("6.1.0-56-amd64") from the start of a bzImage.
pub fn release_of(bz: &[u8]) -> Option<String> {
    if bz.get(HDRS_AT..HDRS_AT + 4)? != b"HdrS" {
        return None;
    }
    let ptr = u16::from_le_bytes([*bz.get(VERSION_PTR_AT)?, *bz.get(VERSION_PTR_AT + 1)?]);
    let at = usize::from(ptr) + 0x200;
    let rest = bz.get(at..)?;
    let end = rest.iter().position(|&b| b == 0 || b == b' ')?;
    let release = std::str::from_utf8(&rest[..end]).ok()?;
    (!release.is_empty()).then(|| release.to_owned())
}

/// Finds the kernel: `image` when given, else the newest
/// `BOOT/vmlinuz-*`; `modules` defaults to `MODROOT/RELEASE`.
pub fn locate(
    image: Option<&Path>,
    modules: Option<&Path>,
    boot: &Path,
    modroot: &Path,
) -> Result<Kernel, Error> {
    let image = match image {
        Some(p) => p.to_path_buf(),
        None => newest(boot, modroot)?,
    };
    let head = read_head(&image)?;
    let release = release_of(&head).ok_or_else(|| {
        Error::Kernel(format!(
            "{}: not an x86 bzImage (no HdrS setup header)",
            image.display()
        ))
    })?;
    let modules = modules.map_or_else(|| modroot.join(&release), Path::to_path_buf);
    if !modules.join("modules.dep").is_file() {
        return Err(Error::Kernel(format!(
            "{}: no modules.dep for kernel {release} (install its modules or pass --modules)",
            modules.display()
        )));
    }
    Ok(Kernel {
        image,
        release,
        modules,
    })
}

fn read_head(image: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut f = std::fs::File::open(image)
        .map_err(|e| Error::Kernel(format!("{}: {e}", image.display())))?;
    let mut head = vec![0u8; 64 * 1024];
    let n = f
        .read(&mut head)
        .map_err(|e| Error::Kernel(format!("{}: {e}", image.display())))?;
    head.truncate(n);
    Ok(head)
}

/// The newest `vmlinuz-RELEASE` in `boot` whose modules are installed.
fn newest(boot: &Path, modroot: &Path) -> Result<PathBuf, Error> {
    let entries = std::fs::read_dir(boot).map_err(|e| {
        Error::Kernel(format!(
            "{}: {e} (install linux-image-amd64 or pass --kernel)",
            boot.display()
        ))
    })?;
    let mut found: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let release = name.strip_prefix("vmlinuz-")?.to_owned();
            modroot
                .join(&release)
                .is_dir()
                .then(|| (version_key(&release), e.path()))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p).ok_or_else(|| {
        Error::Kernel(format!(
            "no vmlinuz-* with modules in {} (install linux-image-amd64 or pass --kernel)",
            boot.display()
        ))
    })
}

/// "6.1.0-56-amd64" → [6, 1, 0, 56]: numbers compare as numbers.
fn version_key(release: &str) -> Vec<u64> {
    release
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_bzimage(release: &str) -> Vec<u8> {
        let mut b = vec![0u8; 0x400];
        b[HDRS_AT..HDRS_AT + 4].copy_from_slice(b"HdrS");
        let ptr: u16 = 0x100; // string at 0x300
        b[VERSION_PTR_AT..VERSION_PTR_AT + 2].copy_from_slice(&ptr.to_le_bytes());
        let s = format!("{release} (builder@host) #1 SMP\0");
        b[0x300..0x300 + s.len()].copy_from_slice(s.as_bytes());
        b
    }

    #[test]
    fn release_from_setup_header() {
        assert_eq!(
            release_of(&fake_bzimage("6.1.0-56-amd64")).as_deref(),
            Some("6.1.0-56-amd64")
        );
        assert_eq!(release_of(b"not a kernel"), None);
        assert_eq!(release_of(&[0u8; 0x300]), None);
    }

    #[test]
    fn newest_kernel_with_modules_wins() {
        let dir = std::env::temp_dir().join(format!("corral-kernel-{}", std::process::id()));
        let (boot, modroot) = (dir.join("boot"), dir.join("modules"));
        for r in ["6.1.0-9-amd64", "6.1.0-10-amd64", "6.1.0-11-amd64"] {
            std::fs::create_dir_all(&boot).unwrap();
            std::fs::write(boot.join(format!("vmlinuz-{r}")), fake_bzimage(r)).unwrap();
        }
        for r in ["6.1.0-9-amd64", "6.1.0-10-amd64"] {
            std::fs::create_dir_all(modroot.join(r)).unwrap();
            std::fs::write(modroot.join(r).join("modules.dep"), "").unwrap();
        }
        let k = locate(None, None, &boot, &modroot).unwrap();
        assert_eq!(k.release, "6.1.0-10-amd64");
        assert_eq!(k.modules, modroot.join("6.1.0-10-amd64"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_kernels_are_one_clear_line() {
        let dir = std::env::temp_dir().join(format!("corral-kernel-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("vmlinuz-missing");
        let e = locate(Some(&missing), None, &dir, &dir)
            .unwrap_err()
            .to_string();
        assert!(e.contains("vmlinuz-missing") && !e.contains('\n'), "{e}");
        let junk = dir.join("junk");
        std::fs::write(&junk, b"junk").unwrap();
        let e = locate(Some(&junk), None, &dir, &dir)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an x86 bzImage"), "{e}");
        let e = locate(None, None, &dir.join("noboot"), &dir)
            .unwrap_err()
            .to_string();
        assert!(e.contains("noboot"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
