//! `corral image build|boot`: the bootable image (see src/image/).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

use crate::image::{boot, build, relabel};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Debug, Subcommand)]
enum ImageCommand {
    /// Build a bootable initramfs (and copy its kernel) into OUT.
    Build(BuildArgs),
    /// Boot a built image in QEMU; the serial console is this terminal.
    Boot(BootArgs),
    /// Label files from a file_contexts (stage 0 of an image runs this).
    #[command(hide = true)]
    Relabel(RelabelArgs),
}

#[derive(Debug, ClapArgs)]
struct RelabelArgs {
    /// The tree to label (not crossing into other filesystems).
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// The rules: exact paths and PATH(/.*)? subtrees.
    #[arg(long, default_value = "/usr/lib/corral/selinux/file_contexts")]
    contexts: PathBuf,
}

#[derive(Debug, ClapArgs)]
struct BuildArgs {
    /// Output directory: initramfs.cpio, vmlinuz, cmdline.
    #[arg(long, short, default_value = "target/image")]
    out: PathBuf,
    /// Kernel bzImage (default: the newest /boot/vmlinuz-* with modules).
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// Kernel modules directory (default: /lib/modules/RELEASE).
    #[arg(long)]
    modules: Option<PathBuf>,
    /// Folder of service bundles.
    #[arg(long, default_value = "bundles")]
    bundles: PathBuf,
    /// Leave this bundle out (repeatable).
    #[arg(long, value_name = "NAME")]
    exclude: Vec<String>,
    /// SELinux policy sources (*.cil).
    #[arg(long, default_value = "selinux-policy")]
    policy: PathBuf,
    /// Ship no SELinux policy.
    #[arg(long)]
    no_policy: bool,
    /// corral.toml to ship as it is (default: one written by the builder).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The statically linked corral that becomes /init (default: this one).
    #[arg(long)]
    corral: Option<PathBuf>,
    /// An extra kernel module to ship (repeatable).
    #[arg(long = "module", value_name = "NAME")]
    extra_modules: Vec<String>,
    /// /init is corral itself, without the stage 0 that moves the image
    /// off the initramfs (containers then cannot pivot_root).
    #[arg(long)]
    no_stage0: bool,
}

#[derive(Debug, ClapArgs)]
struct BootArgs {
    /// The image directory `image build` wrote.
    #[arg(long, default_value = "target/image")]
    image: PathBuf,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 2048)]
    memory: u32,
    /// Virtual CPUs.
    #[arg(long, default_value_t = 2)]
    cpus: u32,
    /// Accelerator.
    #[arg(long, value_enum, default_value_t)]
    accel: boot::Accel,
    /// Extra kernel command-line word (repeatable).
    #[arg(long, value_name = "WORD", allow_hyphen_values = true)]
    append: Vec<String>,
    /// A raw disk image for the guest's /dev/vda.
    #[arg(long)]
    disk: Option<PathBuf>,
    /// Boot the bzImage rather than the unpacked vmlinux.
    #[arg(long)]
    bzimage: bool,
}

pub fn run(a: &Args) -> anyhow::Result<ExitCode> {
    match &a.command {
        ImageCommand::Build(b) => run_build(b),
        ImageCommand::Boot(b) => run_boot(b),
        ImageCommand::Relabel(r) => run_relabel(r),
    }
}

fn run_relabel(a: &RelabelArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.contexts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.contexts.display()))?;
    let rules = relabel::Rules::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.contexts.display()))?;
    let done = relabel::apply(&a.root, &rules)?;
    for c in &done.conflicts {
        eprintln!("corral: relabel: hard link {c}: kept the first label");
    }
    println!(
        "corral: labeled {} files under {}",
        done.labeled,
        a.root.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn run_build(a: &BuildArgs) -> anyhow::Result<ExitCode> {
    let corral = match &a.corral {
        Some(p) => p.clone(),
        None => std::env::current_exe()?,
    };
    let built = build::build(&build::Options {
        out: a.out.clone(),
        kernel: a.kernel.clone(),
        modules_dir: a.modules.clone(),
        bundles: a.bundles.clone(),
        exclude: a.exclude.clone(),
        policy: (!a.no_policy).then(|| a.policy.clone()),
        config: a.config.clone(),
        corral,
        extra_modules: a.extra_modules.clone(),
        stage0: !a.no_stage0,
    })?;
    if let Some(w) = &built.config_warning {
        eprintln!("corral: warning: {w} (shipped as is: the init will boot on its defaults)");
    }
    println!(
        "image: {} ({:.1} MiB, {} entries) for kernel {} ({})",
        built.initramfs.display(),
        built.bytes as f64 / (1024.0 * 1024.0),
        built.entries,
        built.release,
        built.kernel.display()
    );
    println!(
        "  services: {}; {} kernel modules; SELinux policy: {}",
        built.bundles.join(", "),
        built.modules,
        if built.policy { "yes" } else { "no" }
    );
    Ok(ExitCode::SUCCESS)
}

fn run_boot(a: &BootArgs) -> anyhow::Result<ExitCode> {
    let code = boot::boot(&boot::Options {
        image: a.image.clone(),
        memory_mib: a.memory,
        cpus: a.cpus,
        accel: a.accel,
        append: a.append.clone(),
        disk: a.disk.clone(),
        bzimage: a.bzimage,
    })?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
