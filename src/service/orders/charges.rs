//! What a charge of a card writes, whoever made it (a confirmation, the collection job or
//! the shopper paying early): the payment row, the instalment's new state, its event, the
//! order's status once the instalment changed, and a decline as the shopper's violation.

use chrono::{DateTime, Duration, Utc};
use entity::{installment, order, payment, payment_method};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::super::{
    ServiceError, ServiceResult, audit::Actor, outbox::Event, unit_of_work::UnitOfWork,
};
use crate::{
    domain::event::EventType,
    domain::order::{InstallmentStatus, OrderStatus, PaymentStatus, retry_delay_days},
    domain::violation::{Violation, ViolationCode},
    payments::GatewayError,
};

/// Orders whose instalments are being collected.
pub(super) const COLLECTING: [OrderStatus; 2] = [OrderStatus::Captured, OrderStatus::Overdue];

/// Locks an order.
pub(super) async fn lock_order(txn: &DatabaseTransaction, id: Uuid) -> ServiceResult<order::Model> {
    order::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Locks an instalment.
pub(super) async fn lock_installment(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> ServiceResult<installment::Model> {
    installment::Entity::find_by_id(id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The order's card, even if the consumer removed it since (a removal moves open orders to
/// another card when there is one).
pub(super) async fn card(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> ServiceResult<payment_method::Model> {
    payment_method::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| ServiceError::internal(format!("payment method {id} is missing")))
}

/// A declined charge as the consumer's violation.
pub(super) fn decline(error: GatewayError) -> Violation {
    let code = match error {
        GatewayError::CardDeclined
        | GatewayError::AuthenticationRequired
        | GatewayError::InvalidRefund
        | GatewayError::UnknownToken => ViolationCode::CardDeclined,
        GatewayError::InsufficientFunds => ViolationCode::InsufficientFunds,
        GatewayError::ExpiredCard => ViolationCode::CardExpired,
        GatewayError::ProcessingError | GatewayError::NoAnswer => {
            ViolationCode::PaymentProcessingError
        }
    };
    Violation::new(
        &crate::domain::violation::Path::input().at("paymentMethodId"),
        code,
        error.to_string(),
    )
}

/// A succeeded payment of instalment `row`.
pub(crate) fn payment_row(
    order: &order::Model,
    row: &installment::Model,
    method_id: Uuid,
    now: DateTime<Utc>,
) -> payment::Model {
    payment::Model {
        id: Uuid::now_v7(),
        order_id: order.id,
        installment_id: Some(row.id),
        payment_method_id: method_id,
        amount_minor: row.amount_minor,
        currency: order.currency,
        status: PaymentStatus::Succeeded,
        gateway_reference: None,
        failure_code: None,
        created_at: ChronoUnixTimestampMillis(now),
    }
}

fn installment_event(
    work: &mut UnitOfWork<'_>,
    event: (EventType, serde_json::Value),
    order: &order::Model,
    status: OrderStatus,
    row: &installment::Model,
    now: DateTime<Utc>,
) {
    let (event_type, details) = event;
    work.publish(
        Event::installment(event_type, order, status, row, details),
        now,
    );
}

/// Instalment `row` was charged under `reference` to card `method_id` (`early`: the shopper
/// paid before its due date).
pub(super) async fn record_paid(
    work: &mut UnitOfWork<'_>,
    order: &order::Model,
    row: &installment::Model,
    reference: &str,
    (method_id, early): (Uuid, bool),
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    installment::Entity::update_many()
        .col_expr(
            installment::Column::Status,
            Expr::value(InstallmentStatus::Paid),
        )
        .col_expr(
            installment::Column::PaidAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(
            installment::Column::AttemptCount,
            Expr::value(row.attempt_count + 1),
        )
        .col_expr(
            installment::Column::NextAttemptAt,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(
            installment::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(installment::Column::Id.eq(row.id))
        .exec(work.txn())
        .await?;
    let payment = payment::Model {
        gateway_reference: Some(reference.to_owned()),
        ..payment_row(order, row, method_id, now)
    };
    payment::Entity::insert(payment.into_active_model())
        .exec_without_returning(work.txn())
        .await?;
    let status = order.status;
    let paid = (EventType::InstallmentPaid, json!({ "early": early }));
    installment_event(work, paid, order, status, row, now);
    Ok(())
}

/// The collection job's charge of instalment `row` failed: it is retried later, or now
/// overdue with its order.
pub(super) async fn record_failed(
    work: &mut UnitOfWork<'_>,
    order: &order::Model,
    row: &installment::Model,
    error: GatewayError,
    method_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let attempts = row.attempt_count + 1;
    let retry = retry_delay_days(u32::try_from(attempts).unwrap_or(u32::MAX))
        .map(|days| now + Duration::days(days));
    let status = if retry.is_some() {
        InstallmentStatus::Failed
    } else {
        InstallmentStatus::Overdue
    };
    installment::Entity::update_many()
        .col_expr(installment::Column::Status, Expr::value(status))
        .col_expr(installment::Column::AttemptCount, Expr::value(attempts))
        .col_expr(
            installment::Column::NextAttemptAt,
            Expr::value(retry.map(|at| at.timestamp_millis())),
        )
        .col_expr(
            installment::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(installment::Column::Id.eq(row.id))
        .exec(work.txn())
        .await?;
    let payment = payment::Model {
        status: PaymentStatus::Failed,
        failure_code: Some(error.code().to_owned()),
        ..payment_row(order, row, method_id, now)
    };
    payment::Entity::insert(payment.into_active_model())
        .exec_without_returning(work.txn())
        .await?;
    let order_status = if retry.is_some() {
        order.status
    } else {
        OrderStatus::Overdue
    };
    let failed = (
        EventType::InstallmentFailed,
        json!({
            "attempt": attempts,
            "failureCode": error.code(),
            "nextAttemptAt": retry,
        }),
    );
    installment_event(work, failed, order, order_status, row, now);
    if retry.is_none() {
        set_status(work.txn(), order, OrderStatus::Overdue, now).await?;
        let event = Event::installment(
            EventType::OrderOverdue,
            order,
            OrderStatus::Overdue,
            row,
            serde_json::Value::Null,
        );
        let event = Event {
            aggregate_id: order.id,
            ..event
        };
        work.record_change(&Actor::system(), event, now);
    }
    Ok(())
}

/// After an instalment changed: a fully paid order completes, an overdue one with nothing
/// overdue left is back to captured.
pub(super) async fn update_order_status(
    work: &mut UnitOfWork<'_>,
    order: &order::Model,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let current = lock_order(work.txn(), order.id).await?;
    let status = current.status;
    let statuses = installment::Entity::find()
        .select_only()
        .column(installment::Column::Status)
        .filter(installment::Column::OrderId.eq(order.id))
        .into_tuple::<InstallmentStatus>()
        .all(work.txn())
        .await?;
    let next = if statuses.iter().all(|s| !s.is_unpaid()) && COLLECTING.contains(&status) {
        Some(OrderStatus::Completed)
    } else if status == OrderStatus::Overdue && !statuses.contains(&InstallmentStatus::Overdue) {
        Some(OrderStatus::Captured)
    } else {
        None
    };
    if let Some(next) = next {
        set_status(work.txn(), &current, next, now).await?;
        if next == OrderStatus::Completed {
            let event = Event::order(
                EventType::OrderCompleted,
                &current,
                OrderStatus::Completed,
                serde_json::Value::Null,
            );
            work.record_change(&Actor::system(), event, now);
        }
    }
    Ok(())
}

async fn set_status(
    txn: &DatabaseTransaction,
    order: &order::Model,
    status: OrderStatus,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(status))
        .col_expr(
            order::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        );
    if status == OrderStatus::Completed {
        update = update.col_expr(
            order::Column::CompletedAt,
            Expr::value(now.timestamp_millis()),
        );
    }
    update
        .filter(order::Column::Id.eq(order.id))
        .exec(txn)
        .await?;
    Ok(())
}
