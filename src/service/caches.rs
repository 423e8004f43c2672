//! The caches of one instance, and the changes that make their entries stale. A change
//! made here is forgotten here at once and, when a broker links the instances
//! ([`crate::events::broker`]), sent to the others, which forget it as they hear it; a
//! time to live ([`super::cache::TIME_TO_LIVE`]) bounds what an instance that missed the
//! message serves.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicU64, Ordering},
};

use entity::merchant;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{cache, merchants, plans};
use crate::auth::{Principal, jwt::Verified};

/// A change to cached data that every instance must forget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheChange {
    /// A merchant changed: its profile, plans, secrets and keys.
    Merchant(Uuid),
    /// An API key changed (revoked, rotated), by the hash of its secret.
    ApiKey(String),
}

/// The caches of one instance.
pub struct Caches {
    /// API keys by the hash of their secret; `None` for an unknown, revoked or inactive one.
    pub api_keys: cache::Counted<String, Option<merchants::AuthenticatedKey>>,
    /// Merchants by id.
    pub merchants: cache::Counted<Uuid, merchant::Model>,
    /// The plans each merchant offers, by merchant id.
    pub offered_plans: cache::Counted<Uuid, Vec<plans::OfferedPlan>>,
    /// Merchants' request-signing secrets (decrypted), for callers with access tokens.
    pub signing_secrets: cache::Counted<Uuid, Option<String>>,
    /// Verified access tokens by the SHA-256 of their text, so that each token's signature
    /// is checked once, not on every request; the expiry is still checked on every use.
    pub access_tokens: cache::Counted<[u8; 32], Verified<Principal>>,
    /// The generation of public data (merchants' profiles and plans): answers made from
    /// an older generation are not served again.
    public_generation: AtomicU64,
    /// Where changes go to reach the other instances, once a broker is attached.
    others: OnceLock<mpsc::Sender<CacheChange>>,
}

/// A shared handle on the caches.
pub type SharedCaches = Arc<Caches>;

/// How many changes may wait to be sent to other instances before new ones are dropped
/// (and logged; the time to live still bounds them).
pub const BACKLOG: usize = 10_000;

impl Default for Caches {
    fn default() -> Self {
        Self {
            api_keys: cache::Counted::new("api_keys", 100_000),
            merchants: cache::Counted::new("merchants", 100_000),
            offered_plans: cache::Counted::new("offered_plans", 100_000),
            signing_secrets: cache::Counted::new("signing_secrets", 100_000),
            access_tokens: cache::Counted::new("access_tokens", 100_000),
            public_generation: AtomicU64::new(0),
            others: OnceLock::new(),
        }
    }
}

impl Caches {
    /// Forgets what is cached about a merchant and its keys, after it changed, here and
    /// on the other instances.
    pub async fn merchant_changed(&self, merchant_id: Uuid) {
        self.changed(CacheChange::Merchant(merchant_id)).await;
    }

    /// Forgets an API key, by the hash of its secret, after it changed, here and on the
    /// other instances.
    pub async fn api_key_changed(&self, secret_hash: String) {
        self.changed(CacheChange::ApiKey(secret_hash)).await;
    }

    async fn changed(&self, change: CacheChange) {
        self.forget(&change).await;
        if let Some(others) = self.others.get()
            && let Err(err) = others.try_send(change)
        {
            tracing::warn!(error = %err, "could not tell other instances of a cache change");
        }
    }

    /// Forgets on this instance what `change` makes stale (a change heard from another).
    pub async fn forget(&self, change: &CacheChange) {
        match change {
            CacheChange::Merchant(merchant_id) => {
                let merchant_id = *merchant_id;
                self.merchants.invalidate(&merchant_id).await;
                self.offered_plans.invalidate(&merchant_id).await;
                self.signing_secrets.invalidate(&merchant_id).await;
                self.api_keys.invalidate_where(move |_, key| {
                    key.as_ref()
                        .is_some_and(|key| key.principal.merchant_id == merchant_id)
                });
                // Last, so that an answer keyed by the new generation reads none of the
                // above.
                self.public_generation.fetch_add(1, Ordering::SeqCst);
            }
            CacheChange::ApiKey(secret_hash) => self.api_keys.invalidate(secret_hash).await,
        }
    }

    /// Forgets everything that other instances' changes could have made stale, after
    /// their messages may have been missed (a lost connection to the broker).
    pub fn forget_all(&self) {
        self.api_keys.invalidate_all();
        self.merchants.invalidate_all();
        self.offered_plans.invalidate_all();
        self.signing_secrets.invalidate_all();
        self.public_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Sends this instance's changes to `others` from now on; `false` if a broker is
    /// attached already.
    pub fn attach_others(&self, others: mpsc::Sender<CacheChange>) -> bool {
        self.others.set(others).is_ok()
    }

    /// Each cache's name with its hits and misses so far.
    pub fn stats(&self) -> [(&'static str, cache::CacheStats); 5] {
        [
            (self.api_keys.name(), self.api_keys.stats()),
            (self.merchants.name(), self.merchants.stats()),
            (self.offered_plans.name(), self.offered_plans.stats()),
            (self.signing_secrets.name(), self.signing_secrets.stats()),
            (self.access_tokens.name(), self.access_tokens.stats()),
        ]
    }

    /// The generation of public data now; every change to a merchant starts a new one.
    pub fn public_generation(&self) -> u64 {
        self.public_generation.load(Ordering::SeqCst)
    }
}
