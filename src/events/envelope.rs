//! What an event looks like outside: the JSON body of its webhooks, with the API's global
//! IDs in place of row ids (see `docs/events.md`).

use chrono::SecondsFormat;
use serde_json::{Value, json};

use super::PublishedEvent;
use crate::ids::{NodeKind, encode};

/// The fields of an event's data that hold row ids, and the kind of object each names.
const IDS: [(&str, NodeKind); 3] = [
    ("orderId", NodeKind::Order),
    ("checkoutId", NodeKind::Checkout),
    ("refundId", NodeKind::Refund),
];

/// The event as webhooks carry it. `live_mode` is false outside production.
pub fn envelope(event: &PublishedEvent, live_mode: bool) -> Value {
    json!({
        "id": event.id,
        "type": event.event_type.as_str(),
        "createdAt": event.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "livemode": live_mode,
        "data": public_data(&event.data),
    })
}

/// The data with each row id replaced by its global ID.
fn public_data(data: &Value) -> Value {
    let mut data = data.clone();
    if let Value::Object(fields) = &mut data {
        for (key, kind) in IDS {
            let id = fields.get(key).and_then(|v| v.as_str()?.parse().ok());
            if let Some(id) = id {
                fields.insert(key.to_owned(), Value::String(encode(kind, id)));
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use uuid::Uuid;

    use super::*;
    use crate::domain::event::EventType;

    #[test]
    fn row_ids_go_out_as_global_ids() {
        let order = Uuid::now_v7();
        let event = PublishedEvent {
            id: Uuid::now_v7(),
            event_type: EventType::OrderRefunded,
            aggregate_id: order,
            merchant_id: None,
            consumer_id: None,
            order_id: Some(order),
            checkout_id: None,
            data: json!({ "orderId": order, "refundId": null, "status": "CAPTURED" }),
            created_at: chrono::Utc.with_ymd_and_hms(2027, 1, 31, 10, 0, 0).unwrap(),
        };
        let body = envelope(&event, false);
        assert_eq!(body["type"], "order.refunded");
        assert_eq!(body["createdAt"], "2027-01-31T10:00:00.000Z");
        assert_eq!(body["livemode"], false);
        assert_eq!(body["data"]["orderId"], encode(NodeKind::Order, order));
        assert_eq!(body["data"]["refundId"], Value::Null);
        assert_eq!(body["data"]["status"], "CAPTURED");
    }
}
