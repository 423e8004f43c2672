//! Merchant onboarding and API key authentication.

use std::collections::HashMap;

use entity::{api_key, merchant, merchant_plan_setting, plan};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, prelude::ChronoUnixTimestampMillis, sea_query::Query,
};
use uuid::Uuid;

use super::{ServiceError, ServiceResult, Services, parse_stored};
use crate::{
    auth::{MerchantPrincipal, Scopes, api_key::NewApiKey, secret::hash_secret},
    db::begin_write,
};

/// Status of a merchant that may use the API.
pub const ACTIVE: &str = "ACTIVE";

/// The longest merchant name accepted.
pub const MAX_NAME_LEN: usize = 200;

/// A merchant just created, with its first API key (the only time the secret is known).
#[derive(Debug, Clone)]
pub struct OnboardedMerchant {
    /// The stored merchant.
    pub merchant: merchant::Model,
    /// Its first key.
    pub api_key: NewApiKey,
}

/// Creates a merchant with a first API key and every active plan enabled, in one transaction.
/// `id` and `key` are given only by the demo seed, which needs stable values.
pub async fn create(
    services: &Services,
    name: &str,
    id: Option<Uuid>,
    key: NewApiKey,
) -> ServiceResult<OnboardedMerchant> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control)
    {
        return Err(ServiceError::BadInput(format!(
            "a merchant name must be 1 to {MAX_NAME_LEN} printable characters"
        )));
    }
    let now = ChronoUnixTimestampMillis(services.clock.now());
    let txn = begin_write(&services.db).await?;
    let merchant = merchant::ActiveModel {
        id: Set(id.unwrap_or_else(Uuid::now_v7)),
        name: Set(name.to_owned()),
        website_url: Set(None),
        logo_url: Set(None),
        support_email: Set(None),
        status: Set(ACTIVE.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant.id),
        name: Set("Default key".to_owned()),
        prefix: Set(key.prefix.clone()),
        secret_hash: Set(key.hash.clone()),
        // The first key can do everything, so onboarding can continue from it.
        scopes: Set(Scopes::all().to_string()),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    enable_all_plans(&txn, merchant.id, now).await?;
    txn.commit().await?;
    Ok(OnboardedMerchant {
        merchant,
        api_key: key,
    })
}

async fn enable_all_plans(
    txn: &impl ConnectionTrait,
    merchant_id: Uuid,
    now: ChronoUnixTimestampMillis,
) -> ServiceResult<()> {
    let plans = plan::Entity::find()
        .filter(plan::Column::Active.eq(true))
        .all(txn)
        .await?;
    let settings = plans
        .into_iter()
        .map(|plan| merchant_plan_setting::ActiveModel {
            id: Set(Uuid::now_v7()),
            merchant_id: Set(merchant_id),
            plan_id: Set(plan.id),
            enabled: Set(true),
            min_amount_minor: Set(None),
            max_amount_minor: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        });
    merchant_plan_setting::Entity::insert_many(settings)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// Resolves an API key secret to its merchant, in one statement; `None` for an unknown or
/// revoked key, or a key of a merchant that is not active.
pub async fn authenticate(
    db: &DatabaseConnection,
    secret: &str,
) -> ServiceResult<Option<MerchantPrincipal>> {
    let active_merchants = Query::select()
        .column(merchant::Column::Id)
        .from(merchant::Entity)
        .and_where(merchant::Column::Status.eq(ACTIVE))
        .to_owned();
    let key = api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(hash_secret(secret)))
        .filter(api_key::Column::MerchantId.in_subquery(active_merchants))
        .one(db)
        .await?;
    let Some(key) = key.filter(|key| key.revoked_at.is_none()) else {
        return Ok(None);
    };
    Ok(Some(MerchantPrincipal {
        merchant_id: key.merchant_id,
        api_key_id: key.id,
        scopes: parse_stored(&key.scopes, "API key scopes")?,
    }))
}

/// Merchants by id, for DataLoaders.
pub async fn by_ids(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, merchant::Model>> {
    let merchants = merchant::Entity::find()
        .filter(merchant::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(merchants.into_iter().map(|m| (m.id, m)).collect())
}

/// One merchant, or `NotFound`.
pub async fn get(db: &DatabaseConnection, id: Uuid) -> ServiceResult<merchant::Model> {
    merchant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}
