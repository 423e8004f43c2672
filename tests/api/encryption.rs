//! Encryption at rest: consumer PII is ciphertext in the database, found by a keyed hash,
//! and keys rotate.

use entity::consumer;
use paylater::{
    app::AppState,
    config::Config,
    encryption::EncryptionKeyConfig,
    service::{audit::Actor, consumers},
};
use sea_orm::EntityTrait;
use serde_json::json;

use crate::helpers::TestApp;

fn key(id: &str, byte: u8) -> EncryptionKeyConfig {
    EncryptionKeyConfig {
        id: id.to_owned(),
        key_hex: hex::encode([byte; 32]),
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
fn with_keys(app: &TestApp, keys: Vec<EncryptionKeyConfig>) -> paylater::service::Services {
    let config = Config {
        encryption_keys: keys,
        encryption_lookup_key: Some(LOOKUP.to_owned()),
        ..Config::default()
    };
    AppState::new(config, app.db.clone(), app.clock.clone())
        .unwrap()
        .services
        .clone()
}

#[tokio::test]
async fn keys_rotate_without_losing_data() {
    let app = TestApp::spawn_with(|config| {
        config.encryption_keys = vec![key("k1", 1)];
        config.encryption_lookup_key = Some(LOOKUP.to_owned());
    })
    .await;
    app.gql(None, REGISTER, json!({})).await;
    let id = consumer::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;

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
    assert_eq!(consumers::rotate_encryption(&rotating).await.unwrap(), 1);
    assert_eq!(
        consumers::rotate_encryption(&rotating).await.unwrap(),
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
