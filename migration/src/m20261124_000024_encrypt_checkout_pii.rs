//! The shopper's data on checkouts becomes ciphertext: the shopper hints and the shipping
//! address (but its country) hold AES-GCM envelopes written by the application.
//!
//! Rows written before this migration hold clear text; only development data existed then,
//! and both are optional prefill, so their values are cleared rather than left readable.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The encrypted columns with their clear-text lengths.
const COLUMNS: [(Checkouts, u32); 10] = [
    (Checkouts::ShopperEmail, 320),
    (Checkouts::ShopperGivenName, 100),
    (Checkouts::ShopperFamilyName, 100),
    (Checkouts::ShopperPhone, 32),
    (Checkouts::ShippingName, 200),
    (Checkouts::ShippingLine1, 200),
    (Checkouts::ShippingLine2, 200),
    (Checkouts::ShippingCity, 100),
    (Checkouts::ShippingPostalCode, 32),
    (Checkouts::ShippingRegion, 100),
];

async fn clear(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut update = Query::update();
    update.table(Checkouts::Table);
    for (column, _) in COLUMNS {
        update.value(column, Option::<String>::None);
    }
    update.value(Checkouts::ShippingCountryCode, Option::<String>::None);
    manager.exec_stmt(update).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        clear(manager).await?;
        // SQLite does not enforce declared lengths; MySQL needs room for the envelopes.
        if manager.get_database_backend() == DatabaseBackend::MySql {
            let mut alter = Table::alter();
            alter.table(Checkouts::Table);
            for (column, _) in COLUMNS {
                alter.modify_column(text_null(column));
            }
            manager.alter_table(alter).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        clear(manager).await?;
        if manager.get_database_backend() == DatabaseBackend::MySql {
            let mut alter = Table::alter();
            alter.table(Checkouts::Table);
            for (column, length) in COLUMNS {
                alter.modify_column(string_len_null(column, length));
            }
            manager.alter_table(alter).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Checkouts {
    Table,
    ShopperEmail,
    ShopperGivenName,
    ShopperFamilyName,
    ShopperPhone,
    ShippingName,
    ShippingLine1,
    ShippingLine2,
    ShippingCity,
    ShippingPostalCode,
    ShippingRegion,
    ShippingCountryCode,
}
