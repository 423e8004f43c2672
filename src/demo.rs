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

/// The example `createCheckout` mutation of the README and of the playground's first tab;
/// its input is [`example_variables`].
pub const EXAMPLE_MUTATION: &str = r#"mutation CreateCheckout($input: CreateCheckoutInput!) {
  createCheckout(input: $input) {
    checkoutToken
    checkoutUrl
    checkout {
      id
      status
      total { amount currencyCode }
      availablePlans {
        plan
        installments { sequence dueDate amount { amount } }
      }
    }
    userErrors { field code message }
  }
}"#;

/// The variables of [`EXAMPLE_MUTATION`], as the README shows them: a checkout whose
/// amounts add up (119.90 + 4.90 shipping = 124.80 EUR).
pub const EXAMPLE_VARIABLES: &str = r#"{
  "input": {
    "merchantReference": "order-1001",
    "items": [
      {
        "name": "Running shoes",
        "sku": "RUN-42",
        "quantity": 1,
        "unitPrice": { "amount": "119.90", "currencyCode": "EUR" }
      }
    ],
    "shipping": { "amount": "4.90", "currencyCode": "EUR" },
    "total": { "amount": "124.80", "currencyCode": "EUR" },
    "shopper": { "email": "ada@example.com" },
    "confirmUrl": "https://shop.example/confirm",
    "cancelUrl": "https://shop.example/cancel"
  }
}"#;

/// [`EXAMPLE_VARIABLES`] (JSON text, in the order a reader expects) for a checkout with
/// `merchant_reference`.
pub fn example_variables(merchant_reference: &str) -> String {
    let reference = serde_json::Value::from(merchant_reference).to_string();
    EXAMPLE_VARIABLES.replacen("\"order-1001\"", &reference, 1)
}

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
             \n\nThe playground opens with an example createCheckout mutation: run it (the ▶ button),\
             \nthen open its checkoutUrl in a browser to pay as a shopper, or read the checkout as\
             \nthe checkout page does, without credentials:\
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The README shows the example the playground opens with, word for word.
    #[test]
    fn the_readme_shows_the_example() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(EXAMPLE_MUTATION),
            "README lacks EXAMPLE_MUTATION"
        );
        assert!(
            readme.contains(EXAMPLE_VARIABLES),
            "README lacks EXAMPLE_VARIABLES"
        );
    }

    #[test]
    fn example_variables_are_json_with_the_reference_given() {
        let variables: serde_json::Value =
            serde_json::from_str(&example_variables("order \"7\"")).unwrap();
        assert_eq!(variables["input"]["merchantReference"], "order \"7\"");
        assert_eq!(variables["input"]["total"]["amount"], "124.80");
    }
}
