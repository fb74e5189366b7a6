//! Leases in the shared store: one run at a time changes what a scope names (an environments
//! file's environments, one preview), across processes and machines.
//!
//! A lease lives in the store (the `shared-rate-limit` feature's Redis) under a digest of the
//! token and the scope, with a time to live that a background task renews while the holder
//! runs, and a fencing number that grows with every taker. Without a store — or when it cannot
//! be reached — a lease is *uncoordinated*: [`Client::lease`] returns at once and the caller
//! falls back on what needs no coordination (e.g.
//! [`CreateEnvironment::one_copy_per`](crate::CreateEnvironment::one_copy_per)).

use std::time::Duration;

use crate::{client::Client, error::Result};

/// How long a lease lasts unless renewed: a holder that dies frees its scope this long after.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// The shortest time to live [`Client::lease_with_ttl`] takes (a lease is renewed every third
/// of it, and each store call may take up to 250 ms).
pub const MIN_LEASE_TTL: Duration = Duration::from_millis(900);

/// A scope held for this run ([`Client::lease`]), or the note that nothing coordinates runs.
///
/// Dropping it stops renewing and gives it back (best effort; [`release`](Self::release)
/// waits for the store's answer). A holder that can no longer renew (the store went away, or
/// the lease expired and another run took it) is [`lost`](Self::is_lost): check before each
/// change that must not overlap another run's.
#[derive(Debug)]
#[must_use = "the lease is given back when dropped"]
pub struct Lease {
    scope: String,
    #[cfg(feature = "shared-rate-limit")]
    held: Option<held::Held>,
}

impl Lease {
    fn uncoordinated(scope: &str) -> Self {
        Lease {
            scope: scope.to_owned(),
            #[cfg(feature = "shared-rate-limit")]
            held: None,
        }
    }

    /// The scope this lease is for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Whether a store lease is held: other runs that ask for the scope wait.
    pub fn is_coordinated(&self) -> bool {
        #[cfg(feature = "shared-rate-limit")]
        return self.held.is_some();
        #[cfg(not(feature = "shared-rate-limit"))]
        return false;
    }

    /// The fencing number of a held lease: larger than that of every earlier holder.
    pub fn fence(&self) -> Option<u64> {
        #[cfg(feature = "shared-rate-limit")]
        return self.held.as_ref().map(held::Held::fence);
        #[cfg(not(feature = "shared-rate-limit"))]
        return None;
    }

    /// Whether a held lease could not be renewed in time: another run may hold it now.
    pub fn is_lost(&self) -> bool {
        #[cfg(feature = "shared-rate-limit")]
        return self.held.as_ref().is_some_and(held::Held::is_lost);
        #[cfg(not(feature = "shared-rate-limit"))]
        return false;
    }

    /// Gives the lease back and waits for the store's answer (bounded like every store call);
    /// nothing once given back. Give it back before the program ends: dropped, it is given back
    /// by a task of the runtime, which an ending program may not run (it then expires after
    /// [`LEASE_TTL`]).
    pub async fn release(&mut self) {
        #[cfg(feature = "shared-rate-limit")]
        if let Some(held) = self.held.take() {
            held.release().await;
        }
    }
}

impl Client {
    /// Takes the lease named `scope` in the shared rate-limit store, waiting up to `max_wait`
    /// while another run holds it (saying so in a `tracing` event): runs that take the same
    /// scope change what it names one at a time, on any machine that uses the store.
    ///
    /// Without a store, or when it cannot be reached, the lease is returned at once,
    /// uncoordinated ([`Lease::is_coordinated`] is false). [`Error::Busy`](crate::Error::Busy)
    /// when another run still holds it after `max_wait`.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client) -> omni_dbt::Result<()> {
    /// use std::time::Duration;
    /// let mut lease = client.lease("connection/5b2f8e0c/file:analytics", Duration::from_secs(600)).await?;
    /// // ... plan against what the connection has now, then change it ...
    /// lease.release().await;
    /// # Ok(()) }
    /// ```
    pub async fn lease(&self, scope: &str, max_wait: Duration) -> Result<Lease> {
        self.lease_with_ttl(scope, max_wait, LEASE_TTL).await
    }

    /// [`lease`](Self::lease) with a time to live of its own instead of [`LEASE_TTL`] (at
    /// least [`MIN_LEASE_TTL`]): renewed every third of it while held, and free that long
    /// after a holder that stopped renewing (a crashed run). Shorter frees a crashed run's
    /// scope sooner, at more store calls; the store must answer within it.
    pub async fn lease_with_ttl(
        &self,
        scope: &str,
        max_wait: Duration,
        ttl: Duration,
    ) -> Result<Lease> {
        let ttl = ttl.max(MIN_LEASE_TTL);
        #[cfg(feature = "shared-rate-limit")]
        if let Some(store) = &self.shared.store
            && let Some(held) = held::take(store.clone(), scope, max_wait, ttl).await?
        {
            return Ok(Lease {
                scope: scope.to_owned(),
                held: Some(held),
            });
        }
        let _ = (max_wait, ttl);
        Ok(Lease::uncoordinated(scope))
    }
}

#[cfg(feature = "shared-rate-limit")]
mod held {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    };

    use tokio::time::{Duration, Instant};

    use crate::{
        error::{Error, Result},
        store::{LeaseAnswer, StorePacer},
    };

    /// A lease held in the store, renewed by a task until it is released or dropped.
    #[derive(Debug)]
    pub(super) struct Held {
        store: Arc<StorePacer>,
        key: String,
        value: String,
        fence: u64,
        lost: Arc<AtomicBool>,
        renewer: tokio::task::JoinHandle<()>,
    }

    /// Takes the lease, waiting while another holder has it; `None` when the store cannot be
    /// used (the caller goes on uncoordinated).
    pub(super) async fn take(
        store: Arc<StorePacer>,
        scope: &str,
        max_wait: Duration,
        ttl: Duration,
    ) -> Result<Option<Held>> {
        let keys = store.lease_keys(scope);
        let holder = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let started = Instant::now();
        let mut said = false;
        loop {
            match store.take_lease(&keys, &holder, ttl).await {
                None => return Ok(None),
                Some(LeaseAnswer::Taken(fence)) => {
                    if said {
                        tracing::info!(
                            scope,
                            waited_ms =
                                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                            "took the lease on {scope:?} after {:.1} s",
                            started.elapsed().as_secs_f64()
                        );
                    }
                    let value = format!("{holder}:{fence}");
                    let lost = Arc::new(AtomicBool::new(false));
                    let renewer = tokio::spawn(renew(
                        store.clone(),
                        keys.0.clone(),
                        value.clone(),
                        lost.clone(),
                        ttl,
                    ));
                    return Ok(Some(Held {
                        store,
                        key: keys.0,
                        value,
                        fence,
                        lost,
                        renewer,
                    }));
                }
                Some(LeaseAnswer::Held(left)) => {
                    let waited = started.elapsed();
                    if waited >= max_wait {
                        return Err(Error::Busy {
                            scope: scope.to_owned(),
                            waited,
                        });
                    }
                    if !said {
                        tracing::info!(
                            scope,
                            "another run holds the lease on {scope:?}: waiting for it (at most {:.1} s)",
                            max_wait.as_secs_f64()
                        );
                        said = true;
                    }
                    // Polled: soon after a release, never past the caller's wait; jittered,
                    // so that waiting runs do not ask together.
                    let poll = Duration::from_millis(200 + fastrand::u64(0..800));
                    let pause = poll
                        .min(left.max(Duration::from_millis(50)))
                        .min(max_wait.saturating_sub(waited));
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Renews the lease every third of its time to live; marks it lost when it is no longer
    /// held as `value`, or when the store has not renewed it for a whole time to live.
    async fn renew(
        store: Arc<StorePacer>,
        key: String,
        value: String,
        lost: Arc<AtomicBool>,
        ttl: Duration,
    ) {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(ttl / 3).await;
            match store.renew_lease(&key, &value, ttl).await {
                Some(true) => renewed = Instant::now(),
                Some(false) => {
                    tracing::warn!(
                        "the lease expired and another run may hold it now: this run stops \
                         before its next change"
                    );
                    lost.store(true, Ordering::Relaxed);
                    return;
                }
                None if renewed.elapsed() >= ttl => {
                    tracing::warn!(
                        "the lease could not be renewed (the store is unavailable): this run \
                         stops before its next change"
                    );
                    lost.store(true, Ordering::Relaxed);
                    return;
                }
                None => {}
            }
        }
    }

    impl Held {
        pub(super) fn fence(&self) -> u64 {
            self.fence
        }

        pub(super) fn is_lost(&self) -> bool {
            self.lost.load(Ordering::Relaxed)
        }

        pub(super) async fn release(self) {
            self.renewer.abort();
            self.store.release_lease(&self.key, &self.value).await;
            // Released: nothing left for `drop` to do.
            self.lost.store(true, Ordering::Relaxed);
        }
    }

    impl Drop for Held {
        fn drop(&mut self) {
            self.renewer.abort();
            if self.lost.load(Ordering::Relaxed) {
                return;
            }
            // Given back in the background when a runtime is there to do it; otherwise the
            // lease expires on its own.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let store = self.store.clone();
                let (key, value) = (self.key.clone(), self.value.clone());
                runtime.spawn(async move { store.release_lease(&key, &value).await });
            }
        }
    }
}
