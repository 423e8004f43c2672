//! The operator's staff in the API: signing in (password and TOTP together, as MFA is
//! mandatory for staff) and reading one's own account.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

use super::{
    context::{StaffGuard, actor, deps, staff_with},
    errors::{UserError, payload_parts},
    ids::{NodeKind, encode},
};
use crate::{
    domain::staff::StaffRole as Role,
    service::staff::{self, StaffSession},
};

/// What a member of staff may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "Role")]
pub enum StaffRole {
    /// Everything support may do, and reading the audit log.
    Admin,
    /// Reads any checkout or order, with the shopper's personal data masked.
    Support,
}

/// A member of the operator's staff.
#[derive(Clone)]
pub struct StaffMember(pub staff::StaffMember);

/// A member of the operator's staff.
#[Object]
impl StaffMember {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::StaffMember, self.0.id)
    }

    /// Work email, used to sign in.
    async fn email(&self) -> &str {
        &self.0.email
    }

    /// What they may do.
    async fn role(&self) -> StaffRole {
        self.0.role.into()
    }
}

/// Credentials of a member of staff: all three are needed.
#[derive(Debug, Clone, InputObject)]
pub struct StaffLoginInput {
    /// Work email.
    pub email: String,
    /// Password, as `paylater admin create` printed it.
    #[graphql(secret)]
    pub password: String,
    /// The current code of the authenticator app; each code works once.
    #[graphql(secret)]
    pub code: String,
}

/// A signed-in member of staff.
#[derive(SimpleObject)]
pub struct StaffSessionToken {
    /// Send as `Authorization: Bearer <accessToken>`. There is no refresh token: sign in
    /// again when it expires.
    pub access_token: String,
    /// Seconds until `accessToken` expires (at most 15 minutes).
    pub expires_in: i64,
    /// Who signed in.
    pub staff_member: StaffMember,
}

impl From<StaffSession> for StaffSessionToken {
    fn from(session: StaffSession) -> Self {
        Self {
            access_token: session.access_token,
            expires_in: session.expires_in,
            staff_member: StaffMember(session.member),
        }
    }
}

/// Result of `staffLogin`.
#[derive(SimpleObject)]
pub struct StaffLoginPayload {
    /// The session; null when the credentials were refused.
    pub session: Option<StaffSessionToken>,
    /// `INVALID_CREDENTIALS` when the email, password or code is wrong (never which);
    /// empty on success.
    pub user_errors: Vec<UserError>,
}

/// Staff queries.
#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// The member of staff whose access token made this request.
    #[graphql(guard = "StaffGuard(Role::Support)", cache_control(no_cache))]
    async fn staff_member(&self, ctx: &Context<'_>) -> async_graphql::Result<StaffMember> {
        let principal = staff_with(ctx, Role::Support)?;
        Ok(StaffMember(
            staff::get(deps(ctx)?, principal.staff_id).await?,
        ))
    }
}

/// Staff mutations.
#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Signs a member of staff in with email, password and a TOTP code. Attempts are
    /// limited per account and per client address (`RATE_LIMITED`).
    async fn staff_login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Email, password and code.")] input: StaffLoginInput,
    ) -> async_graphql::Result<StaffLoginPayload> {
        let result = staff::login(
            deps(ctx)?,
            &actor(ctx),
            &input.email,
            &input.password,
            &input.code,
        )
        .await;
        let (session, user_errors) = payload_parts(result)?;
        Ok(StaffLoginPayload {
            session: session.map(Into::into),
            user_errors,
        })
    }
}
