//! Restart decisions: exponential backoff over the exits of the last
//! window, and the crash-loop limit after which a service is failed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::service::Restart;

/// What to do after an exit that the policy wants restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start again after this delay.
    Restart(Duration),
    /// Too many exits within the window: the service is failed.
    GiveUp { exits: usize },
}

/// Exit times within the current window.
#[derive(Debug, Default)]
pub struct Backoff {
    exits: VecDeque<Instant>,
}

impl Backoff {
    /// Records an exit at `now` and decides: the n-th exit within
    /// `window_secs` waits `initial_delay_ms * 2^(n-1)` (at most
    /// `max_delay_ms`); more than `max_restarts` exits gives up.
    pub fn on_exit(&mut self, now: Instant, r: &Restart) -> Decision {
        let window = Duration::from_secs(r.window_secs);
        self.exits
            .retain(|t| now.saturating_duration_since(*t) < window);
        self.exits.push_back(now);
        let n = self.exits.len();
        if n > r.max_restarts as usize {
            return Decision::GiveUp { exits: n };
        }
        Decision::Restart(delay(n, r))
    }

    /// Forgets the history (an explicit start by the administrator).
    pub fn reset(&mut self) {
        self.exits.clear();
    }
}

/// The delay before the `n`-th restart (n >= 1).
fn delay(n: usize, r: &Restart) -> Duration {
    let shift = u32::try_from(n.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(32);
    let ms = r
        .initial_delay_ms
        .saturating_mul(1u64 << shift)
        .min(r.max_delay_ms);
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::service::Policy;

    fn restart(max_restarts: u32) -> Restart {
        Restart {
            policy: Policy::OnFailure,
            initial_delay_ms: 200,
            max_delay_ms: 1000,
            max_restarts,
            window_secs: 60,
        }
    }

    #[test]
    fn delays_double_up_to_the_maximum() {
        let r = restart(10);
        let mut b = Backoff::default();
        let t = Instant::now();
        let got: Vec<_> = (0..5)
            .map(|i| b.on_exit(t + Duration::from_millis(i), &r))
            .collect();
        let ms = |m| Decision::Restart(Duration::from_millis(m));
        assert_eq!(got, [ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
    }

    #[test]
    fn gives_up_after_max_restarts_within_the_window() {
        let r = restart(3);
        let mut b = Backoff::default();
        let t = Instant::now();
        for i in 0..3 {
            assert!(matches!(
                b.on_exit(t + Duration::from_secs(i), &r),
                Decision::Restart(_)
            ));
        }
        assert_eq!(
            b.on_exit(t + Duration::from_secs(3), &r),
            Decision::GiveUp { exits: 4 }
        );
    }

    #[test]
    fn old_exits_leave_the_window_and_the_delay_resets() {
        let r = restart(3);
        let mut b = Backoff::default();
        let t = Instant::now();
        for i in 0..3 {
            b.on_exit(t + Duration::from_secs(i), &r);
        }
        let later = t + Duration::from_secs(120);
        assert_eq!(
            b.on_exit(later, &r),
            Decision::Restart(Duration::from_millis(200))
        );
        b.reset();
        assert_eq!(
            b.on_exit(later, &r),
            Decision::Restart(Duration::from_millis(200))
        );
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let r = Restart {
            max_delay_ms: u64::MAX,
            initial_delay_ms: u64::MAX / 2,
            ..restart(u32::MAX)
        };
        assert_eq!(delay(1000, &r), Duration::from_millis(u64::MAX));
    }
}
