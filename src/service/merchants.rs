//! Merchant onboarding and API key authentication.

use std::collections::HashMap;

use entity::{api_key, merchant, merchant_plan_setting, plan};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use uuid::Uuid;

use super::{
    Caches, Deps, OrInternal, ServiceError, ServiceResult, audit::Actor, merchant_secrets,
    signed_returns,
};
use crate::domain::account::MerchantStatus;
use crate::{
    auth::{MerchantPrincipal, api_key::NewApiKey, secret::hash_secret},
    domain::checkout::MaxTotal,
    domain::scope::Scopes,
    encryption::column_context,
    service::unit_of_work::UnitOfWork,
};

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

/// Creates a merchant with a first API key, a return signing secret and every active plan
/// enabled, in one transaction.
/// `id` and `key` are given only by the demo seed, which needs stable values.
pub async fn create(
    deps: &Deps,
    name: &str,
    id: Option<Uuid>,
    key: NewApiKey,
) -> ServiceResult<OnboardedMerchant> {
    create_with_maximum(deps, name, id, key, None).await
}

/// [`create`], with the merchant's own maximum checkout total (see
/// [`set_max_checkout_total`]) when `max_checkout_total` is given.
pub async fn create_with_maximum(
    deps: &Deps,
    name: &str,
    id: Option<Uuid>,
    key: NewApiKey,
    max_checkout_total: Option<MaxTotal>,
) -> ServiceResult<OnboardedMerchant> {
    check_maximum(deps, max_checkout_total)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control)
    {
        return Err(ServiceError::BadInput(format!(
            "a merchant name must be 1 to {MAX_NAME_LEN} printable characters"
        )));
    }
    let now = ChronoUnixTimestampMillis(deps.clock.now());
    let id = id.unwrap_or_else(Uuid::now_v7);
    let (_, return_signing_secret) = signed_returns::new_secret(deps, id);
    let work = UnitOfWork::begin(deps).await?;
    let merchant = merchant::ActiveModel {
        id: Set(id),
        name: Set(name.to_owned()),
        website_url: Set(None),
        logo_url: Set(None),
        support_email: Set(None),
        status: Set(MerchantStatus::Active),
        request_signing_secret: Set(None),
        max_checkout_total_minor: Set(max_checkout_total.map(MaxTotal::hundredths)),
        return_signing_secret: Set(Some(return_signing_secret)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(work.txn())
    .await?;
    api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        merchant_id: Set(merchant.id),
        name: Set("Default key".to_owned()),
        prefix: Set(key.prefix.clone()),
        secret_hash: Set(key.hash.clone()),
        // The first key can do everything, so onboarding can continue from it.
        scopes: Set(Scopes::all()),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(work.txn())
    .await?;
    enable_all_plans(work.txn(), merchant.id, now).await?;
    work.commit().await?;
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

/// A merchant authenticated by an API key, with what the request must also satisfy.
#[derive(Debug, Clone)]
pub struct AuthenticatedKey {
    /// The merchant and the key's scopes.
    pub principal: MerchantPrincipal,
    /// The merchant's request-signing secret, decrypted, when it requires signed requests.
    pub signing_secret: Option<String>,
}

/// Resolves an API key secret to its merchant in one statement (the key joined with its
/// merchant); `None` for an unknown or revoked key, or a merchant that is not active.
pub async fn authenticate(deps: &Deps, secret: &str) -> ServiceResult<Option<AuthenticatedKey>> {
    let hash = hash_secret(secret);
    if let Some(known) = deps.caches.api_keys.get(&hash).await {
        return Ok(known);
    }
    let found = api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(hash.as_str()))
        .find_also_related(merchant::Entity)
        .one(&deps.db)
        .await?;
    let key = match found {
        Some((key, Some(merchant)))
            if key.revoked_at.is_none() && merchant.status == MerchantStatus::Active =>
        {
            Some(AuthenticatedKey {
                principal: MerchantPrincipal {
                    merchant_id: key.merchant_id,
                    api_key_id: key.id,
                    scopes: key.scopes,
                },
                signing_secret: open_signing_secret(deps, &merchant)?,
            })
        }
        _ => None,
    };
    deps.caches.api_keys.insert(hash, key.clone()).await;
    Ok(key)
}

fn signing_context(merchant_id: Uuid) -> String {
    column_context("merchants", "request_signing_secret", merchant_id)
}

fn open_signing_secret(deps: &Deps, merchant: &merchant::Model) -> ServiceResult<Option<String>> {
    merchant
        .request_signing_secret
        .as_ref()
        .map(|sealed| deps.vault.decrypt(sealed, &signing_context(merchant.id)))
        .transpose()
        .or_internal(|| "signing secret")
}

/// The request-signing secret of a merchant, for callers authenticated by access token.
pub async fn signing_secret(deps: &Deps, merchant_id: Uuid) -> ServiceResult<Option<String>> {
    if let Some(known) = deps.caches.signing_secrets.get(&merchant_id).await {
        return Ok(known);
    }
    let merchant = get(&deps.db, merchant_id).await?;
    let secret = open_signing_secret(deps, &merchant)?;
    deps.caches
        .signing_secrets
        .insert(merchant_id, secret.clone())
        .await;
    Ok(secret)
}

/// Requires signed requests from now on, with a new secret (returned once; a previous one
/// stops working).
pub async fn enable_request_signing(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
) -> ServiceResult<String> {
    let secret = crate::auth::secret::random_secret("rss_");
    let sealed = deps.vault.encrypt(&secret, &signing_context(merchant_id));
    let action = "merchant.request_signing_enabled";
    let column = merchant::Column::RequestSigningSecret;
    merchant_secrets::store(deps, actor, merchant_id, column, Some(sealed), action).await?;
    Ok(secret)
}

/// Stops requiring signed requests.
pub async fn disable_request_signing(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
) -> ServiceResult<()> {
    let action = "merchant.request_signing_disabled";
    let column = merchant::Column::RequestSigningSecret;
    merchant_secrets::store(deps, actor, merchant_id, column, None, action).await
}

/// A merchant's own maximum must be a positive whole number of major units, and can only
/// lower the platform's.
fn check_maximum(deps: &Deps, maximum: Option<MaxTotal>) -> ServiceResult<()> {
    let platform = deps.max_checkout_total;
    match maximum {
        Some(maximum) if maximum.hundredths() < 100 || maximum > platform => {
            Err(ServiceError::BadInput(format!(
                "a merchant's maximum checkout total must be between 1 and the platform maximum of {platform} (major units of each checkout's currency)"
            )))
        }
        _ => Ok(()),
    }
}

/// Sets (or, with `None`, clears) the merchant's own maximum checkout total: a checkout
/// whose total is above it is refused with `AMOUNT_TOO_LARGE`. It can only lower the
/// platform's maximum, so a value above that is refused. Audited; this instance's caches
/// forget the merchant at once, other instances within [`super::cache::TIME_TO_LIVE`].
pub async fn set_max_checkout_total(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    maximum: Option<MaxTotal>,
) -> ServiceResult<merchant::Model> {
    check_maximum(deps, maximum)?;
    let now = deps.clock.now();
    let stored = maximum.map(MaxTotal::hundredths);
    let mut work = UnitOfWork::begin(deps).await?;
    let changed = merchant::Entity::update_many()
        .col_expr(merchant::Column::MaxCheckoutTotalMinor, Expr::value(stored))
        .col_expr(
            merchant::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(merchant::Column::Id.eq(merchant_id))
        .exec(work.txn())
        .await?;
    if changed.rows_affected == 0 {
        return Err(ServiceError::NotFound);
    }
    let details = serde_json::json!({ "maxCheckoutTotalMinor": stored });
    let target = Some(("merchant", merchant_id));
    let action = "merchant.max_checkout_total_set";
    work.audit(actor, action, target, details, now);
    let merchant = merchant::Entity::find_by_id(merchant_id)
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    work.commit().await?;
    deps.caches.merchant_changed(merchant_id).await;
    Ok(merchant)
}

/// The largest total a checkout of this merchant may have: the platform's maximum,
/// lowered by the merchant's own.
pub fn max_checkout_total(deps: &Deps, merchant: &merchant::Model) -> MaxTotal {
    deps.max_checkout_total.lowered_by(
        merchant
            .max_checkout_total_minor
            .map(MaxTotal::from_hundredths),
    )
}

/// Merchants by id, for DataLoaders: the cached ones, and the rest in one statement.
pub async fn by_ids(
    db: &DatabaseConnection,
    caches: &Caches,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, merchant::Model>> {
    caches
        .merchants
        .get_or_load(ids, |missing| async move {
            let merchants = merchant::Entity::find()
                .filter(merchant::Column::Id.is_in(missing))
                .all(db)
                .await?;
            Ok(merchants.into_iter().map(|m| (m.id, m)).collect())
        })
        .await
}

/// One merchant, or `NotFound`.
pub async fn get(db: &DatabaseConnection, id: Uuid) -> ServiceResult<merchant::Model> {
    merchant::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}
