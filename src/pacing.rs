//! Client-side pacing at Omni's rate limit: one schedule per API token, shared by every clone
//! of a client, every task using it, and every client built with the same token and limit.
//!
//! The rate adapts to what the key really gets (the idea of the AWS SDKs' adaptive retry
//! mode): every 429 halves it, and it recovers slowly (linearly, to the configured limit in
//! [`RECOVERY`]), never above the configured limit. So several processes that share one key
//! and know nothing of each other settle near their share of it instead of each sending at the
//! whole limit.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex, OnceLock, PoisonError, Weak},
    time::Duration,
};

use tokio::time::Instant;

/// How many requests per minute the client lets itself send.
///
/// Omni allows 60 requests per minute per API key by default (an instance can be raised to
/// 500). The client spaces requests evenly at that rate after an initial burst, so a bulk job
/// of N requests takes about N / rate and meets no 429 in steady state.
///
/// ```
/// use omni_dbt::RateLimit;
///
/// let raised = RateLimit::per_minute(500);
/// assert_eq!(raised.burst(), 5);
/// assert_eq!(RateLimit::per_minute(60).with_burst(1).burst(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateLimit {
    per_minute: u32,
    burst: u32,
}

impl Default for RateLimit {
    /// Omni's documented default: 60 per minute.
    fn default() -> Self {
        RateLimit::per_minute(60)
    }
}

impl RateLimit {
    /// `n` requests per minute, with a burst of half a second's worth or 5, whichever is more
    /// (never more than `n`). The burst is kept small on purpose: a server's allowance starts
    /// when the first request *arrives*, so a client burst as large as the server's leaves no
    /// room for network jitter; a smaller one does.
    pub fn per_minute(n: u32) -> Self {
        let n = n.max(1);
        RateLimit {
            per_minute: n,
            burst: (n / 120).max(5).min(n),
        }
    }

    /// How many requests may go at once before the even spacing applies (at least 1).
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Requests per minute.
    pub fn requests_per_minute(&self) -> u32 {
        self.per_minute
    }

    /// The burst.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    fn per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }
}

/// Live pacers by (keyed hash of the token, limit).
type Registry = HashMap<(u64, RateLimit), Weak<Pacer>>;

/// How long the adaptive rate takes to climb from nothing back to the configured limit.
pub(crate) const RECOVERY: Duration = Duration::from_secs(20);

/// The adaptive rate never falls below this share of the configured limit.
const FLOOR: f64 = 1.0 / 32.0;

/// A GCRA schedule at an adaptive rate: each request reserves the next free slot, so waiting
/// requests are served in order without polling.
#[derive(Debug)]
pub(crate) struct Pacer {
    limit: RateLimit,
    state: Mutex<Schedule>,
}

#[derive(Debug)]
struct Schedule {
    /// The "theoretical arrival time" of the next request.
    next: Instant,
    /// Requests per second now: at most the limit's.
    rate: f64,
    /// When `rate` was last brought up to date.
    updated: Instant,
    /// No request starts before this (a 429's wait).
    hold_until: Instant,
}

impl Schedule {
    /// Recovers the rate for the time since the last update (linearly, capped at `max`).
    fn recover(&mut self, now: Instant, max: f64) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.rate = (self.rate + max * elapsed / RECOVERY.as_secs_f64()).min(max);
        self.updated = now.max(self.updated);
    }
}

impl Pacer {
    fn new(limit: RateLimit) -> Self {
        let now = Instant::now();
        Pacer {
            limit,
            state: Mutex::new(Schedule {
                next: now,
                rate: limit.per_second(),
                updated: now,
                hold_until: now,
            }),
        }
    }

    /// Requests per second the pacer lets through now (for tests and the bench).
    #[cfg(test)]
    fn rate(&self) -> f64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .rate
    }

    /// The pacer for this token and limit, shared with every other client that has them.
    pub(crate) fn shared(token: &str, limit: RateLimit) -> Arc<Pacer> {
        static REGISTRY: OnceLock<(RandomState, Mutex<Registry>)> = OnceLock::new();
        let (hasher, pacers) = REGISTRY.get_or_init(Default::default);
        // Keyed by a keyed hash of the token: the registry never holds the token itself.
        let key = (hasher.hash_one(token), limit);
        let mut pacers = pacers.lock().unwrap_or_else(PoisonError::into_inner);
        pacers.retain(|_, weak| weak.strong_count() > 0);
        if let Some(existing) = pacers.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        let pacer = Arc::new(Pacer::new(limit));
        pacers.insert(key, Arc::downgrade(&pacer));
        pacer
    }

    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits for this request's slot, unless the slot starts after `deadline`: then nothing
    /// is reserved and the error says how long until the slot.
    pub(crate) async fn acquire(&self, deadline: Option<Instant>) -> Result<(), Duration> {
        let now = Instant::now();
        let at = self.reserve(now, deadline)?;
        tokio::time::sleep_until(at).await;
        Ok(())
    }

    /// The spacing at `rate` requests per second (at most a minute).
    fn interval(rate: f64) -> Duration {
        Duration::try_from_secs_f64(1.0 / rate)
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60))
    }

    /// The burst allowance now: the configured burst, shrunk with the adaptive rate (a
    /// throttled token sends evenly until it has recovered).
    fn tolerance(&self, rate: f64) -> Duration {
        Self::interval(self.limit.per_second())
            .saturating_mul(self.limit.burst.saturating_sub(1))
            .mul_f64((rate / self.limit.per_second()).clamp(0.0, 1.0))
    }

    /// Reserves the next slot at or after `now` and returns when it starts; a slot after
    /// `latest` is not reserved.
    fn reserve(&self, now: Instant, latest: Option<Instant>) -> Result<Instant, Duration> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.recover(now, self.limit.per_second());
        let interval = Self::interval(state.rate);
        let tolerance = self.tolerance(state.rate);
        let arrival = state.next.max(now);
        let start = arrival
            .checked_sub(tolerance)
            .map_or(now, |t| t.max(now))
            .max(state.hold_until);
        if let Some(latest) = latest
            && start > latest
        {
            return Err(start - now);
        }
        // `arrival` is at most a capped back-off ahead of now, so this cannot overflow in
        // practice; saturate anyway.
        state.next = arrival.checked_add(interval).unwrap_or(arrival);
        Ok(start)
    }

    /// After a 429: the rate is halved (never below a floor), no request of this token starts
    /// before `wait` has passed, and the burst allowance is used up. Callers cap `wait` (the
    /// retry policy's `max_retry_after`).
    pub(crate) fn back_off(&self, wait: Duration) {
        let now = Instant::now();
        let max = self.limit.per_second();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.recover(now, max);
        state.rate = (state.rate / 2.0).max(max * FLOOR);
        let Some(until) = now.checked_add(wait) else {
            return;
        };
        state.hold_until = state.hold_until.max(until);
        // The burst allowance is used up: after the wait, requests are spaced.
        let tolerance = self.tolerance(state.rate);
        if let Some(next) = until.checked_add(tolerance) {
            state.next = state.next.max(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_burst_is_half_a_seconds_worth_or_five_never_more_than_the_rate() {
        let burst = |n| RateLimit::per_minute(n).burst();
        assert_eq!(
            (burst(60), burst(600), burst(6_000), burst(12_000)),
            (5, 5, 50, 100)
        );
        assert_eq!((burst(3), burst(0), burst(1)), (3, 1, 1));
        assert_eq!(RateLimit::per_minute(0).requests_per_minute(), 1);
        assert_eq!(RateLimit::per_minute(60).requests_per_minute(), 60);
    }

    #[test]
    fn slots_allow_the_burst_then_space_evenly() {
        let pacer = Pacer::new(RateLimit::per_minute(600).with_burst(3));
        // Past the slow start.
        let t0 = Instant::now() + RECOVERY;
        let starts: Vec<Duration> = (0..6)
            .map(|_| pacer.reserve(t0, None).unwrap() - t0)
            .collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(starts, [ms(0), ms(0), ms(0), ms(100), ms(200), ms(300)]);
    }

    #[test]
    fn idle_time_refills_the_burst_but_never_beyond() {
        let pacer = Pacer::new(RateLimit::per_minute(60).with_burst(2));
        let t0 = Instant::now();
        pacer.reserve(t0, None).unwrap();
        pacer.reserve(t0, None).unwrap();
        let later = t0 + Duration::from_secs(100);
        let starts: Vec<Duration> = (0..3)
            .map(|_| pacer.reserve(later, None).unwrap() - later)
            .collect();
        assert_eq!(
            starts,
            [Duration::ZERO, Duration::ZERO, Duration::from_secs(1)]
        );
    }

    #[test]
    fn a_429_pushes_every_slot_past_the_wait() {
        let pacer = Pacer::new(RateLimit::per_minute(600).with_burst(5));
        pacer.back_off(Duration::from_secs(2));
        let now = Instant::now();
        let start = pacer.reserve(now, None).unwrap();
        assert!(
            start >= now + Duration::from_millis(1990),
            "{:?}",
            start - now
        );
    }

    #[test]
    fn a_slot_beyond_the_deadline_is_refused_and_not_reserved() {
        let pacer = Pacer::new(RateLimit::per_minute(60).with_burst(1));
        let now = Instant::now();
        pacer.back_off(Duration::from_secs(30));
        let refused = pacer.reserve(now, Some(now + Duration::from_secs(5)));
        assert!(
            refused.unwrap_err() >= Duration::from_secs(29),
            "{refused:?}"
        );
        // Nothing was reserved: the next request gets the same slot.
        let start = pacer.reserve(now, None).unwrap();
        assert!(start - now < Duration::from_secs(31));
    }

    #[test]
    fn an_absurd_back_off_neither_panics_nor_moves_the_schedule() {
        let pacer = Pacer::new(RateLimit::per_minute(60));
        pacer.back_off(Duration::MAX);
        pacer.back_off(Duration::from_secs(u64::MAX));
        let now = Instant::now();
        assert!(pacer.reserve(now, None).unwrap() - now < Duration::from_secs(1));
    }

    #[test]
    fn a_429_halves_the_rate_which_recovers_slowly_and_never_beyond_the_limit() {
        let pacer = Pacer::new(RateLimit::per_minute(600));
        assert_eq!(pacer.rate(), 10.0);
        let base = Instant::now() + RECOVERY;
        pacer.reserve(base, None).unwrap();
        assert_eq!(pacer.rate(), 10.0, "never above the limit");
        pacer.back_off(Duration::ZERO);
        assert!((pacer.rate() - 5.0).abs() < 0.1, "{}", pacer.rate());
        for _ in 0..20 {
            pacer.back_off(Duration::ZERO);
        }
        assert!(
            (pacer.rate() - 10.0 * FLOOR).abs() < 0.05,
            "never below the floor: {}",
            pacer.rate()
        );
        // Recovery is linear in time, to the limit in RECOVERY, and stops there.
        pacer.reserve(base + RECOVERY / 2, None).unwrap();
        assert!((pacer.rate() - 5.3).abs() < 0.2, "{}", pacer.rate());
        pacer.reserve(base + RECOVERY * 3, None).unwrap();
        assert_eq!(pacer.rate(), 10.0);
    }

    #[test]
    fn after_a_back_off_fewer_requests_start_at_once() {
        let at_once = |pacer: &Pacer, t: Instant| {
            (0..6)
                .map(|_| pacer.reserve(t, None).unwrap())
                .filter(|start| *start == t)
                .count()
        };
        let fresh = Pacer::new(RateLimit::per_minute(600).with_burst(5));
        assert_eq!(at_once(&fresh, Instant::now() + RECOVERY), 5);
        let throttled = Pacer::new(RateLimit::per_minute(600).with_burst(5));
        throttled.back_off(Duration::ZERO);
        // Five seconds on, the rate has recovered to 3/4 of the limit, and so has the burst:
        // 3 at once (the whole burst of 5 would let 4 start at that rate).
        assert_eq!(at_once(&throttled, Instant::now() + RECOVERY / 4), 3);
    }

    #[test]
    fn a_lowered_rate_spaces_requests_wider() {
        let pacer = Pacer::new(RateLimit::per_minute(600).with_burst(1));
        pacer.back_off(Duration::ZERO);
        let t0 = Instant::now();
        let a = pacer.reserve(t0, None).unwrap();
        let b = pacer.reserve(t0, None).unwrap();
        assert!(b - a >= Duration::from_millis(190), "{:?}", b - a);
    }

    #[test]
    fn the_same_token_and_limit_share_one_pacer() {
        let a = Pacer::shared("token-a", RateLimit::default());
        let b = Pacer::shared("token-a", RateLimit::default());
        let c = Pacer::shared("token-c", RateLimit::default());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
