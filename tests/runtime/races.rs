//! No lost wakeups: the wait is on a pidfd, so a container that exits
//! before the runtime starts waiting is still seen.

use crate::common::*;

#[test]
fn five_hundred_back_to_back_runs() {
    if !privileged() {
        return;
    }
    let rt = Runtime::new();
    let ok = Bundle::new(&["/bin/true"]);
    let fail = Bundle::new(&["/bin/false"]);
    for i in 0..500 {
        let (bundle, want) = if i % 5 == 4 { (&fail, 1) } else { (&ok, 0) };
        let id = format!("race-{i}");
        let (code, _, err) = rt.run_bundle(bundle, &id);
        assert_eq!(code, want, "run {i}: {err}");
    }
    assert!(
        std::fs::read_dir(rt.root.path()).unwrap().next().is_none(),
        "state left behind"
    );
}
