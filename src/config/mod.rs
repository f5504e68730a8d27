//! The contract of docs/config.md: `corral.toml` (the system) and
//! `service.toml` (one service). Unknown keys are errors that name the
//! file, the line and the key; every error is one line.

pub mod cgroups;
pub mod engines;
pub mod service;
pub mod size;
pub mod storage;
pub mod system;
mod toml_error;

use std::path::Path;

pub use service::ServiceFile;
pub use system::SystemConfig;

/// Parses TOML `text` from `file` into `T`, rendering any error as
/// `FILE:LINE: message` on one line.
pub fn parse<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|e| toml_error::describe(file, text, &e))
}

/// Whether `name` can name a service: `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    let first_ok = b
        .first()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        for ok in ["a", "web", "ntp-2", "x_y", "0abc", &"a".repeat(63)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "_a", "Web", "a.b", "a/b", "a b", &"a".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
