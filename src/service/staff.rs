//! The operator's staff: created from the command line with a generated password and a
//! TOTP secret (MFA is mandatory), signing in with all three for a short-lived token.

use chrono::Duration;
use entity::staff_member;
use sea_orm::{
    ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, prelude::ChronoUnixTimestampMillis,
    sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Deps, OrInternal, ServiceError, ServiceResult, audit::Actor, consumers::normalize_email,
    mfa::totp_step,
};
use crate::{
    auth::{
        password,
        secret::random_secret,
        staff::{self, StaffPrincipal},
        totp,
    },
    domain::{staff::StaffRole, violation::ViolationCode},
    encryption::column_context,
    service::unit_of_work::UnitOfWork,
};

/// A member of staff as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// Their id.
    pub id: Uuid,
    /// Work email.
    pub email: String,
    /// What they may do.
    pub role: StaffRole,
}

impl TryFrom<staff_member::Model> for StaffMember {
    type Error = ServiceError;

    fn try_from(row: staff_member::Model) -> ServiceResult<Self> {
        Ok(Self {
            role: row.role,
            id: row.id,
            email: row.email,
        })
    }
}

/// A new member of staff and the credentials they receive, shown once.
#[derive(Debug, Clone)]
pub struct NewStaffMember {
    /// Who was created.
    pub member: StaffMember,
    /// The generated password.
    pub password: String,
    /// The TOTP secret, base32, to type into an authenticator app.
    pub totp_secret: String,
    /// The same secret as an `otpauth://` URI, for a QR code.
    pub provisioning_uri: String,
}

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub struct StaffSession {
    /// The access token (no refresh token: staff sign in again when it expires).
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// Who signed in.
    pub member: StaffMember,
}

fn secret_context(id: Uuid) -> String {
    column_context("staff_members", "totp_secret", id)
}

/// How long a staff access token lives: the consumer access-token lifetime, capped at
/// 15 minutes, since staff read every merchant's data.
fn token_lifetime(deps: &Deps) -> Duration {
    deps.access_token_ttl.min(Duration::minutes(15))
}

/// Creates a member of staff with a generated password and TOTP secret.
pub async fn create(
    deps: &Deps,
    actor: &Actor,
    email: &str,
    role: StaffRole,
) -> ServiceResult<NewStaffMember> {
    let email = normalize_email(email);
    if email.chars().count() > 254 || !email_address::EmailAddress::is_valid(&email) {
        return Err(ServiceError::refused(
            "email",
            ViolationCode::InvalidEmail,
            "is not an email address",
        ));
    }
    let id = Uuid::now_v7();
    let password = random_secret("");
    let totp_secret = totp::new_secret();
    let provisioning_uri = totp::provisioning_uri(&totp_secret, &email)
        .ok_or_else(|| ServiceError::internal("cannot build a TOTP URI"))?;
    let password_hash = password::hash(&password)
        .await
        .or_internal(|| "password hash")?;
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let taken = staff_member::Entity::find()
        .filter(staff_member::Column::Email.eq(&email))
        .one(work.txn())
        .await?
        .is_some();
    if taken {
        return Err(ServiceError::refused(
            "email",
            ViolationCode::EmailTaken,
            "a member of staff with this email exists",
        ));
    }
    let row = staff_member::Model {
        id,
        email: email.clone(),
        role,
        password_hash,
        totp_secret: deps.vault.encrypt(&totp_secret, &secret_context(id)),
        totp_last_step: None,
        created_at: ChronoUnixTimestampMillis(now),
        disabled_at: None,
    };
    staff_member::Entity::insert(row.into_active_model())
        .exec_without_returning(work.txn())
        .await?;
    work.audit(
        actor,
        "staff.created",
        Some(("staff", id)),
        json!({ "role": role.as_str() }),
        now,
    );
    work.commit().await?;
    Ok(NewStaffMember {
        member: StaffMember { id, email, role },
        password,
        totp_secret,
        provisioning_uri,
    })
}

/// Signs a member of staff in with email, password and a current TOTP code. Every
/// failure gives the same violation; attempts are throttled per account and address, and
/// a code is accepted once.
pub async fn login(
    deps: &Deps,
    actor: &Actor,
    email: &str,
    password: &str,
    code: &str,
) -> ServiceResult<StaffSession> {
    let email = normalize_email(email);
    deps.login_throttle
        .attempt(&format!("staff:{email}"), actor.ip)
        .map_err(|retry_after| ServiceError::RateLimited { retry_after })?;
    let row = staff_member::Entity::find()
        .filter(staff_member::Column::Email.eq(&email))
        .one(&deps.db)
        .await?;
    let verified = password::verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await;
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let accepted = match &row {
        Some(row) if verified && row.disabled_at.is_none() => {
            match totp_step(deps, &row.totp_secret, &secret_context(row.id), code, now)? {
                Some(step) => {
                    staff_member::Entity::update_many()
                        .col_expr(staff_member::Column::TotpLastStep, Expr::value(step))
                        .filter(staff_member::Column::Id.eq(row.id))
                        .filter(
                            sea_orm::Condition::any()
                                .add(staff_member::Column::TotpLastStep.is_null())
                                .add(staff_member::Column::TotpLastStep.lt(step)),
                        )
                        .exec(work.txn())
                        .await?
                        .rows_affected
                        == 1
                }
                None => false,
            }
        }
        _ => false,
    };
    let who = Actor {
        kind: "staff",
        id: row.as_ref().map(|r| r.id),
        ip: actor.ip,
    };
    let target = row.as_ref().map(|r| ("staff", r.id));
    let Some(row) = row.filter(|_| accepted) else {
        work.audit(&who, "staff.login_failed", target, json!(null), now);
        work.commit().await?;
        return Err(ServiceError::refused(
            "password",
            ViolationCode::InvalidCredentials,
            "the email, password or code is incorrect",
        ));
    };
    work.audit(&who, "staff.login_succeeded", target, json!(null), now);
    work.commit().await?;
    let member = StaffMember::try_from(row)?;
    let ttl = token_lifetime(deps);
    let access_token = staff::issue(
        &deps.keys,
        StaffPrincipal {
            staff_id: member.id,
            role: member.role,
        },
        now,
        ttl,
    )
    .or_internal(|| "cannot sign a token")?;
    Ok(StaffSession {
        access_token,
        expires_in: ttl.num_seconds(),
        member,
    })
}

/// A member of staff by id.
pub async fn get(deps: &Deps, id: Uuid) -> ServiceResult<StaffMember> {
    staff_member::Entity::find_by_id(id)
        .one(&deps.db)
        .await?
        .ok_or(ServiceError::NotFound)?
        .try_into()
}
