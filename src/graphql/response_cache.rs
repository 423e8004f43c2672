//! Answers to public operations, kept as the bytes sent. A product page asks for
//! `installmentPlans` or `merchantProfile` with the same few documents and variables over
//! and over, anonymously; those fields are public and cacheable by the schema's hints, so
//! a repeated request is answered here, before GraphQL execution, still charged to the
//! rate limits as if it ran. Entries live as long as the response's `max-age`, and any
//! change to a merchant (the data these answers hold) starts a new generation of keys, so
//! an answer is never served after the write that changed it.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use chrono::NaiveDate;
use moka::{Expiry, sync::Cache};

/// Bytes of answers kept: thousands of product-page answers.
pub const CAPACITY_BYTES: u64 = 4 * 1024 * 1024;

/// One kept answer.
#[derive(Debug)]
pub struct Cached {
    /// The response body as sent.
    pub body: Bytes,
    /// Seconds it may be kept (its `Cache-Control: max-age`).
    pub max_age: u32,
    /// What the operation costs, charged to the rate limits on every answer.
    pub cost: usize,
    /// The operation's name, if it has one (for metrics).
    pub name: Option<String>,
}

/// Which request an answer is for: the generation of public data it was made from, the
/// day it was made on (schedules start today), the operation's name, its document (the
/// persisted hash, or the text with insignificant whitespace and commas removed) and its
/// variables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    generation: u64,
    day: NaiveDate,
    request: String,
}

impl Key {
    /// The key of `request` on `day`, against public data of `generation`.
    pub fn of(request: &async_graphql::Request, generation: u64, day: NaiveDate) -> Self {
        let document = match request.extensions.get("persistedQuery") {
            Some(persisted) if request.query.is_empty() => format!("#{persisted}"),
            _ => normalized(&request.query),
        };
        let variables = serde_json::to_string(&request.variables).unwrap_or_default();
        let name = request.operation_name.as_deref().unwrap_or_default();
        Self {
            generation,
            day,
            request: format!("{name}\n{document}\n{variables}"),
        }
    }
}

/// The answers kept, bounded by their size.
#[derive(Clone)]
pub struct ResponseCache(Cache<Key, Arc<Cached>>);

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(CAPACITY_BYTES)
    }
}

impl ResponseCache {
    /// A cache of at most `capacity_bytes` of keys and bodies.
    pub fn new(capacity_bytes: u64) -> Self {
        Self(
            Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|key: &Key, cached: &Arc<Cached>| {
                    u32::try_from(key.request.len() + cached.body.len()).unwrap_or(u32::MAX)
                })
                .expire_after(ForMaxAge)
                .build(),
        )
    }

    /// The answer kept for `key`.
    pub fn get(&self, key: &Key) -> Option<Arc<Cached>> {
        self.0.get(key)
    }

    /// Keeps `cached` for `key` during its `max_age`.
    pub fn insert(&self, key: Key, cached: Cached) {
        self.0.insert(key, Arc::new(cached));
    }
}

/// Entries expire after their own `max_age`.
struct ForMaxAge;

impl Expiry<Key, Arc<Cached>> for ForMaxAge {
    fn expire_after_create(&self, _: &Key, cached: &Arc<Cached>, _: Instant) -> Option<Duration> {
        Some(Duration::from_secs(u64::from(cached.max_age)))
    }
}

/// `query` without the whitespace and commas GraphQL ignores, so that the same document
/// written differently finds the same answer. Text with strings or comments is kept as it
/// is: inside those, whitespace means something.
fn normalized(query: &str) -> String {
    if query.contains(['"', '#']) {
        return query.to_owned();
    }
    let mut out = String::with_capacity(query.len());
    let mut gap = false;
    for c in query.chars() {
        if c.is_whitespace() || c == ',' || c == '\u{feff}' {
            gap = true;
            continue;
        }
        let joins = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
        if gap && out.chars().last().is_some_and(joins) && joins(c) {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_document_written_differently_is_one_key() {
        assert_eq!(
            normalized(
                "query P($a: MoneyInput!, $m: ID!) {\n  installmentPlans(amount: $a, merchantId: $m) { plan }\n}"
            ),
            "query P($a:MoneyInput!$m:ID!){installmentPlans(amount:$a merchantId:$m){plan}}"
        );
        assert_eq!(normalized("{ a b }"), normalized("{a,b}"));
        assert_ne!(normalized("{ a b }"), normalized("{ ab }"));
        assert_eq!(normalized("{ ...  on X { a } }"), "{... on X{a}}");
        let with_string = "{ a(x: \"two  spaces\") }";
        assert_eq!(normalized(with_string), with_string);
    }

    #[test]
    fn keys_differ_by_variables_name_generation_and_day() {
        let request = |vars: serde_json::Value| {
            async_graphql::Request::new("{ a }")
                .variables(async_graphql::Variables::from_json(vars))
        };
        let today = NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        let tomorrow = today.succ_opt().unwrap();
        let one = Key::of(&request(serde_json::json!({ "x": 1 })), 1, today);
        assert_eq!(
            one,
            Key::of(&request(serde_json::json!({ "x": 1 })), 1, today)
        );
        assert_ne!(
            one,
            Key::of(&request(serde_json::json!({ "x": 2 })), 1, today)
        );
        assert_ne!(
            one,
            Key::of(&request(serde_json::json!({ "x": 1 })), 2, today)
        );
        assert_ne!(
            one,
            Key::of(&request(serde_json::json!({ "x": 1 })), 1, tomorrow)
        );
        let named = request(serde_json::json!({ "x": 1 })).operation_name("A");
        assert_ne!(one, Key::of(&named, 1, today));
    }
}
