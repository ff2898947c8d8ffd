//! The per-socket message rate limit (`websocket.rateLimit` messages per second).

use std::time::{Duration, Instant};

/// Counts messages in fixed one-second windows.
#[derive(Debug)]
pub struct RateLimit {
    per_second: u32,
    window_start: Instant,
    count: u32,
}

impl RateLimit {
    /// A limit of `per_second` messages; 0 disables it.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second,
            window_start: Instant::now(),
            count: 0,
        }
    }

    /// Counts one message and returns whether it is within the limit.
    pub fn allow(&mut self, now: Instant) -> bool {
        if self.per_second == 0 {
            return true;
        }
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.count = 0;
        }
        self.count += 1;
        self.count <= self.per_second
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_resets_each_second() {
        let start = Instant::now();
        let mut limit = RateLimit::new(2);
        assert!(limit.allow(start));
        assert!(limit.allow(start));
        assert!(!limit.allow(start));
        assert!(limit.allow(start + Duration::from_millis(1001)));
    }

    #[test]
    fn zero_means_unlimited() {
        let mut limit = RateLimit::new(0);
        assert!((0..10_000).all(|_| limit.allow(Instant::now())));
    }
}
