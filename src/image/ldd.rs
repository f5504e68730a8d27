//! The shared-library closure of host executables, from ldd(1): every
//! library an ELF file needs (ldd already follows the whole dependency
//! graph), as the path the loader looks for and the host file to copy.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Error;

/// Whether `path` starts with the ELF magic.
pub fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// Whether the ELF file at `path` asks for a program interpreter
/// (PT_INTERP): a dynamically linked executable. `None` when it is not a
/// readable 64-bit little-endian ELF file.
pub fn has_interpreter(path: &Path) -> Option<bool> {
    let data = std::fs::read(path).ok()?;
    let u16_at = |o: usize| Some(u16::from_le_bytes(data.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(data.get(o..o + 8)?.try_into().ok()?));
    // ELF64 (class 2), little-endian (data 1).
    if data.get(..4)? != b"\x7fELF" || data.get(4..6)? != [2, 1] {
        return None;
    }
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let phentsize = usize::from(u16_at(0x36)?);
    let phnum = usize::from(u16_at(0x38)?);
    const PT_INTERP: u32 = 3;
    let mut found = false;
    for i in 0..phnum {
        found |= u32_at(phoff + i * phentsize)? == PT_INTERP;
    }
    Some(found)
}

/// The libraries `files` need, as the paths the loader looks for (the
/// same paths on the build host). Static and non-ELF files need nothing.
pub fn closure(files: &[PathBuf]) -> Result<BTreeSet<PathBuf>, Error> {
    let elves: Vec<&PathBuf> = files.iter().filter(|f| is_elf(f)).collect();
    let mut libs = BTreeSet::new();
    // Batches keep the argument list short; ldd prints "FILE:" before each
    // file's list when given several.
    for batch in elves.chunks(64) {
        let out = Command::new("ldd")
            .args(batch)
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| Error::Tool("ldd".into(), e.to_string()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        libs.extend(parse(&text).map_err(|l| Error::Tool("ldd".into(), l))?);
    }
    Ok(libs)
}

/// Library paths named by ldd output; a library ldd could not find is an
/// error naming it.
pub fn parse(text: &str) -> Result<Vec<PathBuf>, String> {
    let mut libs = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty()
            || line.ends_with(':')
            || line.contains("not a dynamic executable")
            || line.contains("statically linked")
            || line.starts_with("linux-vdso")
            || line.starts_with("linux-gate")
        {
            continue;
        }
        if line.contains("=> not found") {
            return Err(format!("missing library: {line}"));
        }
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)".
        let path = match line.split_once("=>") {
            Some((_, rhs)) => rhs.trim(),
            None => line,
        };
        let path = path.split(" (0x").next().unwrap_or(path).trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_multi_file_output() {
        let text = "/usr/sbin/runc:\n\tlinux-vdso.so.1 (0x00007ffd)\n\
            \tlibseccomp.so.2 => /lib/x86_64-linux-gnu/libseccomp.so.2 (0x00007f)\n\
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n\
            /bin/busybox:\n\tnot a dynamic executable\n";
        assert_eq!(
            parse(text).unwrap(),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libseccomp.so.2"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn a_missing_library_is_named() {
        let e = parse("\tlibfoo.so.1 => not found\n").unwrap_err();
        assert!(e.contains("libfoo.so.1"), "{e}");
    }

    #[test]
    fn interpreter_detection() {
        // The test binary is dynamically linked unless built static.
        let exe = std::env::current_exe().unwrap();
        assert!(has_interpreter(&exe).is_some());
        if Path::new("/bin/busybox").exists() && !is_elf(Path::new("/bin/ls")) {
            return;
        }
        assert_eq!(has_interpreter(Path::new("/bin/ls")), Some(true));
        if Path::new("/bin/busybox").exists() {
            assert_eq!(has_interpreter(Path::new("/bin/busybox")), Some(false));
        }
        assert_eq!(has_interpreter(Path::new("/etc/hostname")), None);
    }

    #[test]
    fn elf_detection() {
        assert!(is_elf(&std::env::current_exe().unwrap()));
        assert!(!is_elf(Path::new("/etc/hostname")));
        assert!(!is_elf(Path::new("/nonexistent")));
    }
}
