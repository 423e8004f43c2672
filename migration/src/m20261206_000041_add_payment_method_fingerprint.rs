//! Adds `payment_methods.fingerprint_hash`: a keyed hash (HMAC-SHA256 under the lookup key)
//! of the gateway's card fingerprint, never the fingerprint itself, with a unique index per
//! consumer, so one consumer holds one payment method per card. Removed cards drop their
//! hash, so the same card can be added again; cards stored before have none.

use crate::helpers::create_index;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentMethods::Table)
                    .add_column(string_len_null(PaymentMethods::FingerprintHash, 64))
                    .to_owned(),
            )
            .await?;
        create_index(
            manager,
            PaymentMethods::Table,
            [PaymentMethods::ConsumerId, PaymentMethods::FingerprintHash],
            true,
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("uq_payment_methods_consumer_id_fingerprint_hash")
                    .table(PaymentMethods::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(PaymentMethods::Table)
                    .drop_column(PaymentMethods::FingerprintHash)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum PaymentMethods {
    Table,
    ConsumerId,
    FingerprintHash,
}
