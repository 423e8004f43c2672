//! Admins and support: sign-in with password and TOTP (mandatory), support reading any
//! merchant's checkout with the shopper's data masked, admins reading the audit log.

use chrono::Duration;
use entity::staff_member;
use paylater::{auth::totp, clock::Clock, domain::staff::StaffRole};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, checkout_input, create_checkout, error_codes};

const STAFF_LOGIN: &str = "mutation($i: StaffLoginInput!) { staffLogin(input: $i) {
    session { accessToken expiresIn staffMember { id email role } } userErrors { field code message } } }";

async fn staff_login(app: &TestApp, email: &str, password: &str, code: &str) -> Value {
    app.gql(
        None,
        STAFF_LOGIN,
        json!({ "i": { "email": email, "password": password, "code": code } }),
    )
    .await["data"]["staffLogin"]
        .clone()
}

#[tokio::test]
async fn staff_sign_in_needs_password_and_a_fresh_code() {
    let app = TestApp::spawn().await;
    let support = app.staff("Agent@Paylater.test", StaffRole::Support).await;
    assert_eq!(support.email, "agent@paylater.test");
    let row = staff_member::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.totp_secret.starts_with("v1."),
        "TOTP secret is ciphertext"
    );
    assert!(!row.totp_secret.contains(&support.totp_secret));

    // The code the helper signed in with was spent; the same step is refused.
    let now = app.clock.now();
    let spent = totp::code_at(&support.totp_secret, now).unwrap();
    let replay = staff_login(&app, &support.email, &support.password, &spent).await;
    let refused = replay["userErrors"].clone();
    assert_eq!(refused[0]["code"], "INVALID_CREDENTIALS", "{replay}");

    // Every wrong part gives the same answer.
    app.clock.advance(Duration::seconds(30));
    let code = totp::code_at(&support.totp_secret, app.clock.now()).unwrap();
    for (email, password, code) in [
        (
            "nobody@paylater.test",
            support.password.as_str(),
            code.as_str(),
        ),
        (support.email.as_str(), "wrong password", code.as_str()),
        (support.email.as_str(), support.password.as_str(), "000000"),
    ] {
        let payload = staff_login(&app, email, password, code).await;
        assert_eq!(payload["session"], Value::Null);
        assert_eq!(payload["userErrors"], refused, "{payload}");
    }
    let payload = staff_login(&app, &support.email, &support.password, &code).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload}");
    let session = &payload["session"];
    assert_eq!(session["staffMember"]["role"], "SUPPORT");
    assert_eq!(session["expiresIn"], 900);

    let token = session["accessToken"].as_str().unwrap();
    let me = app
        .gql(Some(token), "{ staffMember { id email role } }", json!({}))
        .await;
    assert_eq!(me["data"]["staffMember"], session["staffMember"]);
    let id = session["staffMember"]["id"].as_str().unwrap();
    let node = app
        .gql(
            Some(token),
            &format!("{{ node(id: \"{id}\") {{ ... on StaffMember {{ email }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(node["data"]["node"]["email"], "agent@paylater.test");

    // The token expires like any access token.
    app.clock.advance(Duration::minutes(16));
    let response = app
        .post(Some(token), "{ staffMember { id } }", json!({}))
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn support_reads_any_checkout_with_the_shopper_masked() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let id = created["checkout"]["id"].as_str().unwrap();
    let support = app.staff("agent@paylater.test", StaffRole::Support).await;
    let query = format!(
        "{{ node(id: \"{id}\") {{ ... on Checkout {{ merchantReference total {{ amount }}
            shopper {{ email givenName familyName phone }}
            shippingAddress {{ name line1 line2 city postalCode region countryCode }} }} }} }}"
    );

    let seen = app.gql(Some(&support.token), &query, json!({})).await;
    let checkout = &seen["data"]["node"];
    assert_eq!(checkout["merchantReference"], "o-1", "{seen}");
    assert_eq!(checkout["total"]["amount"], "85.00");
    assert_eq!(
        checkout["shopper"],
        json!({ "email": "a***@e***.com", "givenName": "A***", "familyName": "L***", "phone": "+39********67" })
    );
    assert_eq!(
        checkout["shippingAddress"],
        json!({ "name": null, "line1": "V***", "line2": null, "city": "Milano",
                "postalCode": "20***", "region": null, "countryCode": "IT" })
    );

    // The merchant still sees the data it sent.
    let own = app.gql(Some(&merchant.key), &query, json!({})).await;
    assert_eq!(own["data"]["node"]["shopper"]["email"], "ada@example.com");
    assert_eq!(
        own["data"]["node"]["shippingAddress"]["line1"],
        "Via Roma 1"
    );

    // Support reads; it does not act for merchants.
    let cancel = format!(
        "mutation {{ cancelCheckout(input: {{ id: \"{id}\" }}) {{ userErrors {{ code }} }} }}"
    );
    let refused = app.gql(Some(&support.token), &cancel, json!({})).await;
    assert_eq!(error_codes(&refused), ["FORBIDDEN"]);
}

const AUDIT_LOG: &str = "query($f: AuditLogFilterInput, $first: Int, $after: String) {
    auditLog(filter: $f, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { action actorKind actorId targetType targetId ip metadata createdAt } } }";

#[tokio::test]
async fn admins_read_the_audit_log_and_support_does_not() {
    let app = TestApp::spawn().await;
    let support = app.staff("agent@paylater.test", StaffRole::Support).await;
    let admin = app.staff("root@paylater.test", StaffRole::Admin).await;
    app.gql(None, "mutation { login(input: { email: \"ghost@example.com\", password: \"not the password\" }) { userErrors { code } } }", json!({}))
        .await;

    let denied = app.gql(Some(&support.token), AUDIT_LOG, json!({})).await;
    assert_eq!(error_codes(&denied), ["FORBIDDEN"]);

    let all = app.gql(Some(&admin.token), AUDIT_LOG, json!({})).await;
    let log = &all["data"]["auditLog"];
    let actions: Vec<&str> = log["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{all}"))
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    // Newest first.
    assert_eq!(
        actions,
        [
            "consumer.login_failed",
            "staff.login_succeeded",
            "staff.created",
            "staff.login_succeeded",
            "staff.created",
        ]
    );
    assert_eq!(log["totalCount"], 5);
    let created = &log["nodes"][2];
    assert_eq!(created["actorKind"], "command_line");
    assert_eq!(created["metadata"], "{\"role\":\"admin\"}");
    let signed_in = &log["nodes"][1];
    assert_eq!(signed_in["ip"], "127.0.0.1");
    assert_eq!(signed_in["actorId"], created["targetId"]);

    let filtered = app
        .gql(
            Some(&admin.token),
            AUDIT_LOG,
            json!({ "f": { "action": "staff.created" }, "first": 1 }),
        )
        .await;
    let page = &filtered["data"]["auditLog"];
    assert_eq!(page["totalCount"], 2);
    assert_eq!(page["nodes"][0]["metadata"], "{\"role\":\"admin\"}");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let next = app
        .gql(
            Some(&admin.token),
            AUDIT_LOG,
            json!({ "f": { "action": "staff.created" }, "first": 1, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let next = &next["data"]["auditLog"];
    assert_eq!(next["nodes"][0]["metadata"], "{\"role\":\"support\"}");
    assert_eq!(next["pageInfo"]["hasNextPage"], false);

    let by_target = app
        .gql(
            Some(&admin.token),
            AUDIT_LOG,
            json!({ "f": { "targetId": created["targetId"] } }),
        )
        .await;
    assert_eq!(
        by_target["data"]["auditLog"]["totalCount"], 2,
        "{by_target}"
    );

    let bad = app
        .gql(
            Some(&admin.token),
            AUDIT_LOG,
            json!({ "f": { "actorId": "not-a-uuid" } }),
        )
        .await;
    assert_eq!(error_codes(&bad), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn support_reads_any_order_with_the_customer_and_address_masked() {
    let placed = crate::fixtures::placed_order("PAY_IN_3").await;
    let support = placed
        .app
        .staff("agent@paylater.test", StaffRole::Support)
        .await;
    let query = format!(
        "{{ order(id: \"{}\") {{ status total {{ amount }} installments {{ status }}
            customer {{ email givenName }} shippingAddress {{ line1 city postalCode countryCode }} }} }}",
        placed.order
    );
    let seen = placed
        .app
        .gql(Some(&support.token), &query, json!({}))
        .await;
    let order = &seen["data"]["order"];
    assert_eq!(order["status"], "AUTHORIZED", "{seen}");
    assert_eq!(order["total"]["amount"], "85.00");
    assert_eq!(
        order["shippingAddress"],
        json!({ "line1": "V***", "city": "Milano", "postalCode": "20***", "countryCode": "IT" })
    );
    assert_eq!(
        order["customer"],
        json!({ "email": "a***@e***.com", "givenName": null })
    );
    let own = placed
        .app
        .gql(Some(&placed.merchant.key), &query, json!({}))
        .await;
    assert_eq!(
        own["data"]["order"]["shippingAddress"]["line1"],
        "Via Roma 1"
    );
    assert_eq!(own["data"]["order"]["customer"]["email"], "ada@example.com");
    // Support reads; it does not capture.
    let capture = placed
        .app
        .gql(
            Some(&support.token),
            "mutation($i: OrderActionInput!) { captureOrder(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": placed.order, "idempotencyKey": "k" } }),
        )
        .await;
    assert_eq!(error_codes(&capture), ["FORBIDDEN"]);
}
