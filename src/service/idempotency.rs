//! Idempotency keys of money-moving mutations. A key is scoped to its principal and lives
//! 24 hours: the same key with the same input replays the first outcome (success or
//! refusal); with another input it is refused; while the first request still runs, a second
//! one is told the key is in use, and while its payment waits for the gateway's answer,
//! that the payment is pending. Passing failures (a gateway processing error) and failures
//! outside the caller's control before any money was asked for release the key, so a retry
//! runs again.
//!
//! A key goes `IN_PROGRESS` (claimed) → `PENDING` (its payment attempt is recorded; see
//! [`super::attempts`]) → `DONE` (the outcome is stored). Only an `IN_PROGRESS` key whose
//! request died before recording a payment is ever taken over: a `PENDING` one is settled
//! by its attempt, whatever happens to the request.

use chrono::{DateTime, Duration, Utc};
use entity::idempotency_key;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Deps, OrInternal, ServiceError, ServiceResult};
use crate::domain::{
    idempotency::KeyStatus,
    violation::{Violation, ViolationCode},
};

/// How long a key is remembered.
pub const KEY_LIFETIME: Duration = Duration::hours(24);

/// One request under a key: who, which operation, and a digest of its input.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The principal, e.g. `consumer:<uuid>`.
    pub principal: String,
    /// The mutation, e.g. `confirmCheckout`.
    pub operation: &'static str,
    /// The client's key.
    pub key: &'a str,
    /// Digest of the input, from [`digest`].
    pub input_hash: String,
}

/// The digest of an operation's input parts, to tell a replay from a reuse.
pub fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// What [`claim`] found.
#[derive(Debug)]
pub enum Claim<T> {
    /// The key is new: run the operation, then [`finish`] with this row id.
    Fresh(Uuid),
    /// The key was used for this input already: here is its outcome.
    Replay(Result<T, Vec<Violation>>),
}

fn refused(code: ViolationCode, message: &str) -> ServiceError {
    ServiceError::refused("idempotencyKey", code, message)
}

/// Claims a key for a request, or finds its earlier outcome.
pub async fn claim<T: DeserializeOwned>(
    deps: &Deps,
    request: &Request<'_>,
) -> ServiceResult<Claim<T>> {
    let key = request.key;
    if key.trim().is_empty() || key.chars().count() > 255 || key.chars().any(char::is_control) {
        return Err(refused(
            ViolationCode::InvalidIdempotencyKey,
            "use 1 to 255 printable characters, e.g. a UUID",
        ));
    }
    let now = deps.clock.now();
    for _ in 0..2 {
        let id = Uuid::now_v7();
        let row = idempotency_key::Model {
            id,
            principal: request.principal.clone(),
            key: key.to_owned(),
            operation: request.operation.to_owned(),
            request_hash: request.input_hash.clone(),
            status: KeyStatus::InProgress,
            response: None,
            created_at: ChronoUnixTimestampMillis(now),
            expires_at: ChronoUnixTimestampMillis(now + KEY_LIFETIME),
        };
        match idempotency_key::Entity::insert(row.into_active_model())
            .exec_without_returning(&deps.db)
            .await
        {
            Ok(_) => return Ok(Claim::Fresh(id)),
            Err(err) if crate::db::violated_unique(&err).is_some() => {}
            Err(err) => return Err(err.into()),
        }
        let Some(existing) = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::Principal.eq(&request.principal))
            .filter(idempotency_key::Column::Key.eq(key))
            .one(&deps.db)
            .await?
        else {
            continue; // released meanwhile: claim again
        };
        let expired = existing.expires_at.0 <= now && existing.status == KeyStatus::Done;
        if expired || is_stale(&existing, now, deps.reconcile_after) {
            // Expired, or its request died before asking for money: take it over if nobody
            // else did first (or moved it on meanwhile).
            idempotency_key::Entity::delete_many()
                .filter(idempotency_key::Column::Id.eq(existing.id))
                .filter(idempotency_key::Column::Status.eq(existing.status))
                .exec(&deps.db)
                .await?;
            continue;
        }
        if existing.operation != request.operation || existing.request_hash != request.input_hash {
            return Err(refused(
                ViolationCode::IdempotencyKeyReused,
                "this key was used with another input; use a new key for a new request",
            ));
        }
        return match existing.response {
            Some(response) if existing.status == KeyStatus::Done => {
                let outcome =
                    serde_json::from_str(&response).or_internal(|| "stored idempotent response")?;
                Ok(Claim::Replay(outcome))
            }
            _ if existing.status == KeyStatus::Pending => Err(payment_pending()),
            _ => Err(refused(
                ViolationCode::IdempotencyKeyInUse,
                "a request with this key is still being processed; retry in a moment",
            )),
        };
    }
    Err(refused(
        ViolationCode::IdempotencyKeyInUse,
        "a request with this key is still being processed; retry in a moment",
    ))
}

/// The answer to a client whose payment was asked of the card gateway and whose outcome is
/// not known yet: the first request's, and every replay's until it is settled.
pub fn payment_pending() -> ServiceError {
    refused(
        ViolationCode::PaymentPending,
        "the card gateway has not answered yet; the payment is settled automatically within \
         minutes: send the same request with the same idempotency key to learn the outcome",
    )
}

/// A claim whose request has run this long without recording a payment is taken to have
/// died (crashed, or cut off by the request timeout before it could release the key);
/// nothing it did was committed, so the key may run again.
fn is_stale(row: &idempotency_key::Model, now: DateTime<Utc>, after: Duration) -> bool {
    row.status == KeyStatus::InProgress && row.created_at.0 + after <= now
}

/// Marks a claimed key as waiting for its payment attempt, in the transaction that records
/// the attempt. Refused when the claim was taken over meanwhile (its request was too slow).
pub async fn mark_pending(conn: &impl ConnectionTrait, id: Uuid) -> ServiceResult<()> {
    let marked = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            Expr::value(KeyStatus::Pending),
        )
        .filter(idempotency_key::Column::Id.eq(id))
        .filter(idempotency_key::Column::Status.eq(KeyStatus::InProgress))
        .exec(conn)
        .await?;
    if marked.rows_affected == 1 {
        Ok(())
    } else {
        Err(refused(
            ViolationCode::IdempotencyKeyInUse,
            "a request with this key is still being processed; retry in a moment",
        ))
    }
}

/// The outcome stored under a key, once its request finished.
pub async fn stored<T: DeserializeOwned>(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> ServiceResult<Option<Result<T, Vec<Violation>>>> {
    let row = idempotency_key::Entity::find_by_id(id).one(conn).await?;
    match row {
        Some(row) if row.status == KeyStatus::Done => row
            .response
            .map(|response| {
                serde_json::from_str(&response).or_internal(|| "stored idempotent response")
            })
            .transpose(),
        _ => Ok(None),
    }
}

/// Forgets claims older than `after` whose requests died before recording a payment, so
/// their keys run again when sent again; answers how many.
pub async fn release_stale(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    after: Duration,
) -> ServiceResult<u64> {
    let deleted = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Status.eq(KeyStatus::InProgress))
        .filter(idempotency_key::Column::CreatedAt.lte((now - after).timestamp_millis()))
        .exec(conn)
        .await?;
    Ok(deleted.rows_affected)
}

/// Forgets a claimed key in `conn` (within a settlement's transaction: the payment was
/// refused for now, and the same request may be sent again).
pub async fn release_in(conn: &impl ConnectionTrait, id: Uuid) -> ServiceResult<()> {
    idempotency_key::Entity::delete_by_id(id).exec(conn).await?;
    Ok(())
}

/// Stores the outcome under the key, on `conn`: within the operation's own transaction for
/// a success, so the change and its outcome commit together.
pub async fn finish<T: Serialize>(
    conn: &impl ConnectionTrait,
    id: Uuid,
    outcome: &Result<T, Vec<Violation>>,
) -> ServiceResult<()> {
    let response = serde_json::to_string(outcome).or_internal(|| "idempotent response")?;
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            Expr::value(KeyStatus::Done),
        )
        .col_expr(idempotency_key::Column::Response, Expr::value(response))
        .filter(idempotency_key::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets a claimed key whose request failed for reasons outside the caller's control.
pub async fn release(deps: &Deps, id: Uuid) {
    let deleted = idempotency_key::Entity::delete_by_id(id)
        .exec(&deps.db)
        .await;
    if let Err(err) = deleted {
        tracing::warn!(error = %err, "cannot release an idempotency key; it expires on its own");
    }
}

/// Runs `operation` under an idempotency key. Refusals are stored as the key's outcome
/// here; a success must be stored by the operation itself, in its transaction, with
/// [`finish`] and the row id it is given.
pub async fn run<T, F, Fut>(deps: &Deps, request: &Request<'_>, operation: F) -> ServiceResult<T>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce(Uuid) -> Fut,
    Fut: Future<Output = ServiceResult<T>>,
{
    let id = match claim::<T>(deps, request).await? {
        Claim::Replay(outcome) => return outcome.map_err(ServiceError::Rejected),
        Claim::Fresh(id) => id,
    };
    match operation(id).await {
        Ok(value) => Ok(value),
        Err(ServiceError::Rejected(violations))
            if !violations.iter().any(|v| v.code.is_transient()) =>
        {
            let outcome: Result<T, Vec<Violation>> = Err(violations);
            if finish(&deps.db, id, &outcome).await.is_err() {
                release(deps, id).await;
            }
            outcome.map_err(ServiceError::Rejected)
        }
        Err(other) => {
            release(deps, id).await;
            Err(other)
        }
    }
}
