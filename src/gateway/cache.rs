//! A token cache with counters: moka (TinyLFU admission, LRU eviction, time-to-live), bounded
//! like Carbon's caches at a capacity of entries, with hits, misses and evictions counted
//! because moka keeps no statistics of its own.

use moka::future::Cache;
use moka::notification::RemovalCause;
use serde::Serialize;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A hundred years: "never" for any cache entry.
const MAX_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

/// Counters of one cache at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Entries dropped or refused because the cache was full.
    pub evictions: u64,
    pub entries: u64,
}

impl CacheStats {
    pub fn hit_ratio(&self) -> f64 {
        let all = self.hits + self.misses;
        if all == 0 {
            0.0
        } else {
            self.hits as f64 / all as f64
        }
    }
}

pub struct CountingCache<K, V> {
    inner: Cache<K, V>,
    counters: Arc<Counters>,
}

impl<K, V> CountingCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(capacity: u64, ttl: Duration) -> CountingCache<K, V> {
        let counters = Arc::new(Counters::default());
        let on_evict = Arc::clone(&counters);
        let inner = Cache::builder()
            .max_capacity(capacity)
            // moka refuses a zero time-to-live (a zero expiry means "expire at once") and panics
            // past 1000 years (API-M configs use Long.MAX_VALUE for "never").
            .time_to_live(ttl.clamp(Duration::from_millis(1), MAX_TTL))
            .eviction_listener(move |_k, _v, cause| {
                if cause == RemovalCause::Size {
                    on_evict.evictions.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        CountingCache { inner, counters }
    }

    pub async fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.inner.get(key).await;
        let counter = if found.is_some() {
            &self.counters.hits
        } else {
            &self.counters.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub async fn insert(&self, key: K, value: V) {
        self.inner.insert(key, value).await;
    }

    pub async fn invalidate<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.invalidate(key).await;
    }

    /// Runs moka's pending maintenance (evictions, expirations) so counts are exact now.
    pub async fn settle(&self) {
        self.inner.run_pending_tasks().await;
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            evictions: self.counters.evictions.load(Ordering::Relaxed),
            entries: self.inner.entry_count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::gateway::test_runtime as rt;

    #[test]
    fn counts_hits_and_misses() {
        rt().block_on(async {
            let c: CountingCache<String, u32> = CountingCache::new(10, Duration::from_secs(60));
            assert_eq!(c.get(&"a".to_string()).await, None);
            c.insert("a".into(), 1).await;
            assert_eq!(c.get(&"a".to_string()).await, Some(1));
            assert_eq!(c.get(&"a".to_string()).await, Some(1));
            let s = c.stats();
            assert_eq!((s.hits, s.misses), (2, 1));
            assert!((s.hit_ratio() - 2.0 / 3.0).abs() < 1e-9);
        });
    }

    #[test]
    fn never_holds_more_than_its_capacity() {
        rt().block_on(async {
            let c: CountingCache<u32, u32> = CountingCache::new(100, Duration::from_secs(60));
            for i in 0..250 {
                c.insert(i, i).await;
            }
            c.settle().await;
            let s = c.stats();
            assert!(s.entries <= 100, "{s:?}");
            assert!(s.evictions >= 150, "{s:?}");
        });
    }

    #[test]
    fn entries_expire_after_their_time_to_live() {
        rt().block_on(async {
            let c: CountingCache<u32, u32> = CountingCache::new(10, Duration::from_millis(30));
            c.insert(1, 1).await;
            assert_eq!(c.get(&1).await, Some(1));
            tokio::time::sleep(Duration::from_millis(60)).await;
            assert_eq!(c.get(&1).await, None);
        });
    }

    #[test]
    fn a_never_expiring_ttl_is_accepted() {
        let c: CountingCache<u32, u32> = CountingCache::new(10, Duration::from_millis(u64::MAX));
        assert_eq!(c.stats().entries, 0);
    }

    #[test]
    fn invalidate_removes_at_once() {
        rt().block_on(async {
            let c: CountingCache<u32, u32> = CountingCache::new(10, Duration::from_secs(60));
            c.insert(7, 7).await;
            c.invalidate(&7).await;
            assert_eq!(c.get(&7).await, None);
        });
    }
}
