//! Validation of the directives on `__typename` fields, which async-graphql 7.2's validator
//! never visits: without this, `{ __typename @include(if: true) @include(if: true) }`
//! answers data although the spec forbids repeating a non-repeatable directive, an unknown
//! directive there passes, and `@include(if: 3)` silently drops the field. The rules
//! applied are the spec's for directives: known and allowed on fields, unique per location
//! unless repeatable, and arguments known, present when required and of the right type.

use std::collections::HashSet;

use async_graphql::{
    Name, Positioned, ServerError, ServerResult,
    parser::types::{
        BaseType, Directive, ExecutableDocument, Selection, SelectionSet, Type, VariableDefinition,
    },
    registry::{__DirectiveLocation, MetaDirective, Registry},
};
use async_graphql_value::Value as Literal;

/// Checks the directives of every `__typename` field of `document` against the schema's
/// directive definitions.
pub fn check(registry: &Registry, document: &ExecutableDocument) -> ServerResult<()> {
    let variables: Vec<&VariableDefinition> = document
        .operations
        .iter()
        .flat_map(|(_, operation)| &operation.node.variable_definitions)
        .map(|definition| &definition.node)
        .collect();
    let checker = Checker {
        registry,
        variables,
    };
    let operation_sets = document
        .operations
        .iter()
        .map(|(_, operation)| &operation.node.selection_set.node);
    let fragment_sets = document
        .fragments
        .values()
        .map(|fragment| &fragment.node.selection_set.node);
    operation_sets
        .chain(fragment_sets)
        .try_for_each(|set| checker.walk(set))
}

struct Checker<'a> {
    registry: &'a Registry,
    /// Every variable an operation of the document defines.
    variables: Vec<&'a VariableDefinition>,
}

impl Checker<'_> {
    fn walk(&self, set: &SelectionSet) -> ServerResult<()> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if field.node.name.node == "__typename" {
                        self.directives(&field.node.directives)?;
                    }
                    self.walk(&field.node.selection_set.node)?;
                }
                Selection::InlineFragment(fragment) => {
                    self.walk(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }

    fn directives(&self, directives: &[Positioned<Directive>]) -> ServerResult<()> {
        let mut seen = HashSet::new();
        for directive in directives {
            let name = &directive.node.name.node;
            let refuse = |message: String| Err(ServerError::new(message, Some(directive.pos)));
            let Some(definition) = self.registry.directives.get(name.as_str()) else {
                return refuse(format!("Unknown directive \"@{name}\"."));
            };
            if !definition.locations.contains(&__DirectiveLocation::FIELD) {
                return refuse(format!("Directive \"@{name}\" may not be used on a field."));
            }
            if !definition.is_repeatable && !seen.insert(name) {
                return refuse(format!(
                    "Directive \"@{name}\" may be used only once on a field: it is not repeatable."
                ));
            }
            if let Err(message) = self.arguments(definition, &directive.node) {
                return refuse(message);
            }
        }
        Ok(())
    }

    fn arguments(&self, definition: &MetaDirective, directive: &Directive) -> Result<(), String> {
        let name = &definition.name;
        for (argument, value) in &directive.arguments {
            let Some(expected) = definition.args.get(argument.node.as_str()) else {
                return Err(format!(
                    "Unknown argument \"{}\" on directive \"@{name}\".",
                    argument.node
                ));
            };
            let Some(ty) = Type::new(&expected.ty) else {
                continue;
            };
            if !self.fits(&value.node, &ty) {
                return Err(format!(
                    "Argument \"{}\" of directive \"@{name}\" must be a {ty}.",
                    argument.node
                ));
            }
        }
        for (argument, expected) in &definition.args {
            let optional = !expected.ty.ends_with('!') || expected.default_value.is_some();
            let given = directive
                .arguments
                .iter()
                .any(|(given, _)| given.node.as_str() == argument);
            if !optional && !given {
                return Err(format!(
                    "Directive \"@{name}\" needs its argument \"{argument}\" ({}).",
                    expected.ty
                ));
            }
        }
        Ok(())
    }

    /// Whether a literal or variable can be given where `ty` is expected. Built-in scalars
    /// are checked exactly; other named types are left to coercion.
    fn fits(&self, value: &Literal, ty: &Type) -> bool {
        match (value, &ty.base) {
            (Literal::Variable(variable), _) => self.variable_fits(variable, ty),
            (Literal::Null, _) => ty.nullable,
            (Literal::List(items), BaseType::List(inner)) => {
                items.iter().all(|item| self.fits(item, inner))
            }
            (value, BaseType::List(inner)) => self.fits(value, inner),
            (value, BaseType::Named(named)) => match (named.as_str(), value) {
                ("Boolean", Literal::Boolean(_)) | ("String", Literal::String(_)) => true,
                ("Int", Literal::Number(number)) => {
                    number.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
                }
                ("Float", Literal::Number(_)) => true,
                ("ID", Literal::String(_)) => true,
                ("ID", Literal::Number(number)) => number.is_i64(),
                ("Boolean" | "String" | "Int" | "Float" | "ID", _) => false,
                _ => true,
            },
        }
    }

    /// Whether `$variable` is defined with a type that may be used where `ty` is expected.
    fn variable_fits(&self, variable: &Name, ty: &Type) -> bool {
        self.variables
            .iter()
            .filter(|definition| definition.name.node == *variable)
            .any(|definition| {
                let given = &definition.var_type.node;
                given.base.to_string() == ty.base.to_string()
                    && (ty.nullable || !given.nullable || definition.default_value.is_some())
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use async_graphql::{
        EmptyMutation, EmptySubscription, Object, Schema, Variables,
        extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    };

    use super::*;

    struct Query;

    #[Object]
    impl Query {
        async fn value(&self) -> i32 {
            1
        }
    }

    /// Runs the check where paylater runs it: on the parsed document, with the schema's
    /// registry.
    struct Checked;

    impl ExtensionFactory for Checked {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(Checked)
        }
    }

    #[async_graphql::async_trait::async_trait]
    impl Extension for Checked {
        async fn parse_query(
            &self,
            ctx: &ExtensionContext<'_>,
            query: &str,
            variables: &Variables,
            next: NextParseQuery<'_>,
        ) -> ServerResult<ExecutableDocument> {
            let document = next.run(ctx, query, variables).await?;
            check(&ctx.schema_env.registry, &document)?;
            Ok(document)
        }
    }

    async fn checked(query: &str) -> Result<(), String> {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(Checked)
            .finish();
        match schema.execute(query).await.errors.first() {
            Some(error) => Err(error.message.clone()),
            None => Ok(()),
        }
    }

    #[tokio::test]
    async fn directives_on_typename_follow_the_rules_of_every_field() {
        let allowed = [
            "{ __typename @include(if: true) @skip(if: false) }",
            "query($show: Boolean!) { value @skip(if: $show) __typename @include(if: $show) }",
            "query($show: Boolean = true) { value @skip(if: $show) __typename @include(if: $show) }",
        ];
        for query in allowed {
            assert_eq!(checked(query).await, Ok(()), "{query}");
        }
        for (query, problem) in [
            (
                "{ __typename @include(if: true) @include(if: true) }",
                "only once",
            ),
            ("{ __typename @bogus }", "Unknown directive"),
            ("{ __typename @deprecated }", "may not be used on a field"),
            ("{ __typename @include(if: 3) }", "must be a Boolean!"),
            ("{ __typename @include }", "needs its argument \"if\""),
            (
                "{ __typename @include(if: true, also: 1) }",
                "Unknown argument",
            ),
            (
                "query($s: String) { __typename @include(if: $s) }",
                "must be a Boolean!",
            ),
            (
                "query($b: Boolean) { __typename @skip(if: $b) }",
                "must be a Boolean!",
            ),
            ("{ __typename @skip(if: $undefined) }", "must be a Boolean!"),
            (
                "{ ... on Query { __typename @skip(if: true) @skip(if: true) } }",
                "only once",
            ),
            (
                "{ ...F } fragment F on Query { __typename @skip(if: null) }",
                "must be a Boolean!",
            ),
        ] {
            let refused = checked(query).await.expect_err(query);
            assert!(refused.contains(problem), "{query}: {refused}");
        }
    }
}
