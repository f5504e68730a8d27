//! The control socket: the JSON-lines protocol, the server PID 1 runs and
//! the `corral ctl` client.

pub mod client;
pub mod protocol;
pub mod server;
pub mod wait;

/// Where PID 1 listens.
pub const SOCKET: &str = "/run/corral/corral.sock";
