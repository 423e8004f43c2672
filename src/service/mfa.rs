//! Consumer multi-factor authentication with TOTP: enrolment, confirmation (which issues
//! recovery codes), the second login step, and disabling. A code is accepted once: the
//! time step of the last accepted code is stored, and recovery codes are single-use.

use chrono::{DateTime, Utc};
use entity::{consumer, mfa_recovery_code};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Deps, OrInternal, ServiceError, ServiceResult,
    audit::Actor,
    consumers::{SessionTokens, open, start_session},
};
use crate::{
    auth::{session, totp},
    domain::violation::ViolationCode,
    encryption::column_context,
    service::unit_of_work::UnitOfWork,
};

/// A started enrolment: what the consumer adds to an authenticator app.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// The secret, base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URI, for a QR code.
    pub provisioning_uri: String,
}

fn secret_context(id: Uuid) -> String {
    column_context("consumers", "totp_secret", id)
}

async fn account(conn: &impl ConnectionTrait, id: Uuid) -> ServiceResult<consumer::Model> {
    consumer::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Starts (or restarts) enrolment with a new secret, stored encrypted and unconfirmed.
pub async fn enroll(deps: &Deps, actor: &Actor, consumer_id: Uuid) -> ServiceResult<Enrollment> {
    let row = account(&deps.db, consumer_id).await?;
    if row.totp_confirmed_at.is_some() {
        return Err(ServiceError::refused(
            "consumer",
            ViolationCode::MfaAlreadyEnabled,
            "disable MFA before enrolling again",
        ));
    }
    let email = open(&deps.vault, &row)?.email;
    let secret = totp::new_secret();
    let provisioning_uri = totp::provisioning_uri(&secret, &email)
        .ok_or_else(|| ServiceError::internal("cannot build a TOTP URI"))?;
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    consumer::Entity::update_many()
        .col_expr(
            consumer::Column::TotpSecret,
            Expr::value(deps.vault.encrypt(&secret, &secret_context(consumer_id))),
        )
        .col_expr(
            consumer::Column::TotpLastStep,
            Expr::value(Option::<i64>::None),
        )
        .filter(consumer::Column::Id.eq(consumer_id))
        .filter(consumer::Column::TotpConfirmedAt.is_null())
        .exec(work.txn())
        .await?;
    work.audit(
        actor,
        "mfa.enrollment_started",
        Some(("consumer", consumer_id)),
        json!(null),
        now,
    );
    work.commit().await?;
    Ok(Enrollment {
        secret,
        provisioning_uri,
    })
}

/// Accepts a TOTP code of `row` at `now` once: the step must be later than the last one
/// accepted, and the guarded update wins only once under concurrency.
async fn accept_totp(
    deps: &Deps,
    txn: &impl ConnectionTrait,
    row: &consumer::Model,
    code: &str,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let Some(sealed) = &row.totp_secret else {
        return Ok(false);
    };
    let Some(step) = totp_step(deps, sealed, &secret_context(row.id), code, now)? else {
        return Ok(false);
    };
    let accepted = consumer::Entity::update_many()
        .col_expr(consumer::Column::TotpLastStep, Expr::value(step))
        .filter(consumer::Column::Id.eq(row.id))
        .filter(
            sea_orm::Condition::any()
                .add(consumer::Column::TotpLastStep.is_null())
                .add(consumer::Column::TotpLastStep.lt(step)),
        )
        .exec(txn)
        .await?;
    Ok(accepted.rows_affected == 1)
}

/// The time step `code` is valid for under the sealed secret, if it is. Callers then
/// accept the step only if it is later than the last one they accepted.
pub(crate) fn totp_step(
    deps: &Deps,
    sealed: &str,
    context: &str,
    code: &str,
    now: DateTime<Utc>,
) -> ServiceResult<Option<i64>> {
    let secret = deps
        .vault
        .decrypt(sealed, context)
        .or_internal(|| "TOTP secret")?;
    Ok(totp::check(&secret, code, now))
}

/// Accepts an unused recovery code of `row` once.
async fn accept_recovery_code(
    txn: &impl ConnectionTrait,
    row: &consumer::Model,
    code: &str,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let used = mfa_recovery_code::Entity::update_many()
        .col_expr(
            mfa_recovery_code::Column::UsedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(mfa_recovery_code::Column::ConsumerId.eq(row.id))
        .filter(mfa_recovery_code::Column::CodeHash.eq(totp::recovery_code_hash(row.id, code)))
        .filter(mfa_recovery_code::Column::UsedAt.is_null())
        .exec(txn)
        .await?;
    Ok(used.rows_affected == 1)
}

/// Confirms enrolment with a first code; MFA is on from then. Returns the recovery codes,
/// shown this once and stored hashed.
pub async fn confirm(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    code: &str,
) -> ServiceResult<Vec<String>> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let row = account(work.txn(), consumer_id).await?;
    if row.totp_confirmed_at.is_some() {
        return Err(ServiceError::refused(
            "code",
            ViolationCode::MfaAlreadyEnabled,
            "MFA is already on",
        ));
    }
    if row.totp_secret.is_none() {
        return Err(ServiceError::refused(
            "code",
            ViolationCode::MfaNotEnrolled,
            "start with enrollTotp",
        ));
    }
    if !accept_totp(deps, work.txn(), &row, code, now).await? {
        return Err(ServiceError::refused(
            "code",
            ViolationCode::InvalidCode,
            "the code is wrong or expired",
        ));
    }
    consumer::Entity::update_many()
        .col_expr(
            consumer::Column::TotpConfirmedAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(consumer::Column::Id.eq(consumer_id))
        .exec(work.txn())
        .await?;
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::ConsumerId.eq(consumer_id))
        .exec(work.txn())
        .await?;
    let codes = totp::new_recovery_codes();
    let rows = codes.iter().map(|code| {
        mfa_recovery_code::Model {
            id: Uuid::now_v7(),
            consumer_id,
            code_hash: totp::recovery_code_hash(consumer_id, code),
            created_at: ChronoUnixTimestampMillis(now),
            used_at: None,
        }
        .into_active_model()
    });
    mfa_recovery_code::Entity::insert_many(rows)
        .exec_without_returning(work.txn())
        .await?;
    work.audit(
        actor,
        "mfa.enabled",
        Some(("consumer", consumer_id)),
        json!(null),
        now,
    );
    work.commit().await?;
    Ok(codes)
}

/// Turns MFA off, given a valid TOTP or recovery code.
pub async fn disable(
    deps: &Deps,
    actor: &Actor,
    consumer_id: Uuid,
    code: &str,
) -> ServiceResult<()> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let row = account(work.txn(), consumer_id).await?;
    if row.totp_confirmed_at.is_none() {
        return Err(ServiceError::refused(
            "code",
            ViolationCode::MfaNotEnrolled,
            "MFA is not on",
        ));
    }
    let valid = accept_totp(deps, work.txn(), &row, code, now).await?
        || accept_recovery_code(work.txn(), &row, code, now).await?;
    if !valid {
        return Err(ServiceError::refused(
            "code",
            ViolationCode::InvalidCode,
            "the code is wrong, expired or used",
        ));
    }
    consumer::Entity::update_many()
        .col_expr(
            consumer::Column::TotpSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            consumer::Column::TotpConfirmedAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(consumer::Column::Id.eq(consumer_id))
        .exec(work.txn())
        .await?;
    mfa_recovery_code::Entity::delete_many()
        .filter(mfa_recovery_code::Column::ConsumerId.eq(consumer_id))
        .exec(work.txn())
        .await?;
    work.audit(
        actor,
        "mfa.disabled",
        Some(("consumer", consumer_id)),
        json!(null),
        now,
    );
    work.commit().await?;
    Ok(())
}

/// The second login step: a valid MFA token and a TOTP or recovery code start the session.
/// Attempts are throttled like logins.
pub async fn verify_login(
    deps: &Deps,
    actor: &Actor,
    mfa_token: &str,
    code: &str,
) -> ServiceResult<SessionTokens> {
    let now = deps.clock.now();
    let consumer_id = session::verify_mfa(&deps.keys, mfa_token, now).map_err(|_| {
        ServiceError::Unauthenticated("the MFA token is not valid; log in again".into())
    })?;
    deps.login_throttle
        .attempt(&format!("mfa:{consumer_id}"), actor.ip)
        .map_err(|retry_after| ServiceError::RateLimited { retry_after })?;
    let mut work = UnitOfWork::begin(deps).await?;
    let row = account(work.txn(), consumer_id).await?;
    let by_totp = accept_totp(deps, work.txn(), &row, code, now).await?;
    let valid = by_totp || accept_recovery_code(work.txn(), &row, code, now).await?;
    let who = Actor::consumer(consumer_id, actor.ip);
    if !valid || row.totp_confirmed_at.is_none() {
        work.audit(
            &who,
            "mfa.verification_failed",
            Some(("consumer", consumer_id)),
            json!(null),
            now,
        );
        work.commit().await?;
        return Err(ServiceError::refused(
            "code",
            ViolationCode::InvalidCode,
            "the code is wrong, expired or used",
        ));
    }
    if !by_totp {
        work.audit(
            &who,
            "mfa.recovery_code_used",
            Some(("consumer", consumer_id)),
            json!(null),
            now,
        );
    }
    work.commit().await?;
    start_session(deps, &who, &row, "consumer.login_succeeded").await
}

/// Whether MFA is on for a consumer.
pub async fn enabled(deps: &Deps, consumer_id: Uuid) -> ServiceResult<bool> {
    let confirmed: Option<Option<i64>> = consumer::Entity::find_by_id(consumer_id)
        .select_only()
        .column(consumer::Column::TotpConfirmedAt)
        .into_tuple()
        .one(&deps.db)
        .await?;
    Ok(confirmed.flatten().is_some())
}
