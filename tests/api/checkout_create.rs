//! `createCheckout`: the happy path, every validation rule, and that refusals store nothing.

use entity::{checkout, checkout_item};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use paylater::domain::checkout::MaxTotal;

use crate::helpers::{
    TestApp, checkout_input, create_checkout, create_checkout_mutation, start_time,
};

async fn stored_rows(app: &TestApp) -> (u64, u64) {
    (
        checkout::Entity::find().count(&app.db).await.unwrap(),
        checkout_item::Entity::find().count(&app.db).await.unwrap(),
    )
}

#[tokio::test]
async fn creates_a_checkout_with_token_url_and_plans() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shoe Shop").await;
    let payload = create_checkout(&app, &merchant, checkout_input("order-1")).await;

    let token = payload["checkoutToken"].as_str().unwrap();
    assert!(token.starts_with("ct_") && token.len() == 46, "{token}");
    assert_eq!(
        payload["checkoutUrl"],
        format!("https://checkout.paylater.test/c/{token}")
    );
    let checkout = &payload["checkout"];
    assert_eq!(checkout["status"], "OPEN");
    assert_eq!(checkout["merchantReference"], "order-1");
    assert_eq!(
        checkout["total"],
        json!({ "amount": "85.00", "currencyCode": "EUR", "minorUnits": 8500 })
    );
    assert_eq!(checkout["subtotal"]["amount"], "90.00");
    assert_eq!(checkout["discount"]["amount"], "10.00");
    assert_eq!(checkout["tax"]["amount"], "0.00");
    assert_eq!(checkout["createdAt"], "2027-01-31T10:00:00.000Z");
    assert_eq!(checkout["expiresAt"], "2027-01-31T11:00:00.000Z");
    assert_eq!(
        checkout["merchant"],
        json!({ "id": merchant.id, "name": "Shoe Shop" })
    );
    assert_eq!(
        checkout["items"],
        json!([{ "name": "Sneakers", "sku": "SNK-42", "quantity": 2, "unitPrice": { "amount": "45.00" },
                 "totalPrice": { "amount": "90.00" }, "imageUrl": "https://shop.example/sneakers.png",
                 "category": "Shoes" }])
    );
    assert_eq!(checkout["shippingAddress"]["countryCode"], "IT");

    // 85.00 EUR: PAY_IN_3 (30–1500) and PAY_IN_30_DAYS (10–1000) apply, PAY_IN_4 (from 100) does not.
    let plans = checkout["availablePlans"].as_array().unwrap();
    let codes: Vec<&str> = plans.iter().map(|p| p["plan"].as_str().unwrap()).collect();
    assert_eq!(codes, ["PAY_IN_3", "PAY_IN_30_DAYS"]);
    assert_eq!(
        plans[0]["installments"],
        json!([
            { "sequence": 1, "dueDate": "2027-01-31", "amount": { "amount": "28.34", "minorUnits": 2834 } },
            { "sequence": 2, "dueDate": "2027-02-28", "amount": { "amount": "28.33", "minorUnits": 2833 } },
            { "sequence": 3, "dueDate": "2027-03-31", "amount": { "amount": "28.33", "minorUnits": 2833 } },
        ])
    );
    assert_eq!(plans[1]["installments"][0]["dueDate"], "2027-03-02");
    assert_eq!(stored_rows(&app).await, (1, 1));
}

/// Sends `input` and returns the (field path, code) pairs of its user errors, asserting that
/// nothing was stored.
async fn refused(app: &TestApp, key: &str, input: Value) -> Vec<(String, String)> {
    let before = stored_rows(app).await;
    let body = app
        .gql(
            Some(key),
            &create_checkout_mutation(),
            json!({ "input": input }),
        )
        .await;
    let payload = &body["data"]["createCheckout"];
    assert_eq!(payload["checkout"], Value::Null, "{body}");
    assert_eq!(payload["checkoutToken"], Value::Null);
    assert_eq!(
        stored_rows(app).await,
        before,
        "a refused checkout must store nothing"
    );
    payload["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field: Vec<&str> = e["field"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            assert!(!e["message"].as_str().unwrap().is_empty());
            (field.join("."), e["code"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// An edit that breaks one rule of a valid input.
type Change = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn every_validation_rule_is_a_user_error_with_its_path() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let key = merchant.key.as_str();
    let expiry = |minutes: i64| (start_time() + chrono::Duration::minutes(minutes)).to_rfc3339();
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        (
            "total mismatch",
            Box::new(|i| i["total"]["amount"] = json!("85.01")),
            "input.total",
            "TOTAL_MISMATCH",
        ),
        (
            "zero total",
            Box::new(|i| {
                i["total"]["amount"] = json!("0");
            }),
            "input.total.amount",
            "OUT_OF_RANGE",
        ),
        (
            "zero quantity",
            Box::new(|i| i["items"][0]["quantity"] = json!(0)),
            "input.items.0.quantity",
            "OUT_OF_RANGE",
        ),
        (
            "huge quantity",
            Box::new(|i| i["items"][0]["quantity"] = json!(10_001)),
            "input.items.0.quantity",
            "OUT_OF_RANGE",
        ),
        (
            "negative price",
            Box::new(|i| i["items"][0]["unitPrice"]["amount"] = json!("-1.00")),
            "input.items.0.unitPrice.amount",
            "OUT_OF_RANGE",
        ),
        (
            "too precise",
            Box::new(|i| i["shipping"]["amount"] = json!("5.001")),
            "input.shipping.amount",
            "TOO_PRECISE",
        ),
        (
            "currency mismatch",
            Box::new(|i| i["shipping"]["currencyCode"] = json!("GBP")),
            "input.shipping.currencyCode",
            "CURRENCY_MISMATCH",
        ),
        (
            "no items",
            Box::new(|i| i["items"] = json!([])),
            "input.items",
            "ITEM_COUNT",
        ),
        (
            "blank name",
            Box::new(|i| i["items"][0]["name"] = json!("   ")),
            "input.items.0.name",
            "BLANK",
        ),
        (
            "long name",
            Box::new(|i| i["items"][0]["name"] = json!("n".repeat(201))),
            "input.items.0.name",
            "TOO_LONG",
        ),
        (
            "long sku",
            Box::new(|i| i["items"][0]["sku"] = json!("s".repeat(65))),
            "input.items.0.sku",
            "TOO_LONG",
        ),
        (
            "control chars",
            Box::new(|i| i["items"][0]["category"] = json!("a\u{0007}b")),
            "input.items.0.category",
            "INVALID",
        ),
        (
            "image url",
            Box::new(|i| i["items"][0]["imageUrl"] = json!("javascript:alert(1)")),
            "input.items.0.imageUrl",
            "INVALID_URL",
        ),
        (
            "blank reference",
            Box::new(|i| i["merchantReference"] = json!("")),
            "input.merchantReference",
            "BLANK",
        ),
        (
            "long reference",
            Box::new(|i| i["merchantReference"] = json!("r".repeat(129))),
            "input.merchantReference",
            "TOO_LONG",
        ),
        (
            "email",
            Box::new(|i| i["shopper"]["email"] = json!("not-an-email")),
            "input.shopper.email",
            "INVALID_EMAIL",
        ),
        (
            "phone",
            Box::new(|i| i["shopper"]["phone"] = json!("333 123")),
            "input.shopper.phone",
            "INVALID_PHONE",
        ),
        (
            "country",
            Box::new(|i| i["shippingAddress"]["countryCode"] = json!("XX")),
            "input.shippingAddress.countryCode",
            "INVALID_COUNTRY",
        ),
        (
            "city",
            Box::new(|i| i["shippingAddress"]["city"] = json!(" ")),
            "input.shippingAddress.city",
            "BLANK",
        ),
        (
            "http confirm url",
            Box::new(|i| i["confirmUrl"] = json!("http://shop.example/ok")),
            "input.confirmUrl",
            "INVALID_URL",
        ),
        (
            "relative cancel url",
            Box::new(|i| i["cancelUrl"] = json!("/cancel")),
            "input.cancelUrl",
            "INVALID_URL",
        ),
        (
            "expiry too soon",
            Box::new(move |i| i["expiresAt"] = json!(expiry(4))),
            "input.expiresAt",
            "INVALID_EXPIRY",
        ),
        (
            "expiry too late",
            Box::new(move |i| i["expiresAt"] = json!(expiry(48 * 60 + 1))),
            "input.expiresAt",
            "INVALID_EXPIRY",
        ),
    ];
    for (name, change, field, code) in cases {
        let mut input = checkout_input("order-1");
        change(&mut input);
        let errors = refused(&app, key, input).await;
        assert_eq!(
            errors,
            vec![(field.to_owned(), code.to_owned())],
            "case {name}"
        );
    }
}

#[tokio::test]
async fn reports_all_problems_at_once() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mut input = checkout_input("order-1");
    input["items"][0]["quantity"] = json!(0);
    input["shopper"]["email"] = json!("nope");
    input["cancelUrl"] = json!("ftp://x");
    let errors = refused(&app, &merchant.key, input).await;
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[tokio::test]
async fn more_than_one_hundred_items_are_refused() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mut input = checkout_input("order-1");
    let item = json!({ "name": "Pin", "quantity": 1, "unitPrice": { "amount": "1.00", "currencyCode": "EUR" } });
    input["items"] = json!(vec![item; 101]);
    input["total"]["amount"] = json!("96.00");
    let errors = refused(&app, &merchant.key, input).await;
    assert!(
        errors.contains(&("input.items".to_owned(), "ITEM_COUNT".to_owned())),
        "{errors:?}"
    );
}

#[tokio::test]
async fn accepts_the_explicit_expiry_tax_and_localhost_redirects() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mut input = checkout_input("order-1");
    input["tax"] = json!({ "amount": "1.50", "currencyCode": "EUR" });
    input["total"]["amount"] = json!("86.50");
    input["confirmUrl"] = json!("http://localhost:3000/ok");
    input["expiresAt"] = json!("2027-02-01T10:00:00+02:00");
    let payload = create_checkout(&app, &merchant, input).await;
    assert_eq!(payload["checkout"]["expiresAt"], "2027-02-01T08:00:00.000Z");
    assert_eq!(payload["checkout"]["tax"]["amount"], "1.50");
}

#[tokio::test]
async fn malformed_scalars_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    for (path, value) in [
        ("currencyCode", json!("EURO")),
        ("amount", json!(85.0)),
        ("amount", json!("eighty")),
    ] {
        let mut input = checkout_input("order-1");
        input["total"][path] = value;
        let body = app
            .gql(
                Some(&merchant.key),
                &create_checkout_mutation(),
                json!({ "input": input }),
            )
            .await;
        assert_eq!(
            crate::helpers::error_codes(&body),
            ["BAD_USER_INPUT"],
            "{body}"
        );
        assert_eq!(body["data"], Value::Null);
    }
    assert_eq!(stored_rows(&app).await, (0, 0));
}

#[tokio::test]
async fn amounts_must_be_plain_decimals() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    for value in ["1e3", "+5.00", " 5.00", "5.00 "] {
        for (field, set) in [
            (
                "unit price",
                Box::new(|i: &mut Value, v: &str| i["items"][0]["unitPrice"]["amount"] = json!(v))
                    as Box<dyn Fn(&mut Value, &str)>,
            ),
            (
                "total",
                Box::new(|i: &mut Value, v: &str| i["total"]["amount"] = json!(v)),
            ),
        ] {
            let mut input = checkout_input("order-1");
            set(&mut input, value);
            let body = app
                .gql(
                    Some(&merchant.key),
                    &create_checkout_mutation(),
                    json!({ "input": input }),
                )
                .await;
            assert_eq!(
                crate::helpers::error_codes(&body),
                ["BAD_USER_INPUT"],
                "{field} {value:?}: {body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.contains("is not a plain decimal number")
                    && message.contains("no exponent, '+' sign or spaces"),
                "{field} {value:?}: {message}"
            );
            assert_eq!(body["data"], Value::Null);
        }
    }
    assert_eq!(stored_rows(&app).await, (0, 0));

    // The same input written plainly is accepted.
    let payload = create_checkout(&app, &merchant, checkout_input("order-1")).await;
    assert_eq!(payload["checkout"]["total"]["amount"], "85.00");
}

/// A `createCheckout` input of one item of `price` and nothing else, so the total is `price`.
fn totalling(price: &str) -> Value {
    let mut input = checkout_input("big-1");
    input["items"] = json!([{ "name": "Piano", "quantity": 1,
        "unitPrice": { "amount": price, "currencyCode": "EUR" } }]);
    input["shipping"] = Value::Null;
    input["discount"] = Value::Null;
    input["total"]["amount"] = json!(price);
    input
}

/// Sends `input`, which must be refused with the user errors `expected` (field path, code,
/// message); nothing may be stored.
async fn refused_as(app: &TestApp, key: &str, input: Value, expected: Value) {
    let before = stored_rows(app).await;
    let body = app
        .gql(
            Some(key),
            &create_checkout_mutation(),
            json!({ "input": input }),
        )
        .await;
    let payload = &body["data"]["createCheckout"];
    assert_eq!(payload["checkout"], Value::Null, "{body}");
    assert_eq!(payload["userErrors"], expected, "{body}");
    assert_eq!(
        stored_rows(app).await,
        before,
        "a refused checkout stores nothing"
    );
}

fn merchant_uuid(merchant: &crate::helpers::TestMerchant) -> uuid::Uuid {
    paylater::graphql::ids::decode(
        &async_graphql::ID(merchant.id.clone()),
        paylater::graphql::ids::NodeKind::Merchant,
    )
    .unwrap()
}

#[tokio::test]
async fn a_total_above_the_platform_maximum_is_refused() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let too_large = |maximum: &str| {
        json!([{ "field": ["input", "total", "amount"], "code": "AMOUNT_TOO_LARGE",
                 "message": format!("must be at most {maximum}, the largest checkout total allowed") }])
    };
    // One million euros is the default maximum: accepted, one cent more is not.
    let payload = create_checkout(&app, &merchant, totalling("1000000.00")).await;
    assert_eq!(payload["checkout"]["total"]["minorUnits"], 100_000_000);
    // Above it, up to i64::MAX minor units and past them.
    for total in ["1000000.01", "92233720368547758.07", "92233720368547758.08"] {
        let mut input = checkout_input("big-2");
        input["total"]["amount"] = json!(total);
        refused_as(&app, &merchant.key, input, too_large("1000000.00 EUR")).await;
    }

    // The platform maximum is configurable.
    let app = TestApp::spawn_with(|config| config.limits.max_checkout_total = 250).await;
    let merchant = app.merchant("Shop").await;
    refused_as(
        &app,
        &merchant.key,
        totalling("250.01"),
        too_large("250.00 EUR"),
    )
    .await;
    let payload = create_checkout(&app, &merchant, totalling("250.00")).await;
    assert_eq!(payload["checkout"]["total"]["amount"], "250.00");
    assert_eq!(stored_rows(&app).await, (1, 1));
}

#[tokio::test]
async fn a_merchant_maximum_lowers_the_platform_one() {
    let app = TestApp::spawn_with(|config| config.limits.max_checkout_total = 1_000).await;
    let deps = &app.state.deps;
    let actor = paylater::service::audit::Actor::command_line();
    let merchant = app.merchant("Careful Shop").await;
    let other = app.merchant("Other Shop").await;
    let id = merchant_uuid(&merchant);
    let set = |major: Option<i64>| {
        let maximum = major.map(|major| MaxTotal::from_major(major).unwrap());
        paylater::service::merchants::set_max_checkout_total(deps, &actor, id, maximum)
    };
    let stored = set(Some(50)).await.unwrap();
    assert_eq!(stored.max_checkout_total_minor, Some(5_000));

    let too_large = json!([{ "field": ["input", "total", "amount"], "code": "AMOUNT_TOO_LARGE",
        "message": "must be at most 50.00 EUR, the largest checkout total allowed" }]);
    refused_as(&app, &merchant.key, checkout_input("order-1"), too_large).await;
    create_checkout(&app, &merchant, totalling("50.00")).await;
    // Other merchants keep the platform maximum.
    create_checkout(&app, &other, checkout_input("order-1")).await;

    // A merchant maximum can only lower the platform's, and is at least one major unit.
    let above = set(Some(1_001)).await.unwrap_err().describe();
    assert!(above.contains("platform maximum of 1000"), "{above}");
    let cents = MaxTotal::from_hundredths(50);
    let below = paylater::service::merchants::set_max_checkout_total(deps, &actor, id, Some(cents))
        .await
        .unwrap_err()
        .describe();
    assert!(below.contains("between 1 and"), "{below}");
    assert_eq!(
        entity::merchant::Entity::find_by_id(id)
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .max_checkout_total_minor,
        Some(5_000),
        "a refused maximum changes nothing"
    );

    // Cleared, the platform maximum applies again.
    assert_eq!(set(None).await.unwrap().max_checkout_total_minor, None);
    create_checkout(&app, &merchant, checkout_input("order-1")).await;
    refused_as(
        &app,
        &merchant.key,
        totalling("1000.01"),
        json!([{ "field": ["input", "total", "amount"], "code": "AMOUNT_TOO_LARGE",
                 "message": "must be at most 1000.00 EUR, the largest checkout total allowed" }]),
    )
    .await;
}

#[tokio::test]
async fn line_item_arithmetic_that_overflows_is_refused() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let max_minor = "92233720368547758.07";

    // quantity × unit price does not fit in 64-bit minor units.
    let mut input = checkout_input("order-1");
    input["items"][0]["unitPrice"]["amount"] = json!(max_minor);
    refused_as(
        &app,
        &merchant.key,
        input,
        json!([{ "field": ["input", "items", "0", "unitPrice", "amount"], "code": "AMOUNT_TOO_LARGE",
                 "message": "quantity × unit price is too large" }]),
    )
    .await;

    // A unit price, a shipping cost or a tax beyond 64-bit minor units.
    for field in ["shipping", "tax", "discount"] {
        let mut input = checkout_input("order-1");
        input[field] = json!({ "amount": "92233720368547758.08", "currencyCode": "EUR" });
        refused_as(
            &app,
            &merchant.key,
            input,
            json!([{ "field": ["input", field, "amount"], "code": "AMOUNT_TOO_LARGE",
                     "message": "is too large" }]),
        )
        .await;
    }
    let mut input = checkout_input("order-1");
    input["items"][0]["unitPrice"]["amount"] = json!("92233720368547758.08");
    refused_as(
        &app,
        &merchant.key,
        input,
        json!([{ "field": ["input", "items", "0", "unitPrice", "amount"], "code": "AMOUNT_TOO_LARGE",
                 "message": "is too large" }]),
    )
    .await;

    // Items, shipping and tax that each fit but add up past 64 bits, less as large a
    // discount: the sum is refused rather than wrapped.
    let mut input = checkout_input("order-1");
    input["items"] = json!([
        { "name": "A", "quantity": 1, "unitPrice": { "amount": max_minor, "currencyCode": "EUR" } },
        { "name": "B", "quantity": 1, "unitPrice": { "amount": max_minor, "currencyCode": "EUR" } }
    ]);
    input["shipping"] = json!({ "amount": max_minor, "currencyCode": "EUR" });
    input["tax"] = json!({ "amount": max_minor, "currencyCode": "EUR" });
    input["discount"] = json!({ "amount": max_minor, "currencyCode": "EUR" });
    refused_as(
        &app,
        &merchant.key,
        input,
        json!([{ "field": ["input", "total"], "code": "AMOUNT_TOO_LARGE",
                 "message": "items, shipping and tax add up to more than an amount can hold" }]),
    )
    .await;

    // The server is still there, and stored nothing.
    assert_eq!(stored_rows(&app).await, (0, 0));
    create_checkout(&app, &merchant, checkout_input("order-1")).await;
}

#[tokio::test]
async fn an_open_reference_cannot_be_reused_until_the_checkout_closes() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let other = app.merchant("Other shop").await;
    create_checkout(&app, &merchant, checkout_input("order-1")).await;

    let errors = refused(&app, &merchant.key, checkout_input("order-1")).await;
    assert_eq!(
        errors,
        [(
            "input.merchantReference".to_owned(),
            "DUPLICATE_MERCHANT_REFERENCE".to_owned()
        )]
    );
    // References belong to each merchant.
    create_checkout(&app, &other, checkout_input("order-1")).await;
    // Once the first checkout expired, the reference is free again.
    app.clock.advance(chrono::Duration::minutes(61));
    create_checkout(&app, &merchant, checkout_input("order-1")).await;
}

#[tokio::test]
async fn concurrent_creations_with_one_reference_make_exactly_one_checkout() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mutation = create_checkout_mutation();
    let attempts = (0..8).map(|_| {
        app.gql(
            Some(&merchant.key),
            &mutation,
            json!({ "input": checkout_input("race-1") }),
        )
    });
    let bodies = futures_util::future::join_all(attempts).await;
    let created = bodies
        .iter()
        .filter(|body| body["data"]["createCheckout"]["checkout"].is_object())
        .count();
    assert_eq!(created, 1, "{bodies:?}");
    for body in bodies
        .iter()
        .filter(|b| b["data"]["createCheckout"]["checkout"].is_null())
    {
        assert_eq!(
            body["data"]["createCheckout"]["userErrors"][0]["code"], "DUPLICATE_MERCHANT_REFERENCE",
            "{body}"
        );
    }
    assert_eq!(stored_rows(&app).await, (1, 1));
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_creation_return_the_same_checkout() {
    let app = crate::helpers::TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let mut input = crate::helpers::checkout_input("o-1");
    input["idempotencyKey"] = json!("order-o-1-attempt-1");
    let mutation = crate::helpers::create_checkout_mutation();
    let first = app
        .gql(Some(&merchant.key), &mutation, json!({ "input": input }))
        .await;
    let again = app
        .gql(Some(&merchant.key), &mutation, json!({ "input": input }))
        .await;
    let (first, again) = (
        &first["data"]["createCheckout"],
        &again["data"]["createCheckout"],
    );
    assert_eq!(first["userErrors"], json!([]), "{first}");
    assert_eq!(again["checkout"]["id"], first["checkout"]["id"]);
    assert_eq!(again["checkoutToken"], first["checkoutToken"]);
    assert_eq!(again["checkoutUrl"], first["checkoutUrl"]);

    // The same key with another input is refused; the stored token is not in clear.
    input["merchantReference"] = json!("o-2");
    let reused = app
        .gql(Some(&merchant.key), &mutation, json!({ "input": input }))
        .await;
    assert_eq!(
        reused["data"]["createCheckout"]["userErrors"][0]["code"],
        "IDEMPOTENCY_KEY_REUSED"
    );
    use sea_orm::EntityTrait;
    let stored = entity::idempotency_key::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    let token = first["checkoutToken"].as_str().unwrap();
    assert!(
        stored
            .iter()
            .all(|row| !row.response.as_deref().unwrap_or_default().contains(token))
    );
    let count = entity::checkout::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .len();
    assert_eq!(count, 1);
}
