//! `confirmCheckout`: a consumer turns an open checkout into an order, as a payment
//! attempt in atomic phases (see [`crate::service::attempts`]).
//!
//! Phase 1, one short transaction: the checkout row is locked (so concurrent confirmations
//! make one order), then the consumer row (so their concurrent orders see each other's
//! balance, confirmations at the gateway included); the plan, card and risk are checked;
//! the checkout becomes `CONFIRMING` and the attempt is recorded, holding the order's total
//! of the consumer's credit. Phase 2 charges what is due today. Phase 3 writes the order,
//! its instalments, the payment, the completed checkout, an audit entry and the outbox
//! events; a declined card reopens the checkout instead. A plan with nothing due today
//! moves no money: its order is written in phase 1's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{checkout, consumer, installment, order, payment, payment_attempt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::super::{
    Caches, Deps, ServiceError, ServiceResult,
    attempts::{self, Answer, Intent, NewAttempt, Settlement, Verdict},
    audit::Actor,
    idempotency::{self, Request},
    outbox::{self, Event},
    payment_methods, plans,
};
use super::charges::{decline, payment_row};
use crate::domain::account::ConsumerStatus;
use crate::service::OrInternal;
use crate::{
    auth::secret::hash_secret,
    domain::event::EventType,
    domain::{
        Currency, Money, PlanCode, ScheduledInstallment,
        attempt::{AttemptKind, Reservation},
        build_schedule,
        checkout::CheckoutStatus,
        due_by,
        order::{InstallmentStatus, OrderStatus},
        risk::RiskRefusal,
        violation::{Violation, ViolationCode},
    },
    service::unit_of_work::UnitOfWork,
};

/// What the consumer sends.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The checkout token from the checkout URL.
    pub checkout_token: String,
    /// The chosen plan.
    pub plan: PlanCode,
    /// The card to charge.
    pub payment_method_id: Uuid,
    /// The client's idempotency key.
    pub idempotency_key: String,
}

/// A confirmed order, and where the checkout app sends the shopper.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Confirmed {
    /// The new order's id.
    pub order_id: Uuid,
    /// The merchant's confirm URL.
    pub redirect_url: String,
}

/// What phase 3 needs of phase 1's decisions, stored with the attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Decided {
    /// The order's id, chosen in phase 1 so every settlement makes the same order.
    order_id: Uuid,
    /// The plan chosen and its row.
    plan: String,
    plan_id: Uuid,
    /// The card charged.
    payment_method_id: Uuid,
    /// When the shopper confirmed: the schedule and the capture window start then.
    confirmed_at: DateTime<Utc>,
    /// Who confirmed, for the audit log.
    actor: Actor,
}

impl Decided {
    fn schedule(&self, total: Money) -> ServiceResult<Vec<ScheduledInstallment>> {
        let plan: PlanCode = self.plan.parse().or_internal(|| "stored plan")?;
        build_schedule(total, plan, self.confirmed_at.date_naive()).or_internal(|| "schedule")
    }
}

/// Confirms a checkout for `consumer_id`, at most once per idempotency key.
pub async fn confirm(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    input: &Confirmation,
) -> ServiceResult<Confirmed> {
    let request = Request {
        principal: format!("consumer:{consumer_id}"),
        operation: "confirmCheckout",
        key: &input.idempotency_key,
        input_hash: idempotency::digest(&[
            &hash_secret(&input.checkout_token),
            input.plan.as_str(),
            &input.payment_method_id.to_string(),
        ]),
    };
    attempts::run(deps, &request, &Confirming, |key_id| {
        intend(deps, actor, consumer_id, input, key_id)
    })
    .await
}

fn refused(field: &str, code: ViolationCode, message: &str) -> ServiceError {
    ServiceError::refused(field, code, message)
}

/// Phase 1.
async fn intend(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    input: &Confirmation,
    key_id: Uuid,
) -> ServiceResult<Intent<Confirmed>> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let checkout = checkout::Entity::find()
        .filter(checkout::Column::TokenHash.eq(hash_secret(&input.checkout_token)))
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    match checkout.status.effective(checkout.expires_at.0, now) {
        CheckoutStatus::Open => {}
        CheckoutStatus::Confirming => return Err(attempts::in_progress("token")),
        CheckoutStatus::Expired => {
            return Err(refused(
                "token",
                ViolationCode::CheckoutExpired,
                "the checkout has expired",
            ));
        }
        CheckoutStatus::Completed | CheckoutStatus::Cancelled => {
            return Err(refused(
                "token",
                ViolationCode::CheckoutNotOpen,
                "the checkout is no longer open",
            ));
        }
    }
    let currency: Currency = checkout.currency;
    let total = Money::new(checkout.total_minor, currency);
    let plan_id = offered_plan(work.txn(), &deps.caches, &checkout, input.plan, total).await?;
    let card = payment_methods::get(work.txn(), consumer_id, input.payment_method_id)
        .await
        .map_err(|err| match err {
            ServiceError::NotFound => refused(
                "paymentMethodId",
                ViolationCode::Invalid,
                "is not one of your cards",
            ),
            other => other,
        })?;
    assess_risk(work.txn(), consumer_id, total).await?;

    let decided = Decided {
        order_id: Uuid::now_v7(),
        plan: input.plan.as_str().to_owned(),
        plan_id,
        payment_method_id: card.id,
        confirmed_at: now,
        actor: actor.clone(),
    };
    let due_now = due_by(&decided.schedule(total)?, now.date_naive());
    if due_now == 0 {
        let outcome =
            complete(&mut work, &checkout, consumer_id, &decided, None, deps, now).await?;
        idempotency::finish(work.txn(), key_id, &Ok::<_, Vec<Violation>>(&outcome)).await?;
        work.commit().await?;
        return Ok(Intent::Done(outcome));
    }
    let token = payment_methods::token(deps, &card)?;
    set_status(work.txn(), checkout.id, CheckoutStatus::Confirming, now).await?;
    let details = serde_json::to_value(&decided).or_internal(|| "confirmation")?;
    let new = NewAttempt {
        idempotency_key_id: Some(key_id),
        consumer_id: Some(consumer_id),
        checkout_id: Some(checkout.id),
        charge: Some((card.id, token)),
        credit_minor: total.minor(),
        ..NewAttempt::new(
            AttemptKind::Confirmation,
            Reservation::Checkout(checkout.id),
            Money::new(due_now, currency),
            details,
        )
    };
    let recorded = attempts::record(deps, work.txn(), new, now)
        .await?
        .ok_or_else(|| attempts::in_progress("token"))?;
    work.commit().await?;
    Ok(Intent::Recorded(Box::new(recorded)))
}

/// Phase 3 of a confirmation.
pub(crate) struct Confirming;

#[async_trait]
impl Settlement for Confirming {
    async fn settle(
        &self,
        deps: &Deps,
        work: &mut UnitOfWork<'_>,
        attempt: &payment_attempt::Model,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> ServiceResult<Verdict> {
        let decided: Decided = attempts::details(attempt)?;
        let (Some(checkout_id), Some(consumer_id)) = (attempt.checkout_id, attempt.consumer_id)
        else {
            return Err(ServiceError::internal(format!(
                "confirmation {} names no checkout or consumer",
                attempt.id
            )));
        };
        let checkout = checkout::Entity::find_by_id(checkout_id)
            .lock_exclusive()
            .one(work.txn())
            .await?
            .ok_or(ServiceError::NotFound)?;
        match answer.refusal {
            None => {
                let charge = answer.receipts.first().map(String::as_str);
                let outcome =
                    complete(work, &checkout, consumer_id, &decided, charge, deps, now).await?;
                serde_json::to_value(outcome)
                    .map(Verdict::Done)
                    .or_internal(|| "confirmation")
            }
            Some(error) => {
                // The card was declined: the checkout is the shopper's to try again.
                set_status(work.txn(), checkout.id, CheckoutStatus::Open, now).await?;
                let violations = vec![decline(error)];
                Ok(if error.is_transient() {
                    Verdict::Retry(violations)
                } else {
                    Verdict::Refused(violations)
                })
            }
        }
    }
}

async fn set_status(
    txn: &DatabaseTransaction,
    id: Uuid,
    status: CheckoutStatus,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    checkout::Entity::update_many()
        .col_expr(checkout::Column::Status, Expr::value(status))
        .col_expr(
            checkout::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(checkout::Column::Id.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Writes the order of a confirmation whose payment (if any was due) went through.
async fn complete(
    work: &mut UnitOfWork<'_>,
    checkout: &checkout::Model,
    consumer_id: Uuid,
    decided: &Decided,
    charge_reference: Option<&str>,
    deps: &Deps,
    now: DateTime<Utc>,
) -> ServiceResult<Confirmed> {
    let currency: Currency = checkout.currency;
    let total = Money::new(checkout.total_minor, currency);
    let schedule = decided.schedule(total)?;
    let at = decided.confirmed_at;
    let due_now = due_by(&schedule, at.date_naive());
    let row = authorized_order(
        deps,
        decided.order_id,
        checkout,
        consumer_id,
        (decided.plan_id, decided.payment_method_id),
        at,
    );
    write_order(
        work.txn(),
        &row,
        &schedule,
        charge_reference,
        decided.payment_method_id,
        at,
    )
    .await?;
    checkout::Entity::update_many()
        .col_expr(
            checkout::Column::Status,
            Expr::value(CheckoutStatus::Completed),
        )
        .col_expr(
            checkout::Column::OpenReference,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            checkout::Column::CompletedAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(
            checkout::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(checkout::Column::Id.eq(checkout.id))
        .exec(work.txn())
        .await?;
    let authorized = Event::order(
        EventType::OrderAuthorized,
        &row,
        OrderStatus::Authorized,
        json!({
            "checkoutId": checkout.id,
            "plan": decided.plan,
            "total": outbox::money(total.minor(), row.currency),
            "paidNow": outbox::money(due_now, row.currency),
        }),
    );
    work.audit(
        &decided.actor,
        EventType::OrderAuthorized.as_str(),
        Some(("order", row.id)),
        authorized.data.clone(),
        now,
    );
    let completed = Event {
        consumer_id: Some(consumer_id),
        ..Event::checkout(
            EventType::CheckoutCompleted,
            checkout,
            json!({ "orderId": row.id }),
        )
    };
    work.publish(completed, now);
    work.publish(authorized, now);
    Ok(Confirmed {
        order_id: row.id,
        redirect_url: checkout.confirm_url.clone(),
    })
}

/// The plan's row id, if the merchant offers it for this amount.
async fn offered_plan(
    txn: &DatabaseTransaction,
    caches: &Caches,
    checkout: &checkout::Model,
    code: PlanCode,
    total: Money,
) -> ServiceResult<Uuid> {
    // From the cache, or read within the transaction: on SQLite a second pooled
    // connection could be waiting behind transactions that wait for this one.
    let merchant = checkout.merchant_id;
    let offered = plans::cached_offered_by_merchants(txn, caches, &[merchant]).await?;
    offered
        .get(&merchant)
        .and_then(|plans| {
            plans.iter().find(|plan| {
                plan.code == code
                    && plan.currency == total.currency()
                    && plan.limits.allows(total.minor())
            })
        })
        .map(|plan| plan.plan_id)
        .ok_or_else(|| {
            refused(
                "plan",
                ViolationCode::PlanNotAvailable,
                "this plan is not offered for this checkout's amount",
            )
        })
}

/// Locks the consumer and checks the order fits their credit.
async fn assess_risk(
    txn: &DatabaseTransaction,
    consumer_id: Uuid,
    total: Money,
) -> ServiceResult<()> {
    let account = consumer::Entity::find_by_id(consumer_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if account.currency != total.currency() {
        return Err(refused(
            "token",
            ViolationCode::CurrencyMismatch,
            "your spending limit is in another currency",
        ));
    }
    let position = super::list::credit_position(
        txn,
        consumer_id,
        account.spending_limit_minor,
        account.status == ConsumerStatus::Active,
    )
    .await?;
    position
        .approve(total.minor())
        .map_err(|refusal| match refusal {
            RiskRefusal::NotInGoodStanding => refused(
                "token",
                ViolationCode::AccountNotInGoodStanding,
                "your account cannot take new orders until overdue instalments are paid",
            ),
            RiskRefusal::SpendingLimitExceeded { available } => ServiceError::refused(
                "token",
                ViolationCode::SpendingLimitExceeded,
                &format!(
                    "this order exceeds your available spending limit of {}",
                    Money::new(available, total.currency()).to_decimal()
                ),
            ),
        })
}

/// The row of an order just authorized for `checkout` at `at`, on `(plan, card)`.
pub(crate) fn authorized_order(
    deps: &Deps,
    id: Uuid,
    checkout: &checkout::Model,
    consumer_id: Uuid,
    (plan_id, card_id): (Uuid, Uuid),
    at: DateTime<Utc>,
) -> order::Model {
    let stamp = ChronoUnixTimestampMillis(at);
    order::Model {
        id,
        merchant_id: checkout.merchant_id,
        checkout_id: checkout.id,
        consumer_id,
        plan_id,
        payment_method_id: card_id,
        status: OrderStatus::Authorized,
        currency: checkout.currency,
        total_minor: checkout.total_minor,
        captured_minor: 0,
        refunded_minor: 0,
        merchant_reference: checkout.merchant_reference.clone(),
        capture_deadline: ChronoUnixTimestampMillis(at + deps.capture_window),
        created_at: stamp,
        updated_at: stamp,
        captured_at: None,
        cancelled_at: None,
        completed_at: None,
    }
}

/// The order, its instalments (those due today paid) and the payment.
async fn write_order(
    txn: &impl ConnectionTrait,
    row: &order::Model,
    schedule: &[ScheduledInstallment],
    charge_reference: Option<&str>,
    payment_method_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    order::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(txn)
        .await?;
    let (installments, payments) =
        schedule_rows(row, schedule, charge_reference, payment_method_id, now);
    installment::Entity::insert_many(
        installments
            .into_iter()
            .map(IntoActiveModel::into_active_model),
    )
    .exec_without_returning(txn)
    .await?;
    if !payments.is_empty() {
        payment::Entity::insert_many(payments.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// The instalment rows of a new order's schedule, those due by `now` paid when the charge
/// succeeded, and the payment rows of what was paid.
pub(crate) fn schedule_rows(
    row: &order::Model,
    schedule: &[ScheduledInstallment],
    charge_reference: Option<&str>,
    payment_method_id: Uuid,
    now: DateTime<Utc>,
) -> (Vec<installment::Model>, Vec<payment::Model>) {
    let at = ChronoUnixTimestampMillis(now);
    let today = now.date_naive();
    let installments: Vec<installment::Model> = schedule
        .iter()
        .map(|planned| {
            let paid = planned.due_date <= today && charge_reference.is_some();
            installment::Model {
                id: Uuid::now_v7(),
                order_id: row.id,
                sequence: i32::try_from(planned.sequence).unwrap_or(i32::MAX),
                due_date: planned.due_date,
                original_amount_minor: planned.amount.minor(),
                amount_minor: planned.amount.minor(),
                status: if paid {
                    InstallmentStatus::Paid
                } else {
                    InstallmentStatus::Scheduled
                },
                paid_at: paid.then_some(at),
                attempt_count: i32::from(paid),
                next_attempt_at: None,
                created_at: at,
                updated_at: at,
            }
        })
        .collect();
    let paid: Vec<&installment::Model> = installments
        .iter()
        .filter(|i| i.status == InstallmentStatus::Paid)
        .collect();
    let payments: Vec<payment::Model> = paid
        .iter()
        .map(|i| payment::Model {
            gateway_reference: charge_reference.map(str::to_owned),
            ..payment_row(row, i, payment_method_id, now)
        })
        .collect();
    (installments, payments)
}
