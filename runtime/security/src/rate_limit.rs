//! Request rate limits in one-second frames: per user (from its profiles' `rateLimit`) and
//! per connection for `auth:login` (`limits.loginsPerSecond`).

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::error::{Result, SecurityError};

/// Counts events per key within the current one-second frame. Every count resets when a new
/// second of the clock starts, so memory stays bounded by the keys seen in one second.
#[derive(Debug, Default)]
struct FrameCounter {
    frame: Mutex<Frame>,
}

#[derive(Debug, Default)]
struct Frame {
    second: u64,
    counts: HashMap<String, u32>,
}

impl FrameCounter {
    /// Counts one event for `key` at `now_ms` and returns whether the count stays within `limit`.
    /// A rejected event still counts, as in Kuzzle, so a client that keeps retrying stays blocked
    /// until the frame ends.
    fn hit(&self, key: &str, limit: u32, now_ms: u64) -> bool {
        let second = now_ms / 1000;
        let mut frame = self.frame.lock();
        if frame.second != second {
            frame.second = second;
            frame.counts.clear();
        }
        let count = frame.counts.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        *count <= limit
    }
}

/// The per-user request rate limiter. The funnel calls [`RateLimiter::check`] for each request,
/// except `auth:logout` of a logged-in user, which Kuzzle never limits.
///
/// Every anonymous client counts as the one user `-1`, so the anonymous profile's limit is
/// shared by all of them. The counts are per node: a cluster of N nodes lets through up to N
/// times the limit.
#[derive(Debug, Default)]
pub struct RateLimiter {
    counter: FrameCounter,
}

impl RateLimiter {
    /// Creates a limiter with no counts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one request of user `kuid` at `now_ms`.
    ///
    /// `limit` is the user's limit in requests per second, from
    /// [`crate::UserRights::rate_limit`]. 0 means unlimited.
    ///
    /// # Errors
    ///
    /// [`SecurityError::TooManyRequests`] when the user already made `limit` requests in the
    /// current second.
    pub fn check(&self, kuid: &str, limit: u32, now_ms: u64) -> Result<()> {
        if limit == 0 || self.counter.hit(kuid, limit, now_ms) {
            return Ok(());
        }
        Err(SecurityError::TooManyRequests {
            kuid: kuid.to_owned(),
            limit,
        })
    }
}

/// The per-connection `auth:login` rate limiter.
#[derive(Debug)]
pub struct LoginLimiter {
    logins_per_second: u32,
    counter: FrameCounter,
}

impl LoginLimiter {
    /// Creates a limiter allowing `logins_per_second` logins per connection per second. 0 means
    /// unlimited. Kuzzle's default is 1.
    pub fn new(logins_per_second: u32) -> Self {
        Self {
            logins_per_second,
            counter: FrameCounter::default(),
        }
    }

    /// Counts one login attempt on connection `connection_id` at `now_ms`.
    ///
    /// # Errors
    ///
    /// [`SecurityError::TooManyLogins`] when the connection exceeded the limit this second.
    pub fn check(&self, connection_id: &str, now_ms: u64) -> Result<()> {
        let limit = self.logins_per_second;
        if limit == 0 || self.counter.hit(connection_id, limit, now_ms) {
            return Ok(());
        }
        Err(SecurityError::TooManyLogins { limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_blocks_within_second() {
        let limiter = RateLimiter::new();
        let start = 10_000;
        assert!(limiter.check("alice", 2, start).is_ok());
        assert!(limiter.check("alice", 2, start + 100).is_ok());
        let third = limiter.check("alice", 2, start + 200);
        assert_eq!(
            third.map_err(|error| error.kuzzle_id()),
            Err("api.process.too_many_requests")
        );
        assert!(
            limiter.check("bob", 2, start + 300).is_ok(),
            "users are counted apart"
        );
        assert!(
            limiter.check("alice", 2, start + 1000).is_ok(),
            "a new second resets counts"
        );
    }

    #[test]
    fn rate_limiter_zero_is_unlimited() {
        let limiter = RateLimiter::new();
        for offset in 0..1000 {
            assert!(limiter.check("admin", 0, 5_000 + offset % 10).is_ok());
        }
    }

    #[test]
    fn login_limiter_per_connection() {
        let limiter = LoginLimiter::new(1);
        assert!(limiter.check("connection-1", 0).is_ok());
        let second = limiter.check("connection-1", 500);
        assert_eq!(
            second.map_err(|error| error.kuzzle_id()),
            Err("api.process.too_many_logins_requests")
        );
        assert!(limiter.check("connection-2", 500).is_ok());
        assert!(limiter.check("connection-1", 1000).is_ok());
    }
}
