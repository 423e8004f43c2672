//! Webhooks in the API: the merchant's endpoint and its signing secret, the delivery log,
//! and redelivery. Every field needs the `webhooks:manage` scope.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};

use super::{
    connection::{Connection, PageArgs, SortDirection, wants_total_count},
    context::{ScopeGuard, actor, deps, loaders, merchant_with},
    errors::{UserError, payload_parts},
    events::EventType,
    ids::{NodeKind, decode, encode},
    loaders::load_one,
    scalars::DateTime,
};
use crate::{
    domain::scope::Scope,
    domain::webhook::{DeliveryStatus, EndpointStatus},
    service::webhooks::{self, DeliveryFilter, EndpointInput},
};

/// Whether an endpoint receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "EndpointStatus")]
pub enum WebhookEndpointStatus {
    /// Events are sent.
    Enabled,
    /// Every attempt failed for the whole retry window; nothing is sent until the endpoint
    /// is set again with `setWebhookEndpoint`.
    Disabled,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "DeliveryStatus")]
pub enum WebhookDeliveryStatus {
    /// Not yet answered with a 2xx; another attempt is planned (`nextAttemptAt`).
    Pending,
    /// An attempt was answered with a 2xx.
    Succeeded,
    /// Given up: every attempt failed for the whole retry window, or the endpoint was
    /// disabled. `redeliverWebhook` tries again.
    Failed,
}

/// Where a merchant's events are POSTed.
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// Where a merchant's events are POSTed.
#[Object]
impl WebhookEndpoint {
    /// The URL events are POSTed to.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The events sent; empty means every event.
    async fn event_types(&self) -> async_graphql::Result<Vec<EventType>> {
        let types = webhooks::subscribed_types(&self.0)?.unwrap_or_default();
        Ok(types.into_iter().map(EventType::from).collect())
    }

    /// Whether events are sent.
    async fn status(&self) -> WebhookEndpointStatus {
        self.0.status.into()
    }

    /// Why the endpoint was disabled, when it is.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Since when every attempt has failed; null while the last one succeeded. An endpoint
    /// failing for the whole retry window is disabled.
    async fn failing_since(&self) -> Option<DateTime> {
        self.0.failing_since.map(|at| DateTime(at.0))
    }

    /// Until when the secret replaced by `rotateWebhookSecret` still signs deliveries,
    /// beside the new one.
    async fn previous_secret_expires_at(&self) -> Option<DateTime> {
        self.0.previous_secret_expires_at.map(|at| DateTime(at.0))
    }

    /// When the endpoint was set up.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at.0)
    }
}

/// One event on its way to the merchant's endpoint, with every attempt made.
#[derive(Clone)]
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One event on its way to the merchant's endpoint, with every attempt made.
#[Object]
impl WebhookDelivery {
    /// Opaque global ID; pass it to `redeliverWebhook` or `node(id:)`.
    pub async fn id(&self) -> ID {
        encode(NodeKind::WebhookDelivery, self.0.id)
    }

    /// The event's id, as in the body's `id` and the `Paylater-Event-Id` header.
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }

    /// What happened.
    async fn event_type(&self) -> EventType {
        self.0.event_type.into()
    }

    /// Where the delivery is.
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status.into()
    }

    /// The JSON body POSTed, byte for byte.
    async fn payload(&self) -> &str {
        &self.0.payload
    }

    /// How many attempts were made.
    async fn attempt_count(&self) -> i32 {
        self.0.attempt_count
    }

    /// When the next attempt is due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime> {
        (self.0.status == DeliveryStatus::Pending)
            .then(|| self.0.next_attempt_at.map(|at| DateTime(at.0)))
            .flatten()
    }

    /// The HTTP status of the last attempt, if it got an answer.
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status_code
    }

    /// Why the last attempt failed, if it did.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the event was queued for this endpoint.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }

    /// When an attempt first succeeded.
    async fn delivered_at(&self) -> Option<DateTime> {
        self.0.delivered_at.map(|at| DateTime(at.0))
    }

    /// Every attempt, first first.
    async fn attempts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookAttempt>> {
        let rows = load_one(&loaders(ctx)?.webhook_attempts, self.0.id).await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(WebhookAttempt)
            .collect())
    }
}

/// One POST of a delivery.
pub struct WebhookAttempt(webhook_attempt::Model);

/// One POST of a delivery.
#[Object]
impl WebhookAttempt {
    /// Which attempt, from 1.
    async fn number(&self) -> i32 {
        self.0.number
    }

    /// When it started.
    async fn started_at(&self) -> DateTime {
        DateTime(self.0.started_at.0)
    }

    /// How long until the answer or the failure, in milliseconds.
    async fn duration_ms(&self) -> i32 {
        self.0.duration_ms
    }

    /// The HTTP status answered, if any.
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }

    /// Why it failed: no connection, no answer in time, or a status other than 2xx.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    /// Whether it was answered with a 2xx.
    async fn succeeded(&self) -> bool {
        self.0.error.is_none()
    }

    /// Made because the merchant asked with `redeliverWebhook`.
    async fn redelivery(&self) -> bool {
        self.0.redelivery
    }
}

/// Which deliveries to list. All conditions must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct WebhookDeliveryFilterInput {
    /// Only deliveries in this status.
    pub status: Option<WebhookDeliveryStatus>,
    /// Only deliveries of this event type.
    pub event_type: Option<EventType>,
}

/// The merchant's deliveries, one page of them.
pub async fn list_deliveries(
    ctx: &Context<'_>,
    merchant_id: uuid::Uuid,
    page: PageArgs,
    filter: Option<WebhookDeliveryFilterInput>,
    direction: Option<SortDirection>,
) -> async_graphql::Result<Connection<WebhookDelivery>> {
    let direction = direction.unwrap_or_default();
    let order = format!("CREATED_AT:{direction:?}");
    let page = page.request(&order)?;
    let filter = filter.unwrap_or_default();
    let filter = DeliveryFilter {
        status: filter.status.map(Into::into),
        event_type: filter.event_type.map(Into::into),
    };
    let db = &deps(ctx)?.db;
    let descending = direction == SortDirection::Desc;
    let rows = webhooks::list_deliveries(db, merchant_id, &filter, descending, page).await?;
    let ids: Vec<_> = rows.rows.iter().map(|row| row.id).collect();
    loaders(ctx)?
        .webhook_attempts
        .load_many(ids)
        .await
        .map_err(super::loaders::load_failed)?;
    let total_count = if wants_total_count(ctx) {
        webhooks::count_deliveries(db, merchant_id, &filter).await?
    } else {
        0
    };
    Ok(Connection::new(
        &order,
        rows,
        webhooks::cursor,
        WebhookDelivery,
        total_count,
    ))
}

/// Where to send the merchant's events.
#[derive(Debug, Clone, InputObject)]
pub struct SetWebhookEndpointInput {
    /// The URL to POST events to: https in production, on a public address.
    pub url: String,
    /// The events to send; omit or leave empty for every event.
    #[graphql(default)]
    pub event_types: Vec<EventType>,
}

/// The endpoint set, and its signing secret when it was just created.
#[derive(SimpleObject)]
pub struct SetWebhookEndpointPayload {
    /// The endpoint, when set.
    pub endpoint: Option<WebhookEndpoint>,
    /// The signing secret, shown only when the endpoint is created; store it now. Setting
    /// an existing endpoint keeps its secret (see `rotateWebhookSecret`).
    pub signing_secret: Option<String>,
    /// Why the endpoint was not set.
    pub user_errors: Vec<UserError>,
}

/// How to rotate the signing secret.
#[derive(Debug, Clone, InputObject)]
pub struct RotateWebhookSecretInput {
    /// How long the old secret keeps signing beside the new one, in seconds (0 to 604800;
    /// 24 hours by default), so receivers can switch without missing a delivery.
    #[graphql(default = 86400)]
    pub keep_previous_secret_for_seconds: i32,
}

/// The endpoint with its new secret.
#[derive(SimpleObject)]
pub struct RotateWebhookSecretPayload {
    /// The endpoint, when rotated.
    pub endpoint: Option<WebhookEndpoint>,
    /// The new signing secret, shown only now.
    pub signing_secret: Option<String>,
    /// Why the secret was not rotated.
    pub user_errors: Vec<UserError>,
}

/// Which delivery to send again.
#[derive(Debug, Clone, InputObject)]
pub struct RedeliverWebhookInput {
    /// The delivery's global ID.
    pub delivery_id: ID,
}

/// The delivery queued again.
#[derive(SimpleObject)]
pub struct RedeliverWebhookPayload {
    /// The delivery, due now.
    pub delivery: Option<WebhookDelivery>,
    /// Why it was not queued.
    pub user_errors: Vec<UserError>,
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Sets where the calling merchant's events are POSTed, and which. The first time, it
    /// returns the signing secret (once). Setting it again changes the URL and events,
    /// keeps the secret, and enables an endpoint that was disabled. Needs the
    /// `webhooks:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::WebhooksManage)")]
    async fn set_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The URL and the events.")] input: SetWebhookEndpointInput,
    ) -> async_graphql::Result<SetWebhookEndpointPayload> {
        let merchant = merchant_with(ctx, Scope::WebhooksManage)?;
        let input = EndpointInput {
            url: input.url,
            event_types: input.event_types.into_iter().map(Into::into).collect(),
        };
        let set =
            webhooks::set_endpoint(deps(ctx)?, &actor(ctx), merchant.merchant_id, &input).await;
        let (set, user_errors) = payload_parts(set)?;
        let (endpoint, signing_secret) = set.unzip();
        Ok(SetWebhookEndpointPayload {
            endpoint: endpoint.map(WebhookEndpoint),
            signing_secret: signing_secret.flatten(),
            user_errors,
        })
    }

    /// Replaces the signing secret; the new one is returned once. The old one keeps
    /// signing beside it (a second `v1=` in `Paylater-Signature`) for
    /// `keepPreviousSecretForSeconds`. Needs the `webhooks:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::WebhooksManage)")]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How long the old secret still signs.")] input: RotateWebhookSecretInput,
    ) -> async_graphql::Result<RotateWebhookSecretPayload> {
        let merchant = merchant_with(ctx, Scope::WebhooksManage)?;
        let overlap = chrono::Duration::seconds(i64::from(input.keep_previous_secret_for_seconds));
        let rotated =
            webhooks::rotate_secret(deps(ctx)?, &actor(ctx), merchant.merchant_id, overlap).await;
        let (rotated, user_errors) = payload_parts(rotated)?;
        let (endpoint, signing_secret) = rotated.unzip();
        Ok(RotateWebhookSecretPayload {
            endpoint: endpoint.map(WebhookEndpoint),
            signing_secret,
            user_errors,
        })
    }

    /// Sends a delivery again now, whatever its status, then retries it as usual while its
    /// retry window lasts. Refused while the endpoint is disabled. Needs the
    /// `webhooks:manage` scope.
    #[graphql(guard = "ScopeGuard(Scope::WebhooksManage)")]
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which delivery.")] input: RedeliverWebhookInput,
    ) -> async_graphql::Result<RedeliverWebhookPayload> {
        let merchant = merchant_with(ctx, Scope::WebhooksManage)?;
        let id = decode(&input.delivery_id, NodeKind::WebhookDelivery)?;
        let queued = webhooks::redeliver(deps(ctx)?, &actor(ctx), merchant.merchant_id, id).await;
        let (delivery, user_errors) = payload_parts(queued)?;
        Ok(RedeliverWebhookPayload {
            delivery: delivery.map(WebhookDelivery),
            user_errors,
        })
    }
}
