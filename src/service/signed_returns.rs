//! Signed returns to the merchant: the confirm and cancel URLs the shopper is sent back to,
//! carrying the checkout's outcome signed with the merchant's return signing secret (see
//! [`crate::auth::signed_return`]). The secret is stored encrypted, made with the
//! merchant, or on first use for merchants made before it existed, and rotated by the
//! merchant.

use entity::{checkout, merchant, order};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use super::{Deps, OrInternal, ServiceError, ServiceResult, audit::Actor, merchant_secrets};
use crate::{
    auth::{
        secret::random_secret,
        signed_return::{ReturnOutcome, signed_url},
    },
    domain::checkout::CheckoutStatus,
    encryption::column_context,
    ids::{NodeKind, encode},
    service::unit_of_work::UnitOfWork,
};

/// How every return signing secret begins.
pub const SECRET_PREFIX: &str = "rtsec_";

fn context(merchant_id: Uuid) -> String {
    column_context("merchants", "return_signing_secret", merchant_id)
}

/// A new secret for the merchant, and its sealed (stored) form.
pub fn new_secret(deps: &Deps, merchant_id: Uuid) -> (String, String) {
    let secret = random_secret(SECRET_PREFIX);
    let sealed = deps.vault.encrypt(&secret, &context(merchant_id));
    (secret, sealed)
}

async fn stored(deps: &Deps, merchant_id: Uuid) -> ServiceResult<Option<String>> {
    let sealed: Option<Option<String>> = merchant::Entity::find_by_id(merchant_id)
        .select_only()
        .column(merchant::Column::ReturnSigningSecret)
        .into_tuple()
        .one(&deps.db)
        .await?;
    let sealed = sealed.ok_or(ServiceError::NotFound)?;
    sealed
        .map(|sealed| deps.vault.decrypt(&sealed, &context(merchant_id)))
        .transpose()
        .or_internal(|| format!("return signing secret of {merchant_id}"))
}

/// The merchant's return signing secret, read from the database (so a rotation on another
/// instance applies at once). A merchant made before secrets existed gets one now; when
/// two requests make one at once, the first stored wins and both use it.
pub async fn secret(deps: &Deps, merchant_id: Uuid) -> ServiceResult<String> {
    if let Some(secret) = stored(deps, merchant_id).await? {
        return Ok(secret);
    }
    let (_, sealed) = new_secret(deps, merchant_id);
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let made = merchant::Entity::update_many()
        .col_expr(merchant::Column::ReturnSigningSecret, Expr::value(sealed))
        .filter(merchant::Column::Id.eq(merchant_id))
        .filter(merchant::Column::ReturnSigningSecret.is_null())
        .exec(work.txn())
        .await?;
    if made.rows_affected == 1 {
        let target = Some(("merchant", merchant_id));
        let action = "merchant.return_signing_secret_created";
        work.audit(
            &Actor::system(),
            action,
            target,
            serde_json::Value::Null,
            now,
        );
    }
    work.commit().await?;
    deps.caches.merchant_changed(merchant_id).await;
    stored(deps, merchant_id)
        .await?
        .ok_or_else(|| ServiceError::internal(format!("merchant {merchant_id}: no return secret")))
}

/// Gives the merchant a new return signing secret (returned) in place of the old one, which
/// stops verifying at once. Audited.
pub async fn rotate_secret(deps: &Deps, actor: &Actor, merchant_id: Uuid) -> ServiceResult<String> {
    let (secret, sealed) = new_secret(deps, merchant_id);
    let column = merchant::Column::ReturnSigningSecret;
    let action = "merchant.return_signing_secret_rotated";
    merchant_secrets::store(deps, actor, merchant_id, column, Some(sealed), action).await?;
    Ok(secret)
}

async fn sign(
    deps: &Deps,
    merchant_id: Uuid,
    url: &str,
    outcome: &ReturnOutcome<'_>,
) -> ServiceResult<String> {
    let secret = secret(deps, merchant_id).await?;
    let now = deps.clock.now().timestamp();
    signed_url(url, &secret, outcome, now).or_internal(|| format!("stored redirect URL {url:?}"))
}

/// The merchant's confirm URL for a confirmed order, signed now: checkout, order and
/// `COMPLETED`.
pub async fn confirm_url(
    deps: &Deps,
    order: &order::Model,
    confirm_url: &str,
) -> ServiceResult<String> {
    let checkout_id = encode(NodeKind::Checkout, order.checkout_id);
    let order_id = encode(NodeKind::Order, order.id);
    let outcome = ReturnOutcome {
        checkout_id: &checkout_id,
        order_id: Some(&order_id),
        status: CheckoutStatus::Completed.as_str(),
    };
    sign(deps, order.merchant_id, confirm_url, &outcome).await
}

/// The merchant's cancel URL for a shopper leaving the checkout now, signed with the
/// checkout's status as of now.
pub async fn cancel_url(deps: &Deps, checkout: &checkout::Model) -> ServiceResult<String> {
    let status = checkout
        .status
        .effective(checkout.expires_at.0, deps.clock.now());
    let checkout_id = encode(NodeKind::Checkout, checkout.id);
    let outcome = ReturnOutcome {
        checkout_id: &checkout_id,
        order_id: None,
        status: status.as_str(),
    };
    sign(deps, checkout.merchant_id, &checkout.cancel_url, &outcome).await
}
