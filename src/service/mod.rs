//! Use cases over the database. Every function scopes its queries to the calling owner,
//! and every change is one [`unit_of_work::UnitOfWork`]: its writes, audit entries and
//! outbox events committed together.

pub mod api_keys;
pub mod attempts;
pub mod audit;
pub mod cache;
pub mod caches;
pub mod checkout_pii;
pub mod checkouts;
pub mod consumers;
pub mod idempotency;
pub mod key_rotation;
pub mod merchant_secrets;
pub mod merchants;
pub mod mfa;
pub mod orders;
pub mod outbox;
pub mod pagination;
pub mod payment_methods;
pub mod plans;
pub mod signed_returns;
pub mod staff;
pub mod unit_of_work;
pub mod webhooks;

pub use caches::{CacheChange, Caches, SharedCaches};

use std::{future::Future, sync::Arc};

use chrono::Duration;
use sea_orm::{DatabaseConnection, DbErr};

use crate::{
    auth::{
        jwt::KeyRing,
        throttle::{LoginThrottle, RequestLimiter},
    },
    clock::Clock,
    domain::{
        checkout::MaxTotal,
        violation::{Path, Violation, ViolationCode},
    },
    encryption::Vault,
    events::EventBus,
    payments::PaymentGateway,
};

/// What every use case depends on: the database, the clock, the business settings and the
/// shared machinery (gateway, event bus, caches, limiters), built once at start.
#[derive(Clone)]
pub struct Deps {
    /// Connection pool.
    pub db: DatabaseConnection,
    /// Source of "now".
    pub clock: Arc<dyn Clock>,
    /// How long a checkout stays open when the merchant gives no expiry.
    pub checkout_ttl: Duration,
    /// The platform's largest checkout total; a merchant's own maximum can only lower it.
    pub max_checkout_total: MaxTotal,
    /// Where committed changes are announced.
    pub events: EventBus,
    /// Where shoppers open checkouts: an external checkout app, or paylater's own page.
    pub checkout_app_url: String,
    /// Production: new API keys are `sk_live_…` rather than `sk_test_…`.
    pub live_mode: bool,
    /// Last use of API keys, written in batches.
    pub key_usage: api_keys::UsageTracker,
    /// Signs and verifies access tokens.
    pub keys: Arc<KeyRing>,
    /// Encrypts and decrypts sensitive columns.
    pub vault: Arc<Vault>,
    /// How long an access token lives.
    pub access_token_ttl: Duration,
    /// Buckets that slow down password guessing.
    pub login_throttle: Arc<LoginThrottle>,
    /// Buckets that limit how much work each caller may ask for.
    pub request_limiter: Arc<RequestLimiter>,
    /// Request signatures seen lately; a signature seen twice is a replay.
    pub signature_replays: moka::future::Cache<String, ()>,
    /// Charges and refunds cards.
    pub gateway: Arc<dyn PaymentGateway>,
    /// How long a merchant has to capture an order before it is voided.
    pub capture_window: Duration,
    /// How old an unanswered payment attempt (or a claimed idempotency key that never
    /// recorded one) is before the reconciler takes it over from its request.
    pub reconcile_after: Duration,
    /// Points where tests stop or break a payment attempt; none is armed in a server.
    pub failpoints: Arc<attempts::Failpoints>,
    /// Wakes requests waiting for a payment of their checkout or order to settle.
    pub settled: attempts::SettledSignal,
    /// Which URLs may receive webhooks, and how long failures are retried.
    pub webhooks: webhooks::WebhookSettings,
    /// Sends webhook requests.
    pub webhook_sender: Arc<crate::events::WebhookSender>,
    /// How long published events and finished deliveries are kept.
    pub retention: Retention,
    /// Read-mostly data kept in memory.
    pub caches: SharedCaches,
}

impl Deps {
    /// The checkout app's URL for a checkout token.
    pub fn checkout_url(&self, token: &str) -> String {
        format!("{}/{token}", self.checkout_app_url.trim_end_matches('/'))
    }
}

/// How long finished rows are kept, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// How long an outbox event is kept after it was published.
    pub outbox_events: Duration,
    /// How long a webhook delivery is kept after it finished (its last change).
    pub webhook_deliveries: Duration,
}

/// Why a use case did not complete.
///
/// The error policy: what the caller can fix is [`ServiceError::Rejected`] (a violation
/// of a named input field), [`ServiceError::BadInput`] or [`ServiceError::NotFound`]; what
/// the server failed at is [`ServiceError::Database`] or [`ServiceError::Internal`], which
/// keep their cause for the logs and reach the caller only as `INTERNAL`. A broken unique
/// index becomes the caller's refusal only where it names one ([`OnUnique::on_unique`]).
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into a response
/// message, which would leak database text. The GraphQL layer maps each variant instead,
/// and operator tools use [`ServiceError::describe`].
#[derive(Debug)]
pub enum ServiceError {
    /// The object does not exist or belongs to someone else (the two are never told apart).
    NotFound,
    /// The caller's input breaks a rule it can fix; nothing was changed.
    Rejected(Vec<Violation>),
    /// The caller's arguments are malformed (a bad cursor, a page size out of range).
    BadInput(String),
    /// The caller's credentials (a refresh token, say) are not valid.
    Unauthenticated(String),
    /// Too many attempts; try again after this long.
    RateLimited {
        /// How long until an attempt is allowed again.
        retry_after: std::time::Duration,
    },
    /// The database failed; details are logged, never shown to the caller.
    Database(DbErr),
    /// Something else on the server failed (hashing, signing, decryption, a stored value
    /// that does not read back); logged with its chain of causes, never shown to the caller.
    Internal(anyhow::Error),
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        Self::Database(err)
    }
}

impl ServiceError {
    /// A refusal of one input field, which the caller can fix.
    pub fn refused(field: &str, code: ViolationCode, message: &str) -> Self {
        Self::Rejected(vec![Violation::new(
            &Path::input().at(field),
            code,
            message,
        )])
    }

    /// An internal failure with no underlying error, described for the logs.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!(what.to_string()))
    }

    /// Full text for operators (command-line tools, logs); never for API clients.
    pub fn describe(&self) -> String {
        match self {
            Self::NotFound => "not found".to_owned(),
            Self::Rejected(violations) => violations
                .iter()
                .map(|v| format!("{}: {}", v.field.join("."), v.message))
                .collect::<Vec<_>>()
                .join("; "),
            Self::BadInput(message) | Self::Unauthenticated(message) => message.clone(),
            Self::RateLimited { retry_after } => format!("rate limited for {retry_after:?}"),
            Self::Database(err) => format!("database error: {err}"),
            Self::Internal(err) => format!("{err:#}"),
        }
    }
}

/// Result of a use case.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Turns any failure of the server's own machinery into [`ServiceError::Internal`], keeping
/// the failure as the cause and adding what was being done.
pub trait OrInternal<T> {
    /// The result, or an internal error that says `context()` and keeps the cause.
    fn or_internal<C>(self, context: impl FnOnce() -> C) -> ServiceResult<T>
    where
        C: std::fmt::Display + Send + Sync + 'static;
}

impl<T, E: Into<anyhow::Error>> OrInternal<T> for Result<T, E> {
    fn or_internal<C>(self, context: impl FnOnce() -> C) -> ServiceResult<T>
    where
        C: std::fmt::Display + Send + Sync + 'static,
    {
        self.map_err(|err| ServiceError::Internal(err.into().context(context())))
    }
}

/// Maps the violation of one unique index to the refusal the caller can fix.
pub trait OnUnique<T> {
    /// The result; a write that broke the unique index over `column` becomes `refusal()`,
    /// and every other failure stays a database error.
    fn on_unique(self, column: &str, refusal: impl FnOnce() -> ServiceError) -> ServiceResult<T>;
}

impl<T> OnUnique<T> for Result<T, DbErr> {
    fn on_unique(self, column: &str, refusal: impl FnOnce() -> ServiceError) -> ServiceResult<T> {
        self.map_err(|err| {
            if crate::db::violated_unique(&err).is_some_and(|index| index.contains(column)) {
                refusal()
            } else {
                err.into()
            }
        })
    }
}

/// How many times a transaction is tried before its transient failure is reported.
const ATTEMPTS: usize = 3;

/// Runs a transaction, running it again when it fails transiently (see [`crate::db::is_transient`]).
pub async fn retry_transient<T, F, Fut>(mut run: F) -> ServiceResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ServiceResult<T>>,
{
    let mut attempt = 1;
    loop {
        match run().await {
            Err(ServiceError::Database(err))
                if attempt < ATTEMPTS && crate::db::is_transient(&err) =>
            {
                tracing::info!(error = %err, attempt, "transient database failure; retrying");
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_cause() {
        let failed: Result<u8, _> = "x".parse::<u8>();
        let err = failed.or_internal(|| "reading a count").unwrap_err();
        assert_eq!(
            err.describe(),
            "reading a count: invalid digit found in string"
        );
        let ServiceError::Internal(err) = err else {
            panic!("not internal: {err:?}");
        };
        assert!(err.root_cause().is::<std::num::ParseIntError>());
    }

    #[test]
    fn only_the_named_unique_index_becomes_a_refusal() {
        let refusal = || ServiceError::refused("email", ViolationCode::EmailTaken, "taken");
        let other: Result<(), DbErr> = Err(DbErr::Custom("disk full".to_owned()));
        assert!(matches!(
            other.on_unique("email_lookup", refusal),
            Err(ServiceError::Database(_))
        ));
    }
}
