//! The embedded key-validation service, called in process but charged like the remote call
//! it stands for: every call costs a network hop, and a call that misses the key manager's own
//! token cache also costs a database lookup.

use super::cache::{CacheStats, CountingCache};
use super::tokens::{TokenStore, Validation};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct KeyManager {
    pub store: Arc<TokenStore>,
    /// `None` when the key manager token cache is off.
    cache: Option<CountingCache<String, Validation>>,
    /// One database lookup.
    db_latency: Duration,
    /// `validateKey` calls.
    calls: AtomicU64,
    /// `getAllURITemplates` calls (the resource lookups of a gateway without resource cache).
    resource_calls: AtomicU64,
    db_lookups: AtomicU64,
}

/// The gateway → key manager hop is a fraction of a lookup that goes to the database.
const HOP_SHARE: u32 = 4;

impl KeyManager {
    pub fn new(
        store: Arc<TokenStore>,
        cache: Option<CountingCache<String, Validation>>,
        db_latency: Duration,
    ) -> KeyManager {
        KeyManager {
            store,
            cache,
            db_latency,
            calls: AtomicU64::new(0),
            resource_calls: AtomicU64::new(0),
            db_lookups: AtomicU64::new(0),
        }
    }

    /// `validateKey`: the key manager cache, else the token store.
    pub async fn validate(&self, token: &str) -> Validation {
        self.calls.fetch_add(1, Ordering::Relaxed);
        pause(self.db_latency / HOP_SHARE).await;
        if let Some(cache) = &self.cache
            && let Some(hit) = cache.get(token).await
        {
            return hit;
        }
        pause(self.db_latency).await;
        self.db_lookups.fetch_add(1, Ordering::Relaxed);
        let answer = self.store.lookup(token, Instant::now());
        if let Some(cache) = &self.cache {
            cache.insert(token.to_string(), answer.clone()).await;
        }
        answer
    }

    /// `getAllURITemplates`: the resource lookup the gateway makes when its resource cache is
    /// off (a call and a database query per request).
    pub async fn uri_templates(&self) {
        self.resource_calls.fetch_add(1, Ordering::Relaxed);
        pause(self.db_latency / HOP_SHARE + self.db_latency).await;
        self.db_lookups.fetch_add(1, Ordering::Relaxed);
    }

    /// Revokes in the store and drops the key manager's cached answer.
    pub async fn revoke(&self, token: &str) -> bool {
        let known = self.store.revoke(token);
        if let Some(cache) = &self.cache {
            cache.invalidate(token).await;
        }
        known
    }

    /// Token validations asked of the key manager.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn resource_calls(&self) -> u64 {
        self.resource_calls.load(Ordering::Relaxed)
    }

    pub fn db_lookups(&self) -> u64 {
        self.db_lookups.load(Ordering::Relaxed)
    }

    /// The key manager's token cache, when it is on.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(CountingCache::stats)
    }

    pub async fn settle(&self) {
        if let Some(c) = &self.cache {
            c.settle().await;
        }
    }
}

async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::gateway::test_runtime as rt;

    #[test]
    fn without_cache_every_call_reaches_the_store() {
        rt().block_on(async {
            let (store, seeded) = TokenStore::seeded(5);
            let km = KeyManager::new(Arc::new(store), None, Duration::ZERO);
            for _ in 0..3 {
                assert!(matches!(
                    km.validate(&seeded.active[0]).await,
                    Validation::Valid { .. }
                ));
            }
            assert_eq!((km.calls(), km.db_lookups()), (3, 3));
        });
    }

    #[test]
    fn with_cache_repeated_calls_skip_the_store_until_revoked() {
        rt().block_on(async {
            let (store, seeded) = TokenStore::seeded(5);
            let cache = CountingCache::new(100, Duration::from_secs(60));
            let km = KeyManager::new(Arc::new(store), Some(cache), Duration::ZERO);
            let t = &seeded.active[1];
            km.validate(t).await;
            km.validate(t).await;
            assert_eq!((km.calls(), km.db_lookups()), (2, 1));
            assert!(km.revoke(t).await);
            assert_eq!(km.validate(t).await, Validation::Invalid("token revoked"));
            assert_eq!(km.db_lookups(), 2);
        });
    }
}
