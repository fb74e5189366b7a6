//! What a client's requests came to, counted by the hook: for a line at the end of a pipeline's
//! log that says whether it was slow because of the rate limit.

use std::{
    fmt,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

/// Counts kept by every clone of one client (the hook adds to them as it goes).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    waited_micros: AtomicU64,
    store_slots: AtomicU64,
    store_unavailable: AtomicU64,
    store_configured: AtomicBool,
}

impl Counters {
    pub(crate) fn new(store_configured: bool) -> Self {
        let counters = Counters::default();
        counters
            .store_configured
            .store(store_configured, Ordering::Relaxed);
        counters
    }

    /// One attempt sent (`retry`: not the call's first).
    pub(crate) fn sent(&self, retry: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if retry {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One 429 answer.
    pub(crate) fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Time spent waiting for the rate limit: for a slot, or after a 429.
    pub(crate) fn waited(&self, wait: Duration) {
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        // Saturating: a counter that wraps would report a short wait.
        let _ = self
            .waited_micros
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_add(micros))
            });
    }

    /// A slot came from the shared store (`true`), or the store could not be reached and this
    /// process's own pacing stood in (`false`).
    #[cfg_attr(not(feature = "shared-rate-limit"), allow(dead_code))]
    pub(crate) fn store(&self, answered: bool) {
        if answered {
            self.store_slots.fetch_add(1, Ordering::Relaxed);
        } else {
            self.store_unavailable.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> RequestStats {
        RequestStats {
            requests: self.requests.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            waited_for_limit: Duration::from_micros(self.waited_micros.load(Ordering::Relaxed)),
            store_configured: self.store_configured.load(Ordering::Relaxed),
            store_slots: self.store_slots.load(Ordering::Relaxed),
            store_unavailable: self.store_unavailable.load(Ordering::Relaxed),
        }
    }
}

/// What a client's requests have come to so far ([`Client::stats`](crate::Client::stats)):
/// every clone of a client counts into the same figures.
///
/// Its `Display` is one line for a log, e.g. `12 requests (2 retries, 1 answered 429), 3.2 s
/// waiting for the rate limit, pacing in this process only`.
///
/// ```
/// let client = omni_dbt::Client::builder()
///     .with_token(omni_dbt::Token::organization_api_key("omni_osk_example"))
///     .with_base_url("https://acme.omniapp.co")
///     .build()?;
/// let stats = client.stats();
/// assert_eq!(stats.requests, 0);
/// assert_eq!(stats.to_string(), "0 requests, pacing in this process only");
/// # Ok::<(), omni_dbt::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestStats {
    /// Attempts sent, retries included.
    pub requests: u64,
    /// Answers that were 429 (rate limited).
    pub throttled: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Time spent waiting for the rate limit: for a pacing slot, and after 429s. (Calls running
    /// at once each count their own wait.)
    pub waited_for_limit: Duration,
    /// Whether a shared rate-limit store is configured.
    pub store_configured: bool,
    /// Slots the shared store gave.
    pub store_slots: u64,
    /// Slots this process paced itself because the store could not be reached.
    pub store_unavailable: u64,
}

impl fmt::Display for RequestStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
        write!(
            f,
            "{} {}",
            self.requests,
            plural(self.requests, "request", "requests")
        )?;
        if self.retries > 0 || self.throttled > 0 {
            write!(
                f,
                " ({} {}, {} answered 429)",
                self.retries,
                plural(self.retries, "retry", "retries"),
                self.throttled
            )?;
        }
        // A wait too short to show as a tenth of a second is not said.
        if self.waited_for_limit >= Duration::from_millis(50) {
            write!(
                f,
                ", {:.1} s waiting for the rate limit",
                self.waited_for_limit.as_secs_f64()
            )?;
        }
        match (
            self.store_configured,
            self.store_slots,
            self.store_unavailable,
        ) {
            (false, _, _) => f.write_str(", pacing in this process only"),
            (true, _, 0) => f.write_str(", paced by the shared store"),
            (true, slots, missed) => write!(
                f,
                ", paced by the shared store ({slots} slots; {missed} paced locally while it \
                 could not be reached)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_happened() {
        let counters = Counters::new(true);
        counters.sent(false);
        counters.sent(true);
        counters.throttled();
        counters.waited(Duration::from_millis(1500));
        counters.store(true);
        counters.store(false);
        assert_eq!(
            counters.snapshot().to_string(),
            "2 requests (1 retry, 1 answered 429), 1.5 s waiting for the rate limit, paced by \
             the shared store (1 slots; 1 paced locally while it could not be reached)"
        );
        let quiet = Counters::new(false);
        quiet.sent(false);
        assert_eq!(
            quiet.snapshot().to_string(),
            "1 request, pacing in this process only"
        );
        let unused = Counters::new(true);
        unused.store(true);
        assert_eq!(
            unused.snapshot().to_string(),
            "0 requests, paced by the shared store"
        );
    }

    #[test]
    fn an_absurd_wait_saturates() {
        let counters = Counters::new(false);
        counters.waited(Duration::MAX);
        counters.waited(Duration::MAX);
        assert_eq!(
            counters.snapshot().waited_for_limit,
            Duration::from_micros(u64::MAX)
        );
    }
}
