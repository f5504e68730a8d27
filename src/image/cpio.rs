//! A writer for the cpio "newc" format (SVR4 without checksums), the format
//! the kernel unpacks an initramfs from.
//!
//! Each entry is a 110-byte ASCII header (`070701` and thirteen 8-digit hex
//! fields), the NUL-terminated name padded to 4 bytes, then the data padded
//! to 4 bytes; the archive ends with an entry named `TRAILER!!!`. Hard links
//! share an inode number; as GNU cpio does, only the last entry of a link
//! group carries the data (the kernel accepts either convention).

use std::io::{self, Read, Write};

/// The header magic of the newc format.
const MAGIC: &str = "070701";
/// Name of the entry that ends an archive.
const TRAILER: &str = "TRAILER!!!";

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    CharDev { major: u32, minor: u32 },
}

impl Kind {
    fn type_bits(self) -> u32 {
        match self {
            Kind::Dir => libc::S_IFDIR,
            Kind::File => libc::S_IFREG,
            Kind::Symlink => libc::S_IFLNK,
            Kind::CharDev { .. } => libc::S_IFCHR,
        }
    }
}

/// One entry's header fields (the data is written separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// Path inside the archive, without a leading `/`.
    pub name: &'a str,
    pub kind: Kind,
    /// Permission bits (the type bits come from `kind`).
    pub perm: u32,
    pub ino: u32,
    pub nlink: u32,
    pub size: u64,
    pub mtime: u32,
}

/// Streams entries into `W`, keeping count of the bytes written.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Writer { out, written: 0 }
    }

    /// Writes a header and exactly `h.size` bytes from `data`, padded.
    pub fn entry(&mut self, h: &Header<'_>, data: &mut dyn Read) -> io::Result<()> {
        let size = u32::try_from(h.size).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: larger than the 4 GiB newc limit", h.name),
            )
        })?;
        self.header(h, size)?;
        let copied = io::copy(&mut data.take(h.size), &mut self.out)?;
        if copied != h.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: expected {} bytes, got {copied}", h.name, h.size),
            ));
        }
        self.written += copied;
        self.pad()
    }

    /// Writes the trailer; returns the inner writer and the archive size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        let h = Header {
            name: TRAILER,
            kind: Kind::File,
            perm: 0,
            ino: 0,
            nlink: 1,
            size: 0,
            mtime: 0,
        };
        self.header(&h, 0)?;
        self.out.flush()?;
        Ok((self.out, self.written))
    }

    fn header(&mut self, h: &Header<'_>, size: u32) -> io::Result<()> {
        let (rmaj, rmin) = match h.kind {
            Kind::CharDev { major, minor } => (major, minor),
            _ => (0, 0),
        };
        let name_len = u32::try_from(h.name.len() + 1)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name too long"))?;
        let fields = [
            h.ino,
            h.kind.type_bits() | (h.perm & 0o7777),
            0, // uid
            0, // gid
            h.nlink,
            h.mtime,
            size,
            0, // devmajor
            0, // devminor
            rmaj,
            rmin,
            name_len,
            0, // check
        ];
        let mut head = String::with_capacity(110 + h.name.len());
        head.push_str(MAGIC);
        for f in fields {
            head.push_str(&format!("{f:08x}"));
        }
        head.push_str(h.name);
        head.push('\0');
        self.out.write_all(head.as_bytes())?;
        self.written += head.len() as u64;
        self.pad()
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - (self.written % 4)) % 4;
        self.out.write_all(&[0u8; 3][..n as usize])?;
        self.written += n;
        Ok(())
    }
}

/// Test helper: (name, mode, nlink, data) of every entry but the trailer.
#[cfg(test)]
pub fn read_entries(mut b: &[u8]) -> Vec<(String, u32, u32, Vec<u8>)> {
    let hex = |s: &[u8]| u32::from_str_radix(std::str::from_utf8(s).unwrap(), 16).unwrap();
    let pad = |n: usize| (4 - n % 4) % 4;
    let mut out = Vec::new();
    loop {
        assert_eq!(&b[..6], MAGIC.as_bytes());
        let field = |i: usize| hex(&b[6 + 8 * i..14 + 8 * i]);
        let (mode, nlink, size, namesize) = (field(1), field(4), field(6), field(11));
        let name_end = 110 + namesize as usize - 1;
        let name = String::from_utf8(b[110..name_end].to_vec()).unwrap();
        let data_at = name_end + 1 + pad(name_end + 1);
        if name == TRAILER {
            return out;
        }
        let data = b[data_at..data_at + size as usize].to_vec();
        b = &b[data_at + size as usize + pad(size as usize)..];
        out.push((name, mode, nlink, data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, kind: Kind, size: u64) -> Header<'_> {
        Header {
            name,
            kind,
            perm: 0o755,
            ino: 7,
            nlink: 1,
            size,
            mtime: 0,
        }
    }

    #[test]
    fn header_layout_matches_newc() {
        let mut w = Writer::new(Vec::new());
        w.entry(&header("bin/sh", Kind::File, 3), &mut &b"abc"[..])
            .unwrap();
        let out = w.finish().unwrap().0;
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("070701"));
        // ino 7, mode 0100755, nlink 1, size 3, namesize 7 ("bin/sh\0").
        assert_eq!(&text[6..14], "00000007");
        assert_eq!(&text[14..22], "000081ed");
        assert_eq!(&text[38..46], "00000001");
        assert_eq!(&text[54..62], "00000003");
        assert_eq!(&text[94..102], "00000007");
        // 110 header + 7 name = 117, padded to 120; data at 120.
        assert_eq!(&out[110..117], b"bin/sh\0");
        assert_eq!(&out[117..120], &[0, 0, 0]);
        assert_eq!(&out[120..123], b"abc");
        assert_eq!(out[123], 0);
        assert!(text[124..].starts_with("070701"));
        assert!(text.contains("TRAILER!!!"));
        assert_eq!(out.len() % 4, 0);
    }

    #[test]
    fn devices_and_symlinks() {
        let mut w = Writer::new(Vec::new());
        let mut h = header("dev/console", Kind::CharDev { major: 5, minor: 1 }, 0);
        h.perm = 0o600;
        w.entry(&h, &mut io::empty()).unwrap();
        w.entry(
            &header("init", Kind::Symlink, 14),
            &mut &b"/usr/bin/corra"[..],
        )
        .unwrap();
        let out = w.finish().unwrap().0;
        let text = String::from_utf8_lossy(&out);
        assert_eq!(&text[14..22], "00002180"); // S_IFCHR | 0600
        assert_eq!(&text[78..86], "00000005"); // rdevmajor
        assert_eq!(&text[86..94], "00000001"); // rdevminor
        assert!(text.contains("0000a1ed")); // S_IFLNK | 0755
    }

    #[test]
    fn short_data_is_an_error_not_a_corrupt_archive() {
        let mut w = Writer::new(Vec::new());
        let e = w
            .entry(&header("f", Kind::File, 10), &mut &b"abc"[..])
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn host_cpio_reads_what_we_write() {
        if std::process::Command::new("cpio")
            .arg("--version")
            .output()
            .is_err()
        {
            return; // cpio(1) not installed: the layout tests above still ran
        }
        let dir = std::env::temp_dir().join(format!("corral-cpio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = Writer::new(Vec::new());
        w.entry(&header("d", Kind::Dir, 0), &mut io::empty())
            .unwrap();
        let mut a = header("d/a", Kind::File, 0);
        a.ino = 9;
        a.nlink = 2;
        w.entry(&a, &mut io::empty()).unwrap();
        let mut b = header("d/b", Kind::File, 5);
        b.ino = 9;
        b.nlink = 2;
        w.entry(&b, &mut &b"hello"[..]).unwrap();
        let archive = w.finish().unwrap().0;
        let mut child = std::process::Command::new("cpio")
            .args(["-id", "--quiet"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&archive).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(std::fs::read(dir.join("d/a")).unwrap(), b"hello");
        assert_eq!(std::fs::read(dir.join("d/b")).unwrap(), b"hello");
        use std::os::unix::fs::MetadataExt;
        let ia = std::fs::metadata(dir.join("d/a")).unwrap().ino();
        let ib = std::fs::metadata(dir.join("d/b")).unwrap().ino();
        assert_eq!(ia, ib, "hard link group extracted as one inode");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
