//! The GraphQL protocol's edges: the standard introspection query, introspection when it
//! is off, the rules on directives, responses in selection order, and every refusal in
//! the API's error shape.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, checkout_input, create_checkout, error_codes},
    persisted_queries,
    ws::{closed, open, send},
};

/// `getIntrospectionQuery()` of graphql-js 16.15 with every option on (descriptions,
/// specifiedByUrl, directiveIsRepeatable, schemaDescription, inputValueDeprecation, oneOf):
/// what GraphiQL, graphql-codegen and most tools send.
const GRAPHQL_JS_INTROSPECTION: &str = include_str!("graphql_js_introspection.graphql");

/// A POST's status and raw body text.
async fn post_raw(app: &TestApp, body: &str) -> (u16, String) {
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The one error of a refusal in the API's shape: no data, one error with a code.
fn only_error(body: &Value) -> (&str, &str) {
    assert!(body.get("data").is_none_or(Value::is_null), "{body}");
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    (
        errors[0]["message"].as_str().expect("message"),
        errors[0]["extensions"]["code"].as_str().expect("code"),
    )
}

#[tokio::test]
async fn the_standard_introspection_query_is_answered_in_full() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, GRAPHQL_JS_INTROSPECTION, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    let types = schema["types"].as_array().unwrap();
    let named = |name: &str| {
        types
            .iter()
            .find(|ty| ty["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert!(named("Checkout")["description"].is_string());
    assert_eq!(named("CheckoutSortInput")["kind"], "INPUT_OBJECT");
    // Type references come back as deep as they go: `items: [CheckoutItemInput!]!`.
    let items = named("CreateCheckoutInput")["inputFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "items")
        .unwrap();
    let ty = &items["type"];
    assert_eq!(
        [
            &ty["kind"],
            &ty["ofType"]["kind"],
            &ty["ofType"]["ofType"]["kind"],
            &ty["ofType"]["ofType"]["ofType"]["name"],
        ],
        ["NON_NULL", "LIST", "NON_NULL", "CheckoutItemInput"]
    );
    let include = schema["directives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|directive| directive["name"] == "include")
        .unwrap();
    assert_eq!(include["isRepeatable"], false);
}

#[tokio::test]
async fn only_operations_that_purely_introspect_escape_the_depth_limit() {
    let app = TestApp::spawn().await;
    let nest = |field: &str, levels: usize| {
        format!(
            "{} name {}",
            format!("{field} {{ ").repeat(levels),
            "} ".repeat(levels)
        )
    };
    // 14 ofType levels, depth 18: deeper than ordinary queries may go.
    let deep_introspection = format!("{{ __schema {{ types {{ {} }} }} }}", nest("ofType", 14));
    let body = app.gql(None, &deep_introspection, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");

    // The same introspection beside an ordinary field runs under the ordinary limits.
    let mixed = format!(
        "{{ __typename checkout(token: \"ct_x\") {{ id }} __schema {{ types {{ {} }} }} }}",
        nest("ofType", 14)
    );
    let body = app.gql(None, &mixed, json!({})).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");
    assert_eq!(body["data"], Value::Null);

    // Introspection has a bound of its own.
    let too_deep = format!("{{ __schema {{ types {{ {} }} }} }}", nest("ofType", 20));
    let body = app.gql(None, &too_deep, json!({})).await;
    assert_eq!(error_codes(&body), ["QUERY_TOO_COMPLEX"], "{body}");

    // A schema that introspects only answers nothing else: a fragment at the root keeps
    // the operation on the API's schema, which answers its fields.
    let fragment =
        "{ ...F } fragment F on Query { __schema { queryType { name } } merchant { id } }";
    let body = app.gql(None, fragment, json!({})).await;
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"], "{body}");
}

#[tokio::test]
async fn with_introspection_off_asking_for_it_is_forbidden() {
    let app = TestApp::spawn_with(|config| config.server.graphql_introspection = false).await;
    for query in [
        "{ __schema { types { name } } }",
        GRAPHQL_JS_INTROSPECTION,
        "{ __typename __type(name: \"Checkout\") { name } }",
        "{ ...F } fragment F on Query { __schema { queryType { name } } }",
    ] {
        let body = app.gql(None, query, json!({})).await;
        let (message, code) = only_error(&body);
        assert_eq!(code, "FORBIDDEN", "{query}: {body}");
        assert_eq!(message, "introspection is disabled on this server");
    }
    let body = app.gql(None, "{ __typename }", json!({})).await;
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
}

#[tokio::test]
async fn a_directive_may_not_repeat_on_typename_either() {
    let app = TestApp::spawn().await;
    let repeated = "{ __typename @include(if: true) @include(if: true) }";
    // Sent twice: the second comes from the parsed-document cache.
    for _ in 0..2 {
        let body = app.gql(None, repeated, json!({})).await;
        let (message, code) = only_error(&body);
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(
            message.contains("\"@include\" may be used only once"),
            "{message}"
        );
    }
    // Registered as a persisted query and run from its hash.
    let registered = persisted_queries::post(&app, repeated, json!({}), true).await;
    assert_eq!(error_codes(&registered), ["BAD_USER_INPUT"], "{registered}");

    for query in ["{ __typename @bogus }", "{ __typename @skip(if: 3) }"] {
        let body = app.gql(None, query, json!({})).await;
        assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{query}: {body}");
        assert_eq!(body["data"], Value::Null);
    }
    // On other fields the same rule was always applied.
    let body = app
        .gql(
            None,
            "{ checkout(token: \"ct_x\") @skip(if: false) @skip(if: false) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&body), ["BAD_USER_INPUT"], "{body}");
    let fine = app
        .gql(
            None,
            "{ __typename @include(if: true) @skip(if: false) }",
            json!({}),
        )
        .await;
    assert_eq!(fine, json!({ "data": { "__typename": "Query" } }));
}

/// Where each of `keys` first appears in `text`, which must hold them all.
fn positions(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter()
        .map(|key| {
            text.find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("{key} missing from {text}"))
        })
        .collect()
}

#[tokio::test]
async fn fields_come_back_in_the_order_they_were_selected() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    let token = created["checkoutToken"].as_str().unwrap();
    let selected = [
        "status",
        "expiresAt",
        "merchant",
        "items",
        "availablePlans",
        "total",
    ];
    let query = format!(
        "{{ checkout(token: \"{token}\") {{ status expiresAt merchant {{ name }} items {{ name }} \
         availablePlans {{ plan installments {{ dueDate sequence }} }} total {{ currencyCode amount }} }} }}"
    );
    let in_order = |text: &str| {
        let at = positions(text, &selected);
        assert!(at.is_sorted(), "{text}");
        let nested = positions(text, &["dueDate", "sequence", "currencyCode", "amount"]);
        assert!(nested.is_sorted(), "{text}");
    };
    // The fields loaded from the database finish in no fixed order; ask several times.
    for _ in 0..10 {
        let request = json!({ "query": query }).to_string();
        let (status, text) = post_raw(&app, &request).await;
        assert_eq!(status, 200);
        in_order(&text);
    }
    persisted_queries::post(&app, &query, json!({}), true).await;
    for _ in 0..5 {
        let response = persisted_queries::get(&app, &query, json!({}), None).await;
        in_order(&response.text().await.unwrap());
    }
}

#[tokio::test]
async fn bodies_that_are_not_one_request_are_refused_in_our_words() {
    let app = TestApp::spawn().await;
    for (body, says) in [
        (
            r#"{"query": "#,
            "the body is not valid JSON (it breaks off or goes wrong at line 1, column 10)",
        ),
        ("query { checkout }", "the body is not valid JSON"),
        (r#"[{"query": 5}]"#, "the body is not a GraphQL request"),
        (r#"{"query": 5}"#, "the body is not a GraphQL request"),
    ] {
        let (status, text) = post_raw(&app, body).await;
        assert_eq!(status, 400, "{body}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        let (message, code) = only_error(&answer);
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.starts_with(says), "{body}: {message}");
        assert!(
            message.contains("send a JSON object with a `query` string"),
            "{message}"
        );
        assert!(
            !message.contains("EOF") && !message.contains("expected"),
            "{message}"
        );
    }
    let bad_get = app
        .client
        .get(format!("{}/graphql?extensions=%7Bnope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_get.status(), 400);
    let answer: Value = bad_get.json().await.unwrap();
    let (message, _) = only_error(&answer);
    assert!(
        message.starts_with("the query string is not a persisted-query request"),
        "{message}"
    );
}

#[tokio::test]
async fn refusals_before_any_handler_come_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let unknown = app
        .client
        .get(format!("{}/nothing-here", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(only_error(&unknown.json().await.unwrap()).1, "NOT_FOUND");

    let wrong_method = app
        .client
        .put(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.headers().contains_key("allow"));
    assert_eq!(
        only_error(&wrong_method.json().await.unwrap()).1,
        "BAD_USER_INPUT"
    );

    // A plain GET of the WebSocket endpoint.
    let not_upgraded = app
        .client
        .get(format!("{}/graphql/ws", app.base))
        .header("sec-websocket-protocol", "graphql-transport-ws")
        .send()
        .await
        .unwrap();
    assert!(not_upgraded.status().is_client_error());
    let answer: Value = not_upgraded.json().await.unwrap();
    let (message, code) = only_error(&answer);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        message.starts_with("/graphql/ws speaks GraphQL over WebSocket"),
        "{message}"
    );
}

#[tokio::test]
async fn a_message_not_of_the_protocol_closes_the_socket_with_4400() {
    let app = TestApp::spawn().await;
    for message in [
        json!("not a message"),
        json!({ "type": "subscribe", "id": 1 }),
        json!({ "type": "launch" }),
    ] {
        let mut socket = open(&app, "graphql-transport-ws").await;
        send(&mut socket, message.clone()).await;
        let (code, reason) = closed(&mut socket).await;
        assert_eq!(code, 4400, "{message}");
        assert_eq!(
            reason,
            "not a graphql-transport-ws message: send JSON with a known `type` and its fields",
            "{message}"
        );
    }
}
