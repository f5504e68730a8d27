//! corral: PID 1 with an embedded OCI runtime, and that runtime's
//! runc-compatible command line.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
