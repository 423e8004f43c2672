//! `confirmCheckout`: a consumer turns an open checkout into an order.
//!
//! In one transaction: the checkout row is locked (so concurrent confirmations make one
//! order), then the consumer row (so their concurrent orders see each other's balance);
//! the plan, card and risk are checked; the instalments due today are charged; and the
//! order, instalments, payment, checkout completion, audit entry, outbox event and
//! idempotent outcome are written together. A declined charge rolls everything back and
//! leaves the checkout open.

use chrono::{DateTime, Utc};
use entity::{checkout, consumer, installment, order, payment};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::super::{
    ServiceError, ServiceResult, Services,
    audit::{self, Actor},
    idempotency::{self, Request},
    outbox::{self, Event},
    parse_stored, payment_methods, plans,
};
use super::collection::payment_row;
use crate::{
    auth::secret::hash_secret,
    cache::Caches,
    db::begin_write,
    domain::{
        Currency, Money, PlanCode, build_schedule,
        checkout::CheckoutStatus,
        order::{InstallmentStatus, OrderStatus},
        risk::RiskRefusal,
        violation::ViolationCode,
    },
    events::EventType,
    payments::{ChargeRequest, GatewayError},
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

/// Confirms a checkout for `consumer_id`, at most once per idempotency key.
pub async fn confirm(
    services: &Services,
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
    let confirmed = idempotency::run(services, &request, |key_id| {
        confirm_once(services, actor, consumer_id, input, key_id)
    })
    .await?;
    Ok(confirmed)
}

fn refused(field: &str, code: ViolationCode, message: &str) -> ServiceError {
    ServiceError::refused(field, code, message)
}

async fn confirm_once(
    services: &Services,
    actor: &Actor,
    consumer_id: Uuid,
    input: &Confirmation,
    key_id: Uuid,
) -> ServiceResult<Confirmed> {
    let now = services.clock.now();
    let txn = begin_write(&services.db).await?;
    let checkout = checkout::Entity::find()
        .filter(checkout::Column::TokenHash.eq(hash_secret(&input.checkout_token)))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    match parse_stored::<CheckoutStatus>(&checkout.status, "checkout status")?
        .effective(checkout.expires_at.0, now)
    {
        CheckoutStatus::Open => {}
        CheckoutStatus::Expired => {
            return Err(refused(
                "token",
                ViolationCode::CheckoutExpired,
                "the checkout has expired",
            ));
        }
        _ => {
            return Err(refused(
                "token",
                ViolationCode::CheckoutNotOpen,
                "the checkout is no longer open",
            ));
        }
    }
    let currency: Currency = parse_stored(&checkout.currency, "currency")?;
    let total = Money::new(checkout.total_minor, currency);
    let plan_id = offered_plan(&txn, &services.caches, &checkout, input.plan, total).await?;
    let card = payment_methods::get(&txn, consumer_id, input.payment_method_id)
        .await
        .map_err(|err| match err {
            ServiceError::NotFound => refused(
                "paymentMethodId",
                ViolationCode::Invalid,
                "is not one of your cards",
            ),
            other => other,
        })?;
    assess_risk(&txn, consumer_id, total).await?;

    let order_id = Uuid::now_v7();
    let today = now.date_naive();
    let schedule = build_schedule(total, input.plan, today)
        .map_err(|err| ServiceError::internal(format!("schedule: {err}")))?;
    let due_now: i64 = schedule
        .iter()
        .filter(|i| i.due_date <= today)
        .map(|i| i.amount.minor())
        .sum();
    let receipt = if due_now > 0 {
        let token = payment_methods::token(services, &card)?;
        let charged = services
            .gateway
            .charge(ChargeRequest {
                token: &token,
                amount: Money::new(due_now, currency),
                idempotency_key: &format!("confirm:{key_id}"),
            })
            .await;
        Some(charged.map_err(declined)?)
    } else {
        None
    };

    let row = authorized_order(
        services,
        order_id,
        &checkout,
        consumer_id,
        (plan_id, card.id),
        now,
    );
    let written = write_order(
        &txn,
        &row,
        &schedule,
        receipt.as_ref().map(|r| r.reference.as_str()),
        card.id,
        now,
    )
    .await;
    let outcome = Confirmed {
        order_id,
        redirect_url: checkout.confirm_url.clone(),
    };
    let finished = async {
        written?;
        checkout::Entity::update_many()
            .col_expr(
                checkout::Column::Status,
                Expr::value(CheckoutStatus::Completed.as_str()),
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
            .exec(&txn)
            .await?;
        let authorized = Event::order(
            EventType::OrderAuthorized,
            &row,
            OrderStatus::Authorized,
            json!({
                "checkoutId": checkout.id,
                "plan": input.plan.as_str(),
                "total": outbox::money(total.minor(), &row.currency),
                "paidNow": outbox::money(due_now, &row.currency),
            }),
        );
        audit::record(
            &txn,
            actor,
            EventType::OrderAuthorized.as_str(),
            Some(("order", order_id)),
            authorized.data.clone(),
            now,
        )
        .await?;
        let completed = Event {
            consumer_id: Some(consumer_id),
            ..Event::checkout(
                EventType::CheckoutCompleted,
                &checkout,
                json!({ "orderId": order_id }),
            )
        };
        outbox::record(&txn, completed, now).await?;
        outbox::record(&txn, authorized, now).await?;
        idempotency::finish(
            &txn,
            key_id,
            &Ok::<_, Vec<crate::domain::violation::Violation>>(&outcome),
        )
        .await?;
        outbox::commit(services, txn).await?;
        Ok::<(), ServiceError>(())
    }
    .await;
    if let Err(err) = finished {
        // The card was charged but nothing was stored: give the money back.
        if let Some(receipt) = receipt {
            compensate(
                services,
                &receipt.reference,
                Money::new(due_now, currency),
                key_id,
            )
            .await;
        }
        return Err(err);
    }
    Ok(outcome)
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
    if account.currency != total.currency().code() {
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
        account.status == "ACTIVE",
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

/// A declined charge as the consumer's violation.
pub(crate) fn declined(error: GatewayError) -> ServiceError {
    let code = match error {
        GatewayError::CardDeclined => ViolationCode::CardDeclined,
        GatewayError::InsufficientFunds => ViolationCode::InsufficientFunds,
        GatewayError::ExpiredCard => ViolationCode::CardExpired,
        GatewayError::ProcessingError | GatewayError::NoAnswer => {
            ViolationCode::PaymentProcessingError
        }
        GatewayError::AuthenticationRequired
        | GatewayError::InvalidRefund
        | GatewayError::UnknownToken => ViolationCode::CardDeclined,
    };
    refused("paymentMethodId", code, &error.to_string())
}

/// The row of an order just authorized for `checkout` at `now`, on `(plan, card)`.
pub(crate) fn authorized_order(
    services: &Services,
    id: Uuid,
    checkout: &checkout::Model,
    consumer_id: Uuid,
    (plan_id, card_id): (Uuid, Uuid),
    now: DateTime<Utc>,
) -> order::Model {
    let at = ChronoUnixTimestampMillis(now);
    order::Model {
        id,
        merchant_id: checkout.merchant_id,
        checkout_id: checkout.id,
        consumer_id,
        plan_id,
        payment_method_id: card_id,
        status: OrderStatus::Authorized.as_str().to_owned(),
        currency: checkout.currency.clone(),
        total_minor: checkout.total_minor,
        captured_minor: 0,
        refunded_minor: 0,
        merchant_reference: checkout.merchant_reference.clone(),
        capture_deadline: ChronoUnixTimestampMillis(now + services.capture_window),
        created_at: at,
        updated_at: at,
        captured_at: None,
        cancelled_at: None,
        completed_at: None,
    }
}

/// The order, its instalments (those due today paid) and the payment.
async fn write_order(
    txn: &impl ConnectionTrait,
    row: &order::Model,
    schedule: &[crate::domain::ScheduledInstallment],
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
    schedule: &[crate::domain::ScheduledInstallment],
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
                }
                .as_str()
                .to_owned(),
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
        .filter(|i| i.status == InstallmentStatus::Paid.as_str())
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

/// Refunds a charge whose order could not be stored.
async fn compensate(services: &Services, reference: &str, amount: Money, key_id: Uuid) {
    let refunded = services
        .gateway
        .refund(crate::payments::RefundRequest {
            charge_reference: reference,
            amount,
            idempotency_key: &format!("confirm-compensation:{key_id}"),
        })
        .await;
    if let Err(err) = refunded {
        tracing::error!(charge = reference, error = %err, "a charge without an order could not be refunded");
    }
}
