//! The rules every GraphQL request goes through, run once per request around
//! async-graphql's execution: persisted queries, the parsed-document cache, the shape
//! limits, the checks async-graphql leaves out (directives on `__typename`, introspection
//! when it is off), rate limits, error codes, and responses in selection order. They are
//! not a schema extension, because with any extension registered async-graphql passes
//! every field and every list item of every response through the extension chain.

use std::{any::TypeId, net::IpAddr, sync::Arc};

use async_graphql::{
    Data, Request, Response, SchemaEnv, ServerError,
    parser::types::{ExecutableDocument, OperationType},
};

use super::{
    cost,
    errors::ErrorCode,
    field_order, introspection, limits,
    limits::ReadOnly,
    parsed::{self, ParsedQueries},
    persisted::{self, PersistedQueries},
    rate_limit, typename_directives,
};
use crate::{
    auth::{ClientIp, Principal},
    service::Deps,
};

/// The rules, with what they keep between requests.
#[derive(Clone)]
pub struct Pipeline {
    deps: Deps,
    /// The schema's registry of types and directives.
    env: SchemaEnv,
    persisted: PersistedQueries,
    parsed: ParsedQueries,
    introspection: bool,
}

impl Pipeline {
    /// The rules for a schema whose environment is `env`, refusing introspection unless
    /// `introspection`.
    pub fn new(deps: Deps, env: SchemaEnv, introspection: bool) -> Self {
        Self {
            deps,
            env,
            persisted: PersistedQueries::new(persisted::CAPACITY),
            parsed: ParsedQueries::new(parsed::CAPACITY_BYTES),
            introspection,
        }
    }

    /// Readies `request` to execute: its document (named by hash, recalled or parsed) is
    /// held to the limits and checks, the operation is charged to the rate limits, and the
    /// request carries the document so async-graphql does not parse it again. `session`
    /// is a WebSocket connection's data, where its caller is.
    pub async fn prepare(
        &self,
        request: &mut Request,
        session: Option<&Data>,
    ) -> Result<Prepared, ServerError> {
        let document = match self.persisted.resolve(request, &self.parsed).await? {
            Some(document) => document,
            None => self.parsed.parse(&request.query)?,
        };
        let read_only = datum::<ReadOnly>(&request.data, session).is_some();
        limits::check(&document, read_only)?;
        if !self.introspection {
            introspection::refuse_when_off(&document)?;
        }
        let registry = &self.env.registry;
        typename_directives::check(registry, &document)?;
        let requested = request.operation_name.as_deref();
        let definition = parsed::operation(&document, requested);
        let operation = Operation {
            cost: definition.map_or(0, |definition| {
                cost::of_operation(registry, &document, definition, &request.variables)
            }),
            kind: definition.map(|definition| definition.ty),
            name: parsed::operation_name(&document, requested).map(str::to_owned),
        };
        let principal = datum::<Principal>(&request.data, session);
        let ip = datum::<ClientIp>(&request.data, session).map(|ip| ip.0);
        self.charge(principal, ip, operation.cost)?;
        request.set_parsed_query(ExecutableDocument::clone(&document));
        Ok(Prepared {
            document,
            operation,
        })
    }

    /// Charges an operation costing `cost` to the rate limits of `principal` and `ip`.
    pub fn charge(
        &self,
        principal: Option<&Principal>,
        ip: Option<IpAddr>,
        cost: usize,
    ) -> Result<(), ServerError> {
        rate_limit::charge(&self.deps, principal, ip, cost)
    }
}

/// A request's document and its operation, once readied.
pub struct Prepared {
    /// The parsed document.
    pub document: Arc<ExecutableDocument>,
    /// The operation it runs.
    pub operation: Operation,
}

/// What is known of the operation a request runs; the default is a request refused
/// before its operation was known.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    /// Its complexity, as charged to the rate limits.
    pub cost: usize,
    /// Its kind, when the document has the operation asked for.
    pub kind: Option<OperationType>,
    /// Its name, if it has one.
    pub name: Option<String>,
}

/// A value of type `T` the request or its session carries.
fn datum<'a, T: 'static>(request: &'a Data, session: Option<&'a Data>) -> Option<&'a T> {
    let key = TypeId::of::<T>();
    request
        .get(&key)
        .or_else(|| session?.get(&key))
        .and_then(|value| value.downcast_ref::<T>())
}

/// The answer to a request refused before it ran.
pub fn refused(error: ServerError) -> Response {
    finish(None, None, Response::from_errors(vec![error]))
}

/// `response` with every error coded and, when the request's `document` is known, its data
/// in selection order.
pub fn finish(
    document: Option<&ExecutableDocument>,
    operation_name: Option<&str>,
    mut response: Response,
) -> Response {
    response.errors.iter_mut().for_each(ensure_code);
    if let Some(document) = document
        && let Some(operation) = parsed::operation(document, operation_name)
    {
        field_order::restore(document, operation, &mut response.data);
    }
    response
}

/// The messages async-graphql gives when a query breaks the schema's depth or complexity
/// limit (pinned by a test, so an upgrade that rewords them is noticed).
pub const LIMIT_MESSAGES: [&str; 2] = ["Query is nested too deep.", "Query is too complex."];

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
        } else if error.message == persisted::NOT_FOUND {
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
