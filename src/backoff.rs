//! Bounded retries with exponential backoff and jitter: one loop and one policy type for
//! API requests (`cluster`) and report sending (`send`), and one answer to "is this status
//! worth another attempt".

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};

/// How often and how long to retry one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure, doubled after each further one.
    pub base: Duration,
    /// The longest computed wait.
    pub max_delay: Duration,
    /// The longest wait a server's `Retry-After` may ask for.
    pub max_retry_after: Duration,
}

impl Backoff {
    /// The wait after `failures` failed attempts (counted from 1). A server's `Retry-After`
    /// is honoured up to `max_retry_after`; otherwise `base·2^(failures-1)` up to
    /// `max_delay`, scaled by `jitter` (in `[0, 1)`) into its upper half, so that many
    /// reporters failing together do not retry together.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_retry_after);
        }
        let exponent = failures.saturating_sub(1).min(16);
        let full = self.base.saturating_mul(1 << exponent).min(self.max_delay);
        full.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// What one attempt came to.
pub enum Attempt<T, E> {
    Done(T),
    /// Not worth another attempt: the same request would fail the same way.
    Failed(E),
    /// Worth another attempt: why, for the log line; the server's `Retry-After`; and the
    /// error to return should this be the last attempt.
    Retry {
        why: String,
        retry_after: Option<Duration>,
        error: E,
    },
}

impl Backoff {
    /// Runs `attempt` (given its number, from 1) until it is done or failed, or the policy's
    /// attempts are used up, waiting between attempts as [`Backoff::delay`] says. Each
    /// retry is announced by `announce(why, delay, next attempt)`.
    pub async fn run<T, E, F: Future<Output = Attempt<T, E>>>(
        &self,
        mut attempt: impl FnMut(u32) -> F,
        announce: impl Fn(&str, Duration, u32),
    ) -> Result<T, E> {
        let mut number = 1;
        loop {
            match attempt(number).await {
                Attempt::Done(value) => return Ok(value),
                Attempt::Failed(error) => return Err(error),
                Attempt::Retry {
                    why,
                    retry_after,
                    error,
                } => {
                    if number >= self.attempts {
                        return Err(error);
                    }
                    let delay = self.delay(number, retry_after, jitter());
                    number += 1;
                    announce(&why, delay, number);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// Answers worth another attempt: throttling and server-side trouble.
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A `Retry-After` header in delta-seconds, the form Kubernetes and most servers send.
/// The HTTP-date form is ignored: the computed backoff applies instead.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// A random number in `[0, 1)`. Jitter needs no cryptographic quality, and std's randomly
/// keyed hasher gives one without another dependency.
pub fn jitter() -> f64 {
    (RandomState::new().hash_one(0u8) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Backoff = Backoff {
        attempts: 3,
        base: Duration::from_secs(1),
        max_delay: Duration::from_secs(5),
        max_retry_after: Duration::from_secs(30),
    };

    #[test]
    fn delays_double_up_to_the_cap() {
        let delays: Vec<_> = (1..=5).map(|n| POLICY.delay(n, None, 1.0)).collect();
        let secs = |s: u64| Duration::from_secs(s);
        assert_eq!(delays, [secs(1), secs(2), secs(4), secs(5), secs(5)]);
    }

    #[test]
    fn jitter_spreads_delays_over_their_upper_half() {
        assert_eq!(POLICY.delay(2, None, 0.0), Duration::from_secs(1));
        assert_eq!(POLICY.delay(2, None, 0.5), Duration::from_millis(1500));
        assert_eq!(
            POLICY.delay(u32::MAX, None, 0.0),
            Duration::from_millis(2500)
        );
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        assert_eq!(
            POLICY.delay(1, Some(Duration::from_secs(7)), 0.9),
            Duration::from_secs(7)
        );
        assert_eq!(
            POLICY.delay(1, Some(Duration::from_secs(3600)), 0.9),
            Duration::from_secs(30)
        );
        assert_eq!(POLICY.delay(1, Some(Duration::ZERO), 0.9), Duration::ZERO);
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "-1".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn jitter_stays_in_the_unit_interval() {
        assert!((0..1000).map(|_| jitter()).all(|j| (0.0..1.0).contains(&j)));
    }

    /// `run` tries as often as the policy says, returns the last attempt's error, stops at
    /// once on a failure not worth retrying, and announces each retry with its number.
    #[tokio::test]
    async fn the_loop_keeps_to_the_policy() {
        let policy = Backoff {
            base: Duration::ZERO,
            ..POLICY
        };
        let announced = std::sync::Mutex::new(Vec::new());
        let announce = |why: &str, _: Duration, next: u32| {
            announced.lock().unwrap().push(format!("{why} -> {next}"))
        };
        let retried: Result<(), String> = policy
            .run(
                |n| async move {
                    Attempt::Retry {
                        why: format!("try {n}"),
                        retry_after: None,
                        error: format!("gave up after {n}"),
                    }
                },
                announce,
            )
            .await;
        assert_eq!(retried, Err("gave up after 3".to_owned()));
        assert_eq!(*announced.lock().unwrap(), ["try 1 -> 2", "try 2 -> 3"]);

        let failed: Result<(), &str> = policy
            .run(
                |_| async { Attempt::Failed("not worth it") },
                |_, _, _| panic!(),
            )
            .await;
        assert_eq!(failed, Err("not worth it"));
        let done: Result<u32, ()> = policy
            .run(
                |n| async move {
                    if n == 2 {
                        Attempt::Done(n)
                    } else {
                        Attempt::Retry {
                            why: String::new(),
                            retry_after: None,
                            error: (),
                        }
                    }
                },
                |_, _, _| {},
            )
            .await;
        assert_eq!(done, Ok(2));
    }
}
