//! The audit log in the API, for admins: who did what to which object, when and from where.

use async_graphql::{Context, InputObject, Object};
use entity::audit_log;
use uuid::Uuid;

use super::{
    connection::{Connection, PageArgs, SortDirection, wants_total_count},
    context::{StaffGuard, deps},
    errors::ErrorCode,
    scalars::DateTime,
};
use crate::{
    domain::staff::StaffRole,
    service::audit::{self, AuditFilter},
};

/// One security-relevant action. Entries never hold secrets.
#[derive(Clone)]
pub struct AuditEntry(pub audit_log::Model);

/// One security-relevant action. Entries never hold secrets.
#[Object]
impl AuditEntry {
    /// The entry's UUID.
    async fn id(&self) -> String {
        self.0.id.to_string()
    }

    /// What was done, e.g. `api_key.created` or `consumer.login_failed`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// Who acted: `consumer`, `merchant_api_key`, `staff`, `anonymous`, `command_line` or
    /// `system`.
    async fn actor_kind(&self) -> &str {
        &self.0.actor_kind
    }

    /// The UUID of the actor (the consumer, API key or member of staff), if it has one.
    async fn actor_id(&self) -> Option<String> {
        self.0.actor_id.map(|id| id.to_string())
    }

    /// The kind of object acted on, e.g. `api_key` or `consumer`.
    async fn target_type(&self) -> Option<&str> {
        self.0.target_type.as_deref()
    }

    /// The UUID of the object acted on.
    async fn target_id(&self) -> Option<String> {
        self.0.target_id.map(|id| id.to_string())
    }

    /// The client address the request came from.
    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }

    /// Details, as JSON text (e.g. the scopes of a created key).
    async fn metadata(&self) -> Option<&str> {
        self.0.metadata.as_deref()
    }

    /// When it happened.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }
}

/// Which entries to list. All conditions must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct AuditLogFilterInput {
    /// Only this action, e.g. `consumer.login_failed`.
    pub action: Option<String>,
    /// Only entries by this actor (a UUID, as in `actorId`).
    pub actor_id: Option<String>,
    /// Only entries about this object (a UUID, as in `targetId`).
    pub target_id: Option<String>,
    /// Only entries at or after this instant.
    pub created_after: Option<DateTime>,
    /// Only entries before this instant.
    pub created_before: Option<DateTime>,
}

impl TryFrom<AuditLogFilterInput> for AuditFilter {
    type Error = async_graphql::Error;

    fn try_from(input: AuditLogFilterInput) -> async_graphql::Result<Self> {
        let uuid = |value: Option<String>, name: &str| {
            value
                .map(|text| {
                    Uuid::try_parse(text.trim()).map_err(|_| {
                        ErrorCode::BadUserInput.error(format!("`{name}` must be a UUID"))
                    })
                })
                .transpose()
        };
        Ok(Self {
            actor_id: uuid(input.actor_id, "actorId")?,
            target_id: uuid(input.target_id, "targetId")?,
            action: input.action,
            created_after: input.created_after.map(|at| at.0),
            created_before: input.created_before.map(|at| at.0),
        })
    }
}

/// Audit log queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first unless `direction` says otherwise. Admins only.
    #[allow(clippy::too_many_arguments)]
    #[graphql(
        guard = "StaffGuard(StaffRole::Admin)",
        cache_control(no_cache),
        complexity = "crate::graphql::cost::connection(first, last, child_complexity)"
    )]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n entries (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return entries after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n entries (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return entries before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which entries.")] filter: Option<AuditLogFilterInput>,
        #[graphql(desc = "Order by time: `DESC` (default) or `ASC`.")] direction: Option<
            SortDirection,
        >,
    ) -> async_graphql::Result<Connection<AuditEntry>> {
        let direction = direction.unwrap_or_default();
        let order = format!("CREATED_AT:{direction:?}");
        let page = PageArgs {
            first,
            after,
            last,
            before,
        }
        .request(&order)?;
        let filter = AuditFilter::try_from(filter.unwrap_or_default())?;
        let deps = deps(ctx)?;
        let rows = audit::list(deps, &filter, direction == SortDirection::Desc, page).await?;
        let total_count = if wants_total_count(ctx) {
            audit::count(deps, &filter).await?
        } else {
            0
        };
        Ok(Connection::new(
            &order,
            rows,
            audit::cursor,
            AuditEntry,
            total_count,
        ))
    }
}
