//! The audit log: who did what to which object, when and from where. Entries are written
//! in the same transaction as the change they describe, and never hold secrets.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, prelude::ChronoUnixTimestampMillis,
};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::MerchantPrincipal;

/// Who acted, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The kind of principal, e.g. `merchant_api_key`.
    pub kind: &'static str,
    /// The principal's id (the API key, the consumer, the admin).
    pub id: Option<Uuid>,
    /// The client address the request came from.
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// A consumer (or someone trying to log in as one).
    pub fn consumer(consumer_id: Uuid, ip: Option<IpAddr>) -> Self {
        Self {
            kind: "consumer",
            id: Some(consumer_id),
            ip,
        }
    }

    /// Nobody authenticated yet, from `ip`.
    pub fn anonymous(ip: Option<IpAddr>) -> Self {
        Self {
            kind: "anonymous",
            id: None,
            ip,
        }
    }

    /// A merchant acting through one of its API keys.
    pub fn api_key(principal: &MerchantPrincipal, ip: Option<IpAddr>) -> Self {
        Self {
            kind: "merchant_api_key",
            id: Some(principal.api_key_id),
            ip,
        }
    }
}

/// Appends one entry: `actor` did `action` to the `target` (type, id) at `at`.
pub async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<(&str, Uuid)>,
    metadata: Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let entry = audit_log::Model {
        id: Uuid::now_v7(),
        actor_kind: actor.kind.to_owned(),
        actor_id: actor.id,
        action: action.to_owned(),
        target_type: target.map(|(kind, _)| kind.to_owned()),
        target_id: target.map(|(_, id)| id),
        ip: actor.ip.map(|ip| ip.to_string()),
        metadata: (!metadata.is_null()).then(|| metadata.to_string()),
        created_at: ChronoUnixTimestampMillis(at),
    };
    audit_log::Entity::insert(entry.into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
