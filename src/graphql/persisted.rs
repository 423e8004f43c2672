//! Automatic persisted queries (Apollo's APQ protocol): a client sends the SHA-256 of a
//! query it sent once, instead of the query, so requests stay small and can be GETs that
//! HTTP caches keep. The parsed documents live in a bounded in-memory store.

use std::time::Duration;

use async_graphql::{
    extensions::apollo_persisted_queries::{ApolloPersistedQueries, CacheStorage},
    parser::types::ExecutableDocument,
};
use moka::future::Cache;

/// Most documents kept; the least recently used go first.
pub const CAPACITY: u64 = 10_000;
/// A document unused this long is forgotten (the client registers it again).
pub const IDLE: Duration = Duration::from_secs(24 * 3600);

/// Parsed documents by the SHA-256 of their text.
#[derive(Clone)]
pub struct PersistedQueries(Cache<String, ExecutableDocument>);

impl PersistedQueries {
    /// An empty store of at most `capacity` documents.
    pub fn new(capacity: u64) -> Self {
        Self(
            Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(IDLE)
                .build(),
        )
    }

    /// The schema extension that serves and registers documents from this store.
    pub fn extension(&self) -> ApolloPersistedQueries<Self> {
        ApolloPersistedQueries::new(self.clone())
    }

    /// How many documents the store holds (after pending evictions).
    pub async fn len(&self) -> u64 {
        self.0.run_pending_tasks().await;
        self.0.entry_count()
    }

    /// Whether the store holds no document.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}

#[async_graphql::async_trait::async_trait]
impl CacheStorage for PersistedQueries {
    async fn get(&self, key: String) -> Option<ExecutableDocument> {
        let found = self.0.get(&key).await;
        tracing::debug!(hit = found.is_some(), "persisted query lookup");
        found
    }

    async fn set(&self, key: String, query: ExecutableDocument) {
        self.0.insert(key, query).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_store_stays_within_its_capacity() {
        let store = PersistedQueries::new(10);
        for n in 0..100 {
            let document = async_graphql::parser::parse_query("{ __typename }").unwrap();
            store.set(format!("hash-{n}"), document).await;
        }
        assert!(store.len().await <= 10, "{}", store.len().await);
        assert!(!store.is_empty().await);
    }
}
