//! Lists of orders: a merchant's or a consumer's, filtered and keyset-paginated by creation
//! time (each owner has an index on (owner, created_at, id)).

use chrono::{DateTime, Utc};
use entity::{installment, order, payment_attempt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Select,
    sea_query::{Expr, Query, UnionType},
};
use uuid::Uuid;

use super::super::{
    Deps, ServiceResult,
    consumers::ConsumerAccount,
    pagination::{Cursor, Keyset, Page, PageRequest},
};
use crate::domain::{
    attempt::AttemptStatus,
    order::{InstallmentStatus, OrderStatus},
    risk::CreditPosition,
};

/// Whose orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A merchant's sales.
    Merchant(Uuid),
    /// A consumer's purchases.
    Consumer(Uuid),
}

/// Which orders to list. All conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Only orders created at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Only orders created before this instant.
    pub created_before: Option<DateTime<Utc>>,
    /// Only orders with this merchant reference.
    pub merchant_reference: Option<String>,
}

fn filtered(owner: Owner, filter: &OrderFilter) -> Select<order::Entity> {
    use order::Column;
    let mut select = match owner {
        Owner::Merchant(id) => order::Entity::find().filter(Column::MerchantId.eq(id)),
        Owner::Consumer(id) => order::Entity::find().filter(Column::ConsumerId.eq(id)),
    };
    if let Some(status) = filter.status {
        select = select.filter(Column::Status.eq(status));
    }
    if let Some(after) = filter.created_after {
        select = select.filter(Column::CreatedAt.gte(after.timestamp_millis()));
    }
    if let Some(before) = filter.created_before {
        select = select.filter(Column::CreatedAt.lt(before.timestamp_millis()));
    }
    if let Some(reference) = &filter.merchant_reference {
        select = select.filter(Column::MerchantReference.eq(reference.as_str()));
    }
    select
}

/// The keyset position of an order.
pub fn cursor(row: &order::Model) -> Cursor {
    Cursor {
        value: row.created_at.0.timestamp_millis(),
        id: row.id,
    }
}

/// One page of orders by creation time, in one statement.
pub async fn list(
    deps: &Deps,
    owner: Owner,
    filter: &OrderFilter,
    descending: bool,
    page: PageRequest,
) -> ServiceResult<Page<order::Model>> {
    let keyset = Keyset {
        column: order::Column::CreatedAt,
        id: order::Column::Id,
        descending,
    };
    Ok(keyset
        .fetch(&deps.db, filtered(owner, filter), page)
        .await?)
}

/// How many orders match.
pub async fn count(deps: &Deps, owner: Owner, filter: &OrderFilter) -> ServiceResult<u64> {
    Ok(filtered(owner, filter).count(&deps.db).await?)
}

const OPEN: [OrderStatus; 3] = [
    OrderStatus::Authorized,
    OrderStatus::Captured,
    OrderStatus::Overdue,
];

/// The unpaid instalments of a consumer's open orders, earliest due first. They are few
/// (open orders are bounded by the consumer's credit), so they are read by order and
/// sorted here: filtering by status in SQL tempts the planner into walking every
/// consumer's unpaid instalments in due-date order.
pub async fn upcoming_installments(
    db: &impl ConnectionTrait,
    consumer_id: Uuid,
    limit: usize,
) -> ServiceResult<Vec<installment::Model>> {
    let mut unpaid = Vec::new();
    for row in installment::Entity::find()
        .filter(installment::Column::OrderId.in_subquery(open_orders(consumer_id)))
        .all(db)
        .await?
    {
        let status: InstallmentStatus = row.status;
        if status.is_unpaid() {
            unpaid.push(row);
        }
    }
    unpaid.sort_by_key(|row| (row.due_date, row.id));
    unpaid.truncate(limit);
    Ok(unpaid)
}

fn open_orders(consumer_id: Uuid) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(order::Column::Id)
        .from(order::Entity)
        .and_where(order::Column::ConsumerId.eq(consumer_id))
        .and_where(order::Column::Status.is_in(OPEN))
        .to_owned()
}

/// A consumer's credit: their limit, what their open orders still owe and what their
/// confirmations at the card gateway hold, whether anything is overdue. `active` is the
/// account's standing, which the caller knows. One statement.
pub async fn credit_position(
    db: &impl ConnectionTrait,
    consumer_id: Uuid,
    limit: i64,
    active: bool,
) -> ServiceResult<CreditPosition> {
    let mut balances = Query::select()
        .column(installment::Column::AmountMinor)
        .column(installment::Column::Status)
        .from(installment::Entity)
        .and_where(installment::Column::OrderId.in_subquery(open_orders(consumer_id)))
        .to_owned();
    // A pending confirmation holds its order's total, as a scheduled instalment would.
    let held = Query::select()
        .column(payment_attempt::Column::CreditMinor)
        .expr(Expr::val(InstallmentStatus::Scheduled.as_str()))
        .from(payment_attempt::Entity)
        .and_where(payment_attempt::Column::ConsumerId.eq(consumer_id))
        .and_where(payment_attempt::Column::Status.eq(AttemptStatus::Pending))
        .and_where(payment_attempt::Column::CreditMinor.gt(0))
        .to_owned();
    balances.union(UnionType::All, held);
    let mut position = CreditPosition {
        limit,
        outstanding: 0,
        has_overdue: false,
        active,
    };
    for row in db.query_all(&balances).await? {
        let amount: i64 = row.try_get_by_index(0)?;
        let status: InstallmentStatus = row.try_get_by_index(1)?;
        if status.is_unpaid() {
            position.outstanding += amount;
        }
        position.has_overdue |= status == InstallmentStatus::Overdue;
    }
    Ok(position)
}

/// A consumer's credit position (in the currency of their account).
pub async fn spending(
    db: &impl ConnectionTrait,
    account: &ConsumerAccount,
) -> ServiceResult<CreditPosition> {
    credit_position(db, account.id, account.spending_limit_minor, account.active).await
}
