//! Per-request DataLoaders: every relation is fetched in one batched statement per request
//! level, whatever the number of parent rows, and cached for the rest of the request.

use std::{collections::HashMap, future::Future, marker::PhantomData, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{checkout, checkout_item, installment, merchant, payment, refund, webhook_attempt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::{
    encryption::Vault,
    service::{
        self, Deps, ServiceError, ServiceResult, SharedCaches, consumers::ConsumerAccount,
        plans::OfferedPlan,
    },
};

/// Where batches load from: the database, and the caches of read-mostly values.
#[derive(Clone)]
pub struct Source {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// The instance's caches.
    pub caches: SharedCaches,
    /// Opens encrypted columns.
    pub vault: Arc<Vault>,
}

/// A value that can be loaded for many ids in one go.
pub trait Batch: Clone + Send + Sync + Sized + 'static {
    /// Loads the values of `ids`; ids without a value are left out.
    fn load(
        source: &Source,
        ids: &[Uuid],
    ) -> impl Future<Output = ServiceResult<HashMap<Uuid, Self>>> + Send;
}

/// Merchants, through the cache.
impl Batch for merchant::Model {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        service::merchants::by_ids(&source.db, &source.caches, ids).await
    }
}

/// Consumer accounts, their PII decrypted.
impl Batch for ConsumerAccount {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        service::consumers::by_ids(&source.db, &source.vault, ids).await
    }
}

impl Batch for checkout::Model {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        let db = &source.db;
        service::checkouts::by_ids(db, ids).await
    }
}

/// The items of a checkout, by checkout id.
impl Batch for Vec<checkout_item::Model> {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        let db = &source.db;
        service::checkouts::items_by_checkout(db, ids)
            .await
            .map(|found| every_key(ids, found))
    }
}

/// The plans a merchant offers, by merchant id, through the cache.
impl Batch for Vec<OfferedPlan> {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        service::plans::cached_offered_by_merchants(&source.db, &source.caches, ids).await
    }
}

/// The instalments of an order, by order id.
impl Batch for Vec<installment::Model> {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        let db = &source.db;
        service::orders::installments_by_order(db, ids)
            .await
            .map(|found| every_key(ids, found))
    }
}

/// The payments of an order, by order id.
impl Batch for Vec<payment::Model> {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        let db = &source.db;
        service::orders::payments_by_order(db, ids)
            .await
            .map(|found| every_key(ids, found))
    }
}

/// The refunds of an order, by order id.
impl Batch for Vec<refund::Model> {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        let db = &source.db;
        service::orders::refunds_by_order(db, ids)
            .await
            .map(|found| every_key(ids, found))
    }
}

/// The attempts of a webhook delivery, by delivery id.
impl Batch for Vec<webhook_attempt::Model> {
    async fn load(source: &Source, ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Self>> {
        let db = &source.db;
        service::webhooks::attempts_by_delivery(db, ids)
            .await
            .map(|found| every_key(ids, found))
    }
}

/// Gives every requested id an entry (empty when it has no rows), so the loader caches
/// "nothing" too and a later lookup of that id does not load again.
fn every_key<T>(ids: &[Uuid], mut found: HashMap<Uuid, Vec<T>>) -> HashMap<Uuid, Vec<T>> {
    for id in ids {
        found.entry(*id).or_default();
    }
    found
}

/// Adapts a [`Batch`] value to async-graphql's [`Loader`].
pub struct BatchLoader<T> {
    source: Source,
    _value: PhantomData<fn() -> T>,
}

impl<T: Batch> Loader<Uuid> for BatchLoader<T> {
    type Value = T;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, T>, Self::Error> {
        T::load(&self.source, keys).await.map_err(Arc::new)
    }
}

/// A caching loader of one kind of value, living as long as one request.
pub type RequestLoader<T> = DataLoader<BatchLoader<T>, HashMapCache>;

/// The loaders of one request.
pub struct Loaders {
    /// Merchants by id.
    pub merchants: RequestLoader<merchant::Model>,
    /// Checkouts by id.
    pub checkouts: RequestLoader<checkout::Model>,
    /// Consumer accounts by id.
    pub consumers: RequestLoader<ConsumerAccount>,
    /// Checkout items by checkout id.
    pub checkout_items: RequestLoader<Vec<checkout_item::Model>>,
    /// Offered plans by merchant id.
    pub offered_plans: RequestLoader<Vec<OfferedPlan>>,
    /// Instalments by order id.
    pub installments: RequestLoader<Vec<installment::Model>>,
    /// Payments by order id.
    pub payments: RequestLoader<Vec<payment::Model>>,
    /// Refunds by order id.
    pub refunds: RequestLoader<Vec<refund::Model>>,
    /// Webhook attempts by delivery id.
    pub webhook_attempts: RequestLoader<Vec<webhook_attempt::Model>>,
}

fn loader<T: Batch>(source: &Source) -> RequestLoader<T> {
    DataLoader::with_cache(
        BatchLoader {
            source: source.clone(),
            _value: PhantomData,
        },
        tokio::spawn,
        HashMapCache::default(),
    )
}

impl Loaders {
    /// Fresh loaders for a new request.
    pub fn new(deps: &Deps) -> Self {
        let source = &Source {
            db: deps.db.clone(),
            caches: deps.caches.clone(),
            vault: deps.vault.clone(),
        };
        Self {
            merchants: loader(source),
            checkouts: loader(source),
            consumers: loader(source),
            checkout_items: loader(source),
            offered_plans: loader(source),
            installments: loader(source),
            payments: loader(source),
            refunds: loader(source),
            webhook_attempts: loader(source),
        }
    }

    /// Loaders for a WebSocket connection, which lives for hours: they batch like a
    /// request's but never cache, so every subscription event reads current rows.
    pub fn uncached(deps: &Deps) -> Self {
        let loaders = Self::new(deps);
        loaders.merchants.enable_all_cache(false);
        loaders.checkouts.enable_all_cache(false);
        loaders.consumers.enable_all_cache(false);
        loaders.checkout_items.enable_all_cache(false);
        loaders.offered_plans.enable_all_cache(false);
        loaders.installments.enable_all_cache(false);
        loaders.payments.enable_all_cache(false);
        loaders.refunds.enable_all_cache(false);
        loaders.webhook_attempts.enable_all_cache(false);
        loaders
    }
}

/// Loads one value, turning a batch failure into a GraphQL error.
pub async fn load_one<T: Batch>(
    loader: &RequestLoader<T>,
    id: Uuid,
) -> async_graphql::Result<Option<T>> {
    loader.load_one(id).await.map_err(load_failed)
}

/// The GraphQL error for a failed batch (shared by every key of the batch).
pub fn load_failed(err: Arc<ServiceError>) -> async_graphql::Error {
    match Arc::try_unwrap(err) {
        Ok(err) => err.into(),
        Err(shared) => {
            tracing::error!(error = %shared.describe(), "batch load failed");
            super::errors::ErrorCode::Internal.error("internal error")
        }
    }
}
