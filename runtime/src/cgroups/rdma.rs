//! linux.resources.rdma → rdma.max ("<device> hca_handle=N hca_object=M").

use std::collections::HashMap;
use std::path::Path;

use cgroups_rs::rdma::RdmaController;
use oci_spec::runtime::LinuxRdma;

use super::fs;
use crate::error::{Error, Result};

/// The rdma.max lines for `rdma`, sorted by device; a device with neither
/// limit is an error at its pointer.
pub(crate) fn lines(rdma: &HashMap<String, LinuxRdma>, file: &Path) -> Result<Vec<String>> {
    let mut devices: Vec<&String> = rdma.keys().collect();
    devices.sort();
    let mut out = Vec::new();
    for dev in devices {
        let Some(r) = rdma.get(dev) else { continue };
        let ptr = format!(
            "/linux/resources/rdma/{}",
            dev.replace('~', "~0").replace('/', "~1")
        );
        if dev.is_empty() || dev.contains(char::is_whitespace) {
            return Err(Error::spec(
                file,
                ptr,
                format!("{dev:?} is not an RDMA device name"),
            ));
        }
        let mut line = dev.clone();
        if let Some(h) = r.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = r.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        if r.hca_handles().is_none() && r.hca_objects().is_none() {
            return Err(Error::spec(
                file,
                ptr,
                "sets neither hcaHandles nor hcaObjects",
            ));
        }
        out.push(line);
    }
    Ok(out)
}

/// Writes the limits to the rdma cgroup `dir`.
pub(crate) fn apply(dir: &Path, rdma: &HashMap<String, LinuxRdma>, file: &Path) -> Result<()> {
    let ctl = RdmaController::new(dir.to_path_buf());
    for line in lines(rdma, file)? {
        fs::require(dir, "rdma.max", "rdma controller not enabled")?;
        ctl.set_max(&line)
            .map_err(fs::rs_err(dir, "rdma.max", &line))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxRdmaBuilder;

    #[test]
    fn rdma_lines() {
        let mut m = HashMap::new();
        m.insert(
            "mlx5_1".to_string(),
            LinuxRdmaBuilder::default()
                .hca_objects(100u32)
                .build()
                .unwrap(),
        );
        m.insert(
            "mlx5_0".to_string(),
            LinuxRdmaBuilder::default()
                .hca_handles(3u32)
                .hca_objects(10u32)
                .build()
                .unwrap(),
        );
        let l = lines(&m, Path::new("/c.json")).unwrap();
        assert_eq!(
            l,
            ["mlx5_0 hca_handle=3 hca_object=10", "mlx5_1 hca_object=100"]
        );
        m.insert("x".to_string(), LinuxRdma::default());
        let e = lines(&m, Path::new("/c.json")).unwrap_err().to_string();
        assert!(e.contains("/linux/resources/rdma/x: sets neither"), "{e}");
    }
}
