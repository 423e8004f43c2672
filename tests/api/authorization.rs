//! The authorization table: every operation × every kind of caller → allowed, or the exact
//! top-level error. One row per pair; adding an operation means adding its row.

use serde_json::{Value, json};

use paylater::domain::staff::StaffRole;

use crate::helpers::{
    TestApp, checkout_input, create_checkout, create_checkout_mutation, error_codes,
};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Consumer,
    /// The merchant owning the objects, with every scope.
    Owner,
    /// The owner with a key holding only `checkouts:write`.
    OwnerCheckoutsOnly,
    /// Another merchant, with every scope.
    Stranger,
    /// A support agent of the operator.
    Support,
    /// An admin of the operator.
    Admin,
}

use Caller::*;

const OK: &str = "ok";

#[tokio::test]
async fn every_operation_for_every_caller() {
    // Every caller tries the same login; the throttle is tested elsewhere.
    let app = TestApp::spawn_with(|config| {
        config.auth.login_attempts_per_account_per_minute = std::num::NonZeroU32::new(100).unwrap();
    })
    .await;
    let owner = app.merchant("Owner").await;
    let stranger = app.merchant("Stranger").await;
    let created = create_checkout(&app, &owner, checkout_input("o-1")).await;
    let token = created["checkoutToken"].as_str().unwrap().to_owned();
    let checkout_id = created["checkout"]["id"].as_str().unwrap().to_owned();

    let key = |scopes: Value| {
        let app = &app;
        let owner = &owner;
        async move {
            let body = app
                .gql(
                    Some(&owner.key),
                    "mutation($s: [ApiKeyScope!]!) { createApiKey(input: { name: \"k\", scopes: $s }) { secret apiKey { id } } }",
                    json!({ "s": scopes }),
                )
                .await;
            let payload = &body["data"]["createApiKey"];
            (
                payload["secret"].as_str().unwrap().to_owned(),
                payload["apiKey"]["id"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (checkouts_only, _) = key(json!(["CHECKOUTS_WRITE"])).await;
    let (_, spare_key_id) = key(json!(["ORDERS_READ"])).await;

    app.gql(None, "mutation { registerConsumer(input: { email: \"ada@example.com\", password: \"correct horse battery\" }) { consumer { id } } }", json!({})).await;
    let login = app
        .gql(None, "mutation { login(input: { email: \"ada@example.com\", password: \"correct horse battery\" }) { session { accessToken } } }", json!({}))
        .await;
    let consumer = login["data"]["login"]["session"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();

    let support = app
        .staff("agent@paylater.test", StaffRole::Support)
        .await
        .token;
    let admin = app
        .staff("root@paylater.test", StaffRole::Admin)
        .await
        .token;

    let credential = |caller: Caller| -> Option<&str> {
        match caller {
            Anonymous => None,
            Consumer => Some(&consumer),
            Owner => Some(&owner.key),
            OwnerCheckoutsOnly => Some(&checkouts_only),
            Stranger => Some(&stranger.key),
            Support => Some(&support),
            Admin => Some(&admin),
        }
    };

    let checkout_by_token = format!("{{ checkout(token: \"{token}\") {{ status }} }}");
    let node = format!("{{ node(id: \"{checkout_id}\") {{ id }} }}");
    let cancel = format!(
        "mutation {{ cancelCheckout(input: {{ id: \"{checkout_id}\" }}) {{ userErrors {{ code }} }} }}"
    );
    let revoke = format!(
        "mutation {{ revokeApiKey(input: {{ id: \"{spare_key_id}\" }}) {{ apiKey {{ id }} }} }}"
    );
    let plans = format!(
        "{{ installmentPlans(amount: {{ amount: \"100.00\", currencyCode: \"EUR\" }}, merchantId: \"{}\") {{ plan }} }}",
        owner.id
    );
    let profile = format!("{{ merchantProfile(id: \"{}\") {{ name }} }}", owner.id);
    let unknown_order = paylater::graphql::ids::encode(
        paylater::graphql::ids::NodeKind::Order,
        uuid::Uuid::now_v7(),
    )
    .0;
    let capture = format!(
        "mutation {{ captureOrder(input: {{ id: \"{unknown_order}\", idempotencyKey: \"k\" }}) {{ userErrors {{ code }} }} }}"
    );
    let unknown_delivery = paylater::graphql::ids::encode(
        paylater::graphql::ids::NodeKind::WebhookDelivery,
        uuid::Uuid::now_v7(),
    )
    .0;
    let redeliver = format!(
        "mutation {{ redeliverWebhook(input: {{ deliveryId: \"{unknown_delivery}\" }}) {{ userErrors {{ code }} }} }}"
    );
    let create_key = "mutation { createApiKey(input: { name: \"x\", scopes: [CHECKOUTS_WRITE] }) { apiKey { id } } }";
    let create = create_checkout_mutation();
    let create_vars = json!({ "input": checkout_input("table") });

    // (operation, query, variables,
    //  [anonymous, consumer, owner, owner checkouts-only, stranger, support, admin])
    let table: Vec<(&str, &str, Value, [&str; 7])> = vec![
        (
            "staffMember",
            "{ staffMember { role } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                OK,
                OK,
            ],
        ),
        (
            "auditLog",
            "{ auditLog { totalCount } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                OK,
            ],
        ),
        (
            "addPaymentMethod (bad token)",
            "mutation { addPaymentMethod(input: { token: \"x\" }) { userErrors { code } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "me.paymentMethods",
            "{ me { paymentMethods { id } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "captureOrder (unknown order)",
            &capture,
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "NOT_FOUND",
                "FORBIDDEN",
                "NOT_FOUND",
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "staffLogin (wrong code)",
            "mutation { staffLogin(input: { email: \"root@paylater.test\", password: \"x\", code: \"000000\" }) { userErrors { code } } }",
            json!({}),
            [OK, OK, OK, OK, OK, OK, OK],
        ),
        (
            "checkout(token)",
            &checkout_by_token,
            json!({}),
            [OK, OK, OK, OK, OK, OK, OK],
        ),
        (
            "installmentPlans",
            &plans,
            json!({}),
            [OK, OK, OK, OK, OK, OK, OK],
        ),
        (
            "merchantProfile",
            &profile,
            json!({}),
            [OK, OK, OK, OK, OK, OK, OK],
        ),
        (
            "node(checkout)",
            &node,
            json!({}),
            ["NOT_FOUND", "NOT_FOUND", OK, OK, "NOT_FOUND", OK, OK],
        ),
        (
            "merchant",
            "{ merchant { name } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                OK,
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "merchant.checkouts",
            "{ merchant { checkouts { totalCount } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                OK,
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "merchant.apiKeys",
            "{ merchant { apiKeys { totalCount } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "merchant.webhookDeliveries",
            "{ merchant { webhookDeliveries { totalCount } webhookEndpoint { url } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "setWebhookEndpoint (bad URL)",
            "mutation { setWebhookEndpoint(input: { url: \"nope\" }) { userErrors { code } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "rotateWebhookSecret (no endpoint)",
            "mutation { rotateWebhookSecret(input: {}) { userErrors { code } } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "redeliverWebhook (unknown delivery)",
            &redeliver,
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                "NOT_FOUND",
                "FORBIDDEN",
                "NOT_FOUND",
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "createCheckout",
            &create,
            create_vars,
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                OK,
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "createApiKey",
            create_key,
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "revokeApiKey",
            &revoke,
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                "FORBIDDEN",
                "NOT_FOUND",
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        (
            "me",
            "{ me { email } }",
            json!({}),
            [
                "UNAUTHENTICATED",
                OK,
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
        // Last: it cancels the checkout the rows above read.
        (
            "cancelCheckout",
            &cancel,
            json!({}),
            [
                "UNAUTHENTICATED",
                "FORBIDDEN",
                OK,
                OK,
                "NOT_FOUND",
                "FORBIDDEN",
                "FORBIDDEN",
            ],
        ),
    ];

    let callers = [
        Anonymous,
        Consumer,
        Support,
        Admin,
        Stranger,
        OwnerCheckoutsOnly,
        Owner,
    ];
    let mut mismatches = Vec::new();
    for (operation, query, variables, expected) in &table {
        // The owner goes last so that a state-changing row is still tested on the others first.
        for caller in callers {
            let column = match caller {
                Anonymous => 0,
                Consumer => 1,
                Owner => 2,
                OwnerCheckoutsOnly => 3,
                Stranger => 4,
                Support => 5,
                Admin => 6,
            };
            let body = app.gql(credential(caller), query, variables.clone()).await;
            let codes = error_codes(&body);
            let got = codes.first().map(String::as_str).unwrap_or(OK);
            if got != expected[column] {
                mismatches.push(format!(
                    "{operation} as {caller:?}: expected {}, got {got} ({body})",
                    expected[column]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}
