//! Encryption at rest: consumer PII is ciphertext in the database, found by a keyed hash,
//! and keys rotate.

use entity::{checkout, consumer};
use paylater::{
    app::AppState,
    clock::Clock,
    config::Config,
    domain::staff::StaffRole,
    encryption::EncryptionKeyConfig,
    graphql::ids::{NodeKind, decode},
    service::{
        audit::Actor, checkout_pii, consumers, key_rotation, merchants, mfa, signed_returns, staff,
        webhooks,
    },
};
use sea_orm::EntityTrait;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, checkout_input, create_checkout};

fn decode_merchant(id: &str) -> Uuid {
    decode(&async_graphql::ID(id.to_owned()), NodeKind::Merchant).unwrap()
}

#[tokio::test]
async fn checkout_shopper_data_is_ciphertext_in_the_database() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant("Shop").await;
    let created = create_checkout(&app, &merchant, checkout_input("o-1")).await;
    assert_eq!(created["checkout"]["shopper"]["email"], "ada@example.com");
    assert_eq!(
        created["checkout"]["shippingAddress"]["line1"],
        "Via Roma 1"
    );

    let row = checkout::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let raw = format!("{row:?}");
    for plain in [
        "ada@",
        "Ada",
        "Lovelace",
        "3331234567",
        "Via Roma",
        "Milano",
        "20121",
    ] {
        assert!(!raw.contains(plain), "{plain} is stored in clear: {raw}");
    }
    assert!(row.shopper_email.unwrap().starts_with("v1.dev."));
    assert_eq!(row.shipping_country_code.as_deref(), Some("IT"));
}

fn key(id: &str, byte: u8) -> EncryptionKeyConfig {
    EncryptionKeyConfig {
        id: id.to_owned(),
        key_hex: hex::encode([byte; 32]).into(),
    }
}

const LOOKUP: &str = "0707070707070707070707070707070707070707070707070707070707070707";

const REGISTER: &str = "mutation { registerConsumer(input: { email: \"Secret.Person@Example.com\",
    password: \"correct horse battery\", givenName: \"Grace\", familyName: \"Hopper\", phone: \"+393331112222\" }) {
    consumer { id email givenName familyName phone } userErrors { code } } }";

#[tokio::test]
async fn consumer_pii_is_ciphertext_in_the_database() {
    let app = TestApp::spawn().await;
    let body = app.gql(None, REGISTER, json!({})).await;
    let shown = &body["data"]["registerConsumer"]["consumer"];
    assert_eq!(shown["email"], "secret.person@example.com");
    assert_eq!(shown["phone"], "+393331112222");

    let row = consumer::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let raw = format!(
        "{} {} {:?} {:?} {:?}",
        row.email, row.email_lookup, row.given_name, row.family_name, row.phone
    );
    for plain in [
        "secret.person",
        "Secret.Person",
        "Grace",
        "Hopper",
        "3331112222",
    ] {
        assert!(!raw.contains(plain), "{plain} is stored in clear: {raw}");
    }
    for sealed in [
        Some(&row.email),
        row.given_name.as_ref(),
        row.family_name.as_ref(),
        row.phone.as_ref(),
    ] {
        assert!(sealed.unwrap().starts_with("v1.dev."), "{raw}");
    }
    assert_eq!(row.email_lookup.len(), 64);

    // Found through the keyed hash, whatever the case of the email typed at login.
    let login = app
        .gql(None, "mutation { login(input: { email: \"SECRET.person@example.com\", password: \"correct horse battery\" }) { session { consumer { givenName } } } }", json!({}))
        .await;
    assert_eq!(
        login["data"]["login"]["session"]["consumer"]["givenName"],
        "Grace"
    );
}

/// The services of the same database with other encryption keys.
fn with_keys(app: &TestApp, keys: Vec<EncryptionKeyConfig>) -> paylater::service::Deps {
    let mut config = Config::default();
    config.encryption.keys = keys;
    config.encryption.lookup_key = Some(LOOKUP.into());
    AppState::new(config, app.db.clone(), app.clock.clone())
        .unwrap()
        .deps
        .clone()
}

#[tokio::test]
async fn keys_rotate_without_losing_data() {
    let app = TestApp::spawn_with(|config| {
        config.encryption.keys = vec![key("k1", 1)];
        config.encryption.lookup_key = Some(LOOKUP.into());
    })
    .await;
    app.gql(None, REGISTER, json!({})).await;
    let id = consumer::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    // Every other kind of encrypted value: a TOTP secret, a request-signing secret, a
    // staff TOTP secret and a checkout's shopper data.
    let deps = &app.state.deps;
    let totp = mfa::enroll(deps, &Actor::consumer(id, None), id)
        .await
        .unwrap()
        .secret;
    let merchant = app.merchant("Shop").await;
    let merchant_id = decode_merchant(&merchant.id);
    create_checkout(&app, &merchant, checkout_input("o-1")).await;
    let signing = merchants::enable_request_signing(deps, &Actor::command_line(), merchant_id)
        .await
        .unwrap();
    let return_secret = signed_returns::secret(deps, merchant_id).await.unwrap();
    let staff_member = staff::create(
        deps,
        &Actor::command_line(),
        "ops@paylater.test",
        StaffRole::Admin,
    )
    .await
    .unwrap();

    let endpoint = webhooks::EndpointInput {
        url: "https://hooks.shop.example/paylater".into(),
        event_types: vec![],
    };
    let (_, first_webhook_secret) =
        webhooks::set_endpoint(deps, &Actor::command_line(), merchant_id, &endpoint)
            .await
            .unwrap();
    let (_, webhook_secret) = webhooks::rotate_secret(
        deps,
        &Actor::command_line(),
        merchant_id,
        chrono::Duration::hours(1),
    )
    .await
    .unwrap();

    let rotating = with_keys(&app, vec![key("k2", 2), key("k1", 1)]);
    // With the new key in front but before re-encryption, logins keep working.
    let actor = Actor::anonymous(None);
    let before = consumers::login(
        &rotating,
        &actor,
        "secret.person@example.com",
        "correct horse battery",
    )
    .await;
    assert!(before.is_ok());
    // Consumer: email, two names, phone, TOTP secret; the request-signing, return-signing
    // and staff secrets; the webhook secret and the one it replaced; the checkout's email,
    // two names, phone, street, city and postal code.
    assert_eq!(
        key_rotation::rotate_all(&rotating).await.unwrap(),
        5 + 1 + 1 + 1 + 2 + 7
    );
    assert_eq!(
        key_rotation::rotate_all(&rotating).await.unwrap(),
        0,
        "nothing left to rotate"
    );
    let row = consumer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(row.email.starts_with("v1.k2.") && row.phone.unwrap().starts_with("v1.k2."));

    // The old key can go.
    let rotated = with_keys(&app, vec![key("k2", 2)]);
    let account = consumers::get(&rotated, id).await.unwrap();
    assert_eq!(account.email, "secret.person@example.com");
    assert_eq!(account.family_name.as_deref(), Some("Hopper"));
    let consumer_row = consumer::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        rotated
            .vault
            .decrypt(
                consumer_row.totp_secret.as_deref().unwrap(),
                &format!("consumers.totp_secret:{id}")
            )
            .unwrap(),
        totp
    );
    assert_eq!(
        merchants::signing_secret(&rotated, merchant_id)
            .await
            .unwrap()
            .as_deref(),
        Some(signing.as_str())
    );
    assert_eq!(
        signed_returns::secret(&rotated, merchant_id).await.unwrap(),
        return_secret
    );
    let hook = webhooks::endpoint(&rotated.db, merchant_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        webhooks::signing_secrets(&rotated, &hook, app.clock.now()).unwrap(),
        vec![webhook_secret, first_webhook_secret.unwrap()]
    );
    let code = paylater::auth::totp::code_at(&staff_member.totp_secret, app.clock.now()).unwrap();
    staff::login(
        &rotated,
        &actor,
        "ops@paylater.test",
        &staff_member.password,
        &code,
    )
    .await
    .expect("the staff TOTP secret still opens");
    let checkout_row = checkout::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let data = checkout_pii::open(&rotated.vault, &checkout_row).unwrap();
    assert_eq!(data.shopper.email.as_deref(), Some("ada@example.com"));
    assert_eq!(
        data.shipping_address.unwrap().postal_code.as_deref(),
        Some("20121")
    );

    let stranger = with_keys(&app, vec![key("k9", 9)]);
    assert!(
        consumers::get(&stranger, id).await.is_err(),
        "another key cannot read the row"
    );
    let after = consumers::login(
        &rotated,
        &actor,
        "secret.person@example.com",
        "correct horse battery",
    )
    .await;
    assert!(after.is_ok());
}
