//! Logs never hold secrets: a full session's credentials and PII are searched for in
//! everything the server logged while it ran.

use std::{
    io,
    sync::{Arc, Mutex, OnceLock},
};

use serde_json::json;

use crate::helpers::{TestApp, checkout_input, create_checkout};

/// Everything logged by this test binary, at the most verbose level of paylater's crates.
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("paylater=trace,tower_http=trace,async_graphql=trace,sea_orm=trace")
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        buffer
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_full_session_leaves_no_secret_in_the_logs() {
    let logs = captured();
    // paylater's own checkout page, so that its path (with the token) reaches the logs.
    let app = TestApp::spawn_with(|config| config.server.checkout_app_url = None).await;
    let merchant = app.merchant("Shop").await;
    let password = "a very secret passphrase";
    let email = "private.person@example.com";

    app.gql(None, "mutation($e: String!, $p: String!) { registerConsumer(input: { email: $e, password: $p, phone: \"+393339876543\" }) { consumer { id } } }", json!({ "e": email, "p": password })).await;
    let wrong = app.gql(None, "mutation($e: String!) { login(input: { email: $e, password: \"wrong wrong wrong\" }) { userErrors { code } } }", json!({ "e": email })).await;
    assert_eq!(
        wrong["data"]["login"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    let login = app.gql(None, "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { session { accessToken refreshToken } } }", json!({ "e": email, "p": password })).await;
    let session = &login["data"]["login"]["session"];
    let access = session["accessToken"].as_str().unwrap().to_owned();
    let refresh = session["refreshToken"].as_str().unwrap().to_owned();
    app.gql(Some(&access), "{ me { email } }", json!({})).await;
    app.gql(None, "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { session { accessToken } } }", json!({ "t": refresh })).await;
    // A replayed refresh token and a forged bearer are logged as refused, without themselves.
    app.gql(None, "mutation($t: String!) { refreshSession(input: { refreshToken: $t }) { session { accessToken } } }", json!({ "t": refresh })).await;
    app.post(
        Some("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.forged-signature"),
        "{ me { email } }",
        json!({}),
    )
    .await;

    // Multi-factor: enrol, confirm, and log in again with a recovery code. (Six-digit TOTP
    // codes are not searched for: log timestamps hold such digits by chance.)
    let enrolled = app
        .gql(
            Some(&access),
            "mutation { enrollTotp { secret } }",
            json!({}),
        )
        .await;
    let totp_secret = enrolled["data"]["enrollTotp"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = paylater::clock::Clock::now(app.clock.as_ref());
    let first_code = paylater::auth::totp::code_at(&totp_secret, now).unwrap();
    let confirmed = app
        .gql(
            Some(&access),
            "mutation($c: String!) { confirmTotp(input: { code: $c }) { recoveryCodes } }",
            json!({ "c": first_code }),
        )
        .await;
    let recovery = confirmed["data"]["confirmTotp"]["recoveryCodes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app.gql(None, "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { mfaToken } }", json!({ "e": email, "p": password })).await;
    let mfa_token = second["data"]["login"]["mfaToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.gql(None, "mutation($t: String!, $c: String!) { verifyMfa(input: { mfaToken: $t, code: $c }) { session { accessToken } } }", json!({ "t": mfa_token, "c": recovery })).await;

    let created = app.gql(Some(&merchant.key), "mutation { createApiKey(input: { name: \"web\", scopes: [CHECKOUTS_WRITE] }) { secret } }", json!({})).await;
    let new_key = created["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = app
        .client
        .post(format!("{}/oauth/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("grant_type", "client_credentials"),
                ("client_id", merchant.id.as_str()),
                ("client_secret", new_key.as_str()),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let oauth_token = token["access_token"].as_str().unwrap().to_owned();
    app.gql(Some(&oauth_token), "{ merchant { name } }", json!({}))
        .await;

    // A card through the sandbox tokenizer, a bad one too, and a member of staff.
    let card = "5555555555554444";
    let tokenized = app
        .client
        .post(format!("{}/sandbox/tokenize", app.base))
        .json(&json!({ "number": card, "expMonth": 12, "expYear": 2030, "cvc": "123" }))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let card_token = tokenized["token"].as_str().unwrap().to_owned();
    app.client
        .post(format!("{}/sandbox/tokenize", app.base))
        .json(&json!({ "number": "5555555555554445", "expMonth": "12" }))
        .send()
        .await
        .unwrap();
    let staff = app
        .staff(
            "ops@paylater.test",
            paylater::domain::staff::StaffRole::Admin,
        )
        .await;

    // The hosted checkout page (its path holds the checkout token), a signed way back to
    // the merchant, and the merchant's return signing secret.
    let checkout = create_checkout(&app, &merchant, checkout_input("o-logs")).await;
    let checkout_token = checkout["checkoutToken"].as_str().unwrap().to_owned();
    let page = app
        .client
        .get(checkout["checkoutUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    app.gql(
        None,
        "query($t: String!) { checkout(token: $t) { signedCancelUrl } }",
        json!({ "t": checkout_token }),
    )
    .await;
    let return_secret = app
        .gql(
            Some(&merchant.key),
            "{ merchant { returnSigningSecret } }",
            json!({}),
        )
        .await["data"]["merchant"]["returnSigningSecret"]
        .as_str()
        .unwrap()
        .to_owned();

    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("request_id"),
        "the capture must see the server's logs"
    );
    assert!(text.contains("access token refused"), "refusals are logged");
    for (what, secret) in [
        ("password", password),
        ("email", email),
        ("phone", "+393339876543"),
        ("access token", &access),
        ("refresh token", &refresh),
        ("merchant API key", &merchant.key),
        ("new API key", &new_key),
        ("OAuth token", &oauth_token),
        ("forged token", "forged-signature"),
        ("TOTP secret", &totp_secret),
        ("recovery code", &recovery),
        ("MFA token", &mfa_token),
        ("card number", card),
        ("bad card number", "5555555555554445"),
        ("card token", &card_token),
        ("staff password", &staff.password),
        ("staff TOTP secret", &staff.totp_secret),
        ("staff token", &staff.token),
        ("checkout token", &checkout_token),
        ("return signing secret", &return_secret),
    ] {
        assert!(!text.contains(secret), "the logs hold the {what}");
    }
}
