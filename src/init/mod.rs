//! PID 1: early boot, the event loop, the shutdown. Also sandbox mode,
//! where the same init runs as PID 1 of fresh namespaces over a prepared
//! root on an ordinary host (`corral boot`, see [`boot`]).

pub mod boot;
pub mod console;
mod event_loop;
pub mod labels;
mod memory;
mod modules;
mod mounts;
mod reaper;
mod sandbox;
mod selinux;
mod shutdown;
mod storage;
mod switch_root;
mod system;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{system as sysconf, SystemConfig};

/// The exit status of a sandbox init asked to reboot: `corral boot`
/// boots it again.
pub const SANDBOX_REBOOT_EXIT: u8 = 100;

/// How the init was started.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Sandbox mode: the root to make `/` first.
    pub sandbox_root: Option<PathBuf>,
    /// corral.toml to read instead of /etc/corral/corral.toml (in sandbox
    /// mode a host path, read before entering the root).
    pub config: Option<PathBuf>,
}

/// Whether argv[0] asks for init mode (`/init`, `/sbin/init`...).
pub fn invoked_as_init() -> bool {
    std::env::args_os()
        .next()
        .and_then(|a| Path::new(&a).file_name().map(|n| n == "init"))
        .unwrap_or(false)
}

/// Init mode from argv[0]: the kernel's arguments are not ours to parse.
pub fn main_from_argv0() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .without_time()
        .with_writer(std::io::stderr)
        .try_init();
    main(Options::default())
}

/// Runs PID 1. A real init never returns; a sandbox init returns its
/// exit status once shut down.
pub fn main(opts: Options) -> ExitCode {
    console::start_clock();
    let sandbox = opts.sandbox_root.is_some();
    if std::process::id() != 1 {
        eprintln!(
            "corral init: must run as PID 1 (to try it on this machine: corral boot --root DIR)"
        );
        return ExitCode::FAILURE;
    }
    let early_config = match (&opts.config, sandbox) {
        (Some(path), true) => Some(read_config(path)),
        _ => None,
    };
    if let Some(root) = &opts.sandbox_root {
        if let Err(e) = sandbox::enter(root) {
            console::error(format_args!("sandbox: {e}"));
            return ExitCode::FAILURE;
        }
    }
    let cfg = early_boot(sandbox, early_config, opts.config.as_deref());
    let outcome = std::panic::catch_unwind(|| event_loop::run(&cfg, sandbox));
    let (action, cgroups) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return fatal(&e, sandbox),
        Err(_) => return fatal("the event loop panicked", sandbox),
    };
    shutdown::finish(action, &cgroups, sandbox)
}

fn read_config(path: &Path) -> (SystemConfig, Option<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => sysconf::from_text(path, &text),
        Err(e) => (
            SystemConfig::default(),
            Some(format!("{}: {e}", path.display())),
        ),
    }
}

/// Mounts, console, configuration, and the kernel-facing settings; every
/// failure is reported and the boot goes on.
fn early_boot(
    sandbox: bool,
    early_config: Option<(SystemConfig, Option<String>)>,
    config_path: Option<&Path>,
) -> SystemConfig {
    mounts::mount_early(sandbox);
    if !sandbox {
        report(system::open_console());
    }
    console::info(format_args!(
        "corral {} starting{}",
        env!("CARGO_PKG_VERSION"),
        if sandbox { " (sandbox)" } else { "" }
    ));
    let (cfg, error) = early_config
        .unwrap_or_else(|| sysconf::load(config_path.unwrap_or(Path::new(sysconf::DEFAULT_PATH))));
    if let Some(e) = error {
        console::error(format_args!("{e}; using the default configuration"));
    }
    report(system::set_hostname(&cfg.hostname));
    if !sandbox {
        kernel_setup(&cfg);
    }
    let run = Path::new("/run/corral");
    report(std::fs::create_dir_all(run).map_err(|e| format!("mkdir {}: {e}", run.display())));
    for e in system::hand_over(&cfg, run) {
        console::error(format_args!("{e}"));
    }
    cfg
}

/// What only a real boot does: loopback, ctrl-alt-del, modules, the real
/// root, SELinux, the storage disk.
fn kernel_setup(cfg: &SystemConfig) {
    report(system::loopback_up());
    report(system::disable_ctrl_alt_del());
    for e in modules::load_all(&cfg.modules.load, &system::kernel_release()) {
        console::error(format_args!("kernel module: {e}"));
    }
    if let Some(root) = cfg.root.as_ref().filter(|_| switch_root::on_initramfs()) {
        let Err(e) = switch_root::switch(root);
        console::error(format_args!("switch root: {e}; staying on the initramfs"));
    }
    match selinux::load(&cfg.selinux.policy, cfg.selinux.enforcing) {
        Ok(true) => console::info(format_args!(
            "SELinux policy loaded ({})",
            if cfg.selinux.enforcing {
                "enforcing"
            } else {
                "permissive"
            }
        )),
        Ok(false) => {}
        Err(e) => console::error(format_args!("SELinux: {e}")),
    }
    if let Some(s) = &cfg.storage {
        match storage::mount_storage(s) {
            Ok(m) => console::info(format_args!("{m}")),
            Err(e) => console::error(format_args!("storage: {e}")),
        }
    }
}

fn report(r: Result<(), String>) {
    if let Err(e) = r {
        console::error(format_args!("{e}"));
    }
}

/// The event loop could not run. A sandbox exits; a real PID 1 must not,
/// so it stays up reaping orphans, with the reason on the console.
fn fatal(why: &str, sandbox: bool) -> ExitCode {
    console::error(format_args!("{why}"));
    if sandbox {
        return ExitCode::FAILURE;
    }
    console::error(format_args!(
        "no services; only reaping orphans from now on"
    ));
    reap_forever()
}

/// The last resort of a real PID 1: reap children forever.
fn reap_forever() -> ! {
    loop {
        let _ = nix::sys::wait::wait();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
