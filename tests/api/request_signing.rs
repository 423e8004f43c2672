//! Signed requests: a merchant that requires them is refused unsigned, stale, forged or
//! replayed requests, whatever credential it uses.

use paylater::{auth::signing, clock::Clock};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_codes};

const ME: &str = "{ merchant { name requestSigningRequired } }";

async fn signed(
    app: &TestApp,
    bearer: &str,
    secret: &str,
    at: i64,
    body: &Value,
) -> reqwest::Response {
    let body = body.to_string();
    app.client
        .post(format!("{}/graphql", app.base))
        .bearer_auth(bearer)
        .header("content-type", "application/json")
        .header(signing::TIMESTAMP_HEADER, at.to_string())
        .header(
            signing::SIGNATURE_HEADER,
            signing::sign(secret, at, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_merchant_requiring_signatures_accepts_only_fresh_valid_ones() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let other = app.merchant("Other").await;
    let enabled = app
        .gql(
            Some(&merchant.key),
            "mutation { enableRequestSigning { signingSecret } }",
            json!({}),
        )
        .await;
    let secret = enabled["data"]["enableRequestSigning"]["signingSecret"]
        .as_str()
        .unwrap()
        .to_owned();

    let unsigned = app.post(Some(&merchant.key), ME, json!({})).await;
    assert_eq!(unsigned.status(), 401);
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);

    let now = app.clock.now().timestamp();
    let request = json!({ "query": ME });
    let ok = signed(&app, &merchant.key, &secret, now, &request).await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(
        body["data"]["merchant"],
        json!({ "name": "Shop", "requestSigningRequired": true })
    );

    let replay = signed(&app, &merchant.key, &secret, now, &request).await;
    assert_eq!(replay.status(), 401, "the same signed request twice");
    let stale = signed(
        &app,
        &merchant.key,
        &secret,
        now - 301,
        &json!({ "query": "{ merchant { name } }" }),
    )
    .await;
    assert_eq!(stale.status(), 401);
    let forged = signed(
        &app,
        &merchant.key,
        "rss_guess",
        now,
        &json!({ "query": "{ __typename }" }),
    )
    .await;
    assert_eq!(forged.status(), 401);

    // An access token of the merchant needs signatures too.
    let token: Value = app
        .client
        .post(format!("{}/oauth/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("grant_type", "client_credentials"),
                ("client_id", merchant.id.as_str()),
                ("client_secret", merchant.key.as_str()),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(app.post(Some(access), ME, json!({})).await.status(), 401);
    let with_token = signed(
        &app,
        access,
        &secret,
        now,
        &json!({ "query": "{ merchant { name } }" }),
    )
    .await;
    assert_eq!(with_token.status(), 200);

    // Other merchants are unaffected.
    assert_eq!(
        app.post(Some(&other.key), ME, json!({})).await.status(),
        200
    );

    // Turning it off takes a signed request; afterwards unsigned ones pass again.
    let disable =
        json!({ "query": "mutation { disableRequestSigning { requestSigningRequired } }" });
    assert_eq!(
        signed(&app, &merchant.key, &secret, now, &disable)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post(Some(&merchant.key), ME, json!({})).await.status(),
        200
    );
}
