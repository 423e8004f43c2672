//! Applies every migration on SQLite (always) and on the server named by
//! `TEST_DATABASE_URL` (when set, in a fresh throw-away database), round-trips
//! rows through the entities, then reverts every migration.

use domain::{
    Currency, PlanCode,
    account::{ConsumerStatus, MerchantStatus},
    checkout::CheckoutStatus,
    order::{InstallmentStatus, OrderStatus},
};
use entity::{
    api_key, audit_log, checkout, checkout_item, consumer, idempotency_key, installment, merchant,
    merchant_plan_setting, order, outbox_event, payment, payment_method, plan, refund,
    webhook_attempt, webhook_delivery, webhook_endpoint,
};
use migration::sea_orm::prelude::{ChronoDateTimeUtc, ChronoUnixTimestampMillis, Date, Uuid};
use migration::sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set, SqlErr,
};
use migration::{Migrator, MigratorTrait};

/// Milliseconds timestamp, with a non-zero millisecond part to catch truncation.
fn ts(millis: i64) -> ChronoUnixTimestampMillis {
    ChronoUnixTimestampMillis(
        ChronoDateTimeUtc::from_timestamp_millis(millis).expect("timestamp in range"),
    )
}

/// Selects every column of every entity, proving the migrated schema matches them.
async fn select_all_entities(db: &DatabaseConnection) -> Result<(), DbErr> {
    merchant::Entity::find().all(db).await?;
    api_key::Entity::find().all(db).await?;
    consumer::Entity::find().all(db).await?;
    plan::Entity::find().all(db).await?;
    merchant_plan_setting::Entity::find().all(db).await?;
    checkout::Entity::find().all(db).await?;
    checkout_item::Entity::find().all(db).await?;
    payment_method::Entity::find().all(db).await?;
    order::Entity::find().all(db).await?;
    installment::Entity::find().all(db).await?;
    payment::Entity::find().all(db).await?;
    entity::payment_attempt::Entity::find().all(db).await?;
    refund::Entity::find().all(db).await?;
    idempotency_key::Entity::find().all(db).await?;
    outbox_event::Entity::find().all(db).await?;
    audit_log::Entity::find().all(db).await?;
    webhook_endpoint::Entity::find().all(db).await?;
    webhook_delivery::Entity::find().all(db).await?;
    webhook_attempt::Entity::find().all(db).await?;
    Ok(())
}

fn checkout_row(id: u128, merchant_id: Uuid, open: bool) -> checkout::ActiveModel {
    checkout::ActiveModel {
        id: Set(Uuid::from_u128(id)),
        merchant_id: Set(merchant_id),
        token_hash: Set(format!("{id:064x}")),
        status: Set(if open {
            CheckoutStatus::Open
        } else {
            CheckoutStatus::Cancelled
        }),
        currency: Set(Currency::Eur),
        shipping_minor: Set(495),
        tax_minor: Set(1_900),
        discount_minor: Set(0),
        total_minor: Set(12_395),
        merchant_reference: Set("ORDER-42".to_owned()),
        open_reference: Set(open.then(|| "ORDER-42".to_owned())),
        shopper_email: Set(Some("shopper@example.com".to_owned())),
        shopper_given_name: Set(Some("Ada".to_owned())),
        shopper_family_name: Set(None),
        shopper_phone: Set(None),
        shipping_name: Set(Some("Ada Lovelace".to_owned())),
        shipping_line1: Set(Some("1 Main Street".to_owned())),
        shipping_line2: Set(None),
        shipping_city: Set(Some("Dublin".to_owned())),
        shipping_postal_code: Set(Some("D01".to_owned())),
        shipping_region: Set(None),
        shipping_country_code: Set(Some("IE".to_owned())),
        confirm_url: Set("https://shop.example.com/confirm".to_owned()),
        cancel_url: Set("https://shop.example.com/cancel".to_owned()),
        cancellation_reason: Set(None),
        expires_at: Set(ts(1_795_395_600_789)),
        created_at: Set(ts(1_795_392_000_123)),
        updated_at: Set(ts(1_795_392_000_456)),
        cancelled_at: Set(None),
        completed_at: Set(None),
    }
}

async fn check(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    assert!(Migrator::get_pending_migrations(db).await?.is_empty());
    select_all_entities(db).await?;

    assert_eq!(plan::Entity::find().count(db).await?, 6);
    let seeded = plan::Entity::find_by_id(Uuid::from_u128(0x01a205b3_d000_7000_8000_000000000001))
        .one(db)
        .await?
        .expect("seeded EUR PAY_IN_3");
    assert_eq!(
        (seeded.code, seeded.currency),
        (PlanCode::PayIn3, Currency::Eur)
    );
    assert_eq!(
        (seeded.min_amount_minor, seeded.max_amount_minor),
        (3_000, 150_000)
    );
    assert!(seeded.active);
    assert_eq!(seeded.created_at.timestamp_millis(), 1_795_392_000_000);

    let merchant = merchant::ActiveModel {
        id: Set(Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0001)),
        name: Set("Example Shop".to_owned()),
        website_url: Set(Some("https://shop.example.com".to_owned())),
        logo_url: Set(None),
        support_email: Set(Some("help@shop.example.com".to_owned())),
        status: Set(MerchantStatus::Active),
        request_signing_secret: Set(None),
        max_checkout_total_minor: Set(Some(50_000)),
        return_signing_secret: Set(Some("v1.k1.c2VhbGVk".to_owned())),
        created_at: Set(ts(1_795_392_000_001)),
        updated_at: Set(ts(1_795_392_000_999)),
    }
    .insert(db)
    .await?;
    let found = merchant::Entity::find_by_id(merchant.id)
        .one(db)
        .await?
        .expect("merchant row");
    assert_eq!(found, merchant);
    assert_eq!(found.updated_at.timestamp_millis(), 1_795_392_000_999);

    let open = checkout_row(0x0196_0000_0000_7000_8000_0000_0000_0010, merchant.id, true)
        .insert(db)
        .await?;
    let found = checkout::Entity::find_by_id(open.id)
        .one(db)
        .await?
        .expect("checkout row");
    assert_eq!(found, open);
    assert_eq!(found.merchant_id, merchant.id);
    assert_eq!(found.expires_at.timestamp_millis(), 1_795_395_600_789);

    // One open checkout per (merchant, reference); closed ones (NULL) never collide.
    let duplicate = checkout_row(0x0196_0000_0000_7000_8000_0000_0000_0011, merchant.id, true)
        .insert(db)
        .await;
    assert!(
        matches!(
            duplicate.as_ref().map_err(DbErr::sql_err),
            Err(Some(SqlErr::UniqueConstraintViolation(_)))
        ),
        "second open checkout must hit the unique index: {duplicate:?}"
    );
    for id in [0x12, 0x13] {
        checkout_row(
            0x0196_0000_0000_7000_8000_0000_0000_0000 | id,
            merchant.id,
            false,
        )
        .insert(db)
        .await?;
    }

    // An order with an installment round-trips a date; cascades clean it up.
    let consumer = consumer::ActiveModel {
        id: Set(Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0020)),
        email: Set("v1.test.ciphertext".to_owned()),
        email_lookup: Set("lookup-hash".to_owned()),
        totp_secret: Set(None),
        totp_confirmed_at: Set(None),
        totp_last_step: Set(None),
        given_name: Set(Some("Ada".to_owned())),
        family_name: Set(None),
        phone: Set(None),
        password_hash: Set(None),
        spending_limit_minor: Set(200_000),
        currency: Set(Currency::Eur),
        status: Set(ConsumerStatus::Active),
        created_at: Set(ts(1_795_392_000_000)),
        updated_at: Set(ts(1_795_392_000_000)),
    }
    .insert(db)
    .await?;
    let card = payment_method::ActiveModel {
        id: Set(Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0030)),
        consumer_id: Set(consumer.id),
        gateway_token: Set("tok_test".to_owned()),
        brand: Set("VISA".to_owned()),
        last4: Set("4242".to_owned()),
        exp_month: Set(12),
        exp_year: Set(2030),
        created_at: Set(ts(1_795_392_000_000)),
        is_default: Set(true),
        deleted_at: Set(None),
        fingerprint_hash: Set(Some("ab".repeat(32))),
    }
    .insert(db)
    .await?;
    // One payment method per card and consumer; cards without a fingerprint hash (removed
    // ones, older ones) do not count.
    let other_card = |n: u128, hash: Option<String>| payment_method::ActiveModel {
        id: Set(Uuid::from_u128(
            0x0196_0000_0000_7000_8000_0000_0000_0030 + n,
        )),
        fingerprint_hash: Set(hash),
        is_default: Set(false),
        ..card.clone().into_active_model()
    };
    let twice = other_card(1, card.fingerprint_hash.clone())
        .insert(db)
        .await;
    assert!(
        matches!(
            twice.as_ref().map_err(DbErr::sql_err),
            Err(Some(SqlErr::UniqueConstraintViolation(_)))
        ),
        "the same card twice must be refused: {twice:?}"
    );
    for n in [2, 3] {
        other_card(n, None).insert(db).await?;
    }
    payment_method::Entity::delete_many()
        .filter(payment_method::Column::Id.ne(card.id))
        .exec(db)
        .await?;
    let order = order::ActiveModel {
        id: Set(Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0040)),
        merchant_id: Set(merchant.id),
        checkout_id: Set(open.id),
        consumer_id: Set(consumer.id),
        plan_id: Set(seeded.id),
        payment_method_id: Set(card.id),
        status: Set(OrderStatus::Authorized),
        currency: Set(Currency::Eur),
        total_minor: Set(12_395),
        captured_minor: Set(0),
        refunded_minor: Set(0),
        merchant_reference: Set("ORDER-42".to_owned()),
        capture_deadline: Set(ts(1_795_996_800_000)),
        created_at: Set(ts(1_795_392_000_000)),
        updated_at: Set(ts(1_795_392_000_000)),
        captured_at: Set(None),
        cancelled_at: Set(None),
        completed_at: Set(None),
    }
    .insert(db)
    .await?;
    let due_date = Date::from_ymd_opt(2026, 12, 23).expect("valid date");
    let installment = installment::ActiveModel {
        id: Set(Uuid::from_u128(0x0196_0000_0000_7000_8000_0000_0000_0050)),
        order_id: Set(order.id),
        sequence: Set(1),
        due_date: Set(due_date),
        original_amount_minor: Set(4_132),
        amount_minor: Set(4_132),
        status: Set(InstallmentStatus::Scheduled),
        paid_at: Set(None),
        attempt_count: Set(0),
        next_attempt_at: Set(None),
        created_at: Set(ts(1_795_392_000_000)),
        updated_at: Set(ts(1_795_392_000_000)),
    }
    .insert(db)
    .await?;
    let found = installment::Entity::find_by_id(installment.id)
        .one(db)
        .await?
        .expect("installment row");
    assert_eq!(found.due_date, due_date);
    assert_eq!(found, installment);

    // Restrict keeps a seeded plan from disappearing under an order.
    // (SQLite reports a RESTRICT violation as SQLITE_CONSTRAINT_TRIGGER, code
    // 1811, which `DbErr::sql_err` does not classify, hence the message check.)
    let deleted = plan::Entity::delete_by_id(seeded.id).exec(db).await;
    assert!(
        deleted.as_ref().is_err_and(|err| matches!(
            err.sql_err(),
            Some(SqlErr::ForeignKeyConstraintViolation(_))
        ) || err
            .to_string()
            .contains("FOREIGN KEY constraint failed")),
        "plan in use must not be deletable: {deleted:?}"
    );
    order::Entity::delete_by_id(order.id).exec(db).await?;
    assert_eq!(installment::Entity::find().count(db).await?, 0);

    Migrator::down(db, None).await?;
    assert_eq!(
        Migrator::get_pending_migrations(db).await?.len(),
        Migrator::migrations().len()
    );
    Ok(())
}

#[tokio::test]
async fn migrations_run_up_and_down_on_sqlite() -> Result<(), DbErr> {
    let db = Database::connect("sqlite::memory:").await?;
    check(&db).await
}

/// Same checks on a MySQL/MariaDB server, in a fresh database that is dropped
/// afterwards. Skipped unless `TEST_DATABASE_URL` is set.
#[tokio::test]
async fn migrations_run_up_and_down_on_test_database() -> Result<(), DbErr> {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set: skipping");
        return Ok(());
    };
    // scheme://authority[/database][?query] -> scheme://authority and ?query
    let (scheme, rest) = url.split_once("://").expect("URL with a scheme");
    let (authority, query) = match rest.find(['/', '?']) {
        Some(at) => (
            &rest[..at],
            rest[at..].find('?').map_or("", |q| &rest[at + q..]),
        ),
        None => (rest, ""),
    };
    let server_url = format!("{scheme}://{authority}{query}");

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    let unique = Uuid::from_u128((nanos << 32) | u128::from(std::process::id()));
    let name = format!("paylater_mig_{}", unique.simple());

    let server = Database::connect(server_url.as_str()).await?;
    server
        .execute_unprepared(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .await?;
    // Run the checks on their own task so that a failed assertion still lets
    // the throw-away database be dropped before the panic is re-raised.
    let db_url = format!("{scheme}://{authority}/{name}{query}");
    let outcome = tokio::spawn(async move {
        let db = Database::connect(db_url).await?;
        let result = check(&db).await;
        db.close().await?;
        result
    })
    .await;
    server
        .execute_unprepared(&format!("DROP DATABASE `{name}`"))
        .await?;
    match outcome {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(DbErr::Custom(format!("check task failed: {join}"))),
    }
}
