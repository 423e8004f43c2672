//! Consumer accounts and sessions: registration, login, refresh-token rotation with reuse
//! detection, and logout. Messages never tell whether an account exists.

use chrono::{DateTime, Utc};
use entity::{consumer, consumer_session, refresh_token};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    prelude::ChronoUnixTimestampMillis, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Deps, OnUnique, OrInternal, ServiceError, ServiceResult,
    audit::{self, Actor},
};
use crate::domain::account::ConsumerStatus;
use crate::{
    auth::{
        password,
        secret::{hash_secret, random_secret},
        session::{self, ConsumerPrincipal, SESSION_LIFETIME},
    },
    domain::{
        Currency,
        checkout::is_e164,
        violation::{Path, Violation, ViolationCode},
    },
    encryption::{Vault, column_context},
    service::unit_of_work::UnitOfWork,
};

/// What a shopper sends to open an account.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Email address; stored lower-case.
    pub email: String,
    /// Password, checked against the policy and stored as an argon2id hash.
    pub password: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Phone in E.164 form.
    pub phone: Option<String>,
}

/// A consumer account with its PII decrypted: what the account holder may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerAccount {
    /// The account's id.
    pub id: Uuid,
    /// Email address, lower-case.
    pub email: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Phone in E.164 form.
    pub phone: Option<String>,
    /// When the account was opened.
    pub created_at: DateTime<Utc>,
    /// Whether logins need a second factor.
    pub mfa_enabled: bool,
    /// How much the consumer may owe across open orders, in minor units of `currency`.
    pub spending_limit_minor: i64,
    /// The currency of the limit.
    pub currency: Currency,
    /// Whether the account is in good standing (may order).
    pub active: bool,
}

/// The associated data of an encrypted consumer column: binds the value to its row.
fn context(column: &str, id: Uuid) -> String {
    column_context("consumers", column, id)
}

/// Writes the encrypted PII columns of `account` into `row`.
fn seal(vault: &Vault, account: &ConsumerAccount, row: &mut consumer::Model) {
    let id = account.id;
    let seal_opt = |value: &Option<String>, column: &str| {
        value
            .as_ref()
            .map(|v| vault.encrypt(v, &context(column, id)))
    };
    row.email = vault.encrypt(&account.email, &context("email", id));
    row.email_lookup = vault.lookup_hash(&account.email);
    row.given_name = seal_opt(&account.given_name, "given_name");
    row.family_name = seal_opt(&account.family_name, "family_name");
    row.phone = seal_opt(&account.phone, "phone");
}

/// The row of a new, active account without a second factor, its PII sealed.
pub(crate) fn new_row(
    vault: &Vault,
    account: &ConsumerAccount,
    password_hash: String,
) -> consumer::Model {
    let at = ChronoUnixTimestampMillis(account.created_at);
    let mut row = consumer::Model {
        id: account.id,
        email: String::new(),
        email_lookup: String::new(),
        totp_secret: None,
        totp_confirmed_at: None,
        totp_last_step: None,
        given_name: None,
        family_name: None,
        phone: None,
        password_hash: Some(password_hash),
        spending_limit_minor: account.spending_limit_minor,
        currency: account.currency,
        status: ConsumerStatus::Active,
        created_at: at,
        updated_at: at,
    };
    seal(vault, account, &mut row);
    row
}

/// Decrypts a stored consumer; a failure means a key is missing or the row was altered.
pub fn open(vault: &Vault, row: &consumer::Model) -> ServiceResult<ConsumerAccount> {
    let fail = |err: crate::encryption::DecryptError| {
        ServiceError::Internal(anyhow::Error::new(err).context(format!("consumer {}", row.id)))
    };
    let open_opt = |value: &Option<String>, column: &str| {
        value
            .as_ref()
            .map(|v| vault.decrypt(v, &context(column, row.id)))
            .transpose()
    };
    Ok(ConsumerAccount {
        id: row.id,
        email: vault
            .decrypt(&row.email, &context("email", row.id))
            .map_err(fail)?,
        given_name: open_opt(&row.given_name, "given_name").map_err(fail)?,
        family_name: open_opt(&row.family_name, "family_name").map_err(fail)?,
        phone: open_opt(&row.phone, "phone").map_err(fail)?,
        created_at: row.created_at.0,
        mfa_enabled: row.totp_confirmed_at.is_some(),
        spending_limit_minor: row.spending_limit_minor,
        currency: row.currency,
        active: row.status == ConsumerStatus::Active,
    })
}

/// Accounts by id with their PII decrypted, in one statement, for DataLoaders.
pub async fn by_ids(
    db: &DatabaseConnection,
    vault: &Vault,
    ids: &[Uuid],
) -> ServiceResult<std::collections::HashMap<Uuid, ConsumerAccount>> {
    consumer::Entity::find()
        .filter(consumer::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .iter()
        .map(|row| Ok((row.id, open(vault, row)?)))
        .collect()
}

/// A started or refreshed session: what the consumer app keeps.
#[derive(Debug, Clone)]
pub struct SessionTokens {
    /// The short-lived access token.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The single-use refresh token.
    pub refresh_token: String,
    /// The consumer.
    pub consumer: ConsumerAccount,
}

/// The default spending limit of a new account, in minor units of its currency.
const DEFAULT_SPENDING_LIMIT: i64 = 100_000;
/// Shown for every failed login, whatever failed.
const BAD_CREDENTIALS: &str = "the email or the password is incorrect";

fn violation(field: &str, code: ViolationCode, message: &str) -> Violation {
    Violation::new(&Path::input().at(field), code, message)
}

fn optional(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The lower-case, trimmed form under which an email is stored and looked up.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Opens an account. Refusals come back as violations and store nothing.
pub async fn register(
    deps: &Deps,
    actor: &Actor,
    input: Registration,
) -> ServiceResult<ConsumerAccount> {
    register_with_id(deps, actor, Uuid::now_v7(), input).await
}

/// [`register`] with a given id (the demo consumer has a stable one).
pub async fn register_with_id(
    deps: &Deps,
    actor: &Actor,
    id: Uuid,
    input: Registration,
) -> ServiceResult<ConsumerAccount> {
    let email = normalize_email(&input.email);
    let mut problems = Vec::new();
    if email.chars().count() > 320 || !email_address::EmailAddress::is_valid(&email) {
        problems.push(violation(
            "email",
            ViolationCode::InvalidEmail,
            "is not an email address",
        ));
    }
    if password::check_policy(&input.password, &email).is_err() {
        problems.push(violation(
            "password",
            ViolationCode::WeakPassword,
            "use 10 to 128 characters, not your email and not one character repeated",
        ));
    }
    let given_name = optional(input.given_name);
    let family_name = optional(input.family_name);
    for (field, value) in [("givenName", &given_name), ("familyName", &family_name)] {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > 100 || v.chars().any(char::is_control))
        {
            problems.push(violation(
                field,
                ViolationCode::TooLong,
                "must be at most 100 printable characters",
            ));
        }
    }
    let phone = optional(input.phone);
    if phone.as_deref().is_some_and(|p| !is_e164(p)) {
        problems.push(violation(
            "phone",
            ViolationCode::InvalidPhone,
            "must be in E.164 form, e.g. +393331234567",
        ));
    }
    if !problems.is_empty() {
        return Err(ServiceError::Rejected(problems));
    }
    let password_hash = password::hash(&input.password)
        .await
        .or_internal(|| "password hash")?;
    let now = ChronoUnixTimestampMillis(deps.clock.now());
    let account = ConsumerAccount {
        id,
        email,
        given_name,
        family_name,
        phone,
        created_at: now.0,
        mfa_enabled: false,
        spending_limit_minor: DEFAULT_SPENDING_LIMIT,
        currency: Currency::Eur,
        active: true,
    };
    let row = new_row(&deps.vault, &account, password_hash);
    let mut work = UnitOfWork::begin(deps).await?;
    consumer::Entity::insert(row.into_active_model())
        .exec_without_returning(work.txn())
        .await
        .on_unique("email_lookup", || {
            ServiceError::Rejected(vec![violation(
                "email",
                ViolationCode::EmailTaken,
                "an account with this email exists; log in instead",
            )])
        })?;
    work.audit(
        actor,
        "consumer.registered",
        Some(("consumer", account.id)),
        json!(null),
        now.0,
    );
    work.commit().await?;
    Ok(account)
}

/// Starts a session for a correct email and password. Every failure, unknown email
/// included, gives the same violation after the same amount of work, and attempts are
/// throttled per account and per client address.
pub async fn login(
    deps: &Deps,
    actor: &Actor,
    email: &str,
    password: &str,
) -> ServiceResult<LoginOutcome> {
    let email = normalize_email(email);
    deps.login_throttle
        .attempt(&email, actor.ip)
        .map_err(|retry_after| ServiceError::RateLimited { retry_after })?;
    let account = consumer::Entity::find()
        .filter(consumer::Column::EmailLookup.eq(deps.vault.lookup_hash(&email)))
        .one(&deps.db)
        .await?;
    let stored = account.as_ref().and_then(|a| a.password_hash.as_deref());
    let verified = password::verify(password, stored).await;
    let now = deps.clock.now();
    let account = match account {
        Some(account) if verified && account.status == ConsumerStatus::Active => account,
        account => {
            let who = Actor {
                id: account.as_ref().map(|a| a.id),
                kind: "consumer",
                ip: actor.ip,
            };
            let target = account.as_ref().map(|a| ("consumer", a.id));
            audit::record(
                &deps.db,
                &who,
                "consumer.login_failed",
                target,
                json!(null),
                now,
            )
            .await?;
            return Err(ServiceError::Rejected(vec![violation(
                "password",
                ViolationCode::InvalidCredentials,
                BAD_CREDENTIALS,
            )]));
        }
    };
    if account.totp_confirmed_at.is_some() {
        let mfa_token = session::issue_mfa(&deps.keys, account.id, now)
            .or_internal(|| "cannot sign a token")?;
        return Ok(LoginOutcome::MfaRequired {
            mfa_token,
            expires_in: session::MFA_TOKEN_LIFETIME.num_seconds(),
        });
    }
    start_session(deps, actor, &account, "consumer.login_succeeded")
        .await
        .map(LoginOutcome::Session)
}

/// What a correct email and password lead to.
#[derive(Debug, Clone)]
pub enum LoginOutcome {
    /// A session started.
    Session(SessionTokens),
    /// The account has MFA: complete the login with `verifyMfa` and this token.
    MfaRequired {
        /// Proves the password step; short-lived, and good only for `verifyMfa`.
        mfa_token: String,
        /// Seconds until the MFA token expires.
        expires_in: i64,
    },
}

/// Starts a session for an authenticated account and audits it as `action`.
pub(crate) async fn start_session(
    deps: &Deps,
    actor: &Actor,
    account: &consumer::Model,
    action: &str,
) -> ServiceResult<SessionTokens> {
    let now = deps.clock.now();
    let session_id = Uuid::now_v7();
    let mut work = UnitOfWork::begin(deps).await?;
    consumer_session::Entity::insert(
        consumer_session::Model {
            id: session_id,
            consumer_id: account.id,
            created_at: ChronoUnixTimestampMillis(now),
            expires_at: ChronoUnixTimestampMillis(now + SESSION_LIFETIME),
            revoked_at: None,
            revoked_reason: None,
        }
        .into_active_model(),
    )
    .exec_without_returning(work.txn())
    .await?;
    let refresh = new_refresh_token(work.txn(), session_id, now).await?;
    let who = Actor::consumer(account.id, actor.ip);
    work.audit(
        &who,
        action,
        Some(("consumer_session", session_id)),
        json!(null),
        now,
    );
    work.commit().await?;
    let opened = open(&deps.vault, account)?;
    tokens(deps, opened, session_id, refresh, now)
}

async fn new_refresh_token(
    txn: &impl sea_orm::ConnectionTrait,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> ServiceResult<String> {
    let token = random_secret("rt_");
    refresh_token::Entity::insert(
        refresh_token::Model {
            id: Uuid::now_v7(),
            session_id,
            token_hash: hash_secret(&token),
            created_at: ChronoUnixTimestampMillis(now),
            spent_at: None,
        }
        .into_active_model(),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(token)
}

fn tokens(
    deps: &Deps,
    consumer: ConsumerAccount,
    session_id: Uuid,
    refresh_token: String,
    now: DateTime<Utc>,
) -> ServiceResult<SessionTokens> {
    let principal = ConsumerPrincipal {
        consumer_id: consumer.id,
        session_id,
    };
    let access_token = session::issue(&deps.keys, &principal, now, deps.access_token_ttl)
        .or_internal(|| "cannot sign a token")?;
    Ok(SessionTokens {
        access_token,
        expires_in: deps.access_token_ttl.num_seconds(),
        refresh_token,
        consumer,
    })
}

fn invalid_refresh() -> ServiceError {
    ServiceError::Unauthenticated("the refresh token is not valid; log in again".to_owned())
}

/// Exchanges a refresh token for a new access token and a new refresh token. A token is
/// good once: presenting a spent one means it was stolen or replayed, so the whole session
/// is revoked and every token of it stops working.
pub async fn refresh(deps: &Deps, actor: &Actor, token: &str) -> ServiceResult<SessionTokens> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    let presented = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash_secret(token)))
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or_else(invalid_refresh)?;
    let session = consumer_session::Entity::find_by_id(presented.session_id)
        .lock_exclusive()
        .one(work.txn())
        .await?
        .ok_or_else(invalid_refresh)?;
    if session.revoked_at.is_some() || session.expires_at.0 <= now {
        return Err(invalid_refresh());
    }
    if presented.spent_at.is_some() {
        revoke_session(work.txn(), session.id, "refresh_token_reuse", now).await?;
        let who = Actor::consumer(session.consumer_id, actor.ip);
        work.audit(
            &who,
            "consumer.session_revoked",
            Some(("consumer_session", session.id)),
            json!({ "reason": "refresh_token_reuse" }),
            now,
        );
        work.commit().await?;
        return Err(invalid_refresh());
    }
    let spent = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::SpentAt,
            Expr::value(now.timestamp_millis()),
        )
        .filter(refresh_token::Column::Id.eq(presented.id))
        .filter(refresh_token::Column::SpentAt.is_null())
        .exec(work.txn())
        .await?;
    if spent.rows_affected != 1 {
        return Err(invalid_refresh());
    }
    let next = new_refresh_token(work.txn(), session.id, now).await?;
    work.commit().await?;
    let account = get(deps, session.consumer_id).await?;
    tokens(deps, account, session.id, next, now)
}

async fn revoke_session(
    txn: &impl sea_orm::ConnectionTrait,
    session_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    consumer_session::Entity::update_many()
        .col_expr(
            consumer_session::Column::RevokedAt,
            Expr::value(now.timestamp_millis()),
        )
        .col_expr(consumer_session::Column::RevokedReason, Expr::value(reason))
        .filter(consumer_session::Column::Id.eq(session_id))
        .filter(consumer_session::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    Ok(())
}

/// Ends the caller's session: its refresh tokens stop working at once (its access tokens
/// when they expire, within minutes).
pub async fn logout(
    deps: &Deps,
    actor: &Actor,
    principal: &ConsumerPrincipal,
) -> ServiceResult<()> {
    let now = deps.clock.now();
    let mut work = UnitOfWork::begin(deps).await?;
    revoke_session(work.txn(), principal.session_id, "logout", now).await?;
    work.audit(
        actor,
        "consumer.logout",
        Some(("consumer_session", principal.session_id)),
        json!(null),
        now,
    );
    work.commit().await?;
    Ok(())
}

/// A consumer account, decrypted, or `NotFound`.
pub async fn get(deps: &Deps, id: Uuid) -> ServiceResult<ConsumerAccount> {
    let row = consumer::Entity::find_by_id(id)
        .one(&deps.db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    open(&deps.vault, &row)
}
