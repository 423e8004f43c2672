//! The audit log: who did what to which object, when and from where. Entries are written
//! with the change they describe (noted on its [`super::unit_of_work::UnitOfWork`]), and
//! never hold secrets; [`record`] writes one about an attempt that changed nothing.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use entity::audit_log;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    Select, prelude::ChronoUnixTimestampMillis,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    Deps, ServiceResult,
    pagination::{Cursor, Keyset, Page, PageRequest},
};
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

    /// A member of staff (or someone trying to sign in as one).
    pub fn staff(staff_id: Uuid, ip: Option<IpAddr>) -> Self {
        Self {
            kind: "staff",
            id: Some(staff_id),
            ip,
        }
    }

    /// paylater itself: a background job.
    pub fn system() -> Self {
        Self {
            kind: "system",
            id: None,
            ip: None,
        }
    }

    /// An operator at the command line.
    pub fn command_line() -> Self {
        Self {
            kind: "command_line",
            id: None,
            ip: None,
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

/// The kinds of actor, as stored.
const ACTOR_KINDS: [&str; 6] = [
    "consumer",
    "staff",
    "system",
    "command_line",
    "anonymous",
    "merchant_api_key",
];

/// An actor as stored with work finished later (a payment settled by the reconciler is
/// audited as the actor who asked for it).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredActor {
    kind: String,
    id: Option<Uuid>,
    ip: Option<IpAddr>,
}

impl serde::Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StoredActor {
            kind: self.kind.to_owned(),
            id: self.id,
            ip: self.ip,
        }
        .serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = StoredActor::deserialize(deserializer)?;
        let kind = ACTOR_KINDS
            .into_iter()
            .find(|kind| *kind == stored.kind)
            .ok_or_else(|| {
                serde::de::Error::custom(format!("unknown actor kind {:?}", stored.kind))
            })?;
        Ok(Self {
            kind,
            id: stored.id,
            ip: stored.ip,
        })
    }
}

/// Appends one entry on its own: `actor` tried `action` on the `target` (type, id) at `at`
/// and nothing changed (a failed login, say).
pub async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<(&str, Uuid)>,
    metadata: Value,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    audit_log::Entity::insert(entry(actor, action, target, metadata, at).into_active_model())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The row of one entry, for [`record`] and units of work.
pub(crate) fn entry(
    actor: &Actor,
    action: &str,
    target: Option<(&str, Uuid)>,
    metadata: Value,
    at: DateTime<Utc>,
) -> audit_log::Model {
    audit_log::Model {
        id: Uuid::now_v7(),
        actor_kind: actor.kind.to_owned(),
        actor_id: actor.id,
        action: action.to_owned(),
        target_type: target.map(|(kind, _)| kind.to_owned()),
        target_id: target.map(|(_, id)| id),
        ip: actor.ip.map(|ip| ip.to_string()),
        metadata: (!metadata.is_null()).then(|| metadata.to_string()),
        created_at: ChronoUnixTimestampMillis(at),
    }
}

/// Which entries to list. All conditions must hold; each has an index that also sorts.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action, e.g. `consumer.login_failed`.
    pub action: Option<String>,
    /// Only entries by this actor.
    pub actor_id: Option<Uuid>,
    /// Only entries about this object.
    pub target_id: Option<Uuid>,
    /// Only entries at or after this instant.
    pub created_after: Option<DateTime<Utc>>,
    /// Only entries before this instant.
    pub created_before: Option<DateTime<Utc>>,
}

fn filtered(filter: &AuditFilter) -> Select<audit_log::Entity> {
    use audit_log::Column;
    let mut select = audit_log::Entity::find();
    if let Some(action) = &filter.action {
        select = select.filter(Column::Action.eq(action.as_str()));
    }
    if let Some(actor) = filter.actor_id {
        select = select.filter(Column::ActorId.eq(actor));
    }
    if let Some(target) = filter.target_id {
        select = select.filter(Column::TargetId.eq(target));
    }
    if let Some(after) = filter.created_after {
        select = select.filter(Column::CreatedAt.gte(after.timestamp_millis()));
    }
    if let Some(before) = filter.created_before {
        select = select.filter(Column::CreatedAt.lt(before.timestamp_millis()));
    }
    select
}

/// The keyset position of an entry.
pub fn cursor(entry: &audit_log::Model) -> Cursor {
    Cursor {
        value: entry.created_at.0.timestamp_millis(),
        id: entry.id,
    }
}

/// One page of the audit log by time, in one statement.
pub async fn list(
    deps: &Deps,
    filter: &AuditFilter,
    descending: bool,
    page: PageRequest,
) -> ServiceResult<Page<audit_log::Model>> {
    let keyset = Keyset {
        column: audit_log::Column::CreatedAt,
        id: audit_log::Column::Id,
        descending,
    };
    Ok(keyset.fetch(&deps.db, filtered(filter), page).await?)
}

/// How many entries match `filter`.
pub async fn count(deps: &Deps, filter: &AuditFilter) -> ServiceResult<u64> {
    Ok(filtered(filter).count(&deps.db).await?)
}
