//! Payment attempts: every movement of money, in three atomic phases, so that no
//! transaction or lock is held while the card gateway takes its time, and a crash between
//! any two steps leaves what is needed to finish.
//!
//! 1. **Intent**, a short transaction of the operation's own: validate, lock, reserve
//!    (the checkout is confirming, the order's money is moving), and [`record`] the
//!    attempt: pending, with its amount and, for refunds, the charges it draws from. The
//!    gateway's idempotency keys are made from the attempt's id
//!    ([`crate::domain::attempt::gateway_key`]), so they exist before the first call.
//! 2. **Gateway call** ([`execute`]), outside any transaction.
//! 3. **Outcome**, a short transaction: the attempt is marked settled (only if it is still
//!    pending, so two processes never settle it twice) and the operation's
//!    [`Settlement`] writes the order, instalments, refund, audit entry and outbox event,
//!    with the client's idempotency key finished in the same commit.
//!
//! When the gateway does not answer, or phase 3 cannot commit, the attempt stays pending:
//! the client is told `PAYMENT_PENDING`, and the [`reconcile`] job asks the gateway again
//! under the same keys once the attempt is older than the configured age (also after a
//! restart), then settles it.

mod failpoints;
mod reconcile;

pub use failpoints::{Failpoint, Failpoints, Failure};
pub use reconcile::{Reconciled, reconcile};

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use entity::{checkout, order, payment_attempt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QuerySelect, prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    Deps, ServiceError, ServiceResult,
    idempotency::{self, Claim, Request},
    retry_transient,
};
use crate::service::OrInternal;
use crate::{
    domain::{
        Currency, Money,
        attempt::{AttemptKind, AttemptStatus, Reservation, gateway_key},
        violation::{Violation, ViolationCode},
    },
    payments::{ChargeRequest, GatewayError, RefundRequest},
    service::unit_of_work::UnitOfWork,
};

/// One refund at the gateway: part of one earlier charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLeg {
    /// The gateway's reference of the charge.
    pub charge_reference: String,
    /// How much of it, in minor units.
    pub amount_minor: i64,
}

/// What the gateway is asked to do for an attempt.
#[derive(Debug, Clone)]
pub enum Transfer {
    /// Charge the card this token stands for (decrypted, held in memory only).
    Charge {
        /// The gateway's token.
        token: String,
    },
    /// Refund these charges, in order.
    Refunds(Vec<RefundLeg>),
}

/// What the gateway answered for an attempt, once it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// References of what it did, one per charge or refund leg, in order.
    pub receipts: Vec<String>,
    /// Why it stopped, if it refused (after `receipts`).
    pub refusal: Option<GatewayError>,
}

impl Answer {
    /// Whether the gateway did everything asked.
    pub fn is_done(&self) -> bool {
        self.refusal.is_none()
    }
}

/// The parameters an attempt is stored with.
#[derive(Debug, Serialize, Deserialize)]
struct StoredRequest {
    #[serde(default)]
    legs: Vec<RefundLeg>,
    details: Value,
}

/// An attempt to record in phase 1.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    /// Which operation.
    pub kind: AttemptKind,
    /// What it holds while pending.
    pub reservation: Reservation,
    /// The client's claimed idempotency key, if a client asked.
    pub idempotency_key_id: Option<Uuid>,
    /// The consumer, for confirmations and early payments.
    pub consumer_id: Option<Uuid>,
    /// The checkout being confirmed.
    pub checkout_id: Option<Uuid>,
    /// The order.
    pub order_id: Option<Uuid>,
    /// The instalment charged.
    pub installment_id: Option<Uuid>,
    /// The card charged, and its gateway token (not stored: the row names the card).
    pub charge: Option<(Uuid, String)>,
    /// The refunds to make, for refunds and voids.
    pub legs: Vec<RefundLeg>,
    /// How much moves.
    pub amount: Money,
    /// Credit of the consumer's the attempt holds while pending.
    pub credit_minor: i64,
    /// The operation's parameters, for its settlement (in any process).
    pub details: Value,
}

impl NewAttempt {
    /// An attempt of `kind` moving `amount`, holding `reservation`; the rest is set by the
    /// caller.
    pub fn new(kind: AttemptKind, reservation: Reservation, amount: Money, details: Value) -> Self {
        Self {
            kind,
            reservation,
            idempotency_key_id: None,
            consumer_id: None,
            checkout_id: None,
            order_id: None,
            installment_id: None,
            charge: None,
            legs: Vec::new(),
            amount,
            credit_minor: 0,
            details,
        }
    }
}

/// An attempt recorded in phase 1, with what to ask the gateway.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The stored attempt.
    pub attempt: payment_attempt::Model,
    /// What to ask.
    pub transfer: Transfer,
}

/// Phase 1's last writes, in the operation's transaction: the attempt, holding its
/// reservation, and the client's key marked as waiting for it. `None` when another pending
/// attempt holds the reservation.
pub async fn record(
    deps: &Deps,
    txn: &DatabaseTransaction,
    new: NewAttempt,
    now: DateTime<Utc>,
) -> ServiceResult<Option<Recorded>> {
    let at = ChronoUnixTimestampMillis(now);
    let request = StoredRequest {
        legs: new.legs.clone(),
        details: new.details,
    };
    let row = payment_attempt::Model {
        id: Uuid::now_v7(),
        kind: new.kind,
        status: AttemptStatus::Pending,
        reservation: Some(new.reservation.key()),
        idempotency_key_id: new.idempotency_key_id,
        consumer_id: new.consumer_id,
        checkout_id: new.checkout_id,
        order_id: new.order_id,
        installment_id: new.installment_id,
        payment_method_id: new.charge.as_ref().map(|(id, _)| *id),
        currency: new.amount.currency(),
        amount_minor: new.amount.minor(),
        credit_minor: new.credit_minor,
        request: serde_json::to_string(&request).or_internal(|| "payment attempt request")?,
        outcome: None,
        failure_code: None,
        gateway_calls: 0,
        created_at: at,
        updated_at: at,
        next_check_at: ChronoUnixTimestampMillis(now + deps.reconcile_after),
        settled_at: None,
    };
    let inserted = payment_attempt::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(txn)
        .await;
    match inserted {
        Ok(_) => {}
        Err(err) if crate::db::violated_unique(&err).is_some() => {
            return Ok(None);
        }
        Err(err) => return Err(err.into()),
    }
    if let Some(key) = new.idempotency_key_id {
        idempotency::mark_pending(txn, key).await?;
    }
    let transfer = match new.charge {
        Some((_, token)) => Transfer::Charge { token },
        None => Transfer::Refunds(new.legs),
    };
    Ok(Some(Recorded {
        attempt: row,
        transfer,
    }))
}

/// Whether a pending attempt holds `reservation`.
pub async fn holds(conn: &impl ConnectionTrait, reservation: Reservation) -> ServiceResult<bool> {
    let held = payment_attempt::Entity::find()
        .filter(payment_attempt::Column::Reservation.eq(reservation.key()))
        .count(conn)
        .await?;
    Ok(held > 0)
}

/// The refusal of an operation whose checkout or order another attempt holds.
pub fn in_progress(field: &str) -> ServiceError {
    ServiceError::refused(
        field,
        ViolationCode::PaymentInProgress,
        "another payment of this checkout or order is in progress; retry in a moment",
    )
}

fn stored_request(attempt: &payment_attempt::Model) -> ServiceResult<StoredRequest> {
    serde_json::from_str(&attempt.request).or_internal(|| format!("attempt {}", attempt.id))
}

/// The operation's parameters an attempt was recorded with.
pub fn details<T: DeserializeOwned>(attempt: &payment_attempt::Model) -> ServiceResult<T> {
    serde_json::from_value(stored_request(attempt)?.details)
        .or_internal(|| format!("attempt {} details", attempt.id))
}

/// The refunds an attempt asks for.
pub fn legs(attempt: &payment_attempt::Model) -> ServiceResult<Vec<RefundLeg>> {
    Ok(stored_request(attempt)?.legs)
}

/// The amount of an attempt.
pub fn amount(attempt: &payment_attempt::Model) -> ServiceResult<Money> {
    let currency: Currency = attempt.currency;
    Ok(Money::new(attempt.amount_minor, currency))
}

/// What a settlement decided, for the client's key.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// It happened: the operation's result, stored under the key and replayed.
    Done(Value),
    /// Refused for good: stored under the key and replayed.
    Refused(Vec<Violation>),
    /// Refused for now (a passing gateway failure; nothing moved): the key is released,
    /// so the same request may be sent again.
    Retry(Vec<Violation>),
}

/// How an attempt ended, for the process that ran it.
#[derive(Debug, Clone)]
pub enum Ending {
    /// Settled here.
    Settled(Verdict),
    /// The gateway did not answer, or the outcome could not be written: still pending, for
    /// the reconciler.
    Pending,
    /// Another process (the reconciler) settled it first.
    SettledElsewhere,
}

/// Phase 3 of one kind of operation.
#[async_trait]
pub trait Settlement: Send + Sync {
    /// Writes the operation's outcome for the gateway's `answer` in `work` (in which the
    /// attempt is already marked settled), and decides what the client hears.
    async fn settle(
        &self,
        deps: &Deps,
        work: &mut UnitOfWork<'_>,
        attempt: &payment_attempt::Model,
        answer: &Answer,
        now: DateTime<Utc>,
    ) -> ServiceResult<Verdict>;
}

/// Phases 2 and 3 of a recorded attempt, settled as of `now` (the request's time, or the
/// time a job runs as of).
pub async fn execute(
    deps: &Deps,
    recorded: &Recorded,
    settlement: &dyn Settlement,
    now: DateTime<Utc>,
) -> ServiceResult<Ending> {
    let attempt = &recorded.attempt;
    let kind: AttemptKind = attempt.kind;
    deps.failpoints.pass(Failpoint::Recorded, kind).await?;
    let Some(answer) = ask(deps, attempt, &recorded.transfer).await? else {
        tracing::warn!(attempt = %attempt.id, %kind, "the card gateway did not answer; the payment stays pending");
        return Ok(Ending::Pending);
    };
    deps.failpoints.pass(Failpoint::Answered, kind).await?;
    Ok(settle(deps, attempt, kind, &answer, settlement, now).await)
}

/// Phase 2: asks the gateway, under the attempt's keys; `None` when it did not answer.
async fn ask(
    deps: &Deps,
    attempt: &payment_attempt::Model,
    transfer: &Transfer,
) -> ServiceResult<Option<Answer>> {
    let amount = amount(attempt)?;
    let answer = match transfer {
        Transfer::Charge { token } => {
            let charged = deps
                .gateway
                .charge(ChargeRequest {
                    token,
                    amount,
                    idempotency_key: &gateway_key(attempt.id, 0),
                })
                .await;
            match charged {
                Ok(receipt) => Answer {
                    receipts: vec![receipt.reference],
                    refusal: None,
                },
                Err(GatewayError::NoAnswer) => return Ok(None),
                Err(error) => Answer {
                    receipts: Vec::new(),
                    refusal: Some(error),
                },
            }
        }
        Transfer::Refunds(legs) => {
            let mut receipts = Vec::new();
            let mut refusal = None;
            for (leg, refund) in legs.iter().enumerate() {
                let refunded = deps
                    .gateway
                    .refund(RefundRequest {
                        charge_reference: &refund.charge_reference,
                        amount: Money::new(refund.amount_minor, amount.currency()),
                        idempotency_key: &gateway_key(attempt.id, leg),
                    })
                    .await;
                match refunded {
                    Ok(receipt) => receipts.push(receipt.reference),
                    // The legs done are replayed under their keys when asked again.
                    Err(GatewayError::NoAnswer) => return Ok(None),
                    Err(error) => {
                        refusal = Some(error);
                        break;
                    }
                }
            }
            Answer { receipts, refusal }
        }
    };
    Ok(Some(answer))
}

/// Phase 3, tried again on transient database failures; a failure that persists leaves
/// the attempt pending for the reconciler.
async fn settle(
    deps: &Deps,
    attempt: &payment_attempt::Model,
    kind: AttemptKind,
    answer: &Answer,
    settlement: &dyn Settlement,
    now: DateTime<Utc>,
) -> Ending {
    let settled =
        retry_transient(|| settle_once(deps, attempt, kind, answer, settlement, now)).await;
    settled.unwrap_or_else(|err| {
        tracing::error!(attempt = %attempt.id, %kind, error = %err.describe(), "cannot write a payment's outcome; the reconciler will");
        Ending::Pending
    })
}

async fn settle_once(
    deps: &Deps,
    attempt: &payment_attempt::Model,
    kind: AttemptKind,
    answer: &Answer,
    settlement: &dyn Settlement,
    now: DateTime<Utc>,
) -> ServiceResult<Ending> {
    let mut work = UnitOfWork::begin(deps).await?;
    lock_reserved(work.txn(), attempt).await?;
    let status = if answer.is_done() {
        AttemptStatus::Succeeded
    } else {
        AttemptStatus::Failed
    };
    let outcome = serde_json::to_string(answer).or_internal(|| "payment outcome")?;
    let marked = payment_attempt::Entity::update_many()
        .col_expr(payment_attempt::Column::Status, Expr::value(status))
        .col_expr(
            payment_attempt::Column::Reservation,
            Expr::value(Option::<String>::None),
        )
        .col_expr(payment_attempt::Column::Outcome, Expr::value(outcome))
        .col_expr(
            payment_attempt::Column::FailureCode,
            Expr::value(answer.refusal.map(GatewayError::code)),
        )
        .col_expr(
            payment_attempt::Column::SettledAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(
            payment_attempt::Column::UpdatedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(payment_attempt::Column::Id.eq(attempt.id))
        .filter(payment_attempt::Column::Status.eq(AttemptStatus::Pending))
        .exec(work.txn())
        .await?;
    if marked.rows_affected != 1 {
        return Ok(Ending::SettledElsewhere);
    }
    let verdict = settlement
        .settle(deps, &mut work, attempt, answer, now)
        .await?;
    if let Some(key) = attempt.idempotency_key_id {
        match &verdict {
            Verdict::Done(value) => {
                idempotency::finish(work.txn(), key, &Ok::<_, Vec<Violation>>(value)).await?;
            }
            Verdict::Refused(violations) => {
                idempotency::finish(work.txn(), key, &Err::<Value, _>(violations.clone())).await?;
            }
            Verdict::Retry(_) => idempotency::release_in(work.txn(), key).await?,
        }
    }
    deps.failpoints
        .pass(Failpoint::OutcomeWritten, kind)
        .await?;
    work.commit().await?;
    deps.settled.notify();
    Ok(Ending::Settled(verdict))
}

/// Locks the checkout or order an attempt holds before its own row is touched: phase 1
/// locks them first too (then inserts the attempt), so a phase 3 and another request's
/// phase 1 never wait for each other.
async fn lock_reserved(
    txn: &DatabaseTransaction,
    attempt: &payment_attempt::Model,
) -> ServiceResult<()> {
    if let Some(order_id) = attempt.order_id {
        order::Entity::find_by_id(order_id)
            .lock_exclusive()
            .one(txn)
            .await?;
    } else if let Some(checkout_id) = attempt.checkout_id {
        checkout::Entity::find_by_id(checkout_id)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    Ok(())
}

/// What phase 1 of a client's operation decided.
#[derive(Debug)]
pub enum Intent<T> {
    /// Nothing had to move at the gateway: the operation is done (phase 1 wrote it and
    /// finished the key).
    Done(T),
    /// An attempt is recorded: the gateway is asked next.
    Recorded(Box<Recorded>),
}

/// Tells the requests waiting for a checkout or order that a payment of this process was
/// settled (requests of other instances notice by looking again).
#[derive(Clone)]
pub struct SettledSignal(Arc<watch::Sender<u64>>);

impl Default for SettledSignal {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl SettledSignal {
    fn notify(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// How long a request waits for another payment of its checkout or order to settle before
/// it answers `PAYMENT_IN_PROGRESS`.
const WAIT_FOR_OTHER_PAYMENT: Duration = Duration::from_secs(10);
/// How often a waiting request looks again, for payments settled by other instances.
const LOOK_AGAIN: Duration = Duration::from_millis(50);

fn only_in_progress(err: &ServiceError) -> bool {
    matches!(err, ServiceError::Rejected(violations)
        if violations.iter().all(|v| v.code == ViolationCode::PaymentInProgress))
}

/// Phase 1, run again while another payment holds the checkout or order (it waits for
/// that one to settle, holding no lock), up to [`WAIT_FOR_OTHER_PAYMENT`].
async fn intend_when_free<T, F, Fut>(deps: &Deps, key: Uuid, intend: &F) -> ServiceResult<Intent<T>>
where
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = ServiceResult<Intent<T>>>,
{
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER_PAYMENT;
    loop {
        let mut settled = deps.settled.0.subscribe();
        // Phase 1 is one transaction: a deadlock or lost lock wait runs it again.
        let intent = retry_transient(|| intend(key)).await;
        match intent {
            Err(err) if only_in_progress(&err) && tokio::time::Instant::now() < deadline => {
                tokio::select! {
                    _ = settled.changed() => {}
                    () = tokio::time::sleep(LOOK_AGAIN) => {}
                    () = tokio::time::sleep_until(deadline) => {}
                }
            }
            other => return other,
        }
    }
}

/// Runs a client's money operation under its idempotency key: claims the key (or replays
/// its outcome), runs phase 1 (`intend`, given the key's id; run again if another payment
/// of the same checkout or order is in progress), then phases 2 and 3.
pub async fn run<T, F, Fut>(
    deps: &Deps,
    request: &Request<'_>,
    settlement: &dyn Settlement,
    intend: F,
) -> ServiceResult<T>
where
    T: Serialize + DeserializeOwned,
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = ServiceResult<Intent<T>>>,
{
    let key = match idempotency::claim::<T>(deps, request).await? {
        Claim::Replay(outcome) => return outcome.map_err(ServiceError::Rejected),
        Claim::Fresh(key) => key,
    };
    let recorded = match intend_when_free(deps, key, &intend).await {
        Ok(Intent::Done(value)) => return Ok(value),
        Ok(Intent::Recorded(recorded)) => *recorded,
        Err(ServiceError::Rejected(violations))
            if !violations.iter().any(|v| v.code.is_transient()) =>
        {
            let outcome: Result<T, Vec<Violation>> = Err(violations);
            if idempotency::finish(&deps.db, key, &outcome).await.is_err() {
                idempotency::release(deps, key).await;
            }
            return outcome.map_err(ServiceError::Rejected);
        }
        Err(other) => {
            idempotency::release(deps, key).await;
            return Err(other);
        }
    };
    match execute(deps, &recorded, settlement, deps.clock.now()).await? {
        Ending::Settled(Verdict::Done(value)) => {
            serde_json::from_value(value).or_internal(|| "payment result")
        }
        Ending::Settled(Verdict::Refused(violations) | Verdict::Retry(violations)) => {
            Err(ServiceError::Rejected(violations))
        }
        Ending::Pending => Err(idempotency::payment_pending()),
        Ending::SettledElsewhere => match idempotency::stored::<T>(&deps.db, key).await? {
            Some(outcome) => outcome.map_err(ServiceError::Rejected),
            None => Err(idempotency::payment_pending()),
        },
    }
}
