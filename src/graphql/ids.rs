//! Global IDs ([`crate::ids`]) as GraphQL `ID`s: a malformed one is `BAD_USER_INPUT`, and
//! the ID of another kind of object `NOT_FOUND`, as no object of the kind asked has it.

use async_graphql::ID;
use uuid::Uuid;

use super::errors::ErrorCode;
pub use crate::ids::NodeKind;
use crate::ids::{self, IdError};

/// The global ID of a row.
pub fn encode(kind: NodeKind, id: Uuid) -> ID {
    ID(ids::encode(kind, id))
}

fn refusal(id: &ID, error: IdError) -> async_graphql::Error {
    match error {
        IdError::Malformed => {
            ErrorCode::BadUserInput.error(format!("{:?} is not a valid ID", id.as_str()))
        }
        IdError::OtherKind => ErrorCode::NotFound.error("not found"),
    }
}

/// The kind and row id of any global ID.
pub fn decode_any(id: &ID) -> Result<(NodeKind, Uuid), async_graphql::Error> {
    ids::decode_any(id.as_str()).map_err(|err| refusal(id, err))
}

/// The row id of a global ID that must be of `kind`.
pub fn decode(id: &ID, kind: NodeKind) -> Result<Uuid, async_graphql::Error> {
    ids::decode(id.as_str(), kind).map_err(|err| refusal(id, err))
}
