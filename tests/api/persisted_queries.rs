//! Automatic persisted queries (Apollo APQ) and `GET /graphql`: a hash stands for a query
//! sent once; GET runs only persisted queries and never mutations; public answers carry
//! `Cache-Control` and an ETag that a revalidation answers with 304.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, checkout_input, create_checkout, error_codes};

const PLANS: &str = "query Plans($m: ID!, $a: Decimal! = \"120.00\") { installmentPlans(amount: { amount: $a, currencyCode: \"EUR\" }, merchantId: $m) { plan total { amount } } }";

pub fn hash(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

pub fn persisted(query: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash(query) } })
}

/// POSTs an APQ request: the hash, and the query when `register`.
pub async fn post(app: &TestApp, query: &str, variables: Value, register: bool) -> Value {
    let mut body = json!({ "extensions": persisted(query), "variables": variables });
    if register {
        body["query"] = json!(query);
    }
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// GETs a persisted query.
pub async fn get(
    app: &TestApp,
    query: &str,
    variables: Value,
    if_none_match: Option<&str>,
) -> reqwest::Response {
    let params = [
        ("extensions", persisted(query).to_string()),
        ("variables", variables.to_string()),
    ];
    let url = reqwest::Url::parse_with_params(&format!("{}/graphql", app.base), &params).unwrap();
    let mut request = app.client.get(url);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_hash_stands_for_a_query_sent_once() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let variables = json!({ "m": merchant.id });

    let unknown = post(&app, PLANS, variables.clone(), false).await;
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(error_codes(&unknown), ["PERSISTED_QUERY_NOT_FOUND"]);

    let registered = post(&app, PLANS, variables.clone(), true).await;
    let plans = registered["data"]["installmentPlans"].clone();
    assert_eq!(plans.as_array().map(Vec::len), Some(3), "{registered}");

    let by_hash = post(&app, PLANS, variables.clone(), false).await;
    assert_eq!(by_hash["data"]["installmentPlans"], plans);

    let mut forged = json!({ "query": "{ __typename }", "extensions": persisted(PLANS) });
    forged["variables"] = variables;
    let body = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&forged)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        "provided sha does not match query"
    );
}

#[tokio::test]
async fn public_answers_to_gets_are_cacheable_and_revalidate_with_304() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let variables = json!({ "m": merchant.id });
    post(&app, PLANS, variables.clone(), true).await;

    let response = get(&app, PLANS, variables.clone(), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=60")
    );
    let tag = header(&response, "etag").unwrap().to_owned();
    assert!(tag.starts_with("W/\""), "{tag}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["installmentPlans"][0]["plan"], "PAY_IN_3");

    let again = get(&app, PLANS, variables.clone(), Some(&tag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(header(&again, "etag"), Some(tag.as_str()));
    assert!(again.bytes().await.unwrap().is_empty());

    // Another answer has another tag.
    let other = json!({ "m": merchant.id, "a": "150.00" });
    let changed = get(&app, PLANS, other, Some(&tag)).await;
    assert_eq!(changed.status(), 200);
    assert_ne!(header(&changed, "etag"), Some(tag.as_str()));

    // The merchant's public profile is cacheable too, for longer.
    let profile = "query P($id: ID!) { merchantProfile(id: $id) { name } }";
    post(&app, profile, json!({ "id": merchant.id }), true).await;
    let response = get(&app, profile, json!({ "id": merchant.id }), None).await;
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=300")
    );
}

#[tokio::test]
async fn private_or_mixed_answers_are_never_stored() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let mixed = "query M($m: ID!, $t: String!) { checkout(token: $t) { status }
        installmentPlans(amount: { amount: \"120.00\", currencyCode: \"EUR\" }, merchantId: $m) { plan } }";
    let variables = json!({ "m": merchant.id, "t": created["checkoutToken"] });
    post(&app, mixed, variables.clone(), true).await;
    let response = get(&app, mixed, variables, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(header(&response, "etag"), None);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["checkout"]["status"], "OPEN");

    // POST answers are never stored either.
    let posted = app.post(None, "{ __typename }", json!({})).await;
    assert_eq!(header(&posted, "cache-control"), Some("no-store"));
}

#[tokio::test]
async fn get_runs_no_mutation_and_no_query_text() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let cancel =
        "mutation C($id: ID!) { cancelCheckout(input: { id: $id }) { checkout { status } } }";
    // Registered over POST by a caller without rights: refused, but stored by its hash,
    // and its parsed document kept: the GET below is refused from that cached document.
    let registered = post(
        &app,
        cancel,
        json!({ "id": created["checkout"]["id"] }),
        true,
    )
    .await;
    assert_eq!(error_codes(&registered), ["UNAUTHENTICATED"]);

    let response = app
        .client
        .get(
            reqwest::Url::parse_with_params(
                &format!("{}/graphql", app.base),
                &[
                    ("extensions", persisted(cancel).to_string()),
                    (
                        "variables",
                        json!({ "id": created["checkout"]["id"] }).to_string(),
                    ),
                ],
            )
            .unwrap(),
        )
        .bearer_auth(&merchant.key)
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only run queries")
    );
    let status = app
        .gql(
            Some(&merchant.key),
            "query($id: ID!) { node(id: $id) { ... on Checkout { status } } }",
            json!({ "id": created["checkout"]["id"] }),
        )
        .await;
    assert_eq!(status["data"]["node"]["status"], "OPEN", "nothing changed");

    // A query in the URL is refused: GET serves persisted queries only.
    let text = app
        .client
        .get(format!("{}/graphql?query=%7B__typename%7D", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 400);
    let body: Value = text.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

    // Without parameters GET is still the playground.
    let playground = app
        .client
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        header(&playground, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
}
