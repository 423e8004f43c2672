//! The GraphQL schema: one module per area, assembled here. Resolvers are thin: they parse
//! input, call a service and map the result.

pub mod api_keys;
pub mod audit;
pub mod checkout;
pub mod connection;
pub mod consumers;
pub mod context;
pub mod errors;
pub mod events;
pub mod extensions;
pub mod ids;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod merchant;
pub mod money;
pub mod node;
pub mod order_queries;
pub mod orders;
pub mod parsed;
pub mod payment_methods;
pub mod persisted;
pub mod plans;
pub mod rate_limit;
pub mod request_signing;
pub mod scalars;
pub mod signed_returns;
pub mod staff;
pub mod webhooks;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::service::Deps;

/// Largest nesting of selections a query may have.
pub const MAX_DEPTH: usize = 12;
/// Largest complexity a query may have (each field costs 1, lists multiply by page size).
pub const MAX_COMPLEXITY: usize = 20_000;

/// Everything that can be read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    checkout::CheckoutQuery,
    consumers::ConsumerQuery,
    merchant::MerchantQuery,
    plans::PlanQuery,
    staff::StaffQuery,
    audit::AuditQuery,
    order_queries::OrderQuery,
    node::NodeQuery,
);

/// Everything that changes state.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    checkout::CheckoutMutation,
    api_keys::ApiKeyMutation,
    consumers::ConsumerMutation,
    request_signing::RequestSigningMutation,
    signed_returns::SignedReturnMutation,
    staff::StaffMutation,
    payment_methods::PaymentMethodMutation,
    orders::OrderMutation,
    orders::MerchantOrderMutation,
    webhooks::WebhookMutation,
);

/// Live updates over WebSocket (graphql-transport-ws at `/graphql/ws`).
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct SubscriptionRoot(events::EventSubscription);

/// The paylater schema.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
}

/// The schema served over HTTP, with the services its resolvers use. Without
/// `introspection`, the schema cannot be queried and unknown names get no suggestions, so
/// a production API does not hand out its map.
pub fn build(deps: Deps, introspection: bool) -> AppSchema {
    let persisted = persisted::PersistedQueries::new(persisted::CAPACITY);
    let parsed = parsed::ParsedQueries::new(parsed::CAPACITY_BYTES);
    let builder = builder()
        .extension(extensions::Pipeline::new(Some(persisted.clone()), parsed))
        .data(persisted)
        .data(deps);
    if introspection {
        builder.finish()
    } else {
        builder
            .disable_introspection()
            .disable_suggestions()
            .finish()
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
