//! A consumer's cards: added from a gateway token (stored encrypted; one payment method
//! per card, told apart by a keyed hash of the gateway's fingerprint), listed, one chosen
//! as default, removed. A card cannot be removed while it is the last one and an order
//! still has instalments to collect.

use entity::{consumer, installment, order, payment_method};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{Deps, OrInternal, ServiceError, ServiceResult, audit::Actor, retry_transient};
use crate::{
    domain::{
        card,
        order::{InstallmentStatus, OrderStatus},
        violation::ViolationCode,
    },
    encryption::column_context,
    payments::{CardDetails, GatewayError},
    service::unit_of_work::UnitOfWork,
};

fn token_context(id: Uuid) -> String {
    column_context("payment_methods", "gateway_token", id)
}

/// The gateway token of a stored card, decrypted, to charge it.
pub fn token(deps: &Deps, method: &payment_method::Model) -> ServiceResult<String> {
    deps.vault
        .decrypt(&method.gateway_token, &token_context(method.id))
        .or_internal(|| format!("payment method {}", method.id))
}

/// A consumer's cards, not removed, the default first, then newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    consumer_id: Uuid,
) -> ServiceResult<Vec<payment_method::Model>> {
    Ok(payment_method::Entity::find()
        .filter(payment_method::Column::ConsumerId.eq(consumer_id))
        .filter(payment_method::Column::DeletedAt.is_null())
        .order_by_desc(payment_method::Column::IsDefault)
        .order_by_desc(payment_method::Column::Id)
        .all(db)
        .await?)
}

/// One of the consumer's cards; another consumer's, or a removed one, is not found.
pub async fn get(
    db: &impl ConnectionTrait,
    consumer_id: Uuid,
    id: Uuid,
) -> ServiceResult<payment_method::Model> {
    payment_method::Entity::find_by_id(id)
        .filter(payment_method::Column::ConsumerId.eq(consumer_id))
        .filter(payment_method::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The keyed hash that finds a consumer's card by the gateway's fingerprint of it, without
/// storing the fingerprint: the lookup hash of the vault, kept apart from other lookups by
/// its prefix.
pub fn fingerprint_hash(deps: &Deps, fingerprint: &str) -> String {
    deps.vault
        .lookup_hash(&format!("payment_methods.fingerprint:{fingerprint}"))
}

/// The consumer's card (not removed) with this fingerprint hash, if they have it.
async fn with_fingerprint(
    conn: &impl ConnectionTrait,
    consumer_id: Uuid,
    fingerprint_hash: &str,
    lock: bool,
) -> ServiceResult<Option<payment_method::Model>> {
    let mut query = payment_method::Entity::find()
        .filter(payment_method::Column::ConsumerId.eq(consumer_id))
        .filter(payment_method::Column::FingerprintHash.eq(fingerprint_hash))
        .filter(payment_method::Column::DeletedAt.is_null());
    if lock {
        // A locking read sees the latest committed rows, also on MySQL's repeatable reads.
        query = query.lock_exclusive();
    }
    Ok(query.one(conn).await?)
}

/// A card as the gateway described it, with the token to store for it.
struct Card {
    details: CardDetails,
    fingerprint_hash: String,
    /// The token to charge, as saved at the gateway (or as stored already for the
    /// consumer's card, which needed no saving again).
    saved_token: String,
}

/// Adds a card from a gateway token. The first card becomes the default. A card the
/// consumer already has (the gateway's fingerprint says so, whatever the token) is not
/// stored twice: its payment method is returned, with the new expiry and token when they
/// differ. Every gateway call happens before the transaction; the transaction locks the
/// consumer, so parallel adds of one card make one payment method.
pub async fn add(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    gateway_token: &str,
) -> ServiceResult<payment_method::Model> {
    let gateway_token = gateway_token.trim();
    let details = deps
        .gateway
        .card(gateway_token)
        .await
        .map_err(|err| match err {
            GatewayError::UnknownToken => ServiceError::refused(
                "token",
                ViolationCode::InvalidPaymentToken,
                "is not a card token of the payment gateway",
            ),
            other => ServiceError::Internal(anyhow::Error::new(other).context("gateway")),
        })?;
    let now = deps.clock.now();
    if card::check_expiry(details.exp_month, details.exp_year, now.date_naive()).is_err() {
        return Err(ServiceError::refused(
            "token",
            ViolationCode::CardExpired,
            "the card has expired",
        ));
    }
    let fingerprint_hash = fingerprint_hash(deps, &details.fingerprint);
    // A card the consumer has under this very token needs no saving; any other is saved
    // (again) at the gateway, outside any transaction.
    let known = with_fingerprint(&deps.db, consumer_id, &fingerprint_hash, false).await?;
    let stored_token = known
        .as_ref()
        .map(|method| token(deps, method))
        .transpose()?;
    let id = Uuid::now_v7();
    let saved_token = match stored_token {
        Some(stored) if stored == gateway_token => stored,
        _ => deps
            .gateway
            .save_card(gateway_token, &format!("payment-method:{id}"))
            .await
            .or_internal(|| "gateway")?,
    };
    let card = Card {
        details,
        fingerprint_hash,
        saved_token,
    };
    retry_transient(|| store(deps, actor, consumer_id, id, &card)).await
}

/// Stores a new card, or refreshes the consumer's card with the same fingerprint, in one
/// transaction under the consumer's row lock.
async fn store(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    id: Uuid,
    card: &Card,
) -> ServiceResult<payment_method::Model> {
    let now = deps.clock.now();
    let details = &card.details;
    let mut work = UnitOfWork::begin(deps).await?;
    consumer::Entity::find_by_id(consumer_id)
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Some(existing) =
        with_fingerprint(work.txn(), consumer_id, &card.fingerprint_hash, true).await?
    {
        let saved = &card.saved_token;
        let new_token = (*saved != token(deps, &existing)?).then_some(saved);
        let new_expiry =
            (details.exp_month, details.exp_year) != (existing.exp_month, existing.exp_year);
        if new_token.is_none() && !new_expiry {
            work.commit().await?;
            return Ok(existing);
        }
        let refreshed = payment_method::Model {
            gateway_token: new_token.map_or_else(
                || existing.gateway_token.clone(),
                |saved| deps.vault.encrypt(saved, &token_context(existing.id)),
            ),
            exp_month: details.exp_month,
            exp_year: details.exp_year,
            ..existing.clone()
        };
        payment_method::Entity::update_many()
            .col_expr(
                payment_method::Column::GatewayToken,
                Expr::value(refreshed.gateway_token.clone()),
            )
            .col_expr(
                payment_method::Column::ExpMonth,
                Expr::value(refreshed.exp_month),
            )
            .col_expr(
                payment_method::Column::ExpYear,
                Expr::value(refreshed.exp_year),
            )
            .filter(payment_method::Column::Id.eq(existing.id))
            .exec(work.txn())
            .await?;
        work.audit(
            actor,
            "payment_method.refreshed",
            Some(("payment_method", existing.id)),
            json!({ "brand": refreshed.brand, "token": new_token.is_some(), "expiry": new_expiry }),
            now,
        );
        work.commit().await?;
        return Ok(refreshed);
    }
    let saved = &card.saved_token;
    let existing = payment_method::Entity::find()
        .filter(payment_method::Column::ConsumerId.eq(consumer_id))
        .filter(payment_method::Column::DeletedAt.is_null())
        .count(work.txn())
        .await?;
    let row = payment_method::Model {
        id,
        consumer_id,
        gateway_token: deps.vault.encrypt(saved, &token_context(id)),
        brand: details.brand.as_str().to_owned(),
        last4: details.last4.clone(),
        exp_month: details.exp_month,
        exp_year: details.exp_year,
        is_default: existing == 0,
        created_at: ChronoUnixTimestampMillis(now),
        deleted_at: None,
        fingerprint_hash: Some(card.fingerprint_hash.clone()),
    };
    payment_method::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(work.txn())
        .await?;
    work.audit(
        actor,
        "payment_method.added",
        Some(("payment_method", id)),
        json!({ "brand": row.brand }),
        now,
    );
    work.commit().await?;
    Ok(row)
}

/// Makes a card the consumer's default.
pub async fn set_default(
    deps: &Deps,
    consumer_id: Uuid,
    id: Uuid,
) -> ServiceResult<payment_method::Model> {
    let work = UnitOfWork::begin(deps).await?;
    let chosen = get(work.txn(), consumer_id, id).await?;
    mark_default(work.txn(), consumer_id, id).await?;
    work.commit().await?;
    Ok(payment_method::Model {
        is_default: true,
        ..chosen
    })
}

async fn mark_default(
    txn: &impl ConnectionTrait,
    consumer_id: Uuid,
    id: Uuid,
) -> ServiceResult<()> {
    payment_method::Entity::update_many()
        .col_expr(
            payment_method::Column::IsDefault,
            payment_method::Column::Id.eq(id),
        )
        .filter(payment_method::Column::ConsumerId.eq(consumer_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Removes a card. Refused while it is the consumer's last card and an open order still
/// has instalments to collect; otherwise open orders move to the (new) default card.
pub async fn remove(deps: &Deps, actor: &Actor, consumer_id: Uuid, id: Uuid) -> ServiceResult<()> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let removed = payment_method::Entity::find_by_id(id)
        .filter(payment_method::Column::ConsumerId.eq(consumer_id))
        .filter(payment_method::Column::DeletedAt.is_null())
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let others: Vec<payment_method::Model> = list(work.txn(), consumer_id)
        .await?
        .into_iter()
        .filter(|m| m.id != id)
        .collect();
    let open = [
        OrderStatus::Authorized,
        OrderStatus::Captured,
        OrderStatus::Overdue,
    ]
    .map(OrderStatus::as_str);
    let unpaid = InstallmentStatus::ALL
        .into_iter()
        .filter(|s| s.is_unpaid())
        .map(InstallmentStatus::as_str);
    let owing: Vec<Uuid> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::ConsumerId.eq(consumer_id))
        .filter(order::Column::Status.is_in(open))
        .filter(
            order::Column::Id.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(installment::Column::OrderId)
                    .from(installment::Entity)
                    .and_where(installment::Column::Status.is_in(unpaid))
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(work.txn())
        .await?;
    let successor = others
        .iter()
        .find(|m| m.is_default)
        .or_else(|| others.first());
    let successor = match (successor, owing.is_empty()) {
        (None, false) => {
            return Err(ServiceError::refused(
                "id",
                ViolationCode::PaymentMethodInUse,
                "add another card first: an order still has instalments to pay",
            ));
        }
        (successor, _) => successor.map(|m| m.id),
    };
    payment_method::Entity::update_many()
        .col_expr(
            payment_method::Column::DeletedAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(payment_method::Column::IsDefault, Expr::value(false))
        // The card may be added again later, as a new payment method.
        .col_expr(
            payment_method::Column::FingerprintHash,
            Expr::value(Option::<String>::None),
        )
        .filter(payment_method::Column::Id.eq(removed.id))
        .exec(work.txn())
        .await?;
    if let Some(successor) = successor {
        if removed.is_default {
            mark_default(work.txn(), consumer_id, successor).await?;
        }
        order::Entity::update_many()
            .col_expr(order::Column::PaymentMethodId, Expr::value(successor))
            .col_expr(
                order::Column::UpdatedAt,
                Expr::value(now.timestamp_millis()),
            )
            .filter(order::Column::PaymentMethodId.eq(removed.id))
            .filter(order::Column::Id.is_in(owing))
            .exec(work.txn())
            .await?;
    }
    work.audit(
        actor,
        "payment_method.removed",
        Some(("payment_method", id)),
        serde_json::Value::Null,
        now,
    );
    work.commit().await?;
    Ok(())
}
