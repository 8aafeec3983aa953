//! Per-client rate limit for the collector: a token bucket per client address, in memory
//! only (never stored, never logged). IPv6 clients are keyed by their /64, the block one
//! host can rotate addresses within.
//!
//! Time comes from the collector's one clock (`Clock`), which tests freeze, so that a
//! `Retry-After` does not depend on how fast the machine runs the test. While the wall
//! clock steps back, buckets do not refill.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// Buckets kept before idle ones are dropped: bounds memory whoever connects.
const MAX_CLIENTS: usize = 100_000;

pub struct RateLimiter {
    /// Requests per minute per client, also the burst; 0 turns the limit off.
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Timestamp,
}

impl RateLimiter {
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when `client` has used its requests for now.
    pub fn check(&self, client: IpAddr, now: Timestamp) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_CLIENTS {
            // A full bucket is the same as no bucket.
            buckets.retain(|_, b| b.level(now, per_second, capacity) < capacity);
            if buckets.len() >= MAX_CLIENTS {
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key(client)).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        bucket.tokens = bucket.level(now, per_second, capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / per_second;
            Err(Duration::from_secs(wait.ceil() as u64))
        }
    }
}

impl Bucket {
    fn level(&self, now: Timestamp, per_second: f64, capacity: f64) -> f64 {
        let elapsed = now.duration_since(self.updated).as_secs_f64().max(0.0);
        let refill = elapsed * per_second;
        (self.tokens + refill).min(capacity)
    }
}

pub fn key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_for_a_token() {
        let limiter = RateLimiter::new(3);
        let t0 = Timestamp::now();
        let client: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(client, t0), Ok(()));
        }
        assert_eq!(limiter.check(client, t0), Err(Duration::from_secs(20)));
        assert_eq!(
            limiter.check(client, t0 + jiff::SignedDuration::from_secs(5)),
            Err(Duration::from_secs(15))
        );
        assert_eq!(
            limiter.check(client, t0 + jiff::SignedDuration::from_secs(20)),
            Ok(())
        );
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert_eq!(limiter.check(other, t0), Ok(()));
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let limiter = RateLimiter::new(1);
        let t0 = Timestamp::now();
        assert_eq!(
            limiter.check("2001:db8:1:2::1".parse().unwrap(), t0),
            Ok(())
        );
        assert!(
            limiter
                .check("2001:db8:1:2::ffff".parse().unwrap(), t0)
                .is_err()
        );
        assert_eq!(
            limiter.check("2001:db8:1:3::1".parse().unwrap(), t0),
            Ok(())
        );
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::new(0);
        let t0 = Timestamp::now();
        for _ in 0..1000 {
            assert_eq!(limiter.check("192.0.2.7".parse().unwrap(), t0), Ok(()));
        }
    }
}
