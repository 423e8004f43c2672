//! The HTTP surface: health probes, the playground, request ids, and what is refused
//! before any GraphQL runs.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes};

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let live = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({ "status": "ready" })
    );
}

#[tokio::test]
async fn the_playground_knows_the_subscription_endpoint() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("/graphql/ws"),
        "subscription endpoint missing"
    );
    assert!(html.contains("paylater"));
}

/// The `src` and `href` attributes of a page.
pub fn links(html: &str) -> Vec<&str> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| {
            html.match_indices(attribute)
                .map(|(at, found)| at + found.len())
        })
        .map(|start| &html[start..start + html[start..].find('"').unwrap()])
        .collect()
}

#[tokio::test]
async fn the_playground_and_its_assets_come_from_this_server() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("Bearer"), "no key without demo data");
    assert!(
        html.contains("createCheckout(input: $input)"),
        "the example is ready"
    );
    let assets = links(&html);
    assert_eq!(assets.len(), 7, "{assets:?}");
    for asset in assets {
        assert!(asset.starts_with("/playground/"), "{asset}");
        let response = app
            .client
            .get(format!("{}{asset}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let expected = match asset.rsplit('.').next() {
            Some("js") => "text/javascript; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            _ => "image/svg+xml",
        };
        assert_eq!(response.headers()["content-type"], expected, "{asset}");
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    let stale = app
        .client
        .get(format!("{}/playground/0000/graphiql.min.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 404);
    assert_eq!(error_codes(&stale.json().await.unwrap()), ["NOT_FOUND"]);

    let demo = TestApp::spawn_with(|config| config.database.seed_demo = true).await;
    let html = demo
        .client
        .get(format!("{}/graphql", demo.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = paylater::auth::api_key::DEMO_API_KEY;
    assert!(
        html.contains(&format!("\"Authorization\":\"Bearer {key}\"")),
        "the demo key is filled in"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"].len(), 36);
    let response = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn only_json_posts_are_executed() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("content-type", "text/plain")
        .body(r#"{"query":"{ __typename }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);

    let batch = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 400, "batches are refused");
    let body: Value = batch.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("batched requests")
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let padding = "x".repeat(70 * 1024);
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .json(&json!({ "query": "{ __typename }", "variables": { "padding": padding } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"]);
    assert_eq!(
        body["errors"][0]["message"],
        "the request body is larger than the 65536 bytes allowed"
    );
}

#[tokio::test]
async fn syntax_errors_and_unknown_fields_are_bad_user_input() {
    let app = TestApp::spawn().await;
    for query in ["{ checkout(token: ", "{ nope }", "{ checkout { id } }"] {
        let body = app.gql(None, query, json!({})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{query} → {body}");
    }
}

#[tokio::test]
async fn too_deep_queries_are_refused() {
    let app = TestApp::spawn().await;
    // Refused for its depth before its fields are even looked up.
    let nested = "items { ".repeat(15);
    let deep = format!(
        "{{ checkout(token: \"ct_x\") {{ {nested} name {} }} }}",
        "} ".repeat(15)
    );
    let body = app.gql(None, &deep, json!({})).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert_eq!(body["data"], Value::Null);
}

#[tokio::test]
async fn aliases_and_root_fields_are_limited_before_execution() {
    let app = TestApp::spawn().await;
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: description")).collect();
        format!("{{ __schema {{ {} }} }}", fields.join(" "))
    };
    let allowed = app.gql(None, &aliases(30), json!({})).await;
    assert!(allowed["errors"].is_null(), "{allowed}");
    let refused = app.gql(None, &aliases(31), json!({})).await;
    assert_eq!(error_codes(&refused), ["QUERY_TOO_COMPLEX"], "{refused}");
    assert_eq!(refused["data"], Value::Null);

    // Aliases hidden in fragments count too.
    let fields: Vec<String> = (0..31).map(|i| format!("f{i}: description")).collect();
    let fragment = format!(
        "query {{ __schema {{ ...s }} }} fragment s on __Schema {{ {} }}",
        fields.join(" ")
    );
    assert_eq!(
        error_codes(&app.gql(None, &fragment, json!({})).await),
        ["QUERY_TOO_COMPLEX"]
    );

    let roots: Vec<&str> = vec!["__typename"; 21];
    let refused = app
        .gql(None, &format!("{{ {} }}", roots.join(" ")), json!({}))
        .await;
    assert_eq!(error_codes(&refused), ["QUERY_TOO_COMPLEX"], "{refused}");
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let app = TestApp::spawn().await;
    let api = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    let graphql = app.post(None, "{ __typename }", json!({})).await;
    for response in [&api, &graphql] {
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(
            headers["content-security-policy"],
            paylater::http::security::API_CSP
        );
    }
    let playground = app
        .client
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        playground.headers()["content-security-policy"],
        paylater::http::security::PLAYGROUND_CSP
    );
    assert_eq!(playground.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    let app = TestApp::spawn_with(|config| {
        config.server.cors_allowed_origins = vec!["https://shop.example".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let allowed = preflight("https://shop.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn introspection_and_suggestions_can_be_switched_off() {
    let app = TestApp::spawn_with(|config| config.server.graphql_introspection = false).await;
    let body = app
        .gql(None, "{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "{body}");
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    let typo = app
        .gql(None, "{ chekout(token: \"x\") { id } }", json!({}))
        .await;
    assert!(!typo.to_string().contains("Did you mean"), "{typo}");

    let open = TestApp::spawn().await;
    let body = open
        .gql(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    let typo = open
        .gql(None, "{ chekout(token: \"x\") { id } }", json!({}))
        .await;
    assert!(typo.to_string().contains("Did you mean"), "{typo}");
}

#[tokio::test]
async fn a_flooding_client_is_limited_while_another_is_not() {
    let app = TestApp::spawn_with(|config| {
        config.limits.rate_limit_per_second = std::num::NonZeroU32::new(1).unwrap();
        config.limits.rate_limit_burst = std::num::NonZeroU32::new(40).unwrap();
    })
    .await;
    let flooder = app.merchant("Flooder").await;
    let neighbour = app.merchant("Neighbour").await;
    // `{ merchant { name } }` costs 2 units; a bucket of 40 allows 20 in a burst.
    let query = "{ merchant { name } }";
    let mut statuses = Vec::new();
    // More requests than a burst plus what a slow run could refill meanwhile (1 unit/s).
    for _ in 0..40 {
        statuses.push(
            app.post(Some(&flooder.key), query, json!({}))
                .await
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..19].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let limited = app.post(Some(&flooder.key), query, json!({})).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(error_codes(&body), ["RATE_LIMITED"]);
    assert_eq!(
        body["data"],
        Value::Null,
        "a limited operation does not run"
    );

    let other = app.post(Some(&neighbour.key), query, json!({})).await;
    assert_eq!(other.status(), 200, "another client is unaffected");

    // A query costing more than a full bucket can never pass.
    let expensive = app
        .post(
            Some(&neighbour.key),
            "{ merchant { checkouts(first: 100) { nodes { id status } } } }",
            json!({}),
        )
        .await;
    let body: Value = expensive.json().await.unwrap();
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
}
