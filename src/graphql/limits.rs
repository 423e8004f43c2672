//! Limits on the shape of a query that depth and complexity do not cover: how deep its
//! selections nest as written (so that every later walk of the document stays shallow),
//! how many aliases it uses (aliases let one request repeat an expensive field), how many
//! root fields it asks for, and that a GET request only reads. Checked right after
//! parsing, before validation and execution.

use std::collections::HashSet;

use async_graphql::{
    ServerError, ServerResult,
    parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet},
};

use super::errors::ErrorCode;

/// Most aliased fields one request may use.
pub const MAX_ALIASES: usize = 30;
/// Most root fields one operation may select.
pub const MAX_ROOT_FIELDS: usize = 20;
/// Deepest nesting of selection sets in one operation or fragment as written (fields and
/// inline fragments; spreads are counted by the depth limit, after validation).
pub const MAX_NESTING: usize = 32;

/// Marks a request that came as an HTTP GET: it may only run queries, since links and
/// caches replay GETs at will.
#[derive(Debug, Clone, Copy)]
pub struct ReadOnly;

/// Holds a parsed document to the nesting, alias and root-field limits, and, for a
/// `read_only` request, to the read-only rule of GET.
pub fn check(document: &ExecutableDocument, read_only: bool) -> ServerResult<()> {
    check_nesting(document)?;
    check_shape(document)?;
    if read_only {
        only_queries(document)?;
    }
    Ok(())
}

/// Refuses a document nesting deeper than [`MAX_NESTING`] anywhere, counted without
/// recursion (a document can nest thousands deep).
fn check_nesting(document: &ExecutableDocument) -> ServerResult<()> {
    let operations = document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node);
    let fragments = document
        .fragments
        .values()
        .map(|fragment| &fragment.node.selection_set.node);
    let mut pending: Vec<(&SelectionSet, usize)> =
        operations.chain(fragments).map(|set| (set, 1)).collect();
    while let Some((set, depth)) = pending.pop() {
        if depth > MAX_NESTING {
            return Err(too_complex(format!(
                "selections may nest at most {MAX_NESTING} deep"
            )));
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    pending.push((&field.node.selection_set.node, depth + 1));
                }
                Selection::InlineFragment(fragment) => {
                    pending.push((&fragment.node.selection_set.node, depth + 1));
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    Ok(())
}

/// Counts of one document, following fragment spreads (each fragment once).
#[derive(Default)]
struct Shape<'a> {
    aliases: usize,
    seen_fragments: HashSet<&'a str>,
}

impl<'a> Shape<'a> {
    fn walk(&mut self, document: &'a ExecutableDocument, set: &'a SelectionSet) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    self.walk(document, &field.node.selection_set.node);
                }
                Selection::InlineFragment(fragment) => {
                    self.walk(document, &fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.seen_fragments.insert(name)
                        && let Some(fragment) = document.fragments.get(name)
                    {
                        self.walk(document, &fragment.node.selection_set.node);
                    }
                }
            }
        }
    }
}

/// Root fields of a selection set, looking through fragments at the root.
fn root_fields(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 8 {
        return 0;
    }
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => {
                root_fields(document, &fragment.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    root_fields(document, &fragment.node.selection_set.node, depth + 1)
                }),
        })
        .sum()
}

fn too_complex(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", ErrorCode::QueryTooComplex.as_str());
    error
}

/// Refuses a document holding anything but queries.
fn only_queries(document: &ExecutableDocument) -> ServerResult<()> {
    let writes = document
        .operations
        .iter()
        .any(|(_, operation)| operation.node.ty != OperationType::Query);
    if writes {
        let mut error = ServerError::new(
            "GET requests only run queries: send mutations and subscriptions with POST or WebSocket",
            None,
        );
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", ErrorCode::BadUserInput.as_str());
        return Err(error);
    }
    Ok(())
}

fn check_shape(document: &ExecutableDocument) -> ServerResult<()> {
    let mut shape = Shape::default();
    for (_, operation) in document.operations.iter() {
        let set = &operation.node.selection_set.node;
        let roots = root_fields(document, set, 0);
        if roots > MAX_ROOT_FIELDS {
            return Err(too_complex(format!(
                "an operation may select at most {MAX_ROOT_FIELDS} root fields, this one selects {roots}"
            )));
        }
        shape.walk(document, set);
    }
    if shape.aliases > MAX_ALIASES {
        return Err(too_complex(format!(
            "a request may use at most {MAX_ALIASES} aliases, this one uses {}",
            shape.aliases
        )));
    }
    Ok(())
}
