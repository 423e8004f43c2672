//! `payInstallment`: the shopper pays one unpaid instalment now, overdue ones included,
//! with the order's card or another of theirs. A payment attempt in atomic phases (see
//! [`crate::service::attempts`]): phase 1 locks the order and the instalment and records the
//! attempt, holding the order (so the collection job does not charge the same instalment);
//! phase 2 charges; phase 3 books the payment. A declined card changes nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{installment, order, payment_attempt};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{
    super::{
        Deps, ServiceError, ServiceResult,
        attempts::{self, Answer, Intent, NewAttempt, Settlement, Verdict},
        audit::Actor,
        idempotency::{self, Request},
        payment_methods,
    },
    charges::{self, decline},
};
use crate::service::OrInternal;
use crate::{
    domain::{
        Currency, Money,
        attempt::{AttemptKind, Reservation},
        order::OrderStatus,
        violation::ViolationCode,
    },
    service::unit_of_work::UnitOfWork,
};

/// An early payment a consumer asks for.
#[derive(Debug, Clone)]
pub struct EarlyPayment {
    /// The order.
    pub order_id: Uuid,
    /// Which instalment, from 1.
    pub sequence: i32,
    /// The card to charge; the order's card when absent.
    pub payment_method_id: Option<Uuid>,
    /// The client's idempotency key.
    pub idempotency_key: String,
}

/// The instalment paid early.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaidEarly {
    /// The order.
    pub order_id: Uuid,
}

/// Who asked, stored with the attempt for the audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Asked {
    actor: Actor,
}

/// Pays one unpaid instalment of the consumer's order now.
pub async fn pay_early(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    input: &EarlyPayment,
) -> ServiceResult<PaidEarly> {
    let card_id = input
        .payment_method_id
        .map(|id| id.to_string())
        .unwrap_or_default();
    let request = Request {
        principal: format!("consumer:{consumer_id}"),
        operation: "payInstallment",
        key: &input.idempotency_key,
        input_hash: idempotency::digest(&[
            &input.order_id.to_string(),
            &input.sequence.to_string(),
            &card_id,
        ]),
    };
    attempts::run(deps, &request, &PayingEarly, |key_id| {
        intend(deps, actor, consumer_id, input, key_id)
    })
    .await
}

/// Phase 1.
async fn intend(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    input: &EarlyPayment,
    key_id: Uuid,
) -> ServiceResult<Intent<PaidEarly>> {
    let now = deps.clock.now();
    let work = UnitOfWork::begin(deps).await?;
    let order = order::Entity::find_by_id(input.order_id)
        .filter(order::Column::ConsumerId.eq(consumer_id))
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let status: OrderStatus = order.status;
    let row = installment::Entity::find()
        .filter(installment::Column::OrderId.eq(order.id))
        .filter(installment::Column::Sequence.eq(input.sequence))
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or_else(|| {
            ServiceError::refused(
                "sequence",
                ViolationCode::OutOfRange,
                "the order has no such instalment",
            )
        })?;
    let unpaid = row.status.is_unpaid();
    if !status.is_open() || !unpaid {
        return Err(ServiceError::refused(
            "sequence",
            ViolationCode::InstallmentNotPayable,
            "this instalment is not waiting to be paid",
        ));
    }
    let method = match input.payment_method_id {
        Some(id) => payment_methods::get(work.txn(), consumer_id, id)
            .await
            .map_err(|err| match err {
                ServiceError::NotFound => ServiceError::refused(
                    "paymentMethodId",
                    ViolationCode::Invalid,
                    "is not one of your cards",
                ),
                other => other,
            })?,
        None => charges::card(work.txn(), order.payment_method_id).await?,
    };
    let currency: Currency = order.currency;
    let asked = serde_json::to_value(Asked {
        actor: actor.clone(),
    })
    .or_internal(|| "early payment")?;
    let new = NewAttempt {
        idempotency_key_id: Some(key_id),
        consumer_id: Some(consumer_id),
        order_id: Some(order.id),
        installment_id: Some(row.id),
        charge: Some((method.id, payment_methods::token(deps, &method)?)),
        ..NewAttempt::new(
            AttemptKind::EarlyPayment,
            Reservation::Order(order.id),
            Money::new(row.amount_minor, currency),
            asked,
        )
    };
    let recorded = attempts::record(deps, work.txn(), new, now)
        .await?
        .ok_or_else(|| attempts::in_progress("orderId"))?;
    work.commit().await?;
    Ok(Intent::Recorded(Box::new(recorded)))
}

/// Phase 3 of an early payment.
pub(crate) struct PayingEarly;

#[async_trait]
impl Settlement for PayingEarly {
    async fn settle(
        &self,
        _deps: &Deps,
        work: &mut UnitOfWork<'_>,
        attempt: &payment_attempt::Model,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> ServiceResult<Verdict> {
        let (Some(installment_id), Some(method_id)) =
            (attempt.installment_id, attempt.payment_method_id)
        else {
            return Err(ServiceError::internal(format!(
                "early payment {} names no instalment or card",
                attempt.id
            )));
        };
        let reference = match (answer.receipts.first(), answer.refusal) {
            (Some(reference), None) => reference,
            (_, refusal) => {
                let error = refusal.unwrap_or(crate::payments::GatewayError::ProcessingError);
                let violations = vec![decline(error)];
                return Ok(if error.is_transient() {
                    Verdict::Retry(violations)
                } else {
                    Verdict::Refused(violations)
                });
            }
        };
        let asked: Asked = attempts::details(attempt)?;
        let row = charges::lock_installment(work.txn(), installment_id).await?;
        let order = charges::lock_order(work.txn(), row.order_id).await?;
        charges::record_paid(work, &order, &row, reference, (method_id, true), now).await?;
        work.audit(
            &asked.actor,
            "installment.paid_early",
            Some(("installment", row.id)),
            json!({ "orderId": order.id, "amountMinor": row.amount_minor }),
            now,
        );
        charges::update_order_status(work, &order, now).await?;
        serde_json::to_value(PaidEarly { order_id: order.id })
            .map(Verdict::Done)
            .or_internal(|| "early payment")
    }
}
