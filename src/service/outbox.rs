//! The transactional outbox: every change that others must hear about writes its event
//! here, in the same transaction as the change, so an event exists exactly when its change
//! committed. Changes note their events on their [`super::unit_of_work::UnitOfWork`],
//! whose commit writes them and wakes the relay ([`crate::jobs::relay`]) to publish them.

use chrono::{DateTime, Utc};
use entity::{checkout, installment, order, outbox_event};
use sea_orm::prelude::ChronoUnixTimestampMillis;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::{
    domain::event::EventType,
    domain::{Currency, Money, order::OrderStatus},
};

/// What happened, to which object, and who may hear of it.
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened.
    pub event_type: EventType,
    /// The object's id (a checkout, an order or an instalment, as the type says).
    pub aggregate_id: Uuid,
    /// The merchant whose webhooks and subscriptions receive it.
    pub merchant_id: Uuid,
    /// The consumer whose subscriptions receive it, if it concerns one.
    pub consumer_id: Option<Uuid>,
    /// The event's data, as `docs/events.md` describes it for each type (ids are row ids
    /// here; they go out as global IDs).
    pub data: Value,
}

impl Event {
    /// An event about a checkout: its id and merchant reference, then `details`.
    pub fn checkout(event_type: EventType, row: &checkout::Model, details: Value) -> Self {
        Self {
            event_type,
            aggregate_id: row.id,
            merchant_id: row.merchant_id,
            consumer_id: None,
            data: merged(
                json!({ "checkoutId": row.id, "merchantReference": row.merchant_reference }),
                details,
            ),
        }
    }

    /// An event about an order now in `status`: its id, merchant reference and status, then
    /// `details`.
    pub fn order(
        event_type: EventType,
        row: &order::Model,
        status: OrderStatus,
        details: Value,
    ) -> Self {
        Self {
            event_type,
            aggregate_id: row.id,
            merchant_id: row.merchant_id,
            consumer_id: Some(row.consumer_id),
            data: merged(order_data(row, status), details),
        }
    }

    /// An event about an instalment of an order now in `status`.
    pub fn installment(
        event_type: EventType,
        order: &order::Model,
        status: OrderStatus,
        row: &installment::Model,
        details: Value,
    ) -> Self {
        let installment = json!({
            "sequence": row.sequence,
            "amount": money(row.amount_minor, order.currency),
            "dueDate": row.due_date,
        });
        Self {
            aggregate_id: row.id,
            data: merged(
                order_data(order, status),
                merged(json!({ "installment": installment }), details),
            ),
            ..Self::order(event_type, order, status, Value::Null)
        }
    }
}

fn order_data(row: &order::Model, status: OrderStatus) -> Value {
    json!({
        "orderId": row.id,
        "merchantReference": row.merchant_reference,
        "status": status.as_str(),
    })
}

/// `base` with the fields of `details` added (`details` may be null).
fn merged(base: Value, details: Value) -> Value {
    let (Value::Object(mut base), Value::Object(details)) = (base.clone(), details) else {
        return base;
    };
    base.extend(details);
    Value::Object(base)
}

/// Money as events carry it: the API's `Money` shape.
pub fn money(minor: i64, currency: Currency) -> Value {
    let amount = Money::new(minor, currency).to_decimal().to_string();
    let mut fields = Map::new();
    fields.insert("amount".into(), json!(amount));
    fields.insert("currencyCode".into(), json!(currency.code()));
    fields.insert("minorUnits".into(), json!(minor));
    Value::Object(fields)
}

/// The row of an event at `at`, written by [`super::unit_of_work::UnitOfWork`] with its change.
pub(crate) fn row(event: Event, at: DateTime<Utc>) -> outbox_event::Model {
    outbox_event::Model {
        id: Uuid::now_v7(),
        event_type: event.event_type.as_str().to_owned(),
        aggregate_type: event.event_type.aggregate_type().to_owned(),
        aggregate_id: event.aggregate_id,
        merchant_id: Some(event.merchant_id),
        consumer_id: event.consumer_id,
        payload: event.data.to_string(),
        created_at: ChronoUnixTimestampMillis(at),
        published_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_the_api_shape() {
        assert_eq!(
            money(2834, Currency::Eur),
            json!({ "amount": "28.34", "currencyCode": "EUR", "minorUnits": 2834 })
        );
        assert_eq!(money(500, Currency::Isk)["amount"], "500");
    }

    #[test]
    fn details_extend_the_common_fields() {
        let data = merged(json!({ "a": 1 }), json!({ "b": 2 }));
        assert_eq!(data, json!({ "a": 1, "b": 2 }));
        assert_eq!(merged(json!({ "a": 1 }), Value::Null), json!({ "a": 1 }));
    }
}
