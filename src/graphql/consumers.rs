//! Consumer accounts in the API: register, log in, refresh, log out, and `me`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::{
    context::{ConsumerGuard, actor, consumer as calling_consumer, services},
    errors::{UserError, payload_parts},
    ids::{NodeKind, encode},
    scalars::DateTime,
};
use crate::service::consumers::{self, ConsumerAccount, Registration, SessionTokens};

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

    /// When the account was opened.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
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

/// Result of `login` and `refreshSession`.
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
    #[graphql(guard = "ConsumerGuard")]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Consumer> {
        let principal = calling_consumer(ctx)?;
        Ok(Consumer(
            consumers::get(services(ctx)?, principal.consumer_id).await?,
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
        let result = consumers::register(services(ctx)?, &actor(ctx), registration).await;
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
    ) -> async_graphql::Result<SessionPayload> {
        let result =
            consumers::login(services(ctx)?, &actor(ctx), &input.email, &input.password).await;
        let (tokens, user_errors) = payload_parts(result)?;
        Ok(SessionPayload {
            session: tokens.map(Session::from),
            user_errors,
        })
    }

    /// Exchanges a refresh token for new tokens. An invalid, expired or reused refresh
    /// token is `UNAUTHENTICATED`; reuse also ends the session.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current refresh token.")] input: RefreshSessionInput,
    ) -> async_graphql::Result<SessionPayload> {
        let tokens = consumers::refresh(services(ctx)?, &actor(ctx), &input.refresh_token).await?;
        Ok(SessionPayload {
            session: Some(tokens.into()),
            user_errors: Vec::new(),
        })
    }

    /// Ends the calling consumer's session.
    #[graphql(guard = "ConsumerGuard")]
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<LogoutPayload> {
        let principal = calling_consumer(ctx)?;
        consumers::logout(services(ctx)?, &actor(ctx), principal).await?;
        Ok(LogoutPayload {
            logged_out: true,
            user_errors: Vec::new(),
        })
    }
}
