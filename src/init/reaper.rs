//! The orphan reaper. Every process re-parented to PID 1 is reaped, but a
//! process whose exit a task waits for through its pidfd (a service init,
//! a readiness check) is left to that task: waitid(WNOWAIT) peeks at the
//! next zombie first, and a tracked one stops the sweep until its owner
//! has reaped it (the owner then asks for another sweep).

use super::super::supervisor::Tracked;

#[derive(Debug)]
pub struct Reaper {
    tracked: Tracked,
}

impl Reaper {
    pub fn new(tracked: Tracked) -> Self {
        Reaper { tracked }
    }

    /// Reaps zombies that nobody tracks; returns how many.
    pub fn reap(&self) -> usize {
        self.sweep(peek, reap_pid)
    }

    fn sweep(
        &self,
        mut peek: impl FnMut() -> Option<i32>,
        mut reap: impl FnMut(i32) -> bool,
    ) -> usize {
        let mut n = 0;
        while let Some(pid) = peek() {
            if self.tracked.contains(pid) || !reap(pid) {
                break;
            }
            tracing::debug!(pid, "reaped an orphan");
            n += 1;
        }
        n
    }
}

fn waitid(idtype: libc::idtype_t, id: libc::id_t, flags: libc::c_int) -> Option<i32> {
    loop {
        // SAFETY: a zeroed siginfo is a valid out-buffer.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: info is a valid out-pointer for the call.
        let r = unsafe { libc::waitid(idtype, id, &mut info, flags) };
        if r < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return None;
        }
        // SAFETY: waitid filled info; si_pid is valid for CLD_* codes and 0
        // when no child was waitable.
        let pid = unsafe { info.si_pid() };
        return (pid != 0).then_some(pid);
    }
}

/// The next exited child, left waitable.
fn peek() -> Option<i32> {
    waitid(
        libc::P_ALL,
        0,
        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
    )
}

fn reap_pid(pid: i32) -> bool {
    let Ok(id) = libc::id_t::try_from(pid) else {
        return false;
    };
    waitid(libc::P_PID, id, libc::WEXITED | libc::WNOHANG).is_some()
}

/// Reaps every exited child (the end of the shutdown, nothing is tracked
/// any more). Returns false when we have no children at all.
pub fn reap_all() -> bool {
    loop {
        // SAFETY: a zeroed siginfo is a valid out-buffer.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: info is a valid out-pointer for the call.
        let r = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOHANG) };
        if r < 0 {
            let e = std::io::Error::last_os_error().raw_os_error();
            if e == Some(libc::EINTR) {
                continue;
            }
            return e != Some(libc::ECHILD);
        }
        // SAFETY: as in waitid above.
        if unsafe { info.si_pid() } == 0 {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Zombies in the order waitid would return them.
    fn sweep(reaper: &Reaper, zombies: &RefCell<Vec<i32>>) -> usize {
        reaper.sweep(
            || zombies.borrow().first().copied(),
            |pid| {
                zombies.borrow_mut().retain(|z| *z != pid);
                true
            },
        )
    }

    #[test]
    fn untracked_zombies_are_reaped() {
        let reaper = Reaper::new(Tracked::default());
        let zombies = RefCell::new(vec![10, 11, 12]);
        assert_eq!(sweep(&reaper, &zombies), 3);
        assert!(zombies.borrow().is_empty());
    }

    #[test]
    fn a_tracked_zombie_is_never_taken_and_stops_the_sweep() {
        let tracked = Tracked::default();
        let reaper = Reaper::new(tracked.clone());
        tracked.insert(11);
        let zombies = RefCell::new(vec![10, 11, 12]);
        assert_eq!(sweep(&reaper, &zombies), 1);
        assert_eq!(*zombies.borrow(), [11, 12]);
        // Its owner reaps it and asks for another sweep.
        zombies.borrow_mut().retain(|z| *z != 11);
        tracked.remove(11);
        assert_eq!(sweep(&reaper, &zombies), 1);
        assert!(zombies.borrow().is_empty());
    }
}
