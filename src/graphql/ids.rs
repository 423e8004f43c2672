//! Opaque global IDs: the type name and the row id, base64url-encoded, so clients treat
//! them as strings and `node(id:)` knows what to load.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use super::errors::ErrorCode;

/// The kinds of object that have a global ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A checkout.
    Checkout,
    /// A merchant.
    Merchant,
    /// A merchant API key.
    ApiKey,
    /// A consumer account.
    Consumer,
    /// A member of the operator's staff.
    StaffMember,
    /// A consumer's card.
    PaymentMethod,
    /// An order.
    Order,
    /// A refund of an order.
    Refund,
    /// A webhook delivery.
    WebhookDelivery,
}

impl NodeKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Checkout => "Checkout",
            Self::Merchant => "Merchant",
            Self::ApiKey => "ApiKey",
            Self::Consumer => "Consumer",
            Self::StaffMember => "StaffMember",
            Self::PaymentMethod => "PaymentMethod",
            Self::Order => "Order",
            Self::Refund => "Refund",
            Self::WebhookDelivery => "WebhookDelivery",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        match name {
            "Checkout" => Some(Self::Checkout),
            "Merchant" => Some(Self::Merchant),
            "ApiKey" => Some(Self::ApiKey),
            "Consumer" => Some(Self::Consumer),
            "StaffMember" => Some(Self::StaffMember),
            "PaymentMethod" => Some(Self::PaymentMethod),
            "Order" => Some(Self::Order),
            "Refund" => Some(Self::Refund),
            "WebhookDelivery" => Some(Self::WebhookDelivery),
            _ => None,
        }
    }
}

/// Encodes the global ID of a row.
pub fn encode(kind: NodeKind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.as_str(), id.simple())))
}

/// Decodes any global ID; a malformed one is a `BAD_USER_INPUT` error.
pub fn decode_any(id: &ID) -> Result<(NodeKind, Uuid), async_graphql::Error> {
    let invalid = || ErrorCode::BadUserInput.error(format!("{:?} is not a valid ID", id.as_str()));
    let bytes = URL_SAFE_NO_PAD
        .decode(id.as_bytes())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (kind, uuid) = text.split_once(':').ok_or_else(invalid)?;
    let kind = NodeKind::parse(kind).ok_or_else(invalid)?;
    let uuid = Uuid::try_parse(uuid).map_err(|_| invalid())?;
    Ok((kind, uuid))
}

/// Decodes a global ID that must be of `kind`; the ID of another kind of object is
/// `NOT_FOUND`, as no object of `kind` has it.
pub fn decode(id: &ID, kind: NodeKind) -> Result<Uuid, async_graphql::Error> {
    match decode_any(id)? {
        (found, uuid) if found == kind => Ok(uuid),
        _ => Err(ErrorCode::NotFound.error("not found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let uuid = Uuid::now_v7();
        let id = encode(NodeKind::Checkout, uuid);
        assert_eq!(decode(&id, NodeKind::Checkout).unwrap(), uuid);
        assert!(decode(&id, NodeKind::Merchant).is_err());
        for garbage in ["", "!!", "Q2hlY2tvdXQ", "Q2hlY2tvdXQ6eHl6"] {
            assert!(decode_any(&ID(garbage.into())).is_err(), "{garbage}");
        }
    }
}
