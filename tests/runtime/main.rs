//! Integration tests of the runtime through the `corral` command line, as
//! root, against a busybox-static rootfs made at test time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod escapes;
mod exec;
mod hooks;
mod isolation;
mod lifecycle;
mod limits;
mod races;
mod rootless;
mod seccomp;
