//! One rate limit across processes and machines: the token's GCRA schedule kept in Redis,
//! reserved and pushed back by one atomic Lua script each, on the server's clock. The key is a
//! SHA-256 digest of the token, never the token itself.
//!
//! The store can only help: every call to it is bounded (a short timeout), and when it is
//! unreachable or slow the client says so once (a `tracing` warning), falls back to its own
//! pacing, and tries the store again a little later. A request never fails because of it.

use std::{
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::{error::Error, pacing::RateLimit};

/// The longest a store round trip may take before the client goes on without it.
const STORE_TIMEOUT: Duration = Duration::from_millis(250);

/// After the store failed, how long the client paces locally before trying it again.
const STORE_RETRY: Duration = Duration::from_secs(15);

const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local start = tat - tolerance
if start < now then start = now end
local wait = start - now
if max_wait >= 0 and wait > max_wait then return {0, wait} end
local next = tat + interval
redis.call('SET', KEYS[1], next, 'PX', math.ceil((next - now) / 1000) + 1000)
return {1, wait}
";

const BACK_OFF: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local hold_until = now + tonumber(ARGV[1]) + tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if hold_until > tat then
  redis.call('SET', KEYS[1], hold_until, 'PX', math.ceil((hold_until - now) / 1000) + 1000)
end
return 1
";

const LEASE_TAKE: &str = r"
local current = redis.call('GET', KEYS[1])
if current then return {0, redis.call('PTTL', KEYS[1])} end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', tonumber(ARGV[2]))
return {1, fence}
";

const LEASE_RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
";

const LEASE_RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// What the store said about a lease.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LeaseAnswer {
    /// Taken, with this fencing number (one more than the last taker's).
    Taken(u64),
    /// Another holder has it, for at most this long unless renewed.
    Held(Duration),
}

/// What the store said about a request's slot.
pub(crate) enum Slot {
    /// Reserved: start after this wait.
    Wait(Duration),
    /// The slot starts after the caller's deadline: nothing was reserved.
    Refused(Duration),
    /// The store did not answer in time (or at all): pace locally.
    Unavailable,
}

/// A token's schedule in Redis.
pub(crate) struct StorePacer {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    key: String,
    limit: RateLimit,
    acquire: redis::Script,
    back_off: redis::Script,
    /// The digest of the token that names this token's keys.
    digest: String,
    /// Until when the store is skipped after a failure.
    skip_until: Mutex<Option<Instant>>,
    warned: AtomicBool,
    /// Where the store is, without credentials (for the warning).
    shown: String,
}

impl std::fmt::Debug for StorePacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorePacer")
            .field("store", &self.shown)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl StorePacer {
    /// A store at `url` (`redis://host:port/[db]`, or `rediss://` for TLS: rustls with the
    /// client's `ring` provider, the system's roots) for this token and limit. `origin` names
    /// where the URL came from, for the error.
    pub(crate) fn new(
        url: &str,
        origin: &str,
        token: &str,
        limit: RateLimit,
    ) -> Result<Self, Error> {
        let parsed = url::Url::parse(url).map_err(|e| {
            Error::config(origin, format!("the rate-limit store is not a URL: {e}"))
        })?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err(Error::config(
                origin,
                format!(
                    "the rate-limit store must be a redis:// or rediss:// (TLS) URL, not {}://",
                    parsed.scheme()
                ),
            ));
        }
        // redis reads a fragment as a TLS switch (`#insecure`: no certificate check): refused.
        if parsed.fragment().is_some() {
            return Err(Error::config(
                origin,
                "the rate-limit store URL must not have a #fragment (`#insecure` would turn off \
                 the TLS certificate check)",
            ));
        }
        // Where it is, for the warning: never its credentials or query.
        let mut shown = parsed.clone();
        let _ = shown.set_password(None);
        let _ = shown.set_username("");
        shown.set_query(None);
        shown.set_fragment(None);
        let client = redis::Client::open(url).map_err(|e| {
            Error::config(
                origin,
                format!("the rate-limit store URL is refused: {:?}", e.kind()),
            )
        })?;
        let digest = Sha256::digest(token.trim().as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Ok(StorePacer {
            client,
            connection: tokio::sync::Mutex::new(None),
            key: format!("omni-dbt:rate:{hex}"),
            limit,
            acquire: redis::Script::new(ACQUIRE),
            back_off: redis::Script::new(BACK_OFF),
            digest: hex.clone(),
            skip_until: Mutex::new(None),
            warned: AtomicBool::new(false),
            shown: shown.to_string(),
        })
    }

    /// The store's key for this token (a digest, never the token).
    #[cfg(test)]
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    fn interval_us(&self) -> u64 {
        60_000_000 / u64::from(self.limit.requests_per_minute().max(1))
    }

    /// The burst allowance, one slot short of the configured burst: requests of different
    /// processes and machines reach Omni in a slightly different order and spacing than they
    /// reserved their slots in, and the slot kept back absorbs that jitter.
    fn tolerance_us(&self) -> u64 {
        self.interval_us()
            .saturating_mul(u64::from(self.limit.burst().saturating_sub(2)))
    }

    /// Reserves this request's slot, unless it starts after `max_wait` from now.
    pub(crate) async fn acquire(&self, max_wait: Option<Duration>) -> Slot {
        let max_wait_us: i64 = max_wait
            .map(|w| i64::try_from(w.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(-1);
        let mut invocation = self.acquire.key(&self.key);
        invocation
            .arg(self.interval_us())
            .arg(self.tolerance_us())
            .arg(max_wait_us);
        let answer: Option<(i64, i64)> = self
            .run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
        match answer.map(|answer| judge(answer, max_wait)) {
            Some(Ok(slot)) => slot,
            Some(Err(problem)) => {
                self.failed(problem);
                Slot::Unavailable
            }
            None => Slot::Unavailable,
        }
    }

    /// After a 429: no request of this token, in any process, starts before `wait` has passed.
    pub(crate) async fn back_off(&self, wait: Duration) {
        let wait_us = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX / 2);
        let mut invocation = self.back_off.key(&self.key);
        invocation.arg(wait_us).arg(self.tolerance_us());
        let _: Option<i64> = self
            .run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
    }

    /// The keys of the lease named `scope` (digests: neither the token nor the scope is
    /// stored): the lease, and its fencing counter.
    pub(crate) fn lease_keys(&self, scope: &str) -> (String, String) {
        let digest = Sha256::digest(scope.as_bytes());
        let scope: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        (
            format!("omni-dbt:lease:{}:{scope}", self.digest),
            format!("omni-dbt:fence:{}:{scope}", self.digest),
        )
    }

    /// Takes the lease at `keys` for `holder` for `ttl`, or says how long another holder
    /// keeps it; `None` when the store cannot be used.
    pub(crate) async fn take_lease(
        &self,
        keys: &(String, String),
        holder: &str,
        ttl: Duration,
    ) -> Option<LeaseAnswer> {
        let script = redis::Script::new(LEASE_TAKE);
        let mut invocation = script.key(&keys.0);
        invocation.key(&keys.1).arg(holder).arg(millis(ttl));
        let answer: (i64, i64) = self
            .run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await?;
        match judge_lease(answer, ttl) {
            Ok(answer) => Some(answer),
            Err(problem) => {
                self.failed(problem);
                None
            }
        }
    }

    /// Extends the lease held as `value` by `ttl`: `Some(false)` when it is no longer held
    /// so (it expired and another took it), `None` when the store cannot be used.
    pub(crate) async fn renew_lease(&self, key: &str, value: &str, ttl: Duration) -> Option<bool> {
        let script = redis::Script::new(LEASE_RENEW);
        let mut invocation = script.key(key);
        invocation.arg(value).arg(millis(ttl));
        let renewed: i64 = self
            .run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await?;
        Some(renewed == 1)
    }

    /// Gives the lease held as `value` back (nothing, if it is no longer held so).
    pub(crate) async fn release_lease(&self, key: &str, value: &str) {
        let script = redis::Script::new(LEASE_RELEASE);
        let mut invocation = script.key(key);
        invocation.arg(value);
        let _: Option<i64> = self
            .run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await;
    }

    /// Runs one store operation within [`STORE_TIMEOUT`]; `None` (with a warning, once) when
    /// the store is skipped, unreachable, slow or refuses.
    async fn run<T, F, Fut>(&self, op: F) -> Option<T>
    where
        F: FnOnce(redis::aio::MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        {
            let skip = self
                .skip_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if skip.is_some_and(|until| Instant::now() < until) {
                return None;
            }
        }
        let attempt = async {
            let mut slot = self.connection.lock().await;
            let connection = match slot.as_ref() {
                Some(c) => c.clone(),
                None => {
                    let c = self.client.get_multiplexed_async_connection().await?;
                    *slot = Some(c.clone());
                    c
                }
            };
            drop(slot);
            op(connection).await
        };
        let outcome = tokio::time::timeout(STORE_TIMEOUT, attempt).await;
        let problem = match outcome {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(e)) => {
                // A broken connection is made again next time.
                *self.connection.lock().await = None;
                format!("it failed: {:?}", e.kind())
            }
            Err(_) => format!("it did not answer within {STORE_TIMEOUT:?}"),
        };
        self.failed(problem);
        None
    }

    /// The store failed (or answered nonsense): skipped for [`STORE_RETRY`], said once.
    fn failed(&self, problem: String) {
        *self
            .skip_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now().checked_add(STORE_RETRY);
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                store = %self.shown,
                "the shared rate-limit store is unavailable ({problem}); pacing locally until it answers again"
            );
        }
    }
}

/// The longest wait a store may give when the call has no deadline, and the longest a refusal
/// may report: more is nonsense (a rate of one request a minute with a full queue of
/// pipelines waits minutes, not days).
const MAX_PLAUSIBLE_WAIT: Duration = Duration::from_secs(3600);

/// What an answer of the acquire script means, or why it is nonsense (a store that is not
/// ours, or broken): the script reserves only a slot within `max_wait`, refuses only one after
/// it, and never answers a negative wait.
fn judge((reserved, wait): (i64, i64), max_wait: Option<Duration>) -> Result<Slot, String> {
    let nonsense = |why: &str| Err(format!("it answered {reserved}, {wait} µs: {why}"));
    let Ok(wait_us) = u64::try_from(wait) else {
        return nonsense("a negative wait");
    };
    let wait = Duration::from_micros(wait_us);
    let bound = max_wait.unwrap_or(MAX_PLAUSIBLE_WAIT);
    match reserved {
        1 if wait <= bound => Ok(Slot::Wait(wait)),
        1 => nonsense("a wait beyond the call's deadline, which the script never reserves"),
        0 if max_wait.is_some_and(|m| wait <= m) => {
            nonsense("a refusal of a slot within the call's deadline")
        }
        0 if wait <= MAX_PLAUSIBLE_WAIT.max(bound) => Ok(Slot::Refused(wait)),
        0 => nonsense("an implausibly long wait"),
        _ => nonsense("neither reserved (1) nor refused (0)"),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// What an answer of the lease script means, or why it is nonsense: a fencing number is
/// positive, and a holder keeps a lease for at most its time to live (`-1`, a lease key
/// without expiry, is someone else's key: held, for as long as a lease lasts).
fn judge_lease((taken, value): (i64, i64), ttl: Duration) -> Result<LeaseAnswer, String> {
    let nonsense = |why: &str| Err(format!("it answered {taken}, {value}: {why}"));
    match (taken, value) {
        (1, fence) => match u64::try_from(fence) {
            Ok(fence) if fence > 0 => Ok(LeaseAnswer::Taken(fence)),
            _ => nonsense("a fencing number that is not positive"),
        },
        (0, -1) => Ok(LeaseAnswer::Held(ttl)),
        // -2: the lease expired between the two reads of the script: free now.
        (0, -2) => Ok(LeaseAnswer::Held(Duration::ZERO)),
        (0, left) => match u64::try_from(left) {
            Ok(ms) if Duration::from_millis(ms) <= ttl.saturating_mul(4) => {
                Ok(LeaseAnswer::Held(Duration::from_millis(ms)))
            }
            _ => nonsense("an implausible time to live"),
        },
        _ => nonsense("neither taken (1) nor held (0)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_answers_are_judged() {
        let ttl = Duration::from_secs(30);
        assert_eq!(judge_lease((1, 7), ttl), Ok(LeaseAnswer::Taken(7)));
        assert_eq!(
            judge_lease((0, 1500), ttl),
            Ok(LeaseAnswer::Held(Duration::from_millis(1500)))
        );
        assert_eq!(judge_lease((0, -1), ttl), Ok(LeaseAnswer::Held(ttl)));
        assert_eq!(
            judge_lease((0, -2), ttl),
            Ok(LeaseAnswer::Held(Duration::ZERO))
        );
        for nonsense in [(1, 0), (1, -3), (0, -7), (0, 9_000_000_000), (2, 1)] {
            assert!(judge_lease(nonsense, ttl).is_err(), "{nonsense:?}");
        }
    }

    #[test]
    fn lease_keys_are_digests_of_the_token_and_the_scope() {
        let store =
            StorePacer::new("redis://h:2/", "t", "omni_osk_SECRET", RateLimit::default()).unwrap();
        let (lease, fence) = store.lease_keys("connection/abc/file:analytics\nx");
        assert!(lease.starts_with("omni-dbt:lease:") && fence.starts_with("omni-dbt:fence:"));
        for key in [&lease, &fence] {
            assert!(
                !key.contains("SECRET") && !key.contains("analytics"),
                "{key}"
            );
            assert!(
                key.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-')
            );
        }
        assert_ne!(store.lease_keys("a").0, store.lease_keys("b").0);
        assert_eq!(store.lease_keys("a"), store.lease_keys("a"));
    }

    #[test]
    fn nonsensical_answers_are_store_failures_and_sane_ones_are_kept() {
        let second = Some(Duration::from_secs(1));
        assert!(
            matches!(judge((1, 250_000), second), Ok(Slot::Wait(w)) if w == Duration::from_millis(250))
        );
        assert!(matches!(judge((1, 0), None), Ok(Slot::Wait(w)) if w.is_zero()));
        assert!(
            matches!(judge((0, 2_000_000), second), Ok(Slot::Refused(w)) if w == Duration::from_secs(2))
        );
        // A hostile store's 104 days, a negative wait, a refusal within the deadline, a
        // status other than 0 or 1: none is slept or reported as a wait.
        let why = |answer, max_wait| match judge(answer, max_wait) {
            Err(why) => why,
            Ok(_) => panic!("{answer:?} was taken"),
        };
        assert!(why((1, 9_000_000_000_000), second).contains("beyond the call's deadline"));
        assert!(why((1, 9_000_000_000_000), None).contains("beyond the call's deadline"));
        assert!(why((1, -5), second).contains("negative"));
        assert!(why((0, 500_000), second).contains("refusal of a slot within"));
        assert!(why((0, 9_000_000_000_000), second).contains("implausibly long"));
        assert!(why((7, 1), second).contains("neither reserved"));
        let at_the_bound = judge((1, 1_000_000), second);
        assert!(matches!(at_the_bound, Ok(Slot::Wait(_))));
    }

    #[test]
    fn the_key_is_a_digest_of_the_token_never_the_token() {
        let token = "omni_osk_secret_DO_NOT_STORE";
        let store =
            StorePacer::new("redis://127.0.0.1:1/", "test", token, RateLimit::default()).unwrap();
        let key = store.key();
        assert!(key.starts_with("omni-dbt:rate:"), "{key}");
        let digest = key.trim_start_matches("omni-dbt:rate:");
        assert_eq!(digest.len(), 32);
        assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!key.contains("omni_osk") && !key.contains("DO_NOT"));
        // The same token in another process or machine gets the same key; another token not.
        let again =
            StorePacer::new("redis://h:2/", "t", token, RateLimit::per_minute(500)).unwrap();
        assert_eq!(again.key(), key);
        let other = StorePacer::new("redis://h:2/", "t", "other", RateLimit::default()).unwrap();
        assert_ne!(other.key(), key);
        assert!(!format!("{store:?}").contains("DO_NOT"));
    }

    #[test]
    fn the_shown_store_has_no_credentials_query_or_fragment() {
        let store = StorePacer::new(
            "rediss://user:pa55word@cache.example:6380/2?protocol=resp2",
            "test",
            "t",
            RateLimit::default(),
        )
        .unwrap();
        let shown = format!("{store:?}");
        assert!(shown.contains("rediss://cache.example:6380/2"), "{shown}");
        for secret in ["pa55word", "user", "protocol", "?"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(StorePacer::new("http://h/", "t", "t", RateLimit::default()).is_err());
        let insecure = StorePacer::new("rediss://h/#insecure", "t", "t", RateLimit::default());
        assert!(insecure.is_err());
    }
}
