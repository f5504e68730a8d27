//! The seccomp translation: any LinuxSeccomp either compiles to BPF
//! programs the kernel would accept in size, or is refused with a message.
#![no_main]

use std::path::Path;

use corral_runtime::seccomp::SeccompPlan;
use libfuzzer_sys::fuzz_target;
use oci_spec::runtime::LinuxSeccomp;

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = serde_json::from_slice::<LinuxSeccomp>(data) else {
        return;
    };
    match SeccompPlan::prepare(&profile, Path::new("/fuzz/config.json")) {
        Ok(plan) => {
            assert!(!plan.programs.is_empty());
            for p in &plan.programs {
                // BPF_MAXINSNS: the kernel refuses longer programs.
                assert!(
                    !p.is_empty() && p.len() <= 4096,
                    "program of {} instructions",
                    p.len()
                );
            }
        }
        Err(e) => assert!(!e.to_string().contains('\n')),
    }
});
