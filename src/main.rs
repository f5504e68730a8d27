//! corral: PID 1 with an embedded OCI runtime, and that runtime's
//! runc-compatible command line.

mod cli;
mod config;
mod ctl;
mod engines;
mod image;
mod init;
mod supervisor;

use std::process::ExitCode;

fn main() -> ExitCode {
    // As /init or /sbin/init the kernel's arguments are not ours to parse.
    if init::invoked_as_init() {
        return init::main_from_argv0();
    }
    cli::main()
}
