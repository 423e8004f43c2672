//! Relay connections shared by every list: the connection and edge types, page info,
//! opaque keyset cursors and the page arguments.

use async_graphql::{Enum, OutputType, SimpleObject};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use super::{
    api_keys::ApiKey, audit::AuditEntry, checkout::Checkout, errors::ErrorCode, orders::Order,
    webhooks::WebhookDelivery,
};
use crate::service::pagination::{Cursor, Page, PageRequest};

/// A page of a list, in the Relay connection shape.
#[derive(SimpleObject)]
#[graphql(
    concrete(name = "CheckoutConnection", params(Checkout)),
    concrete(name = "ApiKeyConnection", params(ApiKey)),
    concrete(name = "AuditEntryConnection", params(AuditEntry)),
    concrete(name = "OrderConnection", params(Order)),
    concrete(name = "WebhookDeliveryConnection", params(WebhookDelivery))
)]
pub struct Connection<N: OutputType + Clone>
where
    Edge<N>: OutputType,
{
    /// The items of this page, each with its cursor.
    pub edges: Vec<Edge<N>>,
    /// The items of this page.
    pub nodes: Vec<N>,
    /// Where this page sits in the list.
    pub page_info: PageInfo,
    /// How many items match, over all pages.
    pub total_count: u64,
}

/// An item of a list with its position.
#[derive(SimpleObject)]
#[graphql(
    concrete(name = "CheckoutEdge", params(Checkout)),
    concrete(name = "ApiKeyEdge", params(ApiKey)),
    concrete(name = "AuditEntryEdge", params(AuditEntry)),
    concrete(name = "OrderEdge", params(Order)),
    concrete(name = "WebhookDeliveryEdge", params(WebhookDelivery))
)]
pub struct Edge<N: OutputType> {
    /// Pass as `after` or `before` to page from here.
    pub cursor: String,
    /// The item.
    pub node: N,
}

impl<N: OutputType + Clone> Connection<N>
where
    Edge<N>: OutputType,
{
    /// The connection of one page of rows, whose cursors belong to the sort `order`.
    pub fn new<R>(
        order: &str,
        page: Page<R>,
        cursor: impl Fn(&R) -> Cursor,
        node: impl Fn(R) -> N,
        total_count: u64,
    ) -> Self {
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page
                .rows
                .first()
                .map(|row| encode_cursor(order, cursor(row))),
            end_cursor: page
                .rows
                .last()
                .map(|row| encode_cursor(order, cursor(row))),
        };
        let edges: Vec<Edge<N>> = page
            .rows
            .into_iter()
            .map(|row| Edge {
                cursor: encode_cursor(order, cursor(&row)),
                node: node(row),
            })
            .collect();
        Self {
            nodes: edges.iter().map(|edge| edge.node.clone()).collect(),
            edges,
            page_info,
            total_count,
        }
    }
}

/// Which way a list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum SortDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    #[default]
    Desc,
}

/// The Relay page arguments of a list field, as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    /// Return the first n items.
    pub first: Option<i32>,
    /// Return items after this cursor.
    pub after: Option<String>,
    /// Return the last n items.
    pub last: Option<i32>,
    /// Return items before this cursor.
    pub before: Option<String>,
}

impl PageArgs {
    /// Validates the arguments for a list sorted by `order`.
    pub fn request(self, order: &str) -> async_graphql::Result<PageRequest> {
        let decode = |cursor: Option<String>| cursor.map(|c| decode_cursor(order, &c)).transpose();
        Ok(PageRequest::new(
            self.first,
            self.last,
            decode(self.after)?,
            decode(self.before)?,
        )?)
    }
}

/// Whether the query asks for `totalCount`, which costs a statement of its own.
pub fn wants_total_count(ctx: &async_graphql::Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Where a page sits in its list, for fetching the next or previous page.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// More items exist after this page (pass `endCursor` as `after`).
    pub has_next_page: bool,
    /// More items exist before this page (pass `startCursor` as `before`).
    pub has_previous_page: bool,
    /// Cursor of the first item of the page.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of the page.
    pub end_cursor: Option<String>,
}

/// Encodes a cursor for a list sorted by `order`; opaque to clients.
pub fn encode_cursor(order: &str, cursor: Cursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{order}|{}|{}", cursor.value, cursor.id.simple()))
}

/// Decodes a cursor made by [`encode_cursor`] for the same `order`; anything else is a
/// `BAD_USER_INPUT` error (a cursor is only valid for the sort it came from).
pub fn decode_cursor(order: &str, text: &str) -> async_graphql::Result<Cursor> {
    let invalid = || {
        ErrorCode::BadUserInput
            .error("invalid cursor: pass a cursor from this list with the same sort")
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('|');
    let (Some(found), Some(value), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if found != order {
        return Err(invalid());
    }
    Ok(Cursor {
        value: value.parse().map_err(|_| invalid())?,
        id: Uuid::try_parse(id).map_err(|_| invalid())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_only_for_their_order() {
        let cursor = Cursor {
            value: 1_795_000_000_000,
            id: Uuid::now_v7(),
        };
        let text = encode_cursor("CREATED_AT:DESC", cursor);
        assert_eq!(decode_cursor("CREATED_AT:DESC", &text).unwrap(), cursor);
        assert!(decode_cursor("CREATED_AT:ASC", &text).is_err());
        assert!(decode_cursor("CREATED_AT:DESC", "garbage").is_err());
    }
}
