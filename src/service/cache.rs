//! The in-memory cache of read-mostly data (moka) that counts its hits and misses. Every
//! write that changes cached data invalidates it on this instance at once; a time to live
//! bounds how long other instances may serve the old value. Which caches an instance
//! keeps is [`super::Caches`].

use std::{
    collections::HashMap,
    future::Future,
    hash::Hash,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

/// How long a cached value may be served after another instance changed it.
pub const TIME_TO_LIVE: Duration = Duration::from_secs(60);

/// A moka cache that counts hits and misses.
pub struct Counted<K, V> {
    name: &'static str,
    cache: moka::future::Cache<K, V>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often a cache answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to load.
    pub misses: u64,
}

impl<K, V> Counted<K, V>
where
    K: Hash + Eq + Send + Sync + Clone + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries, each kept for [`TIME_TO_LIVE`].
    pub fn new(name: &'static str, capacity: u64) -> Self {
        Self {
            name,
            cache: moka::future::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(TIME_TO_LIVE)
                .support_invalidation_closures()
                .build(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached value of `key`, counting the lookup.
    pub async fn get(&self, key: &K) -> Option<V> {
        let found = self.cache.get(key).await;
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(cache = self.name, hit = found.is_some(), "cache lookup");
        found
    }

    /// Keeps `value` for `key`.
    pub async fn insert(&self, key: K, value: V) {
        self.cache.insert(key, value).await;
    }

    /// The values of `keys`: the cached ones, and the rest from `load` (a batch), which
    /// are then kept. Keys `load` leaves out are missing from the result.
    pub async fn get_or_load<E, Fut>(
        &self,
        keys: &[K],
        load: impl FnOnce(Vec<K>) -> Fut,
    ) -> Result<HashMap<K, V>, E>
    where
        Fut: Future<Output = Result<HashMap<K, V>, E>>,
    {
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match self.get(key).await {
                Some(value) => {
                    found.insert(key.clone(), value);
                }
                None => missing.push(key.clone()),
            }
        }
        if !missing.is_empty() {
            for (key, value) in load(missing).await? {
                self.insert(key.clone(), value.clone()).await;
                found.insert(key, value);
            }
        }
        Ok(found)
    }

    /// Forgets `key`.
    pub async fn invalidate(&self, key: &K) {
        self.cache.invalidate(key).await;
    }

    /// Forgets every entry.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// Forgets every entry whose value `stale` picks.
    pub fn invalidate_where(&self, stale: impl Fn(&K, &V) -> bool + Send + Sync + 'static) {
        if let Err(err) = self.cache.invalidate_entries_if(stale) {
            // Only possible without `support_invalidation_closures`, which `new` sets.
            tracing::error!(cache = self.name, error = %err, "cannot invalidate; clearing");
            self.cache.invalidate_all();
        }
    }

    /// The cache's name, for metrics.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lookups_are_counted_and_invalidation_forgets() {
        let cache: Counted<u32, &str> = Counted::new("test", 10);
        assert_eq!(cache.get(&1).await, None);
        cache.insert(1, "one").await;
        assert_eq!(cache.get(&1).await, Some("one"));
        cache.invalidate(&1).await;
        assert_eq!(cache.get(&1).await, None);
        cache.insert(2, "two").await;
        cache.invalidate_where(|_, value| *value == "two");
        assert_eq!(cache.get(&2).await, None);
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 3 });
    }

    #[tokio::test]
    async fn only_missing_keys_are_loaded() {
        let cache: Counted<u32, u32> = Counted::new("test", 10);
        cache.insert(1, 10).await;
        let loaded = cache
            .get_or_load(&[1, 2, 3], |missing| async move {
                assert_eq!(missing, [2, 3]);
                Ok::<_, ()>(HashMap::from([(2, 20)]))
            })
            .await
            .unwrap();
        assert_eq!(loaded, HashMap::from([(1, 10), (2, 20)]));
        assert_eq!(cache.get(&2).await, Some(20));
    }
}
