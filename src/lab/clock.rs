//! The lab's simulated clock: wall time scaled by a speed factor, plus manual jumps.
//!
//! Simulators compare object deadlines against [`SimClock::now`] instead of sleeping, so a test
//! can advance time by minutes in one call and a demo can run at real speed.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct ClockState {
    real_anchor: Instant,
    sim_anchor: DateTime<Utc>,
    speed: f64,
}

impl ClockState {
    fn now(&self) -> DateTime<Utc> {
        let real = self.real_anchor.elapsed().as_secs_f64() * self.speed;
        self.sim_anchor + ChronoDuration::microseconds((real * 1_000_000.0) as i64)
    }
}

/// A shared simulated clock. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct SimClock {
    state: Arc<Mutex<ClockState>>,
}

impl SimClock {
    /// A clock that starts at `start` and runs `speed` times faster than wall time.
    pub fn new(start: DateTime<Utc>, speed: f64) -> Self {
        SimClock {
            state: Arc::new(Mutex::new(ClockState {
                real_anchor: Instant::now(),
                sim_anchor: start,
                speed: speed.max(0.0),
            })),
        }
    }

    /// A clock that starts at the current wall time and runs at `speed`.
    pub fn starting_now(speed: f64) -> Self {
        Self::new(Utc::now(), speed)
    }

    fn lock(&self) -> MutexGuard<'_, ClockState> {
        // The state is two plain values; a panic while holding the lock cannot leave it torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The simulated time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().now()
    }

    /// Jumps simulated time forward.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        let now = state.now();
        state.sim_anchor = now + ChronoDuration::from_std(by).unwrap_or(ChronoDuration::zero());
        state.real_anchor = Instant::now();
    }

    /// Changes how fast simulated time runs (0 freezes it), keeping the current time.
    pub fn set_speed(&self, speed: f64) {
        let mut state = self.lock();
        state.sim_anchor = state.now();
        state.real_anchor = Instant::now();
        state.speed = speed.max(0.0);
    }

    pub fn speed(&self) -> f64 {
        self.lock().speed
    }

    /// How much wall time it takes for `sim` to pass at the current speed (for pacing loops).
    pub fn real_duration(&self, sim: Duration) -> Duration {
        let speed = self.speed();
        if speed <= 0.0 {
            Duration::MAX
        } else {
            sim.div_f64(speed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_time_forward_exactly_when_frozen() {
        let clock = SimClock::starting_now(0.0);
        let t0 = clock.now();
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - t0, ChronoDuration::seconds(90));
    }

    #[test]
    fn speed_scales_wall_time() {
        let clock = SimClock::starting_now(1000.0);
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() - t0 >= ChronoDuration::seconds(10));
    }
}
