//! Parsed documents by query text. Clients send the same few operations over and over;
//! parsing one is a good share of a small request's cost, copying a parsed one is not.
//! Only the parse is skipped: the parser's bounds, the shape limits, validation and
//! execution run every time.

use std::sync::Arc;

use async_graphql::{
    ServerResult,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};
use moka::sync::Cache;

/// Query text kept, in bytes: the documents of a few hundred operations.
pub const CAPACITY_BYTES: u64 = 4 * 1024 * 1024;

/// The cache of parsed documents.
#[derive(Clone)]
pub struct ParsedQueries(Cache<String, Arc<ExecutableDocument>>);

impl ParsedQueries {
    /// A cache holding up to `capacity_bytes` of query text.
    pub fn new(capacity_bytes: u64) -> Self {
        Self(
            Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|query: &String, _| u32::try_from(query.len()).unwrap_or(u32::MAX))
                .build(),
        )
    }

    /// The document of `query`: recalled, or parsed and kept.
    pub fn parse(&self, query: &str) -> ServerResult<Arc<ExecutableDocument>> {
        if let Some(document) = self.0.get(query) {
            return Ok(document);
        }
        let document = Arc::new(async_graphql::parser::parse_query(query)?);
        self.0.insert(query.to_owned(), document.clone());
        Ok(document)
    }
}

/// The name of the operation of `document` a request runs: the one `requested`, or the
/// only one's (`None` for an anonymous operation).
pub fn operation_name<'a>(
    document: &'a ExecutableDocument,
    requested: Option<&'a str>,
) -> Option<&'a str> {
    match &document.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(operations) => {
            requested.or_else(|| match operations.keys().collect::<Vec<_>>()[..] {
                [only] => Some(only.as_str()),
                _ => None,
            })
        }
    }
}

/// The operation of `document` a request runs: the one named, or the only one.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some(&operation.node),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get(name).map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next().map(|operation| &operation.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}
