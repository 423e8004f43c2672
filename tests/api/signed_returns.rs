//! Signed returns: the shopper goes back to the merchant's confirm or cancel URL carrying
//! the checkout's outcome, signed with the merchant's return signing secret, which the
//! merchant reads (scope `checkouts:write`) and rotates. Signatures are checked here as a
//! merchant would, with HMAC-SHA256 computed independently of the server's code.

use std::collections::HashMap;

use entity::{audit_log, merchant};
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    api_keys::new_key,
    fixtures::shopper,
    helpers::{TestApp, TestMerchant, checkout_input, create_checkout, error_codes},
    payment_methods::add_card,
};

const SECRET: &str = "{ merchant { returnSigningSecret } }";
const ROTATE: &str =
    "mutation { rotateReturnSigningSecret { returnSigningSecret userErrors { code } } }";
const CANCEL_URL: &str = "query($t: String!) { checkout(token: $t) { signedCancelUrl } }";
const CONFIRM: &str = "mutation($i: ConfirmCheckoutInput!) { confirmCheckout(input: $i) {
    order { id } signedRedirectUrl userErrors { code } } }";

/// A signed return as the merchant's page receives it.
#[derive(Debug, Clone)]
pub struct Return {
    /// Scheme, host and path, without the query.
    base: String,
    /// Every query parameter.
    params: HashMap<String, String>,
}

impl Return {
    /// The return at `url`.
    pub fn parse(url: &str) -> Self {
        let url = url::Url::parse(url).unwrap_or_else(|err| panic!("{url}: {err}"));
        let params = url.query_pairs().into_owned().collect();
        let mut base = url.clone();
        base.set_query(None);
        Self {
            base: base.to_string(),
            params,
        }
    }

    /// A query parameter, empty when absent.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The merchant's check, as the README describes it: HMAC-SHA256 of
    /// `"<timestamp>.<checkout id>.<order id>.<status>"` under its secret, compared in
    /// constant time, and a timestamp within 5 minutes of `now`.
    pub fn verifies(&self, secret: &str, now: i64) -> bool {
        let signed = format!(
            "{}.{}.{}.{}",
            self.param("paylater_timestamp"),
            self.param("paylater_checkout_id"),
            self.param("paylater_order_id"),
            self.param("paylater_status"),
        );
        let Ok(timestamp) = self.param("paylater_timestamp").parse::<i64>() else {
            return false;
        };
        let Ok(given) = hex::decode(self.param("paylater_signature")) else {
            return false;
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signed.as_bytes());
        (now - timestamp).abs() <= 300 && mac.verify_slice(&given).is_ok()
    }

    /// The same return with one parameter changed, as a forger would.
    fn with(&self, name: &str, value: &str) -> Self {
        let mut changed = self.clone();
        changed.params.insert(name.to_owned(), value.to_owned());
        changed
    }
}

/// The merchant's return signing secret, read as the merchant does.
pub async fn secret_of(app: &TestApp, merchant: &TestMerchant) -> String {
    let body = app.gql(Some(&merchant.key), SECRET, json!({})).await;
    body["data"]["merchant"]["returnSigningSecret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

async fn cancel_url(app: &TestApp, token: &str) -> Return {
    let body = app.gql(None, CANCEL_URL, json!({ "t": token })).await;
    Return::parse(
        body["data"]["checkout"]["signedCancelUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}")),
    )
}

/// The server's time, in Unix seconds.
pub fn now(app: &TestApp) -> i64 {
    use paylater::clock::Clock;
    app.clock.now().timestamp()
}

fn token_of(created: &Value) -> String {
    created["checkoutToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_confirmation_sends_the_shopper_to_the_confirm_url_with_a_signed_outcome() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let other = app.merchant("Other shop").await;
    let secret = secret_of(&app, &merchant).await;
    assert!(secret.starts_with("rtsec_"), "{secret}");
    let mut input = checkout_input("o-1");
    input["confirmUrl"] = json!("https://shop.example/ok?cart=42#done");
    let created = create_checkout(&app, &merchant, input).await;
    let ada = shopper(&app, "ada@example.com").await;

    let body = app
        .gql(
            Some(&ada.token),
            CONFIRM,
            json!({ "i": { "token": token_of(&created), "plan": "PAY_IN_3", "paymentMethodId": ada.card, "idempotencyKey": "k-1" } }),
        )
        .await;
    let payload = &body["data"]["confirmCheckout"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    let url = payload["signedRedirectUrl"].as_str().unwrap();
    assert!(url.ends_with("#done"), "the fragment stays last: {url}");
    let back = Return::parse(url);
    assert_eq!(back.base, "https://shop.example/ok#done");
    assert_eq!(
        back.param("cart"),
        "42",
        "the merchant's own parameters stay"
    );
    assert_eq!(
        back.param("paylater_checkout_id"),
        created["checkout"]["id"]
    );
    assert_eq!(back.param("paylater_order_id"), payload["order"]["id"]);
    assert_eq!(back.param("paylater_status"), "COMPLETED");
    assert_eq!(back.param("paylater_timestamp"), now(&app).to_string());
    assert!(back.verifies(&secret, now(&app)));

    // Tampered with, signed by another merchant's secret, or too old, it does not verify.
    for (name, value) in [
        ("paylater_status", "CANCELLED"),
        ("paylater_order_id", ""),
        ("paylater_checkout_id", "Q2hlY2tvdXQ6eA"),
        ("paylater_timestamp", &(now(&app) + 1).to_string()),
        ("paylater_signature", &"0".repeat(64)),
    ] {
        let forged = back.with(name, value);
        assert!(!forged.verifies(&secret, now(&app)), "{name} changed");
    }
    assert!(!back.verifies(&secret_of(&app, &other).await, now(&app)));
    assert!(!back.verifies(&secret, now(&app) + 301));

    // A replay of the confirmation signs the same outcome anew.
    app.clock.advance(chrono::Duration::seconds(30));
    let again = app
        .gql(
            Some(&ada.token),
            CONFIRM,
            json!({ "i": { "token": token_of(&created), "plan": "PAY_IN_3", "paymentMethodId": ada.card, "idempotencyKey": "k-1" } }),
        )
        .await;
    let replayed = Return::parse(
        again["data"]["confirmCheckout"]["signedRedirectUrl"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        replayed.param("paylater_order_id"),
        back.param("paylater_order_id")
    );
    assert_eq!(replayed.param("paylater_timestamp"), now(&app).to_string());
    assert!(replayed.verifies(&secret, now(&app)));

    // A declined confirmation has nowhere to send the shopper.
    let created = create_checkout(&app, &merchant, checkout_input("o-2")).await;
    let declining = add_card(&app, &ada.token, "4000000000000002").await;
    let declined = app
        .gql(
            Some(&ada.token),
            CONFIRM,
            json!({ "i": { "token": token_of(&created), "plan": "PAY_IN_3", "paymentMethodId": declining, "idempotencyKey": "k-2" } }),
        )
        .await;
    let payload = &declined["data"]["confirmCheckout"];
    assert_eq!(payload["userErrors"], json!([{ "code": "CARD_DECLINED" }]));
    assert_eq!(payload["signedRedirectUrl"], Value::Null);
}

#[tokio::test]
async fn the_cancel_url_carries_the_status_the_shopper_leaves_in() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let secret = secret_of(&app, &merchant).await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let token = token_of(&created);

    let open = cancel_url(&app, &token).await;
    assert_eq!(open.base, "https://shop.example/cancel");
    assert_eq!(
        open.param("paylater_checkout_id"),
        created["checkout"]["id"]
    );
    assert_eq!(open.param("paylater_status"), "OPEN");
    assert!(!open.params.contains_key("paylater_order_id"));
    assert!(open.verifies(&secret, now(&app)));
    assert!(
        !open
            .with("paylater_status", "COMPLETED")
            .verifies(&secret, now(&app))
    );

    let cancelled = app
        .gql(
            Some(&merchant.key),
            "mutation($i: CancelCheckoutInput!) { cancelCheckout(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": created["checkout"]["id"] } }),
        )
        .await;
    assert_eq!(cancelled["data"]["cancelCheckout"]["userErrors"], json!([]));
    let gone = cancel_url(&app, &token).await;
    assert_eq!(gone.param("paylater_status"), "CANCELLED");
    assert!(gone.verifies(&secret, now(&app)));

    // Past its expiry an open checkout leaves as EXPIRED, signed at the new time.
    let later = create_checkout(&app, &merchant, checkout_input("o-2")).await;
    app.clock.advance(chrono::Duration::minutes(61));
    let expired = cancel_url(&app, &token_of(&later)).await;
    assert_eq!(expired.param("paylater_status"), "EXPIRED");
    assert_eq!(expired.param("paylater_timestamp"), now(&app).to_string());
    assert!(expired.verifies(&secret, now(&app)));
    assert!(
        !expired.verifies(&secret, now(&app) - 301),
        "older than 5 minutes"
    );
}

#[tokio::test]
async fn rotating_the_secret_changes_the_signatures_and_is_audited() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let before = secret_of(&app, &merchant).await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let signed_before = cancel_url(&app, &token_of(&created)).await;
    assert!(signed_before.verifies(&before, now(&app)));

    let body = app.gql(Some(&merchant.key), ROTATE, json!({})).await;
    let after = body["data"]["rotateReturnSigningSecret"]["returnSigningSecret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_ne!(after, before);
    assert_eq!(secret_of(&app, &merchant).await, after);
    let signed_after = cancel_url(&app, &token_of(&created)).await;
    assert!(signed_after.verifies(&after, now(&app)));
    assert!(!signed_after.verifies(&before, now(&app)));
    assert!(!signed_before.verifies(&after, now(&app)));

    let entries = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("merchant.return_signing_secret_rotated"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor_kind, "merchant_api_key");
    assert!(
        !entries[0]
            .metadata
            .clone()
            .unwrap_or_default()
            .contains(&after),
        "the audit log never holds the secret"
    );
    // Stored encrypted: the row holds an envelope, never the secret.
    let row = merchant::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let stored = row.return_signing_secret.unwrap();
    assert!(stored.starts_with("v1.") && !stored.contains(&after["rtsec_".len()..]));
}

#[tokio::test]
async fn only_keys_with_the_checkouts_write_scope_read_or_rotate_the_secret() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let (_, reader) = new_key(&app, &merchant.key, "reports", json!(["ORDERS_READ"])).await;
    let (_, writer) = new_key(&app, &merchant.key, "web shop", json!(["CHECKOUTS_WRITE"])).await;
    let ada = shopper(&app, "ada@example.com").await;
    let secret = secret_of(&app, &merchant).await;

    let read = app.gql(Some(&writer), SECRET, json!({})).await;
    assert_eq!(read["data"]["merchant"]["returnSigningSecret"], secret);
    for (caller, code) in [
        (Some(reader.as_str()), "FORBIDDEN"),
        (Some(ada.token.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let read = app.gql(caller, SECRET, json!({})).await;
        assert_eq!(error_codes(&read), [code], "{read}");
        let rotated = app.gql(caller, ROTATE, json!({})).await;
        assert_eq!(error_codes(&rotated), [code], "{rotated}");
    }
    assert_eq!(secret_of(&app, &merchant).await, secret, "nothing changed");
}

#[tokio::test]
async fn a_merchant_made_before_return_secrets_gets_one_on_first_use() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    merchant::Entity::update_many()
        .col_expr(
            merchant::Column::ReturnSigningSecret,
            Expr::value(Option::<String>::None),
        )
        .exec(&app.db)
        .await
        .unwrap();

    // Several first uses at once make one secret, which every one of them uses.
    let token = token_of(&created);
    let (first, second, third) = tokio::join!(
        cancel_url(&app, &token),
        cancel_url(&app, &token),
        secret_of(&app, &merchant)
    );
    assert!(first.verifies(&third, now(&app)));
    assert!(second.verifies(&third, now(&app)));
    assert_eq!(secret_of(&app, &merchant).await, third);
    let row = merchant::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.return_signing_secret.unwrap().starts_with("v1."));
    let made = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("merchant.return_signing_secret_created"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(made.len(), 1);
}
