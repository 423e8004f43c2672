//! Global IDs, the wire format of object identity: the type name and the row id,
//! base64url-encoded, so clients treat them as opaque strings and `node(id:)` knows what
//! to load. GraphQL, webhook payloads, OAuth client ids and the command line all speak it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

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

/// Why a string is not the global ID wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Not a global ID at all.
    Malformed,
    /// The global ID of another kind of object.
    OtherKind,
}

/// The global ID of a row.
pub fn encode(kind: NodeKind, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", kind.as_str(), id.simple()))
}

/// The kind and row id of any global ID.
pub fn decode_any(id: &str) -> Result<(NodeKind, Uuid), IdError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(id.as_bytes())
        .map_err(|_| IdError::Malformed)?;
    let text = String::from_utf8(bytes).map_err(|_| IdError::Malformed)?;
    let (kind, uuid) = text.split_once(':').ok_or(IdError::Malformed)?;
    let kind = NodeKind::parse(kind).ok_or(IdError::Malformed)?;
    let uuid = Uuid::try_parse(uuid).map_err(|_| IdError::Malformed)?;
    Ok((kind, uuid))
}

/// The row id of a global ID that must be of `kind`.
pub fn decode(id: &str, kind: NodeKind) -> Result<Uuid, IdError> {
    match decode_any(id)? {
        (found, uuid) if found == kind => Ok(uuid),
        _ => Err(IdError::OtherKind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let uuid = Uuid::now_v7();
        let id = encode(NodeKind::Checkout, uuid);
        assert_eq!(decode(&id, NodeKind::Checkout), Ok(uuid));
        assert_eq!(decode(&id, NodeKind::Merchant), Err(IdError::OtherKind));
        for garbage in ["", "!!", "Q2hlY2tvdXQ", "Q2hlY2tvdXQ6eHl6"] {
            assert_eq!(decode_any(garbage), Err(IdError::Malformed), "{garbage}");
        }
    }
}
