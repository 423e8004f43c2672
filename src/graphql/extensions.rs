//! Schema extensions that shape every response.

use std::sync::Arc;

use async_graphql::{
    Response, ServerError,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextRequest, NextSubscribe},
    futures_util::{StreamExt, stream::BoxStream},
};

use super::errors::ErrorCode;

/// Gives every error an `extensions.code`. Errors raised by paylater carry one already;
/// the rest come from async-graphql's parsing, validation and argument coercion, which
/// are all problems with the request itself: `BAD_USER_INPUT`, except its depth and
/// complexity limits, which are `QUERY_TOO_COMPLEX`, and an unknown persisted query,
/// which is `PERSISTED_QUERY_NOT_FOUND` as Apollo clients expect.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

/// The messages async-graphql gives when a query breaks the schema's depth or complexity
/// limit (pinned by a test, so an upgrade that rewords them is noticed).
pub const LIMIT_MESSAGES: [&str; 2] = ["Query is nested too deep.", "Query is too complex."];

/// The message of an unknown persisted query, which the APQ protocol fixes.
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PersistedQueryNotFound";

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

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
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

    /// async-graphql's own wording for its limits is what `ErrorCodes` recognises.
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
