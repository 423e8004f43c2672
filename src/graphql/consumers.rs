//! Consumer accounts in the API: register, log in, refresh, log out, and `me`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::{
    connection::{Connection, PageArgs},
    context::{ConsumerGuard, actor, consumer as calling_consumer, deps},
    errors::{UserError, payload_parts},
    ids::{NodeKind, encode},
    money::Money,
    order_queries::{OrderFilterInput, OrderSortInput, list_orders},
    orders::{Installment, Order},
    payment_methods::PaymentMethod,
    scalars::DateTime,
};
use crate::service::{
    consumers::{self, ConsumerAccount, LoginOutcome, Registration, SessionTokens},
    mfa,
    orders::{self, list::Owner},
    payment_methods,
};

/// A shopper's account, as the shopper sees it.
#[derive(Clone)]
pub struct Consumer(pub ConsumerAccount);

/// A shopper's account, as the shopper sees it.
#[Object]
impl Consumer {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Consumer, self.0.id)
    }

    /// Email address (lower-case), used to log in.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// Given name.
    async fn given_name(&self) -> Option<&str> {
        self.0.given_name.as_deref()
    }

    /// Family name.
    async fn family_name(&self) -> Option<&str> {
        self.0.family_name.as_deref()
    }

    /// Phone number in E.164 form.
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    /// Whether logging in needs a one-time code after the password.
    async fn mfa_enabled(&self) -> bool {
        self.0.mfa_enabled
    }

    /// When the account was opened.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// Your orders, newest first unless `sort` says otherwise.
    #[graphql(complexity = "crate::graphql::cost::connection(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n orders (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return orders after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n orders (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return orders before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which orders to include.")] filter: Option<OrderFilterInput>,
        #[graphql(desc = "How to order them.")] sort: Option<OrderSortInput>,
    ) -> async_graphql::Result<Connection<Order>> {
        let page = PageArgs {
            first,
            after,
            last,
            before,
        };
        list_orders(ctx, Owner::Consumer(self.0.id), page, filter, sort).await
    }

    /// Your next instalments to pay, across your open orders, earliest due first (at most
    /// 20).
    async fn upcoming_installments(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<Installment>> {
        let db = &deps(ctx)?.db;
        let rows = orders::list::upcoming_installments(db, self.0.id, 20).await?;
        let currency = self.0.currency;
        Ok(rows
            .into_iter()
            .map(|row| Installment(row, currency))
            .collect())
    }

    /// How much you can still buy with paylater.
    async fn spending_limit(&self, ctx: &Context<'_>) -> async_graphql::Result<SpendingLimit> {
        let position = orders::list::spending(&deps(ctx)?.db, &self.0).await?;
        let currency = self.0.currency;
        Ok(SpendingLimit {
            limit: Money::minor(position.limit, currency),
            outstanding: Money::minor(position.outstanding, currency),
            available: Money::minor(position.available(), currency),
        })
    }

    /// Your cards, the default first, then newest first.
    async fn payment_methods(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PaymentMethod>> {
        let methods = payment_methods::list(&deps(ctx)?.db, self.0.id).await?;
        Ok(methods.into_iter().map(PaymentMethod).collect())
    }
}

/// A consumer's credit: new orders must fit in `available`.
#[derive(SimpleObject)]
pub struct SpendingLimit {
    /// The most the consumer may owe at once.
    pub limit: Money,
    /// What their open orders still owe.
    pub outstanding: Money,
    /// What is left for new orders (never negative).
    pub available: Money,
}

/// A logged-in session's tokens.
#[derive(SimpleObject)]
pub struct Session {
    /// Send as `Authorization: Bearer <accessToken>`; short-lived.
    pub access_token: String,
    /// Seconds until `accessToken` expires.
    pub expires_in: i64,
    /// Exchange with `refreshSession` for new tokens; good once. Keep it secret: a
    /// refresh token used twice ends the session.
    pub refresh_token: String,
    /// The account.
    pub consumer: Consumer,
}

impl From<SessionTokens> for Session {
    fn from(tokens: SessionTokens) -> Self {
        Self {
            access_token: tokens.access_token,
            expires_in: tokens.expires_in,
            refresh_token: tokens.refresh_token,
            consumer: Consumer(tokens.consumer),
        }
    }
}

/// A new account.
#[derive(Debug, Clone, InputObject)]
pub struct RegisterConsumerInput {
    /// Email address, to log in with.
    pub email: String,
    /// 10 to 128 characters; not the email, not one character repeated.
    #[graphql(secret)]
    pub password: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Phone number in E.164 form, e.g. `+393331234567`.
    pub phone: Option<String>,
}

/// Result of `registerConsumer`.
#[derive(SimpleObject)]
pub struct RegisterConsumerPayload {
    /// The new account; null when the input was refused. Log in to start a session.
    pub consumer: Option<Consumer>,
    /// What to fix; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Credentials to log in with.
#[derive(Debug, Clone, InputObject)]
pub struct LoginInput {
    /// The account's email.
    pub email: String,
    /// The account's password.
    #[graphql(secret)]
    pub password: String,
}

/// Result of `login`.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// The session's tokens; null when the credentials were refused or MFA is required.
    pub session: Option<Session>,
    /// The account has MFA: send `mfaToken` and a code to `verifyMfa` to get the session.
    pub mfa_required: bool,
    /// Proof of the password step for `verifyMfa`; valid 5 minutes.
    pub mfa_token: Option<String>,
    /// `INVALID_CREDENTIALS` for a wrong email or password (never which); empty on success.
    pub user_errors: Vec<UserError>,
}

/// Result of `refreshSession` and `verifyMfa`.
#[derive(SimpleObject)]
pub struct SessionPayload {
    /// The session's tokens; null when the credentials were refused.
    pub session: Option<Session>,
    /// `INVALID_CREDENTIALS` for a wrong email or password (never which); empty on success.
    pub user_errors: Vec<UserError>,
}

/// A refresh token to exchange.
#[derive(Debug, Clone, InputObject)]
pub struct RefreshSessionInput {
    /// The refresh token from the last `login` or `refreshSession`.
    #[graphql(secret)]
    pub refresh_token: String,
}

/// Result of `logout`.
#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// True once the session has ended.
    pub logged_out: bool,
    /// Always empty.
    pub user_errors: Vec<UserError>,
}

/// Consumer queries.
#[derive(Default)]
pub struct ConsumerQuery;

#[Object]
impl ConsumerQuery {
    /// The consumer whose access token made this request.
    #[graphql(guard = "ConsumerGuard", cache_control(no_cache))]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Consumer> {
        let principal = calling_consumer(ctx)?;
        Ok(Consumer(
            consumers::get(deps(ctx)?, principal.consumer_id).await?,
        ))
    }
}

/// Consumer mutations.
#[derive(Default)]
pub struct ConsumerMutation;

#[Object]
impl ConsumerMutation {
    /// Opens a consumer account. Needs no credentials.
    async fn register_consumer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account.")] input: RegisterConsumerInput,
    ) -> async_graphql::Result<RegisterConsumerPayload> {
        let registration = Registration {
            email: input.email,
            password: input.password,
            given_name: input.given_name,
            family_name: input.family_name,
            phone: input.phone,
        };
        let result = consumers::register(deps(ctx)?, &actor(ctx), registration).await;
        let (consumer, user_errors) = payload_parts(result)?;
        Ok(RegisterConsumerPayload {
            consumer: consumer.map(Consumer),
            user_errors,
        })
    }

    /// Starts a session with an email and password. Attempts are limited per account and
    /// per client address (`RATE_LIMITED` with `retryAfterSeconds`).
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Email and password.")] input: LoginInput,
    ) -> async_graphql::Result<LoginPayload> {
        let result = consumers::login(deps(ctx)?, &actor(ctx), &input.email, &input.password).await;
        let (outcome, user_errors) = payload_parts(result)?;
        Ok(match outcome {
            Some(LoginOutcome::Session(tokens)) => LoginPayload {
                session: Some(tokens.into()),
                mfa_required: false,
                mfa_token: None,
                user_errors,
            },
            Some(LoginOutcome::MfaRequired { mfa_token, .. }) => LoginPayload {
                session: None,
                mfa_required: true,
                mfa_token: Some(mfa_token),
                user_errors,
            },
            None => LoginPayload {
                session: None,
                mfa_required: false,
                mfa_token: None,
                user_errors,
            },
        })
    }

    /// Exchanges a refresh token for new tokens. An invalid, expired or reused refresh
    /// token is `UNAUTHENTICATED`; reuse also ends the session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current refresh token.")] input: RefreshSessionInput,
    ) -> async_graphql::Result<SessionPayload> {
        let tokens = consumers::refresh(deps(ctx)?, &actor(ctx), &input.refresh_token).await?;
        Ok(SessionPayload {
            session: Some(tokens.into()),
            user_errors: Vec::new(),
        })
    }

    /// Ends the calling consumer's session.
    #[graphql(guard = "ConsumerGuard")]
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<LogoutPayload> {
        let principal = calling_consumer(ctx)?;
        consumers::logout(deps(ctx)?, &actor(ctx), principal).await?;
        Ok(LogoutPayload {
            logged_out: true,
            user_errors: Vec::new(),
        })
    }

    /// Starts setting up TOTP: returns a secret and an `otpauth://` URI for an
    /// authenticator app. Nothing changes at login until `confirmTotp`.
    #[graphql(guard = "ConsumerGuard")]
    async fn enroll_totp(&self, ctx: &Context<'_>) -> async_graphql::Result<EnrollTotpPayload> {
        let principal = calling_consumer(ctx)?;
        let result = mfa::enroll(deps(ctx)?, &actor(ctx), principal.consumer_id).await;
        let (enrollment, user_errors) = payload_parts(result)?;
        Ok(EnrollTotpPayload {
            secret: enrollment.as_ref().map(|e| e.secret.clone()),
            provisioning_uri: enrollment.map(|e| e.provisioning_uri),
            user_errors,
        })
    }

    /// Turns MFA on with a first code from the authenticator app, and returns ten
    /// single-use recovery codes, shown only here.
    #[graphql(guard = "ConsumerGuard")]
    async fn confirm_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A current code from the authenticator app.")] input: TotpCodeInput,
    ) -> async_graphql::Result<ConfirmTotpPayload> {
        let principal = calling_consumer(ctx)?;
        let result =
            mfa::confirm(deps(ctx)?, &actor(ctx), principal.consumer_id, &input.code).await;
        let (codes, user_errors) = payload_parts(result)?;
        Ok(ConfirmTotpPayload {
            recovery_codes: codes,
            user_errors,
        })
    }

    /// Turns MFA off, given a current code or an unused recovery code.
    #[graphql(guard = "ConsumerGuard")]
    async fn disable_totp(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A current code or a recovery code.")] input: TotpCodeInput,
    ) -> async_graphql::Result<DisableTotpPayload> {
        let principal = calling_consumer(ctx)?;
        let result =
            mfa::disable(deps(ctx)?, &actor(ctx), principal.consumer_id, &input.code).await;
        let (done, user_errors) = payload_parts(result)?;
        Ok(DisableTotpPayload {
            mfa_enabled: done.is_none(),
            user_errors,
        })
    }

    /// Completes a login that answered `mfaRequired`: the MFA token and a current code
    /// (or an unused recovery code) start the session. A code works once.
    async fn verify_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The MFA token from `login` and a code.")] input: VerifyMfaInput,
    ) -> async_graphql::Result<SessionPayload> {
        let result =
            mfa::verify_login(deps(ctx)?, &actor(ctx), &input.mfa_token, &input.code).await;
        let (tokens, user_errors) = payload_parts(result)?;
        Ok(SessionPayload {
            session: tokens.map(Session::from),
            user_errors,
        })
    }
}

/// A one-time code.
#[derive(Debug, Clone, InputObject)]
pub struct TotpCodeInput {
    /// Six digits from the authenticator app, or a recovery code where one is accepted.
    #[graphql(secret)]
    pub code: String,
}

/// The second login step.
#[derive(Debug, Clone, InputObject)]
pub struct VerifyMfaInput {
    /// The `mfaToken` from `login`.
    #[graphql(secret)]
    pub mfa_token: String,
    /// Six digits from the authenticator app, or an unused recovery code.
    #[graphql(secret)]
    pub code: String,
}

/// Result of `enrollTotp`.
#[derive(SimpleObject)]
pub struct EnrollTotpPayload {
    /// The secret (base32), to type into an authenticator app.
    pub secret: Option<String>,
    /// The same as an `otpauth://` URI, to show as a QR code.
    pub provisioning_uri: Option<String>,
    /// `MFA_ALREADY_ENABLED` when MFA is on; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Result of `confirmTotp`.
#[derive(SimpleObject)]
pub struct ConfirmTotpPayload {
    /// Ten single-use recovery codes; store them safely, they are not shown again.
    pub recovery_codes: Option<Vec<String>>,
    /// `INVALID_CODE`, `MFA_NOT_ENROLLED` or `MFA_ALREADY_ENABLED`; empty on success.
    pub user_errors: Vec<UserError>,
}

/// Result of `disableTotp`.
#[derive(SimpleObject)]
pub struct DisableTotpPayload {
    /// Whether MFA is still on (false on success).
    pub mfa_enabled: bool,
    /// `INVALID_CODE` or `MFA_NOT_ENROLLED`; empty on success.
    pub user_errors: Vec<UserError>,
}
