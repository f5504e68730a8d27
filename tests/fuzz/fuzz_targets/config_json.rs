//! config.json loading and validation, and the parent-side preparation
//! that needs no filesystem: mount options, capabilities, seccomp.
#![no_main]

use std::path::Path;

use corral_runtime::capabilities::CapPlan;
use corral_runtime::mounts::MountOptions;
use corral_runtime::seccomp::SeccompPlan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("/fuzz/config.json");
    let Ok(spec) = corral_runtime::spec::load_spec_from_slice(data, file) else {
        return;
    };
    // Every error must render as one line.
    if let Err(e) = corral_runtime::spec::validate(&spec, file) {
        assert!(!e.to_string().contains('\n'));
        return;
    }
    for m in spec.mounts().iter().flatten() {
        let _ = MountOptions::parse(m.options().as_deref().unwrap_or_default());
    }
    if let Some(c) = spec
        .process()
        .as_ref()
        .and_then(|p| p.capabilities().as_ref())
    {
        let _ = CapPlan::prepare(c, file);
    }
    if let Some(s) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        let _ = SeccompPlan::prepare(s, file);
    }
});
