//! corral.toml: any text gives a configuration (the defaults when broken)
//! and at most a one-line error.
#![no_main]
#![allow(dead_code, unused_imports)]

#[path = "../../../src/config/mod.rs"]
mod config;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (_cfg, err) = config::system::from_text(Path::new("/fuzz/corral.toml"), text);
    if let Some(e) = err {
        assert!(!e.contains('\n'), "{e}");
    }
});
