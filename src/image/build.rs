//! `corral image build`: checks every input first (corral binary, kernel,
//! bundles, policy), then assembles the tree and writes OUT/initramfs.cpio,
//! OUT/vmlinuz (the kernel) and OUT/cmdline (the kernel command line).

use std::path::{Path, PathBuf};

use super::bundle::{self, BundleSrc};
use super::modules::ModuleDb;
use super::tree::{Node, Tree};
use super::{assemble, config, kernel, ldd, policy, stage0, Error};

/// The kernel command line the image is made for: the serial console last
/// (it becomes /dev/console), SELinux as the major LSM, quiet output.
pub const CMDLINE: &str = "console=tty1 console=ttyS0,115200 security=selinux quiet";

/// What to build from.
#[derive(Debug, Clone)]
pub struct Options {
    pub out: PathBuf,
    /// A bzImage; default: the newest /boot/vmlinuz-* with modules.
    pub kernel: Option<PathBuf>,
    /// Default: /lib/modules/RELEASE.
    pub modules_dir: Option<PathBuf>,
    pub bundles: PathBuf,
    pub exclude: Vec<String>,
    /// The policy sources; `None` ships no policy.
    pub policy: Option<PathBuf>,
    /// A corral.toml to ship as it is; default: one written here.
    pub config: Option<PathBuf>,
    /// The statically linked corral binary that becomes /init.
    pub corral: PathBuf,
    /// Kernel modules to ship beyond those the config and bundles name.
    pub extra_modules: Vec<String>,
    /// Start through the stage-0 /init that moves the image to a tmpfs
    /// (see stage0.rs); without it /init is corral itself.
    pub stage0: bool,
}

/// What was built.
#[derive(Debug, Clone)]
pub struct Built {
    pub initramfs: PathBuf,
    pub kernel: PathBuf,
    pub release: String,
    pub bytes: u64,
    pub entries: usize,
    pub bundles: Vec<String>,
    pub modules: usize,
    pub policy: bool,
    /// Set when a user's corral.toml is broken (shipped all the same).
    pub config_warning: Option<String>,
}

pub fn build(o: &Options) -> Result<Built, Error> {
    check_static(&o.corral)?;
    let k = kernel::locate(
        o.kernel.as_deref(),
        o.modules_dir.as_deref(),
        Path::new("/boot"),
        Path::new("/lib/modules"),
    )?;
    let db = ModuleDb::load(&k.modules)?;
    let bundles = bundle::discover(&o.bundles, &o.exclude)?;
    let work = o.out.join("work");
    let policy_bytes = match &o.policy {
        Some(dir) => Some(policy::compile(dir, &work)?),
        None => None,
    };
    let mut tree = Tree::new();
    base_layout(&mut tree, &o.corral, &bundles)?;
    if o.stage0 {
        stage0::add(&mut tree)?;
    } else {
        tree.symlink(Path::new("/init"), "usr/bin/corral")?;
    }
    let mut wanted = o.extra_modules.clone();
    for b in &bundles {
        wanted.extend(assemble::bundle(&mut tree, b)?);
    }
    let shipped = config_for(o, &db, &wanted)?;
    tree.bytes(Path::new("/etc/corral/corral.toml"), shipped.text, 0o644)?;
    if let Some(p) = policy_bytes {
        tree.bytes(Path::new("/usr/lib/corral/selinux/policy"), p.policy, 0o644)?;
        tree.bytes(
            Path::new("/usr/lib/corral/selinux/file_contexts"),
            p.file_contexts.into_bytes(),
            0o644,
        )?;
    }
    wanted.extend(shipped.loads);
    let module_count = add_modules(&mut tree, &k, &db, &db.load_order(&wanted))?;
    let written = write_outputs(o, &tree, &k)?;
    Ok(Built {
        initramfs: o.out.join("initramfs.cpio"),
        kernel: o.out.join("vmlinuz"),
        release: k.release,
        bytes: written.bytes,
        entries: written.entries,
        bundles: bundles.into_iter().map(|b| b.name).collect(),
        modules: module_count,
        policy: o.policy.is_some(),
        config_warning: shipped.warning,
    })
}

/// PID 1 cannot load shared libraries from an initramfs that has none.
fn check_static(corral: &Path) -> Result<(), Error> {
    match ldd::has_interpreter(corral) {
        Some(false) => Ok(()),
        Some(true) => Err(Error::Invalid(
            corral.to_path_buf(),
            "dynamically linked; build corral with RUSTFLAGS='-C target-feature=+crt-static' \
             cargo build --release --target x86_64-unknown-linux-gnu"
                .into(),
        )),
        None => Err(Error::Invalid(
            corral.to_path_buf(),
            "not a readable x86_64 ELF executable".into(),
        )),
    }
}

/// The directories, device nodes and links every image has.
fn base_layout(tree: &mut Tree, corral: &Path, bundles: &[BundleSrc]) -> Result<(), Error> {
    for d in [
        "/proc",
        "/sys",
        "/dev",
        "/run",
        "/etc/corral/services",
        "/var/log/corral",
        "/var/lib/corral",
        "/usr/lib/corral/services",
    ] {
        tree.dir(Path::new(d))?;
    }
    tree.add(Path::new("/tmp"), Node::Dir { perm: 0o1777 })?;
    tree.add(Path::new("/root"), Node::Dir { perm: 0o700 })?;
    for b in bundles {
        tree.dir(&Path::new("/var/lib/corral").join(&b.name))?;
    }
    for (name, major, minor, perm) in [("console", 5, 1, 0o600), ("null", 1, 3, 0o666)] {
        tree.add(
            &Path::new("/dev").join(name),
            Node::CharDev { major, minor, perm },
        )?;
    }
    tree.symlink(Path::new("/var/run"), "../run")?;
    tree.host_file(Path::new("/usr/bin/corral"), corral, 0o755)?;
    tree.symlink(Path::new("/sbin/init"), "../usr/bin/corral")
}

/// The corral.toml an image ships and the modules it has PID 1 load.
#[derive(Debug)]
struct Shipped {
    text: Vec<u8>,
    loads: Vec<String>,
    /// Why a user's file is broken (it is shipped all the same).
    warning: Option<String>,
}

/// The default corral.toml (loading the base modules and what the bundles
/// need, soft dependencies first), or the user's file as it is.
fn config_for(o: &Options, db: &ModuleDb, wanted: &[String]) -> Result<Shipped, Error> {
    let Some(path) = &o.config else {
        let mut base: Vec<String> = config::BASE_MODULES
            .iter()
            .map(|m| (*m).to_owned())
            .collect();
        base.extend(wanted.iter().cloned());
        let loads = db.load_order(&base);
        return Ok(Shipped {
            text: config::default_text(&loads).into_bytes(),
            loads,
            warning: None,
        });
    };
    let text = std::fs::read(path).map_err(|e| Error::Io(path.clone(), e))?;
    let (loads, warning) = match config::modules_of(&String::from_utf8_lossy(&text)) {
        Ok(m) => (m, None),
        Err(e) => (Vec::new(), Some(format!("{}: {e}", path.display()))),
    };
    Ok(Shipped {
        text,
        loads,
        warning,
    })
}

/// Ships the modules `names` need and a modules.dep for just those.
fn add_modules(
    tree: &mut Tree,
    k: &kernel::Kernel,
    db: &ModuleDb,
    names: &[String],
) -> Result<usize, Error> {
    let kos = db
        .closure(names)
        .map_err(|e| Error::Invalid(k.modules.join("modules.dep"), e))?;
    let dst = Path::new("/lib/modules").join(&k.release);
    for ko in &kos {
        tree.host_file(&dst.join(ko), &k.modules.join(ko), 0o644)?;
    }
    tree.bytes(
        &dst.join("modules.dep"),
        db.filtered_dep(&kos).into_bytes(),
        0o644,
    )?;
    let builtin = k.modules.join("modules.builtin");
    if builtin.is_file() {
        tree.host_file(&dst.join("modules.builtin"), &builtin, 0o644)?;
    }
    Ok(kos.len())
}

fn write_outputs(
    o: &Options,
    tree: &Tree,
    k: &kernel::Kernel,
) -> Result<super::tree::Written, Error> {
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io(o.out.clone(), e))?;
    let path = o.out.join("initramfs.cpio");
    let tmp = o.out.join("initramfs.cpio.tmp");
    let file = std::fs::File::create(&tmp).map_err(|e| Error::Io(tmp.clone(), e))?;
    let written = tree.write(std::io::BufWriter::with_capacity(1 << 20, file))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::Io(path.clone(), e))?;
    let kernel_out = o.out.join("vmlinuz");
    std::fs::copy(&k.image, &kernel_out).map_err(|e| Error::Io(kernel_out.clone(), e))?;
    // A stale vmlinux (unpacked for PVH boots) must not outlive its kernel.
    let _ = std::fs::remove_file(o.out.join("vmlinux"));
    let cmdline = o.out.join("cmdline");
    std::fs::write(&cmdline, format!("{CMDLINE}\n")).map_err(|e| Error::Io(cmdline, e))?;
    Ok(written)
}
