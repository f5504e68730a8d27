//! linux.resources.blockIO → blkio (v1) or io (v2).
//!
//! Weights need an I/O scheduler that honours them: v1 blkio.weight (CFQ)
//! or blkio.bfq.weight (BFQ), v2 io.bfq.weight or io.weight. When the
//! kernel offers none of these files the weight is skipped with a warning.
//! Throttling is blkio.throttle.* on v1 and io.max on v2.

use std::path::Path;

use cgroups_rs::blkio::BlkIoController;
use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice, LinuxWeightDevice};

use super::fs;
use crate::error::{Error, Result};

const P: &str = "/linux/resources/blockIO";

/// blkio weight [10, 1000] → io.weight [1, 10000], as runc converts it.
pub(crate) fn weight_to_io_weight(w: u16) -> u64 {
    1 + (u64::from(w.clamp(10, 1000)) - 10) * 9999 / 990
}

/// Whether `b` asks for anything.
pub(crate) fn is_set(b: &LinuxBlockIo) -> bool {
    let non_empty =
        |v: &Option<Vec<LinuxThrottleDevice>>| v.as_ref().is_some_and(|v| !v.is_empty());
    b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || non_empty(b.throttle_read_bps_device())
        || non_empty(b.throttle_write_bps_device())
        || non_empty(b.throttle_read_iops_device())
        || non_empty(b.throttle_write_iops_device())
}

fn check_weight(w: Option<u16>, ptr: String, file: &Path) -> Result<()> {
    match w {
        Some(w) if !(10..=1000).contains(&w) => Err(Error::spec(
            file,
            ptr,
            format!("must be between 10 and 1000, got {w}"),
        )),
        _ => Ok(()),
    }
}

fn check_dev(major: i64, minor: i64, ptr: &str, file: &Path) -> Result<()> {
    for (name, v) in [("major", major), ("minor", minor)] {
        if !(0..=i64::from(u32::MAX)).contains(&v) {
            return Err(Error::spec(
                file,
                format!("{ptr}/{name}"),
                format!("not a device number: {v}"),
            ));
        }
    }
    Ok(())
}

/// The four throttle lists with their JSON names, v1 files and io.max keys.
fn throttles(
    b: &LinuxBlockIo,
) -> [(
    &'static str,
    &Option<Vec<LinuxThrottleDevice>>,
    &'static str,
    &'static str,
); 4] {
    [
        (
            "throttleReadBpsDevice",
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            "throttleWriteBpsDevice",
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            "throttleReadIOPSDevice",
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            "throttleWriteIOPSDevice",
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ]
}

/// Checks values that no kernel would take, before anything is written.
pub(crate) fn validate(b: &LinuxBlockIo, file: &Path) -> Result<()> {
    check_weight(b.weight(), format!("{P}/weight"), file)?;
    check_weight(b.leaf_weight(), format!("{P}/leafWeight"), file)?;
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let ptr = format!("{P}/weightDevice/{i}");
        check_dev(d.major(), d.minor(), &ptr, file)?;
        check_weight(d.weight(), format!("{ptr}/weight"), file)?;
        check_weight(d.leaf_weight(), format!("{ptr}/leafWeight"), file)?;
    }
    for (name, list, _, _) in throttles(b) {
        for (i, d) in list.iter().flatten().enumerate() {
            check_dev(d.major(), d.minor(), &format!("{P}/{name}/{i}"), file)?;
        }
    }
    Ok(())
}

fn skip(dir: &Path, what: &str) {
    tracing::warn!(cgroup = %dir.display(), "blockIO.{what} is ignored: no I/O scheduler in this kernel honours it");
}

/// Device numbers were range-checked by [`validate`].
fn dev(major: i64, minor: i64) -> (u64, u64) {
    (
        u64::try_from(major).unwrap_or(0),
        u64::try_from(minor).unwrap_or(0),
    )
}

/// Writes `b` to the blkio/io cgroup `dir`.
pub(crate) fn apply(dir: &Path, v2: bool, b: &LinuxBlockIo) -> Result<()> {
    let ctl = BlkIoController::new(dir.to_path_buf(), v2);
    if v2 {
        apply_v2_weights(&ctl, dir, b)?;
    } else {
        apply_v1_weights(&ctl, dir, b)?;
    }
    for (_, list, v1_file, key) in throttles(b) {
        for d in list.iter().flatten() {
            throttle(&ctl, dir, v2, d, v1_file, key)?;
        }
    }
    Ok(())
}

fn apply_v1_weights(ctl: &BlkIoController, dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    if let Some(w) = b.weight() {
        if fs::has(dir, "blkio.weight") {
            ctl.set_weight(w.into())
                .map_err(fs::rs_err(dir, "blkio.weight", w))?;
        } else if fs::has(dir, "blkio.bfq.weight") {
            // cgroups-rs only knows CFQ's blkio.weight on v1.
            fs::write(dir, "blkio.bfq.weight", &w.to_string())?;
        } else {
            skip(dir, "weight");
        }
    }
    if let Some(w) = b.leaf_weight() {
        if fs::has(dir, "blkio.leaf_weight") {
            ctl.set_leaf_weight(w.into())
                .map_err(fs::rs_err(dir, "blkio.leaf_weight", w))?;
        } else {
            skip(dir, "leafWeight");
        }
    }
    for d in b.weight_device().iter().flatten() {
        weight_device_v1(ctl, dir, d)?;
    }
    Ok(())
}

fn weight_device_v1(ctl: &BlkIoController, dir: &Path, d: &LinuxWeightDevice) -> Result<()> {
    let (major, minor) = dev(d.major(), d.minor());
    if let Some(w) = d.weight() {
        let line = format!("{major}:{minor} {w}");
        if fs::has(dir, "blkio.weight_device") {
            ctl.set_weight_for_device(major, minor, w.into())
                .map_err(fs::rs_err(dir, "blkio.weight_device", &line))?;
        } else if fs::has(dir, "blkio.bfq.weight_device") {
            // cgroups-rs only knows CFQ's blkio.weight_device on v1.
            fs::write(dir, "blkio.bfq.weight_device", &line)?;
        } else {
            skip(dir, "weightDevice.weight");
        }
    }
    if let Some(w) = d.leaf_weight() {
        if fs::has(dir, "blkio.leaf_weight_device") {
            ctl.set_leaf_weight_for_device(major, minor, w.into())
                .map_err(fs::rs_err(
                    dir,
                    "blkio.leaf_weight_device",
                    format!("{major}:{minor} {w}"),
                ))?;
        } else {
            skip(dir, "weightDevice.leafWeight");
        }
    }
    Ok(())
}

fn apply_v2_weights(ctl: &BlkIoController, dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let bfq = fs::has(dir, "io.bfq.weight");
    let io_weight = fs::has(dir, "io.weight");
    if let Some(w) = b.weight() {
        if bfq {
            ctl.set_weight(w.into())
                .map_err(fs::rs_err(dir, "io.bfq.weight", w))?;
        } else if io_weight {
            // cgroups-rs writes v2 weights to io.bfq.weight only.
            fs::write(dir, "io.weight", &weight_to_io_weight(w).to_string())?;
        } else {
            skip(dir, "weight");
        }
    }
    for d in b.weight_device().iter().flatten() {
        let (major, minor) = dev(d.major(), d.minor());
        if let Some(w) = d.weight() {
            if bfq {
                ctl.set_weight_for_device(major, minor, w.into())
                    .map_err(fs::rs_err(
                        dir,
                        "io.bfq.weight",
                        format!("{major}:{minor} {w}"),
                    ))?;
            } else if io_weight {
                fs::write(
                    dir,
                    "io.weight",
                    &format!("{major}:{minor} {}", weight_to_io_weight(w)),
                )?;
            } else {
                skip(dir, "weightDevice.weight");
            }
        }
        if d.leaf_weight().is_some() {
            skip(dir, "weightDevice.leafWeight");
        }
    }
    if b.leaf_weight().is_some() {
        skip(dir, "leafWeight");
    }
    Ok(())
}

fn throttle(
    ctl: &BlkIoController,
    dir: &Path,
    v2: bool,
    d: &LinuxThrottleDevice,
    v1_file: &str,
    key: &str,
) -> Result<()> {
    let (major, minor) = dev(d.major(), d.minor());
    let rate = d.rate();
    let name = if v2 { "io.max" } else { v1_file };
    fs::require(dir, name, "kernel built without block I/O throttling")?;
    if v2 && rate == 0 {
        // 0 removes a v1 throttle rule; io.max spells that "max", which
        // cgroups-rs cannot write.
        return fs::write(dir, "io.max", &format!("{major}:{minor} {key}=max"));
    }
    let shown = format!("{major}:{minor} {rate}");
    let r = match key {
        "rbps" => ctl.throttle_read_bps_for_device(major, minor, rate),
        "wbps" => ctl.throttle_write_bps_for_device(major, minor, rate),
        "riops" => ctl.throttle_read_iops_for_device(major, minor, rate),
        _ => ctl.throttle_write_iops_for_device(major, minor, rate),
    };
    r.map_err(fs::rs_err(dir, name, shown))
}

#[cfg(test)]
mod tests {
    use super::super::fs::testdir::{content, TestDir};
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
    };

    const F: &str = "/b/config.json";

    fn td(major: i64, minor: i64, rate: u64) -> LinuxThrottleDevice {
        LinuxThrottleDeviceBuilder::default()
            .major(major)
            .minor(minor)
            .rate(rate)
            .build()
            .unwrap()
    }

    #[test]
    fn io_weight_conversion() {
        assert_eq!(weight_to_io_weight(10), 1);
        assert_eq!(weight_to_io_weight(1000), 10_000);
        assert_eq!(weight_to_io_weight(500), 4950);
    }

    #[test]
    fn nonsense_values_are_spec_errors() {
        let b = LinuxBlockIoBuilder::default().weight(5u16).build().unwrap();
        let e = validate(&b, Path::new(F)).unwrap_err().to_string();
        assert!(e.contains("/linux/resources/blockIO/weight:"), "{e}");
        let b = LinuxBlockIoBuilder::default()
            .throttle_write_iops_device(vec![td(8, 0, 1), td(-8, 0, 1)])
            .build()
            .unwrap();
        let e = validate(&b, Path::new(F)).unwrap_err().to_string();
        assert!(
            e.contains("/linux/resources/blockIO/throttleWriteIOPSDevice/1/major:"),
            "{e}"
        );
    }

    #[test]
    fn v1_bfq_weights_and_throttles() {
        let t = TestDir::new("blkio");
        let d = t.cgroup(
            "c",
            &[
                "blkio.bfq.weight",
                "blkio.bfq.weight_device",
                "blkio.throttle.read_bps_device",
                "blkio.throttle.write_iops_device",
            ],
        );
        let wd = LinuxWeightDeviceBuilder::default()
            .major(8)
            .minor(0)
            .weight(300u16)
            .leaf_weight(200u16)
            .build()
            .unwrap();
        let b = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .leaf_weight(400u16)
            .weight_device(vec![wd])
            .throttle_read_bps_device(vec![td(8, 0, 1_048_576)])
            .throttle_write_iops_device(vec![td(8, 16, 100)])
            .build()
            .unwrap();
        apply(&d, false, &b).unwrap();
        assert_eq!(content(&d, "blkio.bfq.weight"), "500");
        assert_eq!(content(&d, "blkio.bfq.weight_device"), "8:0 300");
        assert_eq!(content(&d, "blkio.throttle.read_bps_device"), "8:0 1048576");
        assert_eq!(content(&d, "blkio.throttle.write_iops_device"), "8:16 100");
    }

    #[test]
    fn v1_weight_without_scheduler_files_is_skipped() {
        let t = TestDir::new("blkio");
        let d = t.cgroup("c", &["blkio.throttle.read_bps_device"]);
        let b = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .build()
            .unwrap();
        apply(&d, false, &b).unwrap();
        assert!(!d.join("blkio.weight").exists());
    }

    #[test]
    fn v1_throttle_without_kernel_support_is_an_error() {
        let t = TestDir::new("blkio");
        let d = t.cgroup("c", &[]);
        let b = LinuxBlockIoBuilder::default()
            .throttle_read_bps_device(vec![td(8, 0, 1)])
            .build()
            .unwrap();
        let e = apply(&d, false, &b).unwrap_err().to_string();
        assert!(e.contains("blkio.throttle.read_bps_device"), "{e}");
    }

    #[test]
    fn v2_io_weight_and_max() {
        let t = TestDir::new("blkio");
        let d = t.cgroup("c", &["io.weight", "io.max"]);
        let b = LinuxBlockIoBuilder::default()
            .weight(1000u16)
            .throttle_read_bps_device(vec![td(8, 0, 4096)])
            .build()
            .unwrap();
        apply(&d, true, &b).unwrap();
        assert_eq!(content(&d, "io.weight"), "10000");
        assert_eq!(content(&d, "io.max"), "8:0 rbps=4096");
        let b = LinuxBlockIoBuilder::default()
            .throttle_write_bps_device(vec![td(8, 0, 0)])
            .build()
            .unwrap();
        apply(&d, true, &b).unwrap();
        assert_eq!(content(&d, "io.max"), "8:0 wbps=max");
    }
}
