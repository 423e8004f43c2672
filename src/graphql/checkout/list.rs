//! A merchant's list of checkouts: filter, sort and the connection.

use async_graphql::{Context, Enum, InputObject};
use uuid::Uuid;

use super::{Checkout, CheckoutStatus, prefetch};
use crate::{
    graphql::{
        connection::{Connection, PageArgs, SortDirection, wants_total_count},
        context::deps,
        scalars::DateTime,
    },
    service::checkouts::{self, CheckoutFilter, CheckoutSortKey},
};

/// Which checkouts to list. All conditions must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct CheckoutFilterInput {
    /// Only checkouts in this status (as read now: an open checkout past its expiry is
    /// `EXPIRED`).
    pub status: Option<CheckoutStatus>,
    /// Only checkouts created at or after this instant.
    pub created_after: Option<DateTime>,
    /// Only checkouts created before this instant.
    pub created_before: Option<DateTime>,
    /// Only checkouts with this merchant reference.
    pub merchant_reference: Option<String>,
}

impl From<CheckoutFilterInput> for CheckoutFilter {
    fn from(input: CheckoutFilterInput) -> Self {
        Self {
            status: input.status.map(Into::into),
            created_after: input.created_after.map(|at| at.0),
            created_before: input.created_before.map(|at| at.0),
            merchant_reference: input.merchant_reference,
        }
    }
}

/// The orders a checkout list can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
#[graphql(remote = "CheckoutSortKey")]
pub enum CheckoutSortField {
    /// By creation time.
    #[default]
    CreatedAt,
    /// By expiry time.
    ExpiresAt,
}

/// How to order a checkout list. Ties are broken by ID, so the order is total.
#[derive(Debug, Clone, Copy, Default, InputObject)]
pub struct CheckoutSortInput {
    /// What to sort by.
    #[graphql(default)]
    pub field: CheckoutSortField,
    /// Which way.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// One page of a merchant's checkouts, with the relations the query selects prefetched.
pub async fn list_checkouts(
    ctx: &Context<'_>,
    merchant_id: Uuid,
    page: PageArgs,
    filter: CheckoutFilterInput,
    sort: CheckoutSortInput,
) -> async_graphql::Result<Connection<Checkout>> {
    // Cursors carry their sort, so one from another order is refused.
    let order = format!("{:?}:{:?}", sort.field, sort.direction);
    let page = page.request(&order)?;
    let filter = CheckoutFilter::from(filter);
    let key = CheckoutSortKey::from(sort.field);
    let descending = sort.direction == SortDirection::Desc;
    let deps = deps(ctx)?;
    let rows = checkouts::list(deps, merchant_id, &filter, key, descending, page).await?;
    let look = ctx.look_ahead();
    let nodes = [look.field("nodes"), look.field("edges").field("node")];
    prefetch(ctx, &nodes, &rows.rows).await?;
    let total_count = if wants_total_count(ctx) {
        checkouts::count(deps, merchant_id, &filter).await?
    } else {
        0
    };
    Ok(Connection::new(
        &order,
        rows,
        |row| key.cursor(row),
        Checkout,
        total_count,
    ))
}
