//! Per-site pacing: a token bucket on the site's `rate_limit` (CVAD calls started per second)
//! and the retry backoff (exponential with jitter) for transient failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A token bucket: `rate` tokens per second, holding at most `burst` (one second's worth).
/// Every CVAD call a task makes takes one token, so a site's limit holds across all its
/// concurrent tasks. The rate changes with the number of replicas sharing the site's limit
/// ([`TokenBucket::set_rate`]).
#[derive(Debug)]
pub struct TokenBucket {
    /// The configured rate, for the whole group of replicas.
    full: f64,
    /// This replica's rate now (bits of an `f64`), so it can change under waiting callers.
    rate: AtomicU64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `None` (or a rate that is not positive) means unlimited.
    pub fn new(rate: Option<f64>) -> Option<TokenBucket> {
        let rate = rate.filter(|r| r.is_finite() && *r > 0.0)?;
        // One second's worth of burst (at least one call), so a quiet site starts briskly but
        // never exceeds its rate over any second.
        let burst = rate.max(1.0);
        Some(TokenBucket {
            full: rate,
            rate: AtomicU64::new(rate.to_bits()),
            state: Mutex::new((burst, Instant::now())),
        })
    }

    /// The rate configured for the whole group.
    pub fn full_rate(&self) -> f64 {
        self.full
    }

    /// This replica's rate now.
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.rate.load(Ordering::Relaxed))
    }

    /// Changes the rate (a positive, finite one; others are ignored). Tokens already saved
    /// above the new burst are dropped at the next call, so a smaller share holds at once.
    pub fn set_rate(&self, rate: f64) {
        if rate.is_finite() && rate > 0.0 {
            self.rate.store(rate.to_bits(), Ordering::Relaxed);
        }
    }

    /// Waits until a token is free and takes it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                let rate = self.rate();
                let burst = rate.max(1.0);
                let (tokens, last) = *state;
                let tokens = (tokens + now.duration_since(last).as_secs_f64() * rate).min(burst);
                if tokens >= 1.0 {
                    *state = (tokens - 1.0, now);
                    return;
                }
                *state = (tokens, now);
                // Woken again at least every second, so a rate raised meanwhile takes effect.
                Duration::from_secs_f64((1.0 - tokens) / rate).min(Duration::from_secs(1))
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; after the last, the task fails with its error.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub base: Duration,
    /// The longest delay between two attempts.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        // About 5 minutes of trying in all: long enough for a connector restart, short enough
        // that an operator hears about a dead site while still at the ticket.
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The delay after attempt `attempt` (1-based) failed: `base · 2^(attempt-1)`, capped, with
    /// ±25 % jitter so tasks failed together by one outage do not return in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.cap);
        let jitter = rand::rng().random_range(0.75..=1.25);
        raw.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(500),
        };
        for (attempt, nominal) in [(1u32, 100u64), (2, 200), (3, 400), (4, 500), (20, 500)] {
            let d = policy.delay(attempt).as_millis() as u64;
            assert!(
                d >= nominal * 3 / 4 && d <= nominal * 5 / 4,
                "attempt {attempt}: {d} ms"
            );
        }
    }

    #[tokio::test]
    async fn bucket_paces_calls() {
        let bucket = TokenBucket::new(Some(50.0)).expect("limited");
        let start = Instant::now();
        for _ in 0..60 {
            bucket.acquire().await;
        }
        // 50 at once (the burst), then 10 more at 50/s: 200 ms.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(180), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(1000), "{elapsed:?}");
        assert!(TokenBucket::new(None).is_none());
        assert!(TokenBucket::new(Some(0.0)).is_none());
    }

    #[tokio::test]
    async fn a_bucket_paces_at_its_changed_rate() {
        let bucket = TokenBucket::new(Some(40.0)).expect("limited");
        // Two replicas: half the rate each, and the burst shrinks with it.
        bucket.set_rate(crate::adapter::replicas::rate_share(bucket.full_rate(), 2));
        assert!((bucket.rate() - 20.0).abs() < 1e-9);
        let start = Instant::now();
        for _ in 0..30 {
            bucket.acquire().await;
        }
        // 20 at once (the burst), then 10 more at 20/s: 500 ms (at 40/s it would be 0 ms).
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(1500), "{elapsed:?}");
        // Nonsense rates are ignored.
        bucket.set_rate(0.0);
        bucket.set_rate(f64::NAN);
        assert!((bucket.rate() - 20.0).abs() < 1e-9);
    }
}
