//! Responses in selection order. GraphQL orders a response's fields as the query selected
//! them (spec, "CollectFields"), and clients and readers rely on it; async-graphql 7.2
//! resolves an object's fields concurrently and keeps them in the order they finish, so a
//! field loaded from the database can come after fields selected later. [`restore`] puts
//! each object of the data back in selection order.

use async_graphql::{
    Name, Value,
    parser::types::{ExecutableDocument, OperationDefinition, Selection, SelectionSet},
};

/// Orders every object of `data`, the answer to `operation`, as the operation selects its
/// fields.
pub fn restore(document: &ExecutableDocument, operation: &OperationDefinition, data: &mut Value) {
    reorder(document, &[&operation.selection_set.node], data);
}

/// The fields selected at one level: each response key in the order first selected, with
/// the selection sets of the fields under that key (a key selected twice merges).
type Collected<'a> = Vec<(&'a Name, Vec<&'a SelectionSet>)>;

fn collect<'a>(document: &'a ExecutableDocument, sets: &[&'a SelectionSet]) -> Collected<'a> {
    let mut fields = Collected::new();
    let mut fragments_seen = Vec::new();
    for set in sets {
        collect_into(document, set, &mut fields, &mut fragments_seen);
    }
    fields
}

fn collect_into<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    fields: &mut Collected<'a>,
    fragments_seen: &mut Vec<&'a Name>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                let children = &field.node.selection_set.node;
                match fields.iter_mut().find(|(name, _)| *name == key) {
                    Some((_, sets)) => sets.push(children),
                    None => fields.push((key, vec![children])),
                }
            }
            Selection::InlineFragment(fragment) => collect_into(
                document,
                &fragment.node.selection_set.node,
                fields,
                fragments_seen,
            ),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if fragments_seen.contains(&name) {
                    continue;
                }
                fragments_seen.push(name);
                if let Some(fragment) = document.fragments.get(name) {
                    collect_into(
                        document,
                        &fragment.node.selection_set.node,
                        fields,
                        fragments_seen,
                    )
                }
            }
        }
    }
}

/// Orders `value` (an object, a list of them, or a leaf) as `sets` select.
fn reorder(document: &ExecutableDocument, sets: &[&SelectionSet], value: &mut Value) {
    if sets.iter().all(|set| set.items.is_empty()) {
        return;
    }
    if matches!(value, Value::Object(_) | Value::List(_)) {
        let fields = collect(document, sets);
        apply(document, &fields, value);
    }
}

fn apply(document: &ExecutableDocument, fields: &Collected<'_>, value: &mut Value) {
    match value {
        Value::List(items) => items
            .iter_mut()
            .for_each(|item| apply(document, fields, item)),
        Value::Object(map) => {
            let position = |key: &Name| {
                fields
                    .iter()
                    .position(|(name, _)| *name == key)
                    .unwrap_or(usize::MAX)
            };
            if !map.keys().map(position).is_sorted() {
                map.sort_by_cached_key(|key, _| position(key));
            }
            for (key, child) in map.iter_mut() {
                if let Some((_, sets)) = fields.iter().find(|(name, _)| *name == key) {
                    reorder(document, sets, child);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn ordered(query: &str, data: serde_json::Value) -> String {
        let document = parse_query(query).unwrap();
        let operation = crate::graphql::parsed::operation(&document, None).unwrap();
        let mut data = Value::from_json(data).unwrap();
        restore(&document, operation, &mut data);
        data.to_string()
    }

    #[test]
    fn objects_follow_the_selection_through_lists_aliases_and_fragments() {
        let query = "query { shop { name orders: list { id ...Items total } } }
            fragment Items on Order { items { sku name } id }";
        let data = serde_json::json!({ "shop": {
            "orders": [
                { "total": 1, "items": [{ "name": "a", "sku": "A" }], "id": "1" },
                { "items": [], "id": "2", "total": 2 }
            ],
            "name": "Shop"
        } });
        assert_eq!(
            ordered(query, data),
            r#"{shop: {name: "Shop", orders: [{id: "1", items: [{sku: "A", name: "a"}], total: 1}, {id: "2", items: [], total: 2}]}}"#
        );
    }

    #[test]
    fn a_field_selected_twice_keeps_its_first_place_and_merges() {
        let query = "{ a { x } b a { y x } }";
        let data = serde_json::json!({ "b": 1, "a": { "y": 2, "x": 1 } });
        assert_eq!(ordered(query, data), "{a: {x: 1, y: 2}, b: 1}");
    }
}
