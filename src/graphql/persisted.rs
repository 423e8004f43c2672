//! Automatic persisted queries (Apollo's APQ protocol): a client sends the SHA-256 of a
//! query it sent once, instead of the query, so requests stay small and can be GETs that
//! HTTP caches keep. The parsed documents live in a bounded in-memory store.

use std::{sync::Arc, time::Duration};

use async_graphql::{Request, ServerError, parser::types::ExecutableDocument};
use moka::future::Cache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::parsed::ParsedQueries;

/// Most documents kept; the least recently used go first.
pub const CAPACITY: u64 = 10_000;
/// A document unused this long is forgotten (the client registers it again).
pub const IDLE: Duration = Duration::from_secs(24 * 3600);

/// The message of an unknown persisted query, which the APQ protocol fixes.
pub const NOT_FOUND: &str = "PersistedQueryNotFound";

/// Parsed documents by the SHA-256 of their text.
#[derive(Clone)]
pub struct PersistedQueries(Cache<String, Arc<ExecutableDocument>>);

/// The `persistedQuery` member of a request's `extensions`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: u8,
    sha256_hash: String,
}

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

    /// The document `request` names by hash, or `None` for an ordinary request. A request
    /// with both the hash and the query registers the query under its hash (once the two
    /// agree); one with the hash alone is served from the store.
    pub async fn resolve(
        &self,
        request: &mut Request,
        parsed: &ParsedQueries,
    ) -> Result<Option<Arc<ExecutableDocument>>, ServerError> {
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return Ok(None);
        };
        let persisted: PersistedQuery = value
            .into_json()
            .ok()
            .and_then(|json| serde_json::from_value(json).ok())
            .ok_or_else(|| {
                ServerError::new("Invalid \"PersistedQuery\" extension configuration.", None)
            })?;
        if persisted.version != 1 {
            return Err(ServerError::new(
                format!(
                    "Only the \"PersistedQuery\" extension of version \"1\" is supported, and the current version is \"{}\".",
                    persisted.version
                ),
                None,
            ));
        }
        if request.query.is_empty() {
            let found = self.0.get(&persisted.sha256_hash).await;
            tracing::debug!(hit = found.is_some(), "persisted query lookup");
            return found
                .map(Some)
                .ok_or_else(|| ServerError::new(NOT_FOUND, None));
        }
        let hash = hex::encode(Sha256::digest(request.query.as_bytes()));
        if persisted.sha256_hash != hash {
            return Err(ServerError::new("provided sha does not match query", None));
        }
        let document = parsed.parse(&request.query)?;
        self.0.insert(hash, document.clone()).await;
        Ok(Some(document))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_store_stays_within_its_capacity() {
        let store = PersistedQueries::new(10);
        let parsed = ParsedQueries::new(1024);
        for n in 0..100 {
            let query = format!("{{ a{n}: __typename }}");
            let hash = hex::encode(Sha256::digest(query.as_bytes()));
            let mut request = Request::new(query);
            request.extensions.insert(
                "persistedQuery".to_owned(),
                async_graphql::Value::from_json(
                    serde_json::json!({ "version": 1, "sha256Hash": hash }),
                )
                .unwrap(),
            );
            store.resolve(&mut request, &parsed).await.unwrap().unwrap();
        }
        assert!(store.len().await <= 10, "{}", store.len().await);
        assert!(!store.is_empty().await);
    }
}
