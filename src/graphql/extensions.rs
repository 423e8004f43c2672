//! The schema's one extension, which runs every request-level rule of paylater: persisted
//! queries, the parsed-document cache, the shape limits, the checks async-graphql leaves
//! out (directives on `__typename`, introspection when it is off), rate limits, error
//! codes, and responses in selection order. One extension, not one per rule, because
//! async-graphql passes every field of every response through each registered extension.

use std::sync::{Arc, Mutex, MutexGuard};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
        NextRequest, NextSubscribe, NextValidation,
    },
    futures_util::{StreamExt, stream::BoxStream},
    parser::types::ExecutableDocument,
};

use super::{
    errors::ErrorCode, field_order, introspection, limits, parsed, parsed::ParsedQueries,
    persisted::PersistedQueries, rate_limit, typename_directives,
};

/// The rules, as a schema extension.
pub struct Pipeline(Arc<Rules>);

/// What every request shares.
struct Rules {
    persisted: Option<Arc<dyn Extension>>,
    parsed: ParsedQueries,
    introspection: bool,
}

impl Pipeline {
    /// The rules, serving persisted queries from `persisted` when given, and refusing
    /// introspection unless `introspection`.
    pub fn new(
        persisted: Option<PersistedQueries>,
        parsed: ParsedQueries,
        introspection: bool,
    ) -> Self {
        Self(Arc::new(Rules {
            persisted: persisted.map(|store| store.extension().create()),
            parsed,
            introspection,
        }))
    }
}

impl ExtensionFactory for Pipeline {
    /// One per request: it remembers the request's document to order the response by.
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PipelineExtension {
            rules: self.0.clone(),
            executed: Arc::default(),
        })
    }
}

struct PipelineExtension {
    rules: Arc<Rules>,
    executed: Arc<Mutex<Executed>>,
}

/// The document a request runs and the name of its operation.
#[derive(Default)]
struct Executed {
    document: Option<Arc<ExecutableDocument>>,
    operation_name: Option<String>,
}

impl Executed {
    /// `response` with every error coded and its data in selection order.
    fn finish(executed: &Mutex<Executed>, mut response: Response) -> Response {
        response.errors.iter_mut().for_each(ensure_code);
        let executed = lock(executed);
        if let Some(document) = &executed.document
            && let Some(operation) = parsed::operation(document, executed.operation_name.as_deref())
        {
            field_order::restore(document, operation, &mut response.data);
        }
        response
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PipelineExtension {
    /// Codes every error and orders the data.
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        Executed::finish(&self.executed, response)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let executed = self.executed.clone();
        next.run(ctx, stream)
            .map(move |response| Executed::finish(&executed, response))
            .boxed()
    }

    /// Replaces a persisted query's hash by its document.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        lock(&self.executed).operation_name = request.operation_name.clone();
        match &self.rules.persisted {
            Some(persisted) => persisted.prepare_request(ctx, request, next).await,
            None => next.run(ctx, request).await,
        }
    }

    /// Parses (or recalls) the document and holds it to the shape limits and to the
    /// checks async-graphql's validation leaves out.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = self.rules.parsed.parse(ctx, query, variables, next).await?;
        limits::check(ctx, &document)?;
        if !self.rules.introspection {
            introspection::refuse_when_off(&document)?;
        }
        typename_directives::check(&ctx.schema_env.registry, &document)?;
        let owned = ExecutableDocument::clone(&document);
        lock(&self.executed).document = Some(document);
        Ok(owned)
    }

    /// Charges the validated operation's complexity to the caller's rate limits.
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        rate_limit::charge(ctx, &result)?;
        Ok(result)
    }
}

/// The request's state, also after a panic elsewhere (it holds plain data).
fn lock(executed: &Mutex<Executed>) -> MutexGuard<'_, Executed> {
    executed
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The messages async-graphql gives when a query breaks the schema's depth or complexity
/// limit (pinned by a test, so an upgrade that rewords them is noticed).
pub const LIMIT_MESSAGES: [&str; 2] = ["Query is nested too deep.", "Query is too complex."];

/// The message of an unknown persisted query, which the APQ protocol fixes.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PersistedQueryNotFound";

/// Gives an error an `extensions.code`. Errors raised by paylater carry one already;
/// the rest come from async-graphql's parsing, validation and argument coercion, which
/// are all problems with the request itself: `BAD_USER_INPUT`, except its depth and
/// complexity limits, which are `QUERY_TOO_COMPLEX`, and an unknown persisted query,
/// which is `PERSISTED_QUERY_NOT_FOUND` as Apollo clients expect.
fn ensure_code(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        let code = if LIMIT_MESSAGES.contains(&error.message.as_str()) {
            ErrorCode::QueryTooComplex
        } else if error.message == PERSISTED_QUERY_NOT_FOUND {
            ErrorCode::PersistedQueryNotFound
        } else {
            ErrorCode::BadUserInput
        };
        extensions.set("code", code.as_str());
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    use super::LIMIT_MESSAGES;

    struct Query;

    #[Object]
    impl Query {
        async fn value(&self) -> i32 {
            1
        }
    }

    /// async-graphql's own wording for its limits is what the error codes recognise.
    #[tokio::test]
    async fn limit_messages_match_async_graphql() {
        let deep = Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_depth(0)
            .finish();
        let complex = Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_complexity(0)
            .finish();
        let messages = [
            deep.execute("{ value }").await.errors[0].message.clone(),
            complex.execute("{ value }").await.errors[0].message.clone(),
        ];
        assert_eq!(messages, LIMIT_MESSAGES);
    }
}
