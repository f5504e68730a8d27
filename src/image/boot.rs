//! `corral image boot`: runs a built image in QEMU. The kernel is booted
//! through its PVH entry (the ELF vmlinux unpacked from the bzImage once,
//! about twice as fast to start under TCG) when it can be unpacked, else
//! as the bzImage. With a terminal on stdin the serial console is the
//! terminal (-nographic: Ctrl-A X quits); otherwise it is stdin/stdout, for
//! scripts and tests.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::build::CMDLINE;
use super::Error;

/// Which accelerator QEMU uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Accel {
    /// KVM when /dev/kvm works, else TCG.
    #[default]
    Auto,
    Kvm,
    Tcg,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub image: PathBuf,
    pub memory_mib: u32,
    pub cpus: u32,
    pub accel: Accel,
    /// Extra kernel command-line words.
    pub append: Vec<String>,
    /// A raw disk image attached as a virtio disk (/dev/vda).
    pub disk: Option<PathBuf>,
    /// Boot the bzImage even when a vmlinux could be unpacked.
    pub bzimage: bool,
}

/// Runs QEMU in the foreground; returns its exit code.
pub fn boot(o: &Options) -> Result<i32, Error> {
    let mut cmd = command(o)?;
    let status = cmd.status().map_err(|e| {
        Error::Tool(
            "qemu-system-x86_64".into(),
            format!("{e} (apt-get install qemu-system-x86)"),
        )
    })?;
    Ok(status.code().unwrap_or(128 + status_signal(&status)))
}

fn status_signal(s: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.signal().unwrap_or(0)
}

/// The QEMU command line for `o`.
pub fn command(o: &Options) -> Result<Command, Error> {
    let initrd = o.image.join("initramfs.cpio");
    if !initrd.is_file() {
        return Err(Error::Invalid(
            initrd,
            "no image here (run `corral image build` first)".into(),
        ));
    }
    let kernel = kernel_for(&o.image, o.bzimage)?;
    let cmdline = std::fs::read_to_string(o.image.join("cmdline"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| CMDLINE.to_owned());
    let mut append = cmdline;
    for w in &o.append {
        append.push(' ');
        append.push_str(w);
    }
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-machine", "q35", "-cpu", "max", "-no-reboot"]);
    for a in accel_args(o.accel) {
        cmd.args(["-accel", a]);
    }
    cmd.arg("-m").arg(o.memory_mib.to_string());
    cmd.arg("-smp").arg(o.cpus.to_string());
    cmd.arg("-kernel").arg(kernel).arg("-initrd").arg(initrd);
    cmd.arg("-append").arg(append);
    cmd.args(["-nic", "user,model=virtio-net-pci"]);
    if let Some(d) = &o.disk {
        let mut spec = std::ffi::OsString::from("file=");
        spec.push(d);
        spec.push(",if=virtio,format=raw");
        cmd.arg("-drive").arg(spec);
    }
    if std::io::stdin().is_terminal() {
        cmd.arg("-nographic");
    } else {
        cmd.args(["-display", "none", "-serial", "stdio", "-monitor", "none"]);
        cmd.stdin(Stdio::inherit());
    }
    Ok(cmd)
}

fn accel_args(a: Accel) -> Vec<&'static str> {
    match a {
        Accel::Tcg => vec!["tcg"],
        Accel::Kvm => vec!["kvm"],
        Accel::Auto if kvm_usable() => vec!["kvm", "tcg"],
        Accel::Auto => vec!["tcg"],
    }
}

/// /dev/kvm opens and answers KVM_GET_API_VERSION with 12.
fn kvm_usable() -> bool {
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    else {
        return false;
    };
    use std::os::fd::AsRawFd;
    const KVM_GET_API_VERSION: libc::c_ulong = 0xAE00;
    // SAFETY: KVM_GET_API_VERSION takes no argument and only returns an
    // int; the fd is open for the duration of the call.
    let v = unsafe { libc::ioctl(f.as_raw_fd(), KVM_GET_API_VERSION, 0) };
    v == 12 && kvm_creates_vm(&f)
}

/// Some hosts (PVM) expose /dev/kvm but cannot create a VM.
fn kvm_creates_vm(f: &std::fs::File) -> bool {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    const KVM_CREATE_VM: libc::c_ulong = 0xAE01;
    // SAFETY: KVM_CREATE_VM with type 0 returns a new fd or -1; the fd is
    // owned below and closed when dropped.
    let vm = unsafe { libc::ioctl(f.as_raw_fd(), KVM_CREATE_VM, 0) };
    if vm < 0 {
        return false;
    }
    // SAFETY: `vm` is a fresh fd that nothing else owns.
    drop(unsafe { OwnedFd::from_raw_fd(vm) });
    true
}

/// IMAGE/vmlinux (unpacked now if missing), or IMAGE/vmlinuz.
fn kernel_for(image: &Path, force_bzimage: bool) -> Result<PathBuf, Error> {
    let bz = image.join("vmlinuz");
    if !bz.is_file() {
        return Err(Error::Kernel(format!("{}: missing", bz.display())));
    }
    if force_bzimage {
        return Ok(bz);
    }
    let elf = image.join("vmlinux");
    if elf.is_file() || unpack_vmlinux(&bz, &elf).is_ok() {
        return Ok(elf);
    }
    Ok(bz)
}

/// The xz stream magic; Debian's x86 kernels are xz-compressed.
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];

/// Unpacks the ELF kernel inside bzImage `bz` to `out`.
pub fn unpack_vmlinux(bz: &Path, out: &Path) -> Result<(), Error> {
    let data = std::fs::read(bz).map_err(|e| Error::Io(bz.to_path_buf(), e))?;
    let at = data
        .windows(XZ_MAGIC.len())
        .position(|w| w == XZ_MAGIC)
        .ok_or_else(|| Error::Kernel(format!("{}: no xz payload", bz.display())))?;
    let tmp = out.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::Io(tmp.clone(), e))?;
    let mut child = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(file)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Tool("xz".into(), e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        // xz stops reading after the stream; a broken pipe then is fine.
        let _ = stdin.write_all(&data[at..]);
    }
    let ok = child.wait().is_ok_and(|s| s.success()) && super::ldd::is_elf(&tmp);
    if !ok {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Kernel(format!(
            "{}: could not unpack vmlinux",
            bz.display()
        )));
    }
    std::fs::rename(&tmp, out).map_err(|e| Error::Io(out.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_names_image_kernel_and_console() {
        let dir = std::env::temp_dir().join(format!("corral-boot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("initramfs.cpio"), b"x").unwrap();
        std::fs::write(dir.join("vmlinuz"), b"not a kernel").unwrap();
        std::fs::write(dir.join("cmdline"), "console=ttyS0 quiet\n").unwrap();
        let o = Options {
            image: dir.clone(),
            memory_mib: 512,
            cpus: 1,
            accel: Accel::Tcg,
            append: vec!["panic=-1".into()],
            disk: Some(PathBuf::from("/tmp/d.img")),
            bzimage: false,
        };
        let cmd = command(&o).unwrap();
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let after = |flag: &str| {
            let i = args.iter().position(|a| a == flag).unwrap();
            args[i + 1].clone()
        };
        assert_eq!(after("-accel"), "tcg");
        assert_eq!(after("-append"), "console=ttyS0 quiet panic=-1");
        // No xz payload: the bzImage is booted as it is.
        assert!(after("-kernel").ends_with("vmlinuz"));
        assert_eq!(after("-drive"), "file=/tmp/d.img,if=virtio,format=raw");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(command(&o)
            .unwrap_err()
            .to_string()
            .contains("corral image build"));
    }
}
