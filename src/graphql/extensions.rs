//! The schema's one extension, which runs every request-level rule of paylater: persisted
//! queries, the parsed-document cache, the shape limits, rate limits and error codes.
//! One extension, not one per rule, because async-graphql passes every field of every
//! response through each registered extension.

use std::sync::Arc;

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
    errors::ErrorCode, limits, parsed::ParsedQueries, persisted::PersistedQueries, rate_limit,
};

/// The rules, as a schema extension. It holds no per-request state, so every request
/// shares one instance.
pub struct Pipeline(Arc<PipelineExtension>);

impl Pipeline {
    /// The rules, serving persisted queries from `persisted` when given.
    pub fn new(persisted: Option<PersistedQueries>, parsed: ParsedQueries) -> Self {
        Self(Arc::new(PipelineExtension {
            persisted: persisted.map(|store| store.extension().create()),
            parsed,
        }))
    }
}

impl ExtensionFactory for Pipeline {
    fn create(&self) -> Arc<dyn Extension> {
        self.0.clone()
    }
}

struct PipelineExtension {
    persisted: Option<Arc<dyn Extension>>,
    parsed: ParsedQueries,
}

#[async_graphql::async_trait::async_trait]
impl Extension for PipelineExtension {
    /// Gives every error of the response a code.
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        with_codes(next.run(ctx).await)
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream).map(with_codes).boxed()
    }

    /// Replaces a persisted query's hash by its document.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        match &self.persisted {
            Some(persisted) => persisted.prepare_request(ctx, request, next).await,
            None => next.run(ctx, request).await,
        }
    }

    /// Parses (or recalls) the document and holds it to the shape limits.
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = self.parsed.parse(ctx, query, variables, next).await?;
        limits::check(ctx, &document)?;
        Ok(document)
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

/// The messages async-graphql gives when a query breaks the schema's depth or complexity
/// limit (pinned by a test, so an upgrade that rewords them is noticed).
pub const LIMIT_MESSAGES: [&str; 2] = ["Query is nested too deep.", "Query is too complex."];

/// The message of an unknown persisted query, which the APQ protocol fixes.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PersistedQueryNotFound";

/// Gives every error an `extensions.code`. Errors raised by paylater carry one already;
/// the rest come from async-graphql's parsing, validation and argument coercion, which
/// are all problems with the request itself: `BAD_USER_INPUT`, except its depth and
/// complexity limits, which are `QUERY_TOO_COMPLEX`, and an unknown persisted query,
/// which is `PERSISTED_QUERY_NOT_FOUND` as Apollo clients expect.
fn with_codes(mut response: Response) -> Response {
    response.errors.iter_mut().for_each(ensure_code);
    response
}

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
