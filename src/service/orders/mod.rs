//! Orders: made when a consumer confirms a checkout, then captured, refunded or cancelled
//! by the merchant while the instalments are collected. Each operation that moves money is
//! a payment attempt in atomic phases ([`super::attempts`]); [`settlement_for`] names the
//! phase 3 of each, for the reconciler.

mod charges;
pub mod collection;
pub mod confirm;
pub mod early;
pub mod list;
pub mod merchant;

pub(crate) use charges::payment_row;

use std::collections::HashMap;

use entity::{installment, order, payment, refund};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::{ServiceError, ServiceResult, attempts::Settlement};
use crate::domain::attempt::AttemptKind;

/// The phase 3 of each kind of payment attempt.
pub fn settlement_for(kind: AttemptKind) -> &'static dyn Settlement {
    match kind {
        AttemptKind::Confirmation => &confirm::Confirming,
        AttemptKind::InstallmentCharge => &collection::Collecting,
        AttemptKind::EarlyPayment => &early::PayingEarly,
        AttemptKind::Refund => &merchant::Refunding,
        AttemptKind::Void => &merchant::Voiding,
    }
}

/// Who may see an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The consumer paying for it.
    Consumer(Uuid),
    /// The merchant selling.
    Merchant(Uuid),
    /// Staff, who see every order.
    Staff,
}

/// An order the viewer may see; anyone else's is not found.
pub async fn get(
    db: &impl ConnectionTrait,
    viewer: Viewer,
    id: Uuid,
) -> ServiceResult<order::Model> {
    let select = order::Entity::find_by_id(id);
    let select = match viewer {
        Viewer::Consumer(consumer) => select.filter(order::Column::ConsumerId.eq(consumer)),
        Viewer::Merchant(merchant) => select.filter(order::Column::MerchantId.eq(merchant)),
        Viewer::Staff => select,
    };
    select.one(db).await?.ok_or(ServiceError::NotFound)
}

/// The instalments of each order, in schedule order, in one statement.
pub async fn installments_by_order(
    db: &impl ConnectionTrait,
    order_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<installment::Model>>> {
    let rows = installment::Entity::find()
        .filter(installment::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(installment::Column::OrderId)
        .order_by_asc(installment::Column::Sequence)
        .all(db)
        .await?;
    Ok(group(rows, |row| row.order_id))
}

/// The payments (charge attempts) of each order, oldest first, in one statement.
pub async fn payments_by_order(
    db: &impl ConnectionTrait,
    order_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<payment::Model>>> {
    let rows = payment::Entity::find()
        .filter(payment::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |row| row.order_id))
}

/// The refunds of each order, oldest first, in one statement.
pub async fn refunds_by_order(
    db: &impl ConnectionTrait,
    order_ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<refund::Model>>> {
    let rows = refund::Entity::find()
        .filter(refund::Column::OrderId.is_in(order_ids.iter().copied()))
        .order_by_asc(refund::Column::Id)
        .all(db)
        .await?;
    Ok(group(rows, |row| row.order_id))
}

fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        grouped.entry(key(&row)).or_default().push(row);
    }
    grouped
}

/// The refunds of an order, oldest first.
pub async fn refunds(
    db: &impl ConnectionTrait,
    order_id: Uuid,
) -> ServiceResult<Vec<refund::Model>> {
    Ok(refund::Entity::find()
        .filter(refund::Column::OrderId.eq(order_id))
        .order_by_asc(refund::Column::Id)
        .all(db)
        .await?)
}

/// A refund and its order, if the viewer may see the order.
pub async fn refund_for(
    db: &impl ConnectionTrait,
    viewer: Viewer,
    id: Uuid,
) -> ServiceResult<(refund::Model, order::Model)> {
    let refund = refund::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let order = get(db, viewer, refund.order_id).await?;
    Ok((refund, order))
}
