//! Demo data for development: a merchant with a known API key, a consumer, and the start-up
//! banner that tells a developer how to try the API. Production refuses all of it.

use std::net::SocketAddr;

use uuid::Uuid;

use crate::{
    auth::api_key::{DEMO_API_KEY, NewApiKey},
    ids::{NodeKind, encode},
    service::{
        Deps, ServiceError, ServiceResult,
        audit::Actor,
        consumers::{self, Registration},
        merchants,
    },
};

/// Stable id of the demo merchant, so its global ID is the same on every machine.
pub const DEMO_MERCHANT_ID: Uuid = Uuid::from_u128(0x019a_b000_0000_7000_8000_0000_0000_0001);
/// Stable id of the demo consumer.
pub const DEMO_CONSUMER_ID: Uuid = Uuid::from_u128(0x019a_b000_0000_7000_8000_0000_0000_0002);
/// The demo consumer's email.
pub const DEMO_CONSUMER_EMAIL: &str = "shopper@demo.paylater.test";
/// The demo consumer's password (development only, like everything here).
pub const DEMO_CONSUMER_PASSWORD: &str = "demo-shopper-password";

/// What the demo seed made.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The demo merchant's global ID.
    pub merchant_id: String,
    /// The demo merchant's API key.
    pub api_key: &'static str,
}

/// Creates the demo merchant (with every plan enabled and the built-in API key) and the
/// demo consumer, unless they exist. Safe to run at every start.
pub async fn seed(deps: &Deps) -> ServiceResult<Demo> {
    if let Err(ServiceError::NotFound) = merchants::get(&deps.db, DEMO_MERCHANT_ID).await {
        let key = NewApiKey::from_secret(DEMO_API_KEY.to_owned());
        merchants::create(deps, "Demo Shop", Some(DEMO_MERCHANT_ID), key).await?;
    }
    if let Err(ServiceError::NotFound) = consumers::get(deps, DEMO_CONSUMER_ID).await {
        let shopper = Registration {
            email: DEMO_CONSUMER_EMAIL.to_owned(),
            password: DEMO_CONSUMER_PASSWORD.to_owned(),
            given_name: Some("Ada".to_owned()),
            family_name: Some("Lovelace".to_owned()),
            phone: None,
        };
        let system = Actor {
            kind: "system",
            id: None,
            ip: None,
        };
        consumers::register_with_id(deps, &system, DEMO_CONSUMER_ID, shopper).await?;
    }
    Ok(Demo {
        merchant_id: encode(NodeKind::Merchant, DEMO_MERCHANT_ID),
        api_key: DEMO_API_KEY,
    })
}

/// An example `createCheckout` mutation whose amounts add up.
pub const EXAMPLE_MUTATION: &str = r#"mutation {
  createCheckout(input: {
    merchantReference: "demo-order-1"
    items: [{ name: "Running shoes", sku: "RUN-42", quantity: 1,
              unitPrice: { amount: "119.90", currencyCode: "EUR" } }]
    shipping: { amount: "4.90", currencyCode: "EUR" }
    total: { amount: "124.80", currencyCode: "EUR" }
    shopper: { email: "ada@example.com", givenName: "Ada" }
    confirmUrl: "https://shop.example/paylater/confirm"
    cancelUrl: "https://shop.example/paylater/cancel"
  }) {
    checkoutToken
    checkoutUrl
    checkout { id status expiresAt total { amount currencyCode }
      availablePlans { plan installments { sequence dueDate amount { amount } } } }
    userErrors { field code message }
  }
}"#;

/// What the server prints when it starts: where the playground and the checkout page are,
/// and how to authenticate.
pub fn banner(
    scheme: &str,
    address: SocketAddr,
    checkout_page: &str,
    demo: Option<&Demo>,
) -> String {
    let ws = if scheme == "https" { "wss" } else { "ws" };
    let mut text = format!(
        "paylater is listening on {scheme}://{address}\n\
         \n  GraphQL playground:  {scheme}://{address}/graphql\
         \n  WebSocket endpoint:  {ws}://{address}/graphql/ws\
         \n  Checkout page:       {checkout_page}/<checkoutToken> (createCheckout's checkoutUrl)\
         \n  Health:              {scheme}://{address}/healthz, {scheme}://{address}/readyz\n"
    );
    match demo {
        Some(demo) => text.push_str(&format!(
            "\nDemo data is loaded. Merchant calls authenticate with the header\
             \n  Authorization: Bearer {key}\
             \n(the playground sends it already). Demo merchant ID: {id}\
             \n\nPaste this into the playground to create a checkout (change merchantReference to make another):\n\n{EXAMPLE_MUTATION}\n\
             \nOpen its checkoutUrl in a browser to pay as a shopper, or read it as the checkout page does, without credentials:\
             \n  query {{ checkout(token: \"<checkoutToken>\") {{ status total {{ amount }} availablePlans {{ plan }} }} }}\n\
             \nDemo shopper: {DEMO_CONSUMER_EMAIL} / {DEMO_CONSUMER_PASSWORD}; log in with\
             \n  mutation {{ login(input: {{ email: \"{DEMO_CONSUMER_EMAIL}\", password: \"{DEMO_CONSUMER_PASSWORD}\" }}) {{ session {{ accessToken refreshToken }} userErrors {{ code }} }} }}\n",
            key = demo.api_key,
            id = demo.merchant_id,
        )),
        None => text.push_str(
            "\nMerchant calls authenticate with `Authorization: Bearer <API key>`; \
             create a merchant and its first key with `paylater merchant create --name <name>`.\n",
        ),
    }
    text
}
