//! The image builder: a bootable initramfs (corral as /init, the service
//! bundles with root filesystems assembled from the build host's Debian
//! packages, the kernel modules they need, the compiled SELinux policy and
//! a corral.toml) for a given kernel, and a QEMU runner for it.

pub mod assemble;
pub mod boot;
pub mod build;
pub mod bundle;
pub mod config;
pub mod cpio;
mod error;
pub mod kernel;
pub mod ldd;
pub mod modules;
pub mod policy;
pub mod recipe;
pub mod relabel;
pub mod stage0;
pub mod tree;

pub use error::Error;
