//! Schema introspection (`__schema`, `__type`). Tools ask for the whole schema in one deep
//! query (graphql-js `getIntrospectionQuery()` nests `ofType` nine levels, deeper than
//! [`super::MAX_DEPTH`]), so operations that only introspect run on a schema of their own
//! that answers nothing else, with a depth limit of its own
//! ([`super::MAX_INTROSPECTION_DEPTH`]) and no complexity limit; the alias and root-field
//! limits and the rate limits still hold. With introspection off,
//! an operation asking for it is refused with `FORBIDDEN` instead of answering null.

use async_graphql::{
    ServerError,
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
};

use super::{errors::ErrorCode, parsed};

/// The root fields that read the schema itself.
const INTROSPECTION_FIELDS: [&str; 2] = ["__schema", "__type"];

/// Whether `query` names `__schema` or `__type` at all (`__typename` does not count): a
/// cheap test before parsing, so ordinary queries pay nothing for the routing.
pub fn mentioned(query: &str) -> bool {
    INTROSPECTION_FIELDS.iter().any(|field| {
        query.match_indices(field).any(|(at, _)| {
            !query[at + field.len()..]
                .starts_with(|next: char| next.is_ascii_alphanumeric() || next == '_')
        })
    })
}

/// Whether the operation a request runs is a query whose root fields are all introspection
/// (or `__typename`), written out with no fragment at the root: it may run on the
/// introspection schema. Anything else runs on the API's schema.
pub fn only_introspects(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let Some(operation) = parsed::operation(document, operation_name) else {
        return false;
    };
    operation.ty == OperationType::Query
        && operation.selection_set.node.items.iter().all(|selection| {
            matches!(&selection.node, Selection::Field(field)
                if INTROSPECTION_FIELDS.contains(&field.node.name.node.as_str())
                    || field.node.name.node == "__typename")
        })
}

/// Refuses a document with an operation that introspects, for a server with introspection
/// off.
pub fn refuse_when_off(document: &ExecutableDocument) -> Result<(), ServerError> {
    let introspects = document
        .operations
        .iter()
        .any(|(_, operation)| root_introspects(document, &operation.node.selection_set.node, 0));
    if introspects {
        let mut error = ServerError::new("introspection is disabled on this server", None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", ErrorCode::Forbidden.as_str());
        return Err(error);
    }
    Ok(())
}

/// Whether a root selection set asks for `__schema` or `__type`, looking through fragments
/// (to a bounded depth; deeper nesting is refused by validation anyway).
fn root_introspects(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
    depth <= 8
        && set.items.iter().any(|selection| match &selection.node {
            Selection::Field(field) => {
                INTROSPECTION_FIELDS.contains(&field.node.name.node.as_str())
            }
            Selection::InlineFragment(fragment) => {
                root_introspects(document, &fragment.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .is_some_and(|fragment| {
                    root_introspects(document, &fragment.node.selection_set.node, depth + 1)
                }),
        })
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    #[test]
    fn only_schema_and_type_are_introspection_by_name() {
        assert!(mentioned("{ __schema { types { name } } }"));
        assert!(mentioned("{ __type(name: \"Checkout\") { name } }"));
        assert!(mentioned("{ a: __type(name: \"X\") { name } __typename }"));
        assert!(!mentioned("{ checkout(token: \"x\") { __typename } }"));
        assert!(!mentioned("{ __types }"));
    }

    #[test]
    fn only_plain_introspection_queries_may_skip_the_limits() {
        let routed =
            |query: &str, name: Option<&str>| only_introspects(&parse_query(query).unwrap(), name);
        assert!(routed(
            "{ __schema { queryType { name } } __typename }",
            None
        ));
        assert!(routed("query A { __type(name: \"X\") { name } }", None));
        assert!(!routed(
            "{ __schema { queryType { name } } checkout(token: \"x\") { id } }",
            None
        ));
        assert!(!routed(
            "{ ...F } fragment F on Query { __schema { description } }",
            None
        ));
        assert!(!routed("mutation { __typename }", None));
        let two = "query A { __schema { description } } query B { merchant { id } }";
        assert!(routed(two, Some("A")));
        assert!(!routed(two, Some("B")));
        assert!(!routed(two, None));
    }

    #[test]
    fn introspection_anywhere_at_the_root_is_refused_when_off() {
        let refused = |query: &str| refuse_when_off(&parse_query(query).unwrap()).is_err();
        assert!(refused("{ __schema { types { name } } }"));
        assert!(refused(
            "{ checkout(token: \"x\") { id } __type(name: \"X\") { name } }"
        ));
        assert!(refused(
            "{ ...F } fragment F on Query { ... on Query { __schema { description } } }"
        ));
        assert!(!refused(
            "{ __typename checkout(token: \"x\") { id __typename } }"
        ));
    }
}
