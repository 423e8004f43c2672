//! Merchants in the API: the public profile shoppers see, the account a merchant sees of
//! itself, and its list of checkouts.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::merchant;

use super::{
    checkout::{Checkout, CheckoutStatus, prefetch},
    connection::{PageInfo, decode_cursor, encode_cursor},
    context::{MerchantGuard, merchant as calling_merchant, services},
    ids::{NodeKind, encode},
    scalars::DateTime,
};
use crate::service::{
    checkouts::{self, CheckoutFilter, CheckoutSortKey},
    merchants,
    pagination::PageRequest,
};

/// A merchant as shoppers see it on a checkout.
pub struct MerchantProfile(pub merchant::Model);

/// A merchant as shoppers see it on a checkout.
#[Object]
impl MerchantProfile {
    /// The merchant's global ID (the one `installmentPlans` takes).
    async fn id(&self) -> ID {
        encode(NodeKind::Merchant, self.0.id)
    }

    /// Trading name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The shop's website.
    async fn website_url(&self) -> Option<&str> {
        self.0.website_url.as_deref()
    }

    /// Logo to show in the checkout.
    async fn logo_url(&self) -> Option<&str> {
        self.0.logo_url.as_deref()
    }

    /// Where shoppers can ask about their order.
    async fn support_email(&self) -> Option<&str> {
        self.0.support_email.as_deref()
    }
}

/// The calling merchant's own account.
pub struct Merchant(pub merchant::Model);

impl Merchant {
    /// Global ID, for the `Node` interface (the field itself comes with the profile).
    pub async fn id(&self, _ctx: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(encode(NodeKind::Merchant, self.0.id))
    }
}

/// The calling merchant's own account: its public profile and what only it may see.
#[Object]
impl Merchant {
    /// The public profile's fields.
    #[graphql(flatten)]
    async fn profile(&self) -> MerchantProfile {
        MerchantProfile(self.0.clone())
    }

    /// When the account was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.0)
    }

    /// This merchant's checkouts, newest first unless `sort` says otherwise.
    #[graphql(complexity = "first.or(last).unwrap_or(20).max(0) as usize * child_complexity + 1")]
    #[allow(clippy::too_many_arguments)]
    async fn checkouts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n checkouts (at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return checkouts after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n checkouts (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return checkouts before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which checkouts to include.")] filter: Option<CheckoutFilterInput>,
        #[graphql(desc = "How to order them.")] sort: Option<CheckoutSort>,
    ) -> async_graphql::Result<CheckoutConnection> {
        let sort = sort.unwrap_or_default();
        let order = sort.cursor_scope();
        let decode = |cursor: Option<String>| cursor.map(|c| decode_cursor(&order, &c)).transpose();
        let page = PageRequest::new(first, last, decode(after)?, decode(before)?)?;
        let filter = CheckoutFilter::from(filter.unwrap_or_default());
        let key = sort.field.into();
        let rows = checkouts::list(
            services(ctx)?,
            self.0.id,
            &filter,
            key,
            sort.descending(),
            page,
        )
        .await?;
        let look = ctx.look_ahead();
        prefetch(
            ctx,
            &[look.field("nodes"), look.field("edges").field("node")],
            &rows.rows,
        )
        .await?;
        Ok(CheckoutConnection {
            merchant_id: self.0.id,
            filter,
            page_info: PageInfo {
                has_next_page: rows.has_next_page,
                has_previous_page: rows.has_previous_page,
                start_cursor: rows
                    .rows
                    .first()
                    .map(|row| encode_cursor(&order, key.cursor(row))),
                end_cursor: rows
                    .rows
                    .last()
                    .map(|row| encode_cursor(&order, key.cursor(row))),
            },
            edges: rows
                .rows
                .into_iter()
                .map(|row| CheckoutEdge {
                    cursor: encode_cursor(&order, key.cursor(&row)),
                    node: Checkout(row),
                })
                .collect(),
        })
    }
}

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

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    #[default]
    Desc,
}

/// How to order a checkout list. Ties are broken by ID, so the order is total.
#[derive(Debug, Clone, Copy, Default, InputObject)]
pub struct CheckoutSort {
    /// What to sort by.
    #[graphql(default)]
    pub field: CheckoutSortField,
    /// Which way.
    #[graphql(default)]
    pub direction: SortDirection,
}

impl CheckoutSort {
    fn descending(self) -> bool {
        self.direction == SortDirection::Desc
    }

    /// Cursors carry their sort so one from another order is refused.
    fn cursor_scope(self) -> String {
        format!("{:?}:{:?}", self.field, self.direction)
    }
}

/// A page of checkouts.
pub struct CheckoutConnection {
    merchant_id: uuid::Uuid,
    filter: CheckoutFilter,
    page_info: PageInfo,
    edges: Vec<CheckoutEdge>,
}

/// A page of checkouts.
#[Object]
impl CheckoutConnection {
    /// The checkouts of this page, each with its cursor.
    async fn edges(&self) -> &[CheckoutEdge] {
        &self.edges
    }

    /// The checkouts of this page.
    async fn nodes(&self) -> Vec<&Checkout> {
        self.edges.iter().map(|edge| &edge.node).collect()
    }

    /// Where this page sits in the list.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many checkouts match the filter, over all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        Ok(checkouts::count(services(ctx)?, self.merchant_id, &self.filter).await?)
    }
}

/// A checkout in a list, with its position.
#[derive(SimpleObject)]
pub struct CheckoutEdge {
    /// Pass as `after` or `before` to page from here.
    pub cursor: String,
    /// The checkout.
    pub node: Checkout,
}

/// Merchant queries.
#[derive(Default)]
pub struct MerchantQuery;

#[Object]
impl MerchantQuery {
    /// The merchant whose API key made this request.
    #[graphql(guard = "MerchantGuard")]
    async fn merchant(&self, ctx: &Context<'_>) -> async_graphql::Result<Merchant> {
        let principal = calling_merchant(ctx)?;
        Ok(Merchant(
            merchants::get(&services(ctx)?.db, principal.merchant_id).await?,
        ))
    }
}
