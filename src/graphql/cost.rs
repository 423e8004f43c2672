//! What an operation costs, for the rate limits: async-graphql's complexity (each field 1,
//! a page of a connection its page size times what each item selects, plus 1), computed
//! once per request from the document and the schema's registry. async-graphql computes the
//! same number during validation but only shows it to schema extensions, and any extension
//! makes every field of every response pass through it; so the rate limits count here, and
//! a test holds this count equal to async-graphql's.

use async_graphql::{
    Name, Variables,
    parser::types::{
        ExecutableDocument, Field, OperationDefinition, OperationType, Selection, SelectionSet,
    },
    registry::{MetaType, MetaTypeName, Registry},
};

/// Page size of a connection asked for without `first` or `last`.
pub const DEFAULT_PAGE: i32 = 20;

/// Most selections counted before an operation is deemed to cost everything: fragments
/// spread inside fragments multiply, and counting must stay cheap whatever is sent.
const MOST_SELECTIONS: usize = 100_000;
/// Deepest nesting counted, fragments included, before an operation is deemed to cost
/// everything (validation refuses fragments that spread themselves; this runs before it).
const DEEPEST: usize = 128;

/// The complexity of a connection field (declared on each one with
/// `complexity = "cost::connection(first, last, child_complexity)"`): its page size times
/// what each item selects, plus 1.
pub fn connection(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let page = usize::try_from(first.or(last).unwrap_or(DEFAULT_PAGE).max(0)).unwrap_or(0);
    page.saturating_mul(child_complexity).saturating_add(1)
}

/// The complexity of `operation`, as async-graphql's validation counts it.
pub fn of_operation(
    registry: &Registry,
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
) -> usize {
    let root = match operation.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => registry.subscription_type.as_deref(),
    };
    let mut count = Count {
        registry,
        document,
        variables,
        selections: 0,
    };
    count.set(&operation.selection_set.node, root, 0)
}

struct Count<'a> {
    registry: &'a Registry,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    selections: usize,
}

impl Count<'_> {
    fn set(&mut self, set: &SelectionSet, parent: Option<&str>, depth: usize) -> usize {
        if depth > DEEPEST {
            return usize::MAX;
        }
        let mut total = 0usize;
        for selection in &set.items {
            self.selections += 1;
            if self.selections > MOST_SELECTIONS {
                return usize::MAX;
            }
            let cost = match &selection.node {
                // async-graphql's validation does not count `__typename`.
                Selection::Field(field) if field.node.name.node == "__typename" => 0,
                Selection::Field(field) => self.field(&field.node, parent, depth),
                Selection::InlineFragment(fragment) => {
                    let condition = fragment.node.type_condition.as_ref();
                    let on = condition.map(|condition| condition.node.on.node.as_str());
                    self.set(&fragment.node.selection_set.node, on.or(parent), depth + 1)
                }
                Selection::FragmentSpread(spread) => {
                    match self.document.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) => {
                            let on = fragment.node.type_condition.node.on.node.as_str();
                            self.set(&fragment.node.selection_set.node, Some(on), depth + 1)
                        }
                        None => 0,
                    }
                }
            };
            total = total.saturating_add(cost);
        }
        total
    }

    fn field(&mut self, field: &Field, parent: Option<&str>, depth: usize) -> usize {
        let parent_type = parent.and_then(|name| self.registry.types.get(name));
        let meta = parent_type.and_then(|ty| ty.field_by_name(field.name.node.as_str()));
        let child_type = meta.map(|meta| MetaTypeName::concrete_typename(&meta.ty));
        let children = self.set(&field.selection_set.node, child_type, depth + 1);
        // async-graphql applies a field's own complexity only on object types.
        let declared = matches!(parent_type, Some(MetaType::Object { .. }))
            && meta.is_some_and(|meta| meta.compute_complexity.is_some());
        if declared {
            connection(self.int(field, "first"), self.int(field, "last"), children)
        } else {
            children.saturating_add(1)
        }
    }

    /// An integer argument of `field`, written out or from a variable.
    fn int(&self, field: &Field, name: &str) -> Option<i32> {
        let value = field.get_argument(name)?;
        let value = value
            .node
            .clone()
            .into_const_with(|variable: Name| self.variables.get(&variable).cloned().ok_or(()))
            .ok()?;
        match value {
            async_graphql::Value::Number(number) => {
                number.as_i64().and_then(|n| i32::try_from(n).ok())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_graphql::{
        ServerError, ValidationResult, Variables,
        extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation},
    };

    use super::*;
    use crate::graphql::{builder, parsed};

    /// Keeps what async-graphql's validation counted.
    #[derive(Clone, Default)]
    struct Counted(Arc<Mutex<Option<usize>>>);

    impl ExtensionFactory for Counted {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(self.clone())
        }
    }

    #[async_graphql::async_trait::async_trait]
    impl Extension for Counted {
        async fn validation(
            &self,
            ctx: &ExtensionContext<'_>,
            next: NextValidation<'_>,
        ) -> Result<ValidationResult, Vec<ServerError>> {
            let result = next.run(ctx).await?;
            *self.0.lock().unwrap() = Some(result.complexity);
            Ok(result)
        }
    }

    /// The schema's own count and ours, for each of the API's kinds of operation.
    #[tokio::test]
    async fn the_count_is_async_graphqls() {
        let counted = Counted::default();
        let schema = builder().extension(counted.clone()).finish();
        let env = crate::graphql::environment().unwrap();
        let registry = &env.registry;
        let operations = [
            (
                "query($a: MoneyInput!) { installmentPlans(amount: $a, merchantId: \"m\") { plan installments { dueDate amount { amount } } } }",
                serde_json::json!({ "a": { "amount": "10.00", "currencyCode": "EUR" } }),
            ),
            (
                "query($t: String!) { checkout(token: $t) { id status items { name quantity } availablePlans { plan } merchant { name } } }",
                serde_json::json!({ "t": "x" }),
            ),
            (
                "{ merchant { name orders { nodes { id items { name } installments { dueDate } customer { email } } pageInfo { hasNextPage } } } }",
                serde_json::json!({}),
            ),
            (
                "query($n: Int) { merchant { orders(first: $n) { totalCount nodes { id } } checkouts(last: 3) { edges { cursor node { id } } } } }",
                serde_json::json!({ "n": 7 }),
            ),
            (
                "{ me { email orders(first: 10) { nodes { id ...Sums } } upcomingInstallments { dueDate } } } fragment Sums on Order { total { amount } installments { amount { amount } } }",
                serde_json::json!({}),
            ),
            (
                "{ node(id: \"x\") { id ... on Order { installments { sequence } } ... on Checkout { status } } }",
                serde_json::json!({}),
            ),
            (
                "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) { order { id installments { sequence } } userErrors { message } } }",
                serde_json::json!({ "i": { "token": "c", "plan": "PAY_IN_3", "paymentMethodId": "p", "idempotencyKey": "k" } }),
            ),
            (
                "{ merchant { orders(first: 0) { nodes { id } } } __typename }",
                serde_json::json!({}),
            ),
        ];
        for (query, variables) in operations {
            *counted.0.lock().unwrap() = None;
            let variables = Variables::from_json(variables);
            let request = async_graphql::Request::new(query).variables(variables.clone());
            schema.execute(request).await;
            let theirs = counted.0.lock().unwrap().expect(query);
            let document = async_graphql::parser::parse_query(query).unwrap();
            let operation = parsed::operation(&document, None).unwrap();
            let ours = of_operation(registry, &document, operation, &variables);
            assert_eq!(ours, theirs, "{query}");
        }
    }

    #[test]
    fn a_page_costs_its_size_times_its_items() {
        assert_eq!(connection(Some(5), None, 3), 16);
        assert_eq!(connection(None, Some(2), 3), 7);
        assert_eq!(connection(None, None, 1), 21);
        assert_eq!(connection(Some(-4), None, 9), 1);
    }
}
