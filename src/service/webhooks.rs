//! A merchant's webhooks: its endpoint (one per merchant), the signing secret (shown once,
//! stored encrypted, rotated with an overlap), the delivery log and redelivery. Sending
//! is the delivery job's ([`crate::jobs::webhook_delivery`]).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde_json::json;
use url::Host;
use uuid::Uuid;

use super::{
    Deps, OrInternal, ServiceError, ServiceResult,
    audit::Actor,
    pagination::{Cursor, Keyset, Page, PageRequest},
    retry_transient,
};
use crate::{
    auth::secret::random_secret,
    domain::event::EventType,
    domain::{
        violation::ViolationCode,
        webhook::{DeliveryStatus, EndpointStatus, UrlError, UrlPolicy, check_url, is_public},
    },
    encryption::column_context,
    service::unit_of_work::UnitOfWork,
};

/// How webhooks behave, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// Which URLs may receive events.
    pub policy: UrlPolicy,
    /// How long a delivery is retried, and an endpoint may fail before it is disabled.
    pub retry_window: Duration,
}

/// What a merchant sets: where to send, and which events (all when empty).
#[derive(Debug, Clone)]
pub struct EndpointInput {
    /// The URL to POST to.
    pub url: String,
    /// The events to send; empty sends every event.
    pub event_types: Vec<EventType>,
}

/// The longest a rotated secret may keep signing.
pub const MAX_SECRET_OVERLAP: Duration = Duration::days(7);

fn secret_context(endpoint_id: Uuid, column: &str) -> String {
    column_context("webhook_endpoints", column, endpoint_id)
}

fn seal(deps: &Deps, endpoint_id: Uuid, column: &str, secret: &str) -> String {
    deps.vault
        .encrypt(secret, &secret_context(endpoint_id, column))
}

fn open(deps: &Deps, endpoint_id: Uuid, column: &str, sealed: &str) -> ServiceResult<String> {
    deps.vault
        .decrypt(sealed, &secret_context(endpoint_id, column))
        .or_internal(|| format!("webhook secret of {endpoint_id}"))
}

/// The secrets that sign at `now`: the current one, and the previous one until it expires.
pub fn signing_secrets(
    deps: &Deps,
    endpoint: &webhook_endpoint::Model,
    now: DateTime<Utc>,
) -> ServiceResult<Vec<String>> {
    let mut secrets = vec![open(deps, endpoint.id, "secret", &endpoint.secret)?];
    if let (Some(previous), Some(until)) = (
        &endpoint.previous_secret,
        endpoint.previous_secret_expires_at,
    ) && until.0 > now
    {
        secrets.push(open(deps, endpoint.id, "previous_secret", previous)?);
    }
    Ok(secrets)
}

/// The event types an endpoint receives; `None` means every type.
pub fn subscribed_types(
    endpoint: &webhook_endpoint::Model,
) -> ServiceResult<Option<Vec<EventType>>> {
    let types: Vec<EventType> = serde_json::from_str(&endpoint.event_types)
        .or_internal(|| format!("event types of {}", endpoint.id))?;
    Ok((!types.is_empty()).then_some(types))
}

/// The merchant's endpoint, if it has one.
pub async fn endpoint(
    db: &DatabaseConnection,
    merchant_id: Uuid,
) -> ServiceResult<Option<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await?)
}

fn url_refused(code: ViolationCode, message: &str) -> ServiceError {
    ServiceError::refused("url", code, message)
}

/// Checks a URL by the policy, resolving its host name when only public addresses may
/// receive events.
async fn checked_url(url: &str, policy: UrlPolicy) -> ServiceResult<String> {
    let url = check_url(url, policy).map_err(|err| {
        let code = match err {
            UrlError::NotPublic => ViolationCode::AddressNotPublic,
            UrlError::TooLong => ViolationCode::TooLong,
            _ => ViolationCode::InvalidUrl,
        };
        url_refused(code, &err.to_string())
    })?;
    if policy.public_addresses_only
        && let Some(Host::Domain(host)) = url.host()
    {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| url_refused(ViolationCode::InvalidUrl, "its host name does not resolve"))?
            .collect();
        if addresses.is_empty() || addresses.iter().any(|address| !is_public(address.ip())) {
            return Err(url_refused(
                ViolationCode::AddressNotPublic,
                &UrlError::NotPublic.to_string(),
            ));
        }
    }
    Ok(url.to_string())
}

/// Sets the merchant's endpoint: creates it with a new signing secret (returned, once), or
/// changes its URL and events, enabling it again if it was disabled (the secret stays).
pub async fn set_endpoint(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    input: &EndpointInput,
) -> ServiceResult<(webhook_endpoint::Model, Option<String>)> {
    let url = checked_url(&input.url, deps.webhooks.policy).await?;
    let mut names: Vec<&str> = input.event_types.iter().map(|t| t.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let event_types = serde_json::to_string(&names).or_internal(|| "event types")?;
    retry_transient(|| async {
        let now = deps.clock.now();
        let at = ChronoUnixTimestampMillis(now);
        let mut work = UnitOfWork::begin(deps).await?;
        let existing = locked_endpoint(work.txn(), merchant_id).await?;
        let (endpoint, secret) = match existing {
            Some(existing) => {
                let changed = webhook_endpoint::Model {
                    url: url.clone(),
                    event_types: event_types.clone(),
                    status: EndpointStatus::Enabled,
                    disabled_reason: None,
                    failing_since: None,
                    updated_at: at,
                    ..existing
                };
                changed
                    .clone()
                    .into_active_model()
                    .reset_all()
                    .update(work.txn())
                    .await?;
                (changed, None)
            }
            None => {
                let id = Uuid::now_v7();
                let secret = random_secret("whsec_");
                let created = webhook_endpoint::Model {
                    id,
                    merchant_id,
                    url: url.clone(),
                    event_types: event_types.clone(),
                    secret: seal(deps, id, "secret", &secret),
                    previous_secret: None,
                    previous_secret_expires_at: None,
                    status: EndpointStatus::Enabled,
                    disabled_reason: None,
                    failing_since: None,
                    created_at: at,
                    updated_at: at,
                };
                webhook_endpoint::Entity::insert(created.clone().into_active_model())
                    .exec_without_returning(work.txn())
                    .await?;
                (created, Some(secret))
            }
        };
        let details = json!({ "url": url, "eventTypes": names, "created": secret.is_some() });
        let target = Some(("webhook_endpoint", endpoint.id));
        work.audit(actor, "webhook_endpoint.set", target, details, now);
        work.commit().await?;
        Ok((endpoint, secret))
    })
    .await
}

async fn locked_endpoint(
    txn: &DatabaseTransaction,
    merchant_id: Uuid,
) -> ServiceResult<Option<webhook_endpoint::Model>> {
    Ok(webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::MerchantId.eq(merchant_id))
        .lock_exclusive()
        .one(txn)
        .await?)
}

/// Gives the endpoint a new signing secret (returned, once). The old one keeps signing
/// beside it for `overlap` (up to [`MAX_SECRET_OVERLAP`]), so receivers can switch
/// without missing a delivery.
pub async fn rotate_secret(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    overlap: Duration,
) -> ServiceResult<(webhook_endpoint::Model, String)> {
    if overlap < Duration::zero() || overlap > MAX_SECRET_OVERLAP {
        return Err(ServiceError::refused(
            "keepPreviousSecretForSeconds",
            ViolationCode::OutOfRange,
            "must be between 0 and 604800 (7 days)",
        ));
    }
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let current = locked_endpoint(work.txn(), merchant_id)
        .await?
        .ok_or_else(|| {
            ServiceError::refused(
                "keepPreviousSecretForSeconds",
                ViolationCode::WebhookEndpointMissing,
                "set a webhook endpoint first",
            )
        })?;
    let old = open(deps, current.id, "secret", &current.secret)?;
    let secret = random_secret("whsec_");
    let keep = overlap > Duration::zero();
    let rotated = webhook_endpoint::Model {
        secret: seal(deps, current.id, "secret", &secret),
        previous_secret: keep.then(|| seal(deps, current.id, "previous_secret", &old)),
        previous_secret_expires_at: keep.then_some(ChronoUnixTimestampMillis(now + overlap)),
        updated_at: ChronoUnixTimestampMillis(now),
        ..current
    };
    rotated
        .clone()
        .into_active_model()
        .reset_all()
        .update(work.txn())
        .await?;
    let details = json!({ "previousSecretSeconds": overlap.num_seconds() });
    let target = Some(("webhook_endpoint", rotated.id));
    work.audit(
        actor,
        "webhook_endpoint.secret_rotated",
        target,
        details,
        now,
    );
    work.commit().await?;
    Ok((rotated, secret))
}

/// Which deliveries to list. All conditions must hold; each has an index that also sorts.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// Only deliveries in this status.
    pub status: Option<DeliveryStatus>,
    /// Only deliveries of this event type.
    pub event_type: Option<EventType>,
}

fn filtered(merchant_id: Uuid, filter: &DeliveryFilter) -> Select<webhook_delivery::Entity> {
    use webhook_delivery::Column;
    let mut select = webhook_delivery::Entity::find().filter(Column::MerchantId.eq(merchant_id));
    if let Some(status) = filter.status {
        select = select.filter(Column::Status.eq(status));
    }
    if let Some(event_type) = filter.event_type {
        select = select.filter(Column::EventType.eq(event_type));
    }
    select
}

/// The keyset position of a delivery.
pub fn cursor(delivery: &webhook_delivery::Model) -> Cursor {
    Cursor {
        value: delivery.created_at.0.timestamp_millis(),
        id: delivery.id,
    }
}

/// One page of the merchant's deliveries by creation time, in one statement.
pub async fn list_deliveries(
    db: &DatabaseConnection,
    merchant_id: Uuid,
    filter: &DeliveryFilter,
    descending: bool,
    page: PageRequest,
) -> ServiceResult<Page<webhook_delivery::Model>> {
    let keyset = Keyset {
        column: webhook_delivery::Column::CreatedAt,
        id: webhook_delivery::Column::Id,
        descending,
    };
    Ok(keyset
        .fetch(db, filtered(merchant_id, filter), page)
        .await?)
}

/// How many of the merchant's deliveries match `filter`.
pub async fn count_deliveries(
    db: &DatabaseConnection,
    merchant_id: Uuid,
    filter: &DeliveryFilter,
) -> ServiceResult<u64> {
    Ok(filtered(merchant_id, filter).count(db).await?)
}

/// One of the merchant's deliveries; anyone else's is not found.
pub async fn delivery(
    db: &DatabaseConnection,
    merchant_id: Uuid,
    id: Uuid,
) -> ServiceResult<webhook_delivery::Model> {
    webhook_delivery::Entity::find_by_id(id)
        .filter(webhook_delivery::Column::MerchantId.eq(merchant_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The attempts of each delivery, in order, in one statement.
pub async fn attempts_by_delivery(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> ServiceResult<HashMap<Uuid, Vec<webhook_attempt::Model>>> {
    let rows = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.is_in(ids.iter().copied()))
        .order_by_asc(webhook_attempt::Column::DeliveryId)
        .order_by_asc(webhook_attempt::Column::Number)
        .all(db)
        .await?;
    let mut by_delivery: HashMap<Uuid, Vec<webhook_attempt::Model>> = HashMap::new();
    for row in rows {
        by_delivery.entry(row.delivery_id).or_default().push(row);
    }
    Ok(by_delivery)
}

/// Sends a delivery again now, whatever its status: one more attempt, then the usual
/// retries while its window lasts. Refused while the endpoint is disabled.
pub async fn redeliver(
    deps: &Deps,
    actor: &Actor,
    merchant_id: Uuid,
    delivery_id: Uuid,
) -> ServiceResult<webhook_delivery::Model> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    // The endpoint before its delivery, in the order the delivery job locks them.
    let endpoint = locked_endpoint(work.txn(), merchant_id).await?;
    let current = webhook_delivery::Entity::find_by_id(delivery_id)
        .filter(webhook_delivery::Column::MerchantId.eq(merchant_id))
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or(ServiceError::NotFound)?;
    let enabled = endpoint.as_ref().is_some_and(|endpoint| {
        endpoint.id == current.endpoint_id && endpoint.status == EndpointStatus::Enabled
    });
    if !enabled {
        return Err(ServiceError::refused(
            "deliveryId",
            ViolationCode::WebhookEndpointDisabled,
            "the endpoint is disabled: set it again with setWebhookEndpoint first",
        ));
    }
    let at = ChronoUnixTimestampMillis(now);
    let queued = webhook_delivery::Model {
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(at),
        redelivery_requested: true,
        updated_at: at,
        ..current
    };
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value(queued.status))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(
            webhook_delivery::Column::RedeliveryRequested,
            Expr::value(true),
        )
        .col_expr(
            webhook_delivery::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(webhook_delivery::Column::Id.eq(delivery_id))
        .exec(work.txn())
        .await?;
    let target = Some(("webhook_delivery", delivery_id));
    let details = json!({ "eventId": queued.event_id, "eventType": queued.event_type });
    work.audit(actor, "webhook.redelivery_requested", target, details, now);
    work.commit().await?;
    deps.events.deliveries_queued();
    Ok(queued)
}
