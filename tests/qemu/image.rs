//! What the QEMU tests boot: corral built statically (as /init must be)
//! and images built from it with `corral image build`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The corral under test (debug build): runs `image build` and `image boot`.
pub const CORRAL: &str = env!("CARGO_BIN_EXE_corral");

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Scratch space under target/ for images and logs.
pub fn work_dir() -> PathBuf {
    let d = repo().join("target/qemu-tests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether this host can boot images; without CORRAL_REQUIRE_ROOT a
/// missing piece skips the test, with it the test fails.
pub fn can_boot() -> bool {
    let missing: Vec<&str> = [
        (
            "qemu-system-x86_64",
            Command::new("qemu-system-x86_64")
                .arg("--version")
                .output()
                .is_ok(),
        ),
        ("secilc", Command::new("secilc").arg("-V").output().is_ok()),
        ("a kernel in /boot", has_kernel()),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(what, _)| what)
    .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("CORRAL_REQUIRE_ROOT").is_some() {
        panic!(
            "cannot boot images: missing {} (tests/setup-host.sh installs them)",
            missing.join(", ")
        );
    }
    eprintln!("skipped: missing {}", missing.join(", "));
    false
}

fn has_kernel() -> bool {
    std::fs::read_dir("/boot")
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
        })
        .unwrap_or(false)
}

/// corral linked statically with glibc (built once per test run, into
/// target/x86_64-unknown-linux-gnu/release: a directory of its own, so
/// this build does not disturb the test build's).
pub fn static_corral() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(repo())
            .args([
                "build",
                "--release",
                "--target",
                "x86_64-unknown-linux-gnu",
                "-p",
                "corral",
                "--bin",
                "corral",
            ])
            .env(
                "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
                "-C target-feature=+crt-static",
            )
            .status()
            .expect("run cargo");
        assert!(status.success(), "static build of corral failed");
        repo().join("target/x86_64-unknown-linux-gnu/release/corral")
    })
}

/// `corral image build` with `args` into `out`.
pub fn build(out: &Path, args: &[&str]) -> Output {
    Command::new(CORRAL)
        .current_dir(repo())
        .args(["image", "build", "--out"])
        .arg(out)
        .args(args)
        .output()
        .expect("run corral image build")
}

/// Builds an image with the static corral, or panics with the builder's
/// message.
pub fn build_ok(name: &str, args: &[&str]) -> PathBuf {
    let out = work_dir().join(name);
    let corral = static_corral().to_str().unwrap().to_owned();
    let mut all = vec!["--corral", corral.as_str()];
    all.extend_from_slice(args);
    let o = build(&out, &all);
    assert!(
        o.status.success(),
        "image build failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&o.stdout));
    out
}

/// A busybox root filesystem as a tar stream, for `docker import`.
pub fn busybox_tarball() -> Vec<u8> {
    let dir = work_dir().join("busybox-rootfs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "cat", "ls", "id", "hostname", "sleep", "ps"] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    let out = Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}
