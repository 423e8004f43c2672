//! OAuth 2.0 client credentials, the JWKS, and what a forged or stale token gets.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use paylater::auth::{
    jwt::{DEV_KEY_ID, DEV_PRIVATE_KEY_PEM, ISSUER, JwtKeyConfig},
    oauth::MERCHANT_AUDIENCE,
};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, TestMerchant, checkout_input, create_checkout_mutation, error_codes, new_signing_key,
    start_time,
};

const ME: &str = "query { merchant { name } }";

async fn token_request(
    app: &TestApp,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/oauth/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap());
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    request.send().await.unwrap()
}

pub async fn access_token(app: &TestApp, merchant: &TestMerchant, scope: Option<&str>) -> Value {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", merchant.id.as_str()),
        ("client_secret", merchant.key.as_str()),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = token_request(app, &form, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn client_credentials_give_a_token_that_works_like_the_key() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let body = access_token(&app, &merchant, None).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(
        body["scope"],
        "checkouts:write orders:read orders:write webhooks:manage api_keys:manage"
    );
    let token = body["access_token"].as_str().unwrap();
    let me = app.gql(Some(token), ME, json!({})).await;
    assert_eq!(me["data"]["merchant"]["name"], "Shop");

    // HTTP Basic works too.
    let basic = token_request(
        &app,
        &[("grant_type", "client_credentials")],
        Some((&merchant.id, &merchant.key)),
    )
    .await;
    assert_eq!(basic.status(), 200);

    // A narrower token can do less.
    let narrow = access_token(&app, &merchant, Some("orders:read")).await;
    assert_eq!(narrow["scope"], "orders:read");
    let body = app
        .gql(
            narrow["access_token"].as_str(),
            &create_checkout_mutation(),
            json!({ "input": checkout_input("o-1") }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);
}

/// A token request (form fields, HTTP Basic credentials) and the status and error code
/// it must get.
type Case<'a> = (
    Vec<(&'a str, &'a str)>,
    Option<(&'a str, &'a str)>,
    u16,
    &'a str,
);

#[tokio::test]
async fn token_errors_follow_rfc_6749() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let other = app.merchant("Other").await;
    let cases: Vec<Case> = vec![
        (
            vec![("grant_type", "password")],
            Some((&merchant.id, &merchant.key)),
            400,
            "unsupported_grant_type",
        ),
        (
            vec![],
            Some((&merchant.id, &merchant.key)),
            400,
            "invalid_request",
        ),
        (
            vec![("grant_type", "client_credentials")],
            None,
            401,
            "invalid_client",
        ),
        (
            vec![("grant_type", "client_credentials")],
            Some((&merchant.id, "sk_test_wrong")),
            401,
            "invalid_client",
        ),
        // The key of another merchant.
        (
            vec![("grant_type", "client_credentials")],
            Some((&merchant.id, &other.key)),
            401,
            "invalid_client",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("scope", "orders:delete"),
            ],
            Some((&merchant.id, &merchant.key)),
            400,
            "invalid_scope",
        ),
        (
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &merchant.id),
                ("client_secret", &merchant.key),
            ],
            Some((&merchant.id, &merchant.key)),
            400,
            "invalid_request",
        ),
    ];
    for (form, basic, status, error) in cases {
        let response = token_request(&app, &form, basic).await;
        assert_eq!(response.status(), status, "{form:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{form:?}");
    }
    let json_body = app
        .client
        .post(format!("{}/oauth/token", app.base))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
}

#[tokio::test]
async fn the_jwks_verifies_issued_tokens() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let jwks: Value = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    let token = access_token(&app, &merchant, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[MERCHANT_AUDIENCE]);
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
        .unwrap()
        .claims;
    for claim in ["iss", "aud", "sub", "exp", "iat", "jti", "scope"] {
        assert!(!claims[claim].is_null(), "claim {claim}");
    }
}

/// Claims of a merchant token for `merchant` with the test clock's times.
fn claims(merchant_uuid: &str, audience: &str) -> Value {
    let now = start_time().timestamp();
    json!({ "iss": ISSUER, "aud": audience, "sub": merchant_uuid, "exp": now + 600, "iat": now,
            "jti": uuid::Uuid::now_v7(), "scope": "checkouts:write", "akid": uuid::Uuid::now_v7() })
}

fn sign(claims: &Value, kid: &str, pem: &str) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn refused(app: &TestApp, token: &str) -> bool {
    app.post(Some(token), ME, json!({})).await.status() == 401
}

#[tokio::test]
async fn forged_and_stale_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let issued = access_token(&app, &merchant, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sub: Value = {
        let payload = issued.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    };
    let merchant_uuid = sub["sub"].as_str().unwrap();
    // Signed with the right key, the token is accepted: the refusals below are about one flaw each.
    assert!(
        !refused(
            &app,
            &sign(
                &claims(merchant_uuid, MERCHANT_AUDIENCE),
                DEV_KEY_ID,
                DEV_PRIVATE_KEY_PEM
            )
        )
        .await
    );

    let mut parts: Vec<String> = issued.split('.').map(str::to_owned).collect();
    let mut tampered_claims = sub.clone();
    tampered_claims["scope"] =
        json!("checkouts:write orders:write api_keys:manage webhooks:manage orders:read");
    tampered_claims["sub"] = json!(uuid::Uuid::now_v7());
    parts[1] = URL_SAFE_NO_PAD.encode(tampered_claims.to_string());
    assert!(refused(&app, &parts.join(".")).await, "tampered payload");

    assert!(
        refused(
            &app,
            &sign(
                &claims(merchant_uuid, "someone-else"),
                DEV_KEY_ID,
                DEV_PRIVATE_KEY_PEM
            )
        )
        .await,
        "wrong audience"
    );
    assert!(
        refused(
            &app,
            &sign(
                &claims(merchant_uuid, MERCHANT_AUDIENCE),
                "unknown-kid",
                DEV_PRIVATE_KEY_PEM
            )
        )
        .await,
        "unknown kid"
    );
    let (stranger_key, _) = new_signing_key();
    assert!(
        refused(
            &app,
            &sign(
                &claims(merchant_uuid, MERCHANT_AUDIENCE),
                DEV_KEY_ID,
                &stranger_key
            )
        )
        .await,
        "foreign key"
    );

    let none_header = URL_SAFE_NO_PAD
        .encode(json!({ "alg": "none", "typ": "JWT", "kid": DEV_KEY_ID }).to_string());
    let none_payload = URL_SAFE_NO_PAD.encode(claims(merchant_uuid, MERCHANT_AUDIENCE).to_string());
    assert!(
        refused(&app, &format!("{none_header}.{none_payload}.")).await,
        "alg none"
    );

    // HS256 keyed with the public key, the classic algorithm-confusion attack.
    let jwks: Value = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(DEV_KEY_ID.to_owned());
    let hs = jsonwebtoken::encode(
        &hs_header,
        &claims(merchant_uuid, MERCHANT_AUDIENCE),
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert!(refused(&app, &hs).await, "HS256 with the public key");

    assert!(refused(&app, "not.a.jwt").await);
    app.clock.advance(chrono::Duration::minutes(15));
    assert!(refused(&app, &issued).await, "expired");
}

#[tokio::test]
async fn keys_rotate_without_refusing_tokens_of_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let (new_private, _) = new_signing_key();
    let (old_private, old_public) = new_signing_key();
    let new_file = dir.path().join("new.pem");
    let old_file = dir.path().join("old.pub.pem");
    std::fs::write(&new_file, new_private).unwrap();
    std::fs::write(&old_file, old_public).unwrap();
    let app = TestApp::spawn_with(|config| {
        config.auth.jwt_keys = vec![
            JwtKeyConfig {
                kid: "2027-01".into(),
                private_key_file: Some(new_file.clone()),
                public_key_file: None,
            },
            JwtKeyConfig {
                kid: "2026-07".into(),
                private_key_file: None,
                public_key_file: Some(old_file.clone()),
            },
        ];
    })
    .await;
    let merchant = app.merchant("Shop").await;
    let jwks: Value = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["2026-07", "2027-01"]);

    let issued = access_token(&app, &merchant, None).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&issued).unwrap().kid.as_deref(),
        Some("2027-01")
    );
    assert!(!refused(&app, &issued).await);

    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(issued.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let old = sign(
        &claims(payload["sub"].as_str().unwrap(), MERCHANT_AUDIENCE),
        "2026-07",
        &old_private,
    );
    assert!(
        !refused(&app, &old).await,
        "a token of the verify-only key still works"
    );
    let dev = sign(
        &claims(payload["sub"].as_str().unwrap(), MERCHANT_AUDIENCE),
        DEV_KEY_ID,
        DEV_PRIVATE_KEY_PEM,
    );
    assert!(
        refused(&app, &dev).await,
        "the development key is not in this ring"
    );
}
