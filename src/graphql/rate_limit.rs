//! Rate limits on GraphQL operations: each operation is charged its complexity
//! ([`super::cost`]) against the caller's and the client address's token buckets, before
//! it runs.

use std::net::IpAddr;

use async_graphql::ServerError;

use super::errors::ErrorCode;
use crate::{
    auth::{Principal, throttle::Refusal},
    service::Deps,
};

/// The bucket key of a principal: all keys and tokens of one merchant share one bucket.
fn principal_key(principal: Option<&Principal>) -> Option<String> {
    match principal? {
        Principal::Anonymous => None,
        Principal::Merchant(merchant) => Some(format!("merchant:{}", merchant.merchant_id)),
        Principal::Consumer(consumer) => Some(format!("consumer:{}", consumer.consumer_id)),
        Principal::Staff(staff) => Some(format!("staff:{}", staff.staff_id)),
    }
}

/// The error of a refused operation; the HTTP layer turns it into a 429.
pub fn rate_limited(retry_after_seconds: u64) -> ServerError {
    let mut error = ServerError::new(
        format!("rate limit reached; retry in {retry_after_seconds} s"),
        None,
    );
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", ErrorCode::RateLimited.as_str());
    extensions.set("retryAfterSeconds", retry_after_seconds);
    error
}

/// Charges an operation costing `cost` against the caller's and the client address's
/// buckets.
pub fn charge(
    deps: &Deps,
    principal: Option<&Principal>,
    ip: Option<IpAddr>,
    cost: usize,
) -> Result<(), ServerError> {
    let cost = u32::try_from(cost).unwrap_or(u32::MAX);
    match deps
        .request_limiter
        .charge(principal_key(principal), ip, cost)
    {
        Ok(()) => Ok(()),
        Err(Refusal::RetryAfter(wait)) => Err(rate_limited(wait.as_secs().max(1))),
        Err(Refusal::TooExpensive) => {
            let mut error =
                ServerError::new("this query costs more than a rate-limit bucket holds", None);
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", ErrorCode::QueryTooComplex.as_str());
            Err(error)
        }
    }
}
