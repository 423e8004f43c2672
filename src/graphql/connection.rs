//! Relay connection pieces shared by every list: page info and opaque keyset cursors.

use async_graphql::SimpleObject;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use super::errors::ErrorCode;
use crate::service::pagination::Cursor;

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
