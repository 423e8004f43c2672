//! Adds `merchants.max_checkout_total_minor`: a merchant's own maximum checkout total, in
//! hundredths of a major unit applied in each checkout's currency (50000 is 500.00 EUR).
//! It only ever lowers the platform's maximum; null leaves the platform's alone.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .add_column(big_integer_null(Merchants::MaxCheckoutTotalMinor))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Merchants::Table)
                    .drop_column(Merchants::MaxCheckoutTotalMinor)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Merchants {
    Table,
    MaxCheckoutTotalMinor,
}
