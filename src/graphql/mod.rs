//! The GraphQL schema: one module per area, assembled here. Resolvers are thin: they parse
//! input, call a service and map the result.

pub mod api_keys;
pub mod audit;
pub mod checkout;
pub mod connection;
pub mod consumers;
pub mod context;
pub mod cost;
pub mod errors;
pub mod events;
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
pub mod pipeline;
pub mod plans;
pub mod rate_limit;
pub mod request_signing;
pub mod response_cache;
pub mod scalars;
pub mod signed_returns;
pub mod staff;
pub mod typename_directives;
pub mod webhooks;

use std::sync::{Arc, Mutex};

use async_graphql::{
    Data, Executor, MergedObject, MergedSubscription, Request, Response, Schema, SchemaBuilder,
    SchemaEnv,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest},
    futures_util::{FutureExt, StreamExt, stream::BoxStream},
    parser::types::{ExecutableDocument, OperationType},
};

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

pub(crate) fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
}

/// The schemas served: the API's, and with introspection on, one for operations that only
/// introspect (see [`introspection`]), which answers nothing else and allows the nesting
/// of [`MAX_INTROSPECTION_DEPTH`] with no complexity limit (the rate limits still charge
/// it). Requests go through paylater's [`pipeline::Pipeline`] around either; the schemas
/// themselves carry no extension.
#[derive(Clone)]
pub struct Schemas {
    api: AppSchema,
    introspection: Option<AppSchema>,
    pipeline: pipeline::Pipeline,
    /// Answers to public operations, served without executing them again.
    pub responses: response_cache::ResponseCache,
}

impl Schemas {
    /// The schema an operation of `document` named `operation_name` runs on.
    fn schema_for(&self, request: &Request, document: &ExecutableDocument) -> &AppSchema {
        match &self.introspection {
            Some(introspection)
                if introspection::mentioned(&request.query)
                    && introspection::only_introspects(
                        document,
                        request.operation_name.as_deref(),
                    ) =>
            {
                introspection
            }
            _ => &self.api,
        }
    }
}

impl Schemas {
    /// Executes `request` on the schema it belongs to, through the pipeline.
    pub async fn execute_counted(&self, mut request: Request) -> Executed {
        let operation_name = request.operation_name.clone();
        match self.pipeline.prepare(&mut request, None).await {
            Ok(prepared) => {
                let schema = self.schema_for(&request, &prepared.document);
                let response = schema.execute(request).await;
                let document = Some(&*prepared.document);
                Executed {
                    response: pipeline::finish(document, operation_name.as_deref(), response),
                    operation: prepared.operation,
                }
            }
            Err(error) => Executed {
                response: pipeline::refused(error),
                operation: pipeline::Operation::default(),
            },
        }
    }

    /// The rules requests go through, for answers given without executing.
    pub fn pipeline(&self) -> &pipeline::Pipeline {
        &self.pipeline
    }
}

/// A request's response, with its operation.
pub struct Executed {
    /// The response.
    pub response: Response,
    /// The operation it ran (the default when refused before it was known).
    pub operation: pipeline::Operation,
}

impl Executor for Schemas {
    /// Executes `request` through the pipeline.
    async fn execute(&self, request: Request) -> Response {
        self.execute_counted(request).await.response
    }

    /// Runs a subscription (or any operation sent over WebSocket) for a connection whose
    /// data is `session_data`.
    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let schemas = self.clone();
        async move {
            let operation_name = request.operation_name.clone();
            match schemas
                .pipeline
                .prepare(&mut request, session_data.as_deref())
                .await
            {
                Ok(prepared) => {
                    let open = (prepared.operation.kind == Some(OperationType::Subscription))
                        .then(crate::metrics::subscription_opened);
                    schemas
                        .schema_for(&request, &prepared.document)
                        .execute_stream_with_session_data(request, session_data.unwrap_or_default())
                        .map(move |response| {
                            let _counted = &open;
                            let document = Some(&*prepared.document);
                            pipeline::finish(document, operation_name.as_deref(), response)
                        })
                        .boxed()
                }
                Err(error) => {
                    async_graphql::futures_util::stream::once(async { pipeline::refused(error) })
                        .boxed()
                }
            }
        }
        .flatten_stream()
        .boxed()
    }
}

/// The schemas served over HTTP and WebSocket, with the services their resolvers use.
/// Without `introspection`, the schema cannot be queried (asking is `FORBIDDEN`) and
/// unknown names get no suggestions, so a production API does not hand out its map.
pub fn build(deps: Deps, introspection: bool) -> anyhow::Result<Schemas> {
    let pipeline = pipeline::Pipeline::new(deps.clone(), environment()?, introspection);
    let served = || builder().data(deps.clone());
    let api = served()
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    Ok(if introspection {
        Schemas {
            api: api.finish(),
            introspection: Some(
                served()
                    .introspection_only()
                    .limit_depth(MAX_INTROSPECTION_DEPTH)
                    .finish(),
            ),
            pipeline,
            responses: response_cache::ResponseCache::default(),
        }
    } else {
        Schemas {
            api: api.disable_introspection().disable_suggestions().finish(),
            introspection: None,
            pipeline,
            responses: response_cache::ResponseCache::default(),
        }
    })
}

/// The schema's environment (its registry of types and directives), which the pipeline
/// needs and async-graphql shows only to extensions: read once, at start-up, by running
/// `{ __typename }` on a schema of the same types built with an extension that keeps it.
pub fn environment() -> anyhow::Result<SchemaEnv> {
    let kept = Keep::default();
    let schema = builder().extension(kept.clone()).finish();
    // Nothing in `{ __typename }` waits, so its execution completes when first polled.
    let ran = schema.execute("{ __typename }").now_or_never().is_some();
    let env = ran.then(|| kept.0.lock().ok()?.take()).flatten();
    env.ok_or_else(|| anyhow::anyhow!("the schema's environment could not be read"))
}

/// The extension that keeps a schema's environment.
#[derive(Clone, Default)]
struct Keep(Arc<Mutex<Option<SchemaEnv>>>);

impl ExtensionFactory for Keep {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Keep {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some(ctx.schema_env.clone());
        }
        next.run(ctx).await
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}
