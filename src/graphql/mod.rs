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
pub mod field_order;
pub mod ids;
pub mod introspection;
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
pub mod typename_directives;
pub mod webhooks;

use async_graphql::{MergedObject, MergedSubscription, Schema, SchemaBuilder};

use crate::service::Deps;

/// Largest nesting of selections a query may have.
pub const MAX_DEPTH: usize = 12;
/// Largest complexity a query may have (each field costs 1, lists multiply by page size).
pub const MAX_COMPLEXITY: usize = 20_000;
/// Largest nesting of an operation that only introspects: graphql-js's standard
/// introspection query nests 15 deep, and tools asking for deeper type references (up to
/// 14 `ofType` levels) still fit.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;

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
}

/// The schemas served: the API's, and with introspection on, one for operations that only
/// introspect (see [`introspection`]), which answers nothing else and allows the nesting
/// of [`MAX_INTROSPECTION_DEPTH`] with no complexity limit (the rate limits still charge
/// it). Both share the persisted and parsed documents.
#[derive(Clone)]
pub struct Schemas {
    api: AppSchema,
    introspection: Option<AppSchema>,
    parsed: parsed::ParsedQueries,
}

impl Schemas {
    /// The API's schema, which WebSocket connections use for everything.
    pub fn api(&self) -> &AppSchema {
        &self.api
    }

    /// Executes `request` on the schema it belongs to.
    pub async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        self.schema_for(&request).execute(request).await
    }

    fn schema_for(&self, request: &async_graphql::Request) -> &AppSchema {
        match &self.introspection {
            Some(introspection)
                if introspection::mentioned(&request.query)
                    && self.parsed.peek(&request.query).is_some_and(|document| {
                        introspection::only_introspects(
                            &document,
                            request.operation_name.as_deref(),
                        )
                    }) =>
            {
                introspection
            }
            _ => &self.api,
        }
    }
}

/// The schemas served over HTTP, with the services their resolvers use. Without
/// `introspection`, the schema cannot be queried (asking is `FORBIDDEN`) and unknown names
/// get no suggestions, so a production API does not hand out its map.
pub fn build(deps: Deps, introspection: bool) -> Schemas {
    let persisted = persisted::PersistedQueries::new(persisted::CAPACITY);
    let parsed = parsed::ParsedQueries::new(parsed::CAPACITY_BYTES);
    let served = || {
        builder()
            .extension(extensions::Pipeline::new(
                Some(persisted.clone()),
                parsed.clone(),
                introspection,
            ))
            .data(persisted.clone())
            .data(deps.clone())
    };
    let api = served()
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if introspection {
        Schemas {
            api: api.finish(),
            introspection: Some(
                served()
                    .introspection_only()
                    .limit_depth(MAX_INTROSPECTION_DEPTH)
                    .finish(),
            ),
            parsed,
        }
    } else {
        Schemas {
            api: api.disable_introspection().disable_suggestions().finish(),
            introspection: None,
            parsed,
        }
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
