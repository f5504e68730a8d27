//! PIDs whose exit status belongs to a task holding their pidfd (service
//! inits, readiness checks): the orphan reaper must leave them alone.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

#[derive(Debug, Clone, Default)]
pub struct Tracked(Rc<RefCell<HashSet<i32>>>);

impl Tracked {
    pub fn insert(&self, pid: i32) {
        self.0.borrow_mut().insert(pid);
    }

    pub fn remove(&self, pid: i32) {
        self.0.borrow_mut().remove(&pid);
    }

    pub fn contains(&self, pid: i32) -> bool {
        self.0.borrow().contains(&pid)
    }
}
