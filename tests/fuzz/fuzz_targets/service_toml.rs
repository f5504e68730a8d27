//! service.toml parsing and checking (src/config, included by path: the
//! module depends on nothing else in the binary).
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
    match config::parse::<config::ServiceFile>(Path::new("/fuzz/service.toml"), text) {
        Ok(s) => {
            if let Err(e) = s.check() {
                assert!(!e.contains('\n'), "{e}");
            }
            let _ = s.stop_signal();
        }
        Err(e) => assert!(!e.contains('\n'), "{e}"),
    }
});
