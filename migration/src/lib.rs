//! sea-orm migrations of paylater: one migration per table (parents before
//! children) plus the reference-plan seed. A landed migration is never edited;
//! schema changes get a new migration appended to [`Migrator`]. The server runs
//! them itself at startup.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261123_000001_create_merchants;
mod m20261123_000002_create_api_keys;
mod m20261123_000003_create_consumers;
mod m20261123_000004_create_plans;
mod m20261123_000005_create_merchant_plan_settings;
mod m20261123_000006_create_checkouts;
mod m20261123_000007_create_checkout_items;
mod m20261123_000008_create_payment_methods;
mod m20261123_000009_create_orders;
mod m20261123_000010_create_installments;
mod m20261123_000011_create_payments;
mod m20261123_000012_create_refunds;
mod m20261123_000013_create_idempotency_keys;
mod m20261123_000014_create_outbox_events;
mod m20261123_000015_create_audit_logs;
mod m20261123_000016_seed_plans;
mod m20261123_000017_create_consumer_sessions;
mod m20261123_000018_create_refresh_tokens;
mod m20261123_000019_encrypt_consumer_pii;
mod m20261123_000020_add_consumer_totp;
mod m20261123_000021_create_mfa_recovery_codes;
mod m20261123_000022_add_merchant_request_signing;
mod m20261124_000023_create_staff_members;
mod m20261124_000024_encrypt_checkout_pii;
mod m20261124_000025_prepare_payment_methods;
mod m20261202_000026_add_outbox_consumer;
mod m20261202_000027_create_webhook_endpoints;
mod m20261202_000028_create_webhook_deliveries;
mod m20261202_000029_create_webhook_attempts;
mod m20261203_000030_keyset_indexes;
mod m20261204_000031_create_payment_attempts;
mod m20261206_000040_add_merchant_checkout_maximum;
mod m20261206_000041_add_payment_method_fingerprint;
mod m20261207_000042_add_merchant_return_signing_secret;
mod m20261208_000043_add_webhook_delivery_claims;

/// All migrations of paylater, in the order they are applied.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_merchants::Migration),
            Box::new(m20261123_000002_create_api_keys::Migration),
            Box::new(m20261123_000003_create_consumers::Migration),
            Box::new(m20261123_000004_create_plans::Migration),
            Box::new(m20261123_000005_create_merchant_plan_settings::Migration),
            Box::new(m20261123_000006_create_checkouts::Migration),
            Box::new(m20261123_000007_create_checkout_items::Migration),
            Box::new(m20261123_000008_create_payment_methods::Migration),
            Box::new(m20261123_000009_create_orders::Migration),
            Box::new(m20261123_000010_create_installments::Migration),
            Box::new(m20261123_000011_create_payments::Migration),
            Box::new(m20261123_000012_create_refunds::Migration),
            Box::new(m20261123_000013_create_idempotency_keys::Migration),
            Box::new(m20261123_000014_create_outbox_events::Migration),
            Box::new(m20261123_000015_create_audit_logs::Migration),
            Box::new(m20261123_000016_seed_plans::Migration),
            Box::new(m20261123_000017_create_consumer_sessions::Migration),
            Box::new(m20261123_000018_create_refresh_tokens::Migration),
            Box::new(m20261123_000019_encrypt_consumer_pii::Migration),
            Box::new(m20261123_000020_add_consumer_totp::Migration),
            Box::new(m20261123_000021_create_mfa_recovery_codes::Migration),
            Box::new(m20261123_000022_add_merchant_request_signing::Migration),
            Box::new(m20261124_000023_create_staff_members::Migration),
            Box::new(m20261124_000024_encrypt_checkout_pii::Migration),
            Box::new(m20261124_000025_prepare_payment_methods::Migration),
            Box::new(m20261202_000026_add_outbox_consumer::Migration),
            Box::new(m20261202_000027_create_webhook_endpoints::Migration),
            Box::new(m20261202_000028_create_webhook_deliveries::Migration),
            Box::new(m20261202_000029_create_webhook_attempts::Migration),
            Box::new(m20261203_000030_keyset_indexes::Migration),
            Box::new(m20261204_000031_create_payment_attempts::Migration),
            Box::new(m20261206_000040_add_merchant_checkout_maximum::Migration),
            Box::new(m20261206_000041_add_payment_method_fingerprint::Migration),
            Box::new(m20261207_000042_add_merchant_return_signing_secret::Migration),
            Box::new(m20261208_000043_add_webhook_delivery_claims::Migration),
        ]
    }
}
