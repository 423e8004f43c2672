//! The queries of orders in the API: the lists `merchant { orders }` and `me { orders }`
//! with their filters and sorts, and `order(id)`.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::order as order_row;
use uuid::Uuid;

use super::{
    connection::{Connection, PageArgs, SortDirection, wants_total_count},
    context::{deps, loaders, principal},
    errors::ErrorCode,
    ids::{NodeKind, decode},
    loaders::{Batch, RequestLoader, load_failed},
    orders::{Order, OrderStatus},
    scalars::DateTime,
};
use crate::{
    auth::Principal,
    service::orders::{
        self,
        list::{OrderFilter, Owner},
    },
};

/// Which orders to list. All conditions must hold.
#[derive(Debug, Clone, Default, InputObject)]
pub struct OrderFilterInput {
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Only orders created at or after this instant.
    pub created_after: Option<DateTime>,
    /// Only orders created before this instant.
    pub created_before: Option<DateTime>,
    /// Only orders with this merchant reference.
    pub merchant_reference: Option<String>,
}

/// What an order list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum OrderSortField {
    /// By creation time.
    #[default]
    CreatedAt,
}

/// How to order an order list. Ties are broken by ID, so the order is total.
#[derive(Debug, Clone, Copy, Default, InputObject)]
pub struct OrderSortInput {
    /// What to sort by.
    #[graphql(default)]
    pub field: OrderSortField,
    /// Which way.
    #[graphql(default)]
    pub direction: SortDirection,
}

/// Loads, one batch each, the relations a page of orders selects, so the statement count
/// of a page does not grow with its size.
async fn prefetch(ctx: &Context<'_>, rows: &[order_row::Model]) -> async_graphql::Result<()> {
    let look = ctx.look_ahead();
    let nodes = [look.field("nodes"), look.field("edges").field("node")];
    let selects = |field: &str| nodes.iter().any(|node| node.field(field).exists());
    let loaders = loaders(ctx)?;
    let orders = || rows.iter().map(|row| row.id);
    let checkouts = || rows.iter().map(|row| row.checkout_id);
    warm(&loaders.checkouts, selects("shippingAddress"), checkouts()).await?;
    let (installments, payments, refunds, merchants, items, customers) = tokio::join!(
        warm(&loaders.installments, selects("installments"), orders()),
        warm(&loaders.payments, selects("payments"), orders()),
        warm(&loaders.refunds, selects("refunds"), orders()),
        warm(
            &loaders.merchants,
            selects("merchant"),
            rows.iter().map(|row| row.merchant_id)
        ),
        warm(&loaders.checkout_items, selects("items"), checkouts()),
        warm(
            &loaders.consumers,
            selects("customer"),
            rows.iter().map(|row| row.consumer_id)
        ),
    );
    installments
        .and(payments)
        .and(refunds)
        .and(merchants)
        .and(items)
        .and(customers)
}

/// Loads `keys` into `loader`'s cache in one batch when the field is `selected`.
async fn warm<T: Batch>(
    loader: &RequestLoader<T>,
    selected: bool,
    keys: impl Iterator<Item = Uuid>,
) -> async_graphql::Result<()> {
    if selected {
        loader.load_many(keys).await.map_err(load_failed)?;
    }
    Ok(())
}

/// One page of an owner's orders, with the relations the query selects prefetched.
pub async fn list_orders(
    ctx: &Context<'_>,
    owner: Owner,
    page: PageArgs,
    filter: Option<OrderFilterInput>,
    sort: Option<OrderSortInput>,
) -> async_graphql::Result<Connection<Order>> {
    let sort = sort.unwrap_or_default();
    let order = format!("{:?}:{:?}", sort.field, sort.direction);
    let page = page.request(&order)?;
    let filter = filter.unwrap_or_default();
    let filter = OrderFilter {
        status: filter.status.map(Into::into),
        created_after: filter.created_after.map(|at| at.0),
        created_before: filter.created_before.map(|at| at.0),
        merchant_reference: filter.merchant_reference,
    };
    let deps = deps(ctx)?;
    let descending = sort.direction == SortDirection::Desc;
    let rows = orders::list::list(deps, owner, &filter, descending, page).await?;
    prefetch(ctx, &rows.rows).await?;
    let total_count = if wants_total_count(ctx) {
        orders::list::count(deps, owner, &filter).await?
    } else {
        0
    };
    Ok(Connection::new(
        &order,
        rows,
        orders::list::cursor,
        Order,
        total_count,
    ))
}

/// Order queries.
#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// An order: yours as a consumer, your sale as a merchant (with `orders:read`), any as
    /// staff. `NOT_FOUND` for anyone else's.
    #[graphql(cache_control(no_cache))]
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order's global ID.")] id: ID,
    ) -> async_graphql::Result<Order> {
        let uuid = decode(&id, NodeKind::Order)?;
        let viewer = match principal(ctx) {
            Principal::Anonymous => {
                return Err(ErrorCode::Unauthenticated.error("this query needs credentials"));
            }
            _ => super::node::order_viewer(ctx)?,
        };
        Ok(Order(orders::get(&deps(ctx)?.db, viewer, uuid).await?))
    }
}
