//! When and how long to wait before trying a request again.

use std::time::Duration;

/// Which failures are retried, how often, and how long to wait in between.
///
/// GET, PUT and DELETE are idempotent and are retried on 502, 503, 504, connection failures
/// and timeouts, up to [`max_attempts`](Self::max_attempts). POST (create) is retried only
/// when the connection could not be made, so no environment is ever created twice.
///
/// An answer to a request Omni did not carry out — 429 (rate limited), or 503 with
/// `Retry-After` (Omni's scheduled maintenance, whose requests "were not processed") — is
/// waited out, whatever the method, and does not count as an attempt: such answers are retried
/// until the [total budget](Self::total_budget) (5 minutes by default: long enough for a queue
/// of pipelines on one API key) would be passed. `Retry-After` is honoured (capped); without it
/// (Omni's 429s usually carry none) the wait is exponential backoff from 1 s with full jitter,
/// so that processes that were refused together do not come back together.
///
/// ```
/// use std::time::Duration;
/// use omni_dbt::RetryPolicy;
///
/// let policy = RetryPolicy::default().with_max_attempts(6).with_total_budget(Duration::from_secs(120));
/// assert_eq!(policy.max_attempts(), 6);
/// assert_eq!(RetryPolicy::disabled().max_attempts(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    total_budget: Duration,
    throttled_base_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff from 250 ms up to 8 s; rate-limit answers waited out from 1 s up
    /// to 8 s apart; `Retry-After` honoured up to 60 s; at most 5 minutes from the first
    /// attempt to the start of the last.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            total_budget: DEFAULT_TOTAL_BUDGET,
            throttled_base_delay: Duration::from_secs(1),
        }
    }
}

/// How long a call's retries may go on by default: a queue of pipelines on one key at Omni's
/// default 60 requests a minute drains 300 requests in that time.
pub(crate) const DEFAULT_TOTAL_BUDGET: Duration = Duration::from_secs(300);

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Attempts in all, the first included (at least 1); answers to requests Omni did not
    /// carry out (429, maintenance) are not counted. With 1, nothing is retried, not even those.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry; it doubles with every further retry.
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest backoff (before jitter), for failures and rate-limit answers alike.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The backoff before the first retry of a rate-limit answer without `Retry-After`
    /// (default 1 s, as Omni's docs suggest); it doubles with every further one.
    pub fn with_throttled_base_delay(mut self, delay: Duration) -> Self {
        self.throttled_base_delay = delay;
        self
    }

    /// The longest `Retry-After` honoured; a longer one ends the retries.
    pub fn with_max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// No retry starts later than this after the first attempt.
    pub fn with_total_budget(mut self, budget: Duration) -> Self {
        self.total_budget = budget;
        self
    }

    /// Attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// No retry starts later than this after the first attempt; a call takes at most this
    /// plus one attempt's timeout.
    pub fn total_budget(&self) -> Duration {
        self.total_budget
    }

    /// The longest `Retry-After` honoured, also the longest a 429 holds back pacing.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The wait before retry number `retry` (1 for the first retry) after a failure, or
    /// `None` when a `Retry-After` beyond the cap ends the retries.
    pub(crate) fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Option<Duration> {
        self.backoff(self.base_delay, retry, retry_after)
    }

    /// The wait before retry number `retry` (1 for the first) after answers to requests Omni
    /// did not carry out (429, maintenance), or `None` when a `Retry-After` beyond the cap ends
    /// the retries.
    pub(crate) fn throttled_wait(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        self.backoff(self.throttled_base_delay, retry, retry_after)
    }

    fn backoff(
        &self,
        base: Duration,
        retry: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        match retry_after {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked),
            None => {
                let exponent = retry.saturating_sub(1).min(31);
                let ceiling = base.saturating_mul(1 << exponent).min(self.max_delay);
                // Full jitter: anywhere in [0, ceiling], so that clients spread out.
                Some(ceiling.mul_f64(fastrand::f64()))
            }
        }
    }
}

/// What one attempt came to, as far as the retry decision is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// An answer with this status.
    Status(u16),
    /// 503 with `Retry-After`: Omni's scheduled maintenance, whose requests were not
    /// processed (Omni's docs), so resending is safe for every method.
    Maintenance,
    /// No connection could be made: the request never reached Omni.
    ConnectFailed,
    /// The attempt timed out after it may have been sent.
    TimedOut,
    /// The connection failed after the request may have been sent.
    ConnectionLost,
    /// An answer over the size cap (never retried: it would be as large again).
    TooLarge,
}

impl Outcome {
    /// What an answer with this status (and `Retry-After`, when it had one) came to.
    pub(crate) fn of_status(status: u16, retry_after: Option<Duration>) -> Self {
        match (status, retry_after) {
            (503, Some(_)) => Outcome::Maintenance,
            (status, _) => Outcome::Status(status),
        }
    }

    /// Whether Omni did not carry the request out and said so (429, maintenance): waited out
    /// until the budget ends, not counted as an attempt.
    pub(crate) fn not_carried_out(self) -> bool {
        matches!(self, Outcome::Status(429) | Outcome::Maintenance)
    }

    pub(crate) fn of_transport(e: &reqwest::Error) -> Self {
        if e.is_connect() {
            Outcome::ConnectFailed
        } else if e.is_timeout() {
            Outcome::TimedOut
        } else {
            Outcome::ConnectionLost
        }
    }

    /// Whether Omni may have acted on the attempt although its answer was not a success.
    pub(crate) fn may_have_taken_effect(self) -> bool {
        matches!(
            self,
            Outcome::TimedOut | Outcome::ConnectionLost | Outcome::Status(502..=504)
        )
    }
}

/// The retry decision, in one place: used by the request hook and by
/// [`Error::is_retryable`](crate::Error::is_retryable).
///
/// A request that may be repeated safely is retried on 502, 503, 504, timeouts and lost
/// connections; any request is retried on 429 and on 503 with `Retry-After` (answers to a
/// request Omni did not carry out: maintenance, in Omni's docs, "was not processed") and when
/// the connection could not be made at all.
///
/// | outcome | POST (create) | GET, PUT, DELETE |
/// |---|---|---|
/// | 429 | retried until the budget ends | the same |
/// | 503 with `Retry-After` (maintenance) | retried until the budget ends | the same |
/// | 502, 503, 504 | not repeated: may have taken effect | retried, `max_attempts` |
/// | timeout, connection lost | not repeated: may have taken effect | retried, `max_attempts` |
/// | no connection made | retried, `max_attempts` | the same |
pub(crate) fn should_retry(outcome: Outcome, repeatable: bool) -> bool {
    match outcome {
        Outcome::ConnectFailed | Outcome::Status(429) | Outcome::Maintenance => true,
        Outcome::Status(status) => repeatable && matches!(status, 502..=504),
        Outcome::TimedOut | Outcome::ConnectionLost => repeatable,
        Outcome::TooLarge => false,
    }
}

/// The retry table, keyed by operation (and request shape where it matters): whether sending
/// this request twice has the effect of sending it once. Read by the hook, so the ergonomic
/// builders and `Client::api()` agree.
///
/// | operation | repeatable |
/// |---|---|
/// | `models_branch_dbt` (POST) | yes: setting a branch's environment twice sets it once |
/// | `connections_dbt_environments_update` (PUT) | unless it creates variables: repeated, Omni would meet its new names as duplicates |
/// | any other | by HTTP method ([`method_is_repeatable`]) |
pub(crate) fn request_is_repeatable(
    operation_id: &str,
    method: &reqwest::Method,
    body: Option<&[u8]>,
) -> bool {
    match operation_id {
        "models_branch_dbt" => true,
        "connections_dbt_environments_update" => !body.is_some_and(creates_variables),
        _ => method_is_repeatable(method),
    }
}

/// Whether an update body creates a variable (an item without `id`). A body with a
/// `variables` key that cannot be read counts as creating one: the safe answer.
fn creates_variables(body: &[u8]) -> bool {
    // Most updates change no variable: a body without a `"variables"` key (or an escape that
    // could spell one) cannot create one, whatever else it holds, and is not parsed.
    // The searcher is built once (building one per call cost more than the search).
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"variables\""));
    if KEY.find(body).is_none() && memchr::memchr(b'\\', body).is_none() {
        return false;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return true;
    };
    value
        .get("variables")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|items| items.iter().any(|item| item.get("id").is_none()))
}

/// Whether a request of this method may be repeated safely (RFC 9110 idempotent methods).
pub(crate) fn method_is_repeatable(method: &reqwest::Method) -> bool {
    use reqwest::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
}

/// `Retry-After` as delta-seconds or an HTTP-date (uncapped: callers cap it).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_after_of_exactly_the_limit_is_waited_and_one_beyond_it_is_not() {
        let limit = Duration::from_secs(7);
        let policy = RetryPolicy::default().with_max_retry_after(limit);
        assert_eq!(policy.wait(1, Some(limit)), Some(limit));
        assert_eq!(policy.wait(1, Some(limit + Duration::from_millis(1))), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy::default();
        for retry in 1..=10 {
            let ceiling =
                Duration::from_millis(250 * (1 << (retry - 1))).min(Duration::from_secs(8));
            for _ in 0..50 {
                let wait = policy.wait(retry, None).unwrap();
                assert!(wait <= ceiling, "retry {retry}: {wait:?} > {ceiling:?}");
            }
        }
        let spread: std::collections::HashSet<Duration> =
            (0..20).map(|_| policy.wait(3, None).unwrap()).collect();
        assert!(spread.len() > 1, "jitter varies the wait");
    }

    #[test]
    fn only_repeatable_requests_retry_after_they_may_have_reached_omni() {
        for outcome in [
            Outcome::Status(502),
            Outcome::Status(503),
            Outcome::Status(504),
            Outcome::TimedOut,
            Outcome::ConnectionLost,
        ] {
            assert!(should_retry(outcome, true), "{outcome:?}");
            assert!(!should_retry(outcome, false), "{outcome:?}");
        }
        assert!(should_retry(Outcome::ConnectFailed, false));
        assert!(
            should_retry(Outcome::Status(429), false),
            "a 429 was not carried out: any method is retried"
        );
        for status in [200, 400, 401, 403, 404, 500, 501] {
            assert!(!should_retry(Outcome::Status(status), true), "{status}");
        }
        assert!(!should_retry(Outcome::TooLarge, true));
        assert!(method_is_repeatable(&reqwest::Method::PUT));
        assert!(!method_is_repeatable(&reqwest::Method::POST));
        assert!(!method_is_repeatable(&reqwest::Method::PATCH));
    }

    #[test]
    fn the_table_decides_by_operation_and_body() {
        use reqwest::Method;
        let update = "connections_dbt_environments_update";
        let new = br#"{"variables":[{"name":"A","value":"1","isSecret":false}]}"#;
        let existing =
            br#"{"variables":[{"id":"7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f","isSecret":true}]}"#;
        assert!(request_is_repeatable(
            update,
            &Method::PUT,
            Some(br#"{"name":"x"}"#)
        ));
        assert!(request_is_repeatable(update, &Method::PUT, Some(existing)));
        assert!(!request_is_repeatable(update, &Method::PUT, Some(new)));
        // Unreadable with a `variables` key: the safe answer. Without one it creates nothing.
        assert!(!request_is_repeatable(
            update,
            &Method::PUT,
            Some(br#"{"variables": [ not json"#)
        ));
        assert!(request_is_repeatable(
            update,
            &Method::PUT,
            Some(b"not json")
        ));
        // The key spelled with an escape is still read.
        assert!(!request_is_repeatable(
            update,
            &Method::PUT,
            Some(br#"{"\u0076ariables":[{"name":"A","value":"1","isSecret":false}]}"#)
        ));
        assert!(request_is_repeatable(
            "models_branch_dbt",
            &Method::POST,
            None
        ));
        assert!(!request_is_repeatable(
            "connections_dbt_environments_create",
            &Method::POST,
            None
        ));
        assert!(!request_is_repeatable(
            "models_refresh",
            &Method::POST,
            None
        ));
        assert!(request_is_repeatable(
            "connections_dbt_get",
            &Method::GET,
            None
        ));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default().with_max_retry_after(Duration::from_secs(5));
        assert_eq!(
            policy.wait(1, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.wait(1, Some(Duration::from_secs(6))), None);
    }
}
