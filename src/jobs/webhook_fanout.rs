//! Queues a delivery for every endpoint that wants a relayed event, in the relay's
//! transaction: the deliveries exist exactly when their events count as published.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{webhook_delivery, webhook_endpoint};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter,
    prelude::ChronoUnixTimestampMillis,
};
use uuid::Uuid;

use crate::{
    domain::webhook::{DeliveryStatus, EndpointStatus},
    events::{PublishedEvent, envelope::envelope},
    service::{ServiceResult, webhooks::subscribed_types},
};

/// Queues the deliveries of `events`, due at `now`; returns how many it queued.
pub async fn queue(
    txn: &DatabaseTransaction,
    events: &[PublishedEvent],
    live_mode: bool,
    now: DateTime<Utc>,
) -> ServiceResult<usize> {
    let merchants: HashSet<Uuid> = events.iter().filter_map(|e| e.merchant_id).collect();
    if merchants.is_empty() {
        return Ok(0);
    }
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::MerchantId.is_in(merchants))
        .filter(webhook_endpoint::Column::Status.eq(EndpointStatus::Enabled))
        .all(txn)
        .await?;
    let mut wanted = HashMap::new();
    for endpoint in &endpoints {
        wanted.insert(
            endpoint.merchant_id,
            (endpoint, subscribed_types(endpoint)?),
        );
    }
    let at = ChronoUnixTimestampMillis(now);
    let rows: Vec<webhook_delivery::ActiveModel> = events
        .iter()
        .filter_map(|event| {
            let (endpoint, types) = wanted.get(&event.merchant_id?)?;
            let wants = types
                .as_ref()
                .is_none_or(|types| types.contains(&event.event_type));
            wants.then(|| {
                webhook_delivery::Model {
                    id: Uuid::now_v7(),
                    endpoint_id: endpoint.id,
                    merchant_id: endpoint.merchant_id,
                    event_id: event.id,
                    event_type: event.event_type,
                    payload: envelope(event, live_mode).to_string(),
                    status: DeliveryStatus::Pending,
                    attempt_count: 0,
                    next_attempt_at: Some(at),
                    redelivery_requested: false,
                    last_status_code: None,
                    last_error: None,
                    created_at: at,
                    updated_at: at,
                    delivered_at: None,
                    claimed_until: None,
                }
                .into_active_model()
            })
        })
        .collect();
    let queued = rows.len();
    if queued > 0 {
        webhook_delivery::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(queued)
}
