//! runc reads 0 as "not set" for most numeric resources, and containerd
//! and Docker send zeros for limits the user did not ask for. Map those
//! zeros to absent before checking and applying, so a 0 is never written
//! as a limit (and never refused as one).

use oci_spec::runtime::LinuxResources;

/// `res` with runc's "0 means unset" values removed.
pub(crate) fn normalize(res: &LinuxResources) -> LinuxResources {
    let mut r = res.clone();
    let nz_i = |v: Option<i64>| v.filter(|v| *v != 0);
    let nz_u = |v: Option<u64>| v.filter(|v| *v != 0);
    if let Some(m) = r.memory_mut() {
        m.set_limit(nz_i(m.limit()));
        m.set_reservation(nz_i(m.reservation()));
        m.set_swap(nz_i(m.swap()));
        m.set_kernel(nz_i(m.kernel()));
        m.set_kernel_tcp(nz_i(m.kernel_tcp()));
    }
    if let Some(c) = r.cpu_mut() {
        c.set_shares(nz_u(c.shares()));
        c.set_quota(nz_i(c.quota()));
        c.set_period(nz_u(c.period()));
        c.set_realtime_runtime(nz_i(c.realtime_runtime()));
        c.set_realtime_period(nz_u(c.realtime_period()));
        if c.cpus().as_deref() == Some("") {
            c.set_cpus(None);
        }
        if c.mems().as_deref() == Some("") {
            c.set_mems(None);
        }
    }
    if let Some(b) = r.block_io_mut() {
        b.set_weight(b.weight().filter(|w| *w != 0));
        b.set_leaf_weight(b.leaf_weight().filter(|w| *w != 0));
    }
    if r.pids().as_ref().is_some_and(|p| p.limit() == 0) {
        r.set_pids(None);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_become_unset_negatives_stay() {
        let res: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":0,"swap":-5},"cpu":{"shares":0,"quota":0,"period":100000},"pids":{"limit":0}}"#,
        )
        .unwrap();
        let n = normalize(&res);
        let m = n.memory().as_ref().unwrap();
        assert_eq!(m.limit(), None);
        assert_eq!(m.swap(), Some(-5), "negative values are still checked");
        let c = n.cpu().as_ref().unwrap();
        assert_eq!(
            (c.shares(), c.quota(), c.period()),
            (None, None, Some(100000))
        );
        assert!(n.pids().is_none());
    }
}
